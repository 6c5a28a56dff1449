/*
 * Port I/O and MMIO dispatch: address ranges → device handlers.
 * Ranges are registered by the VMM thread before the vCPUs run and are
 * immutable afterwards, so lookups need no lock.
 */
#ifndef EVMM_BUS_H
#define EVMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES	32

/* offset is relative to the range base; len is 1, 2, 4 or 8. */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data,
			  uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];	/* sorted by base */
	unsigned int count;
};

/* -EINVAL for an empty or wrapping range, -EBUSY on overlap, -ENOSPC if full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn,
		 void *opaque);
/*
 * Dispatches one access. Returns false when no device claims it (or the
 * access straddles a range end); reads of unclaimed addresses see all ones.
 */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data,
		uint32_t len, bool is_write);

#endif

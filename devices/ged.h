/*
 * ACPI Generic Event Device (ACPI0013): one 32-bit read-to-clear event
 * register in MMIO and one edge-triggered interrupt. The guest's _EVT
 * reads the register and runs the handler of each bit set. Bit values are
 * Cloud Hypervisor's.
 */
#ifndef EVMM_GED_H
#define EVMM_GED_H

#include <stdbool.h>
#include <stdint.h>

struct aml;
struct aml_ctx;
struct ged;

#define GED_CPU_HOTPLUG		(1u << 0)	/* \_SB.CPUS.CSCN */
#define GED_MEM_HOTPLUG		(1u << 1)	/* \_SB.MHPC.MSCN */
#define GED_POWER_BUTTON	(1u << 3)	/* Notify (\_SB.PWRB, 0x80) */
#define GED_MMIO_SIZE		4

/* Pulses the interrupt line (edge): called by ged_raise(). */
typedef void (*ged_irq_fn)(void *opaque);

struct ged *ged_new(ged_irq_fn irq, void *opaque);
void ged_free(struct ged *g);
/* Forgets pending events (guest reboot). */
void ged_reset(struct ged *g);
/* VMM thread: ORs events into the register, then pulses the interrupt. */
void ged_raise(struct ged *g, uint32_t events);
/* The bus handler: offset 0 reads (and clears) the events; writes ignored. */
void ged_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	    bool is_write);
/*
 * \_SB.GED_ with its _CRS interrupt and an _EVT that dispatches the events
 * in `events` (the handlers named above must exist in the DSDT); with
 * GED_POWER_BUTTON also \_SB.PWRB, a PNP0C0C power button. One list node;
 * every name in it is absolute, so it goes in the DSDT root or any scope.
 */
struct aml *ged_aml(struct aml_ctx *ctx, uint64_t mmio_base, uint32_t gsi,
		    uint32_t events);

#endif

/*
 * ACPI memory hotplug controller: QEMU's 24-byte register interface
 * (acpi-hotplug-protocols.md §2) and the \_SB.MHPC AML that drives it. On
 * port I/O like QEMU's PC machines: a guest's port access exits with all
 * it needs, an MMIO one has KVM decode the instruction, and a scan makes
 * dozens of them.
 * Each slot is one hotplugged range, placed and sized by the VMM thread;
 * the guest reads a slot's base and size through the registers (so _CRS
 * is built at run time by \_SB.MHPC.MCRS). Guest accesses arrive on vCPU
 * threads; the VMM thread plugs and asks for removals. A mutex guards the
 * slots.
 *
 * A slot's life: absent → enabled + inserting (plug; the guest's scan
 * clears inserting: "acknowledged") → enabled + remove requested (and the
 * removing event until the guest's scan clears it) → the guest's _EJ0
 * write: absent again and "ejected" until the VMM thread takes it.
 */
#ifndef EVMM_MEM_HOTPLUG_H
#define EVMM_MEM_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

struct aml;
struct aml_ctx;
struct mem_hotplug;

#define MEM_HP_IO_SIZE		24	/* ports, as on QEMU's PC machines */
/* Device names are MP%02X. */
#define MEM_HP_MAX_SLOTS	256

/* Register offsets: read meaning / write meaning. */
#define MEM_HP_BASE_LO		0x00	/* write: selector */
#define MEM_HP_BASE_HI		0x04	/* write: _OST event */
#define MEM_HP_SIZE_LO		0x08	/* write: _OST status */
#define MEM_HP_SIZE_HI		0x0C
#define MEM_HP_PXM		0x10	/* reads 0 */
#define MEM_HP_FLAGS		0x14	/* u8 */
#define MEM_HP_F_ENABLED	(1u << 0)
#define MEM_HP_F_INSERT		(1u << 1)	/* read: pending; write 1: clear */
#define MEM_HP_F_REMOVE		(1u << 2)	/* read: pending; write 1: clear */
#define MEM_HP_F_EJECT		(1u << 3)	/* write: eject the selected slot */

/* What vm.info reports of one slot: a snapshot taken under the lock. */
struct mem_hp_status {
	uint64_t base, size;	/* 0, 0 when absent */
	bool enabled;		/* the guest sees the range (_STA 0xF) */
	bool inserting;		/* plugged, the guest's scan has not seen it */
	bool remove_requested;	/* the VMM asked; the guest has not ejected */
	bool removing;		/* the remove event not yet seen by the scan */
	bool ejected;		/* ejected by the guest, not yet taken */
	uint32_t ost_event;	/* last _OST source event and status */
	uint32_t ost_status;
	bool ost_valid;		/* _OST seen since the last plug/remove */
};

/* Called on the vCPU thread that ejected `slot`, with no lock held. */
typedef void (*mem_hp_eject_fn)(void *opaque, unsigned int slot);

/* 1..MEM_HP_MAX_SLOTS slots, all absent; NULL (errno EINVAL) otherwise. */
struct mem_hotplug *mem_hotplug_new(unsigned int nslots, mem_hp_eject_fn eject,
				    void *opaque);
void mem_hotplug_free(struct mem_hotplug *h);
/* The bus handler. Hostile values are ignored, never trusted. */
void mem_hotplug_io(void *opaque, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write);

/* VMM thread. Each returns 0 or -EINVAL when the slot is in the wrong state. */
/*
 * At (re)boot: slot i is enabled at [base[i], base[i] + size[i]) when
 * size[i] is not 0, with no events (the guest finds it in its boot-time
 * scan), else absent; NULL arrays: all absent. No ejects pending, no _OST,
 * selector 0.
 */
void mem_hotplug_reset(struct mem_hotplug *h, const uint64_t *base,
		       const uint64_t *size);
/* absent (and no untaken eject) → enabled + inserting at [base, base+size). */
int mem_hotplug_plug(struct mem_hotplug *h, unsigned int slot, uint64_t base,
		     uint64_t size);
/* enabled, no removal yet → remove requested + removing. */
int mem_hotplug_request_remove(struct mem_hotplug *h, unsigned int slot);
/* True once per guest eject of `slot` (clears "ejected"). */
bool mem_hotplug_take_ejected(struct mem_hotplug *h, unsigned int slot);
/* Out-of-range slots read as absent. */
void mem_hotplug_status(struct mem_hotplug *h, unsigned int slot,
			struct mem_hp_status *st);

/*
 * \_SB.MHPD (PNP0A06, the register block as an IO resource, region HPMR)
 * and \_SB.MHPC (PNP0A06) with MSCN (called by the GED), MRST, MCRS
 * (QWordMemory from the registers), MOST, MEJ0 and one PNP0C80 device per
 * slot: MP00.. with _UID, _STA, _CRS, _OST, _EJ0. Absolute names. NULL for
 * nslots outside 1..MEM_HP_MAX_SLOTS or a block past port 0xFFFF.
 */
struct aml *mem_hotplug_aml(struct aml_ctx *ctx, uint16_t port,
			    unsigned int nslots);

#endif

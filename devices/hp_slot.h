/*
 * What the ACPI CPU and memory hotplug controllers share: one slot's life
 * and the AML that scans the slots and notifies their devices. The
 * register blocks differ; the state machine and its flag bits do not.
 *
 * absent → enabled + inserting (plug; the guest's scan clears inserting)
 * → enabled + remove requested (and the removing event until the scan
 * clears it) → the guest's _EJ0: absent and "ejected" until the VMM takes
 * it. Callers hold their device's lock.
 */
#ifndef EVMM_HP_SLOT_H
#define EVMM_HP_SLOT_H

#include <stdbool.h>
#include <stdint.h>

struct aml;
struct aml_ctx;

/* The flags byte of both register blocks. */
#define HP_F_ENABLED		(1u << 0)
#define HP_F_INSERT		(1u << 1)	/* read: pending; write 1: clear */
#define HP_F_REMOVE		(1u << 2)	/* read: pending; write 1: clear */
#define HP_F_EJECT		(1u << 3)	/* write: eject the selected slot */

struct hp_slot {
	bool enabled, inserting, remove_requested, removing, ejected;
	bool ost_valid;		/* _OST seen since the last plug/remove */
	uint32_t ost_event, ost_status;
};

/* What a read of the flags byte sees. */
uint8_t hp_slot_flags(const struct hp_slot *s);
/*
 * The guest's flags write: one action, in QEMU's order (clear insert, else
 * clear remove, else eject). An eject counts only for a removal the VMM
 * asked for, and only if `ejectable`. True when the slot was ejected.
 */
bool hp_slot_write_flags(struct hp_slot *s, uint8_t v, bool ejectable);
/* absent, no eject untaken → enabled + inserting; else -EINVAL. */
int hp_slot_plug(struct hp_slot *s);
/* enabled, no removal yet → remove requested + removing; else -EINVAL. */
int hp_slot_request_remove(struct hp_slot *s);
/* True once per guest eject (clears "ejected"). */
bool hp_slot_take_ejected(struct hp_slot *s);

/* Little-endian value of the 1..4 bytes a guest wrote. */
uint32_t hp_le(const uint8_t *data, uint32_t len);

/*
 * Method `name`(slot, value): Notify(<device of slot>, value), an If per
 * slot since Notify wants a name; devices are named by printf(fmt, slot).
 */
struct aml *hp_aml_notify(struct aml_ctx *ctx, const char *name,
			  unsigned int nslots, const char *fmt);

/*
 * The fields and methods a scan uses, as absolute names; `flags` is the
 * whole flags byte, read once per slot (every access is a guest exit).
 */
struct hp_aml_scan {
	const char *lock, *select, *flags, *insert, *remove, *notify;
};

/*
 * Serialized method `name`: for every slot, an insert is notified (Device
 * Check) and acknowledged, else a removal (Eject Request). A slot with
 * both keeps its removal for the next scan. Returns One.
 */
struct aml *hp_aml_scan(struct aml_ctx *ctx, const char *name,
			unsigned int nslots, const struct hp_aml_scan *n);

#endif

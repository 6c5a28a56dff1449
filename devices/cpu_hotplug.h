/*
 * ACPI CPU hotplug controller: QEMU's "modern" 12-byte register interface
 * (selector, flags, command, data) and the \_SB.CPUS AML that drives it.
 * Slot i is vCPU i. Guest accesses arrive on vCPU threads; the VMM thread
 * plugs and asks for removals. A mutex guards the slots.
 *
 * A slot's life: absent → enabled + inserting (plug; the guest's scan
 * clears inserting: "acknowledged") → enabled + remove requested (and the
 * removing event until the guest's scan clears it) → the guest's _EJ0
 * write: absent again and "ejected" until the VMM thread takes it.
 */
#ifndef EVMM_CPU_HOTPLUG_H
#define EVMM_CPU_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/hp_slot.h"

struct aml;
struct aml_ctx;
struct cpu_hotplug;

#define CPU_HP_IO_SIZE		12	/* ports, as on QEMU's PC machines */

/* Register offsets and bits (acpi-hotplug-protocols.md §1). */
#define CPU_HP_SEL		0x0	/* write: selector; read: command data 2 */
#define CPU_HP_FLAGS		0x4	/* u8 */
#define CPU_HP_CMD		0x5	/* u8 */
#define CPU_HP_DATA		0x8
#define CPU_HP_F_ENABLED	(1u << 0)
#define CPU_HP_F_INSERT		(1u << 1)	/* read: pending; write 1: clear */
#define CPU_HP_F_REMOVE		(1u << 2)	/* read: pending; write 1: clear */
#define CPU_HP_F_EJECT		(1u << 3)	/* write: eject the selected CPU */
#define CPU_HP_CMD_NEXT_EVENT	0
#define CPU_HP_CMD_OST_EVENT	1
#define CPU_HP_CMD_OST_STATUS	2
#define CPU_HP_CMD_ARCH_ID	3

/* Called on the vCPU thread that ejected `cpu`, with no lock held. */
typedef void (*cpu_hp_eject_fn)(void *opaque, unsigned int cpu);

/*
 * ncpus slots; slots below boot can never be ejected. apic_ids[i] is what
 * CCMD 3 reports and what _MAT carries (copied). NULL (errno EINVAL) unless
 * 1 <= boot <= ncpus <= 255 and every APIC id is below 255.
 */
struct cpu_hotplug *cpu_hotplug_new(unsigned int ncpus, unsigned int boot,
				    const uint32_t *apic_ids,
				    cpu_hp_eject_fn eject, void *opaque);
void cpu_hotplug_free(struct cpu_hotplug *c);
/* The bus handler. Hostile values are ignored, never trusted. */
void cpu_hotplug_io(void *opaque, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write);

/* VMM thread. Each returns 0 or -EINVAL when the slot is in the wrong state. */
/* At (re)boot: enabled or absent, no events, no ejects pending. */
void cpu_hotplug_reset(struct cpu_hotplug *c, const bool *present);
/* absent → enabled + inserting (not while an eject is still untaken). */
int cpu_hotplug_plug(struct cpu_hotplug *c, unsigned int cpu);
/* enabled, not boot, no removal yet → remove requested + removing. */
int cpu_hotplug_request_remove(struct cpu_hotplug *c, unsigned int cpu);
/* True once per guest eject of `cpu` (clears "ejected"). */
bool cpu_hotplug_take_ejected(struct cpu_hotplug *c, unsigned int cpu);
/* A snapshot of the slot, taken under the lock (absent when out of range). */
void cpu_hotplug_status(struct cpu_hotplug *c, unsigned int cpu,
			struct hp_slot *st);

/*
 * \_SB.PRES (the register block) and \_SB.CPUS (ACPI0010) with CSCN and one
 * ACPI0007 device per slot: _UID i, _STA, _MAT (type 0 LAPIC, enabled),
 * _EJ0 (not for boot CPUs) and _OST. Absolute names: the DSDT root or any
 * scope. NULL for what cpu_hotplug_new() rejects or a block past port 0xFFFF.
 */
struct aml *cpu_hotplug_aml(struct aml_ctx *ctx, uint16_t port,
			    unsigned int ncpus, unsigned int boot,
			    const uint32_t *apic_ids);

#endif

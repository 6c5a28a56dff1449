/*
 * Hotplug on the VMM thread: vm.resize, and the guest's ejects.
 *
 * Plugged vCPUs have a thread in KVM_RUN and are enabled in the CPU hotplug
 * controller. Growing creates (or reuses a parked) vCPU and its thread
 * before the GED tells the guest; shrinking only asks, and the guest's
 * _EJ0 completes it: then the thread is stopped and the vCPU parked.
 *
 * Hotplugged RAM is a stack of ranges above boot RAM, one per growing
 * request, each its own mapping and KVM slot. Shrinking asks the guest to
 * eject whole ranges, newest first; after the eject evmm drops the KVM slot
 * and unmaps the range. Ranges always stay inside the hotplug region: the
 * holes a guest's out-of-order ejects leave are closed while no VM runs.
 */
#ifndef EVMM_HOTPLUG_H
#define EVMM_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>

struct machine;

/* What one vCPU slot is doing, for vm.info. */
enum hotplug_cpu_state {
	HP_CPU_ABSENT,
	HP_CPU_PLUGGED,		/* thread runs; guest not told or not seen */
	HP_CPU_ACKED,		/* the guest's ACPI scan saw the insert */
	HP_CPU_STARTED,		/* the guest started it (INIT/SIPI) */
	HP_CPU_REMOVING,	/* removal asked, the guest has not ejected */
};

struct hotplug_cpus {
	unsigned int boot, current, requested, max;
	bool pending;		/* the guest has yet to act on a change */
};

/* What one memory range is doing, for vm.info. */
enum hotplug_mem_state {
	HP_MEM_ABSENT,
	HP_MEM_PLUGGED,		/* mapped; the guest's scan has not seen it */
	HP_MEM_ACKED,		/* the guest's scan saw it (or found it at boot) */
	HP_MEM_REMOVING,	/* removal asked, the guest has not ejected */
};

struct hotplug_mem {
	uint64_t boot, current, requested, max;	/* bytes */
	bool pending;
};

/* Sentinels for "not in the request". */
#define HOTPLUG_NO_VCPUS	(-1LL)
#define HOTPLUG_NO_RAM		(-1LL)

/*
 * vm.resize: vcpus and/or ram (bytes); either may be absent. All or
 * nothing: 0 when the guest was told (or nothing had to change);
 * -EINVAL: a value is out of range; -EBUSY: a removal still waits for the
 * guest; other errors: evmm failed. On error nothing changed, err says
 * why and *field names the request's field at fault (or NULL).
 */
int hotplug_resize(struct machine *m, long long vcpus, long long ram,
		   char *err, size_t errlen, const char **field);

/*
 * Parks the vCPUs and unmaps the RAM the guest ejected (VMM thread, on the
 * eject event).
 */
void hotplug_reap(struct machine *m);
void hotplug_cpus_status(struct machine *m, struct hotplug_cpus *st);
enum hotplug_cpu_state hotplug_cpu_state(struct machine *m, unsigned int cpu);
const char *hotplug_cpu_state_name(enum hotplug_cpu_state s);


/* RAM: the machine's part (vmm/hotplug_mem.c). */
/* How many ranges a hotplug region of `size` bytes gets in the guest. */
unsigned int hotplug_mem_slots(uint64_t size, unsigned int kvm_memslots);
/* At (re)boot: unfinished removals happen now; plugged ranges stay. */
void hotplug_mem_reboot(struct machine *m);
void hotplug_mem_reap(struct machine *m);
void hotplug_mem_status(struct machine *m, struct hotplug_mem *st);
enum hotplug_mem_state hotplug_mem_state(struct machine *m, unsigned int slot);
const char *hotplug_mem_state_name(enum hotplug_mem_state s);

/* For hotplug_resize() (vmm/hotplug.c). */
int hotplug_mem_check(struct machine *m, uint64_t ram, char *err,
		      size_t errlen);
int hotplug_mem_prepare(struct machine *m, uint64_t ram, char *err,
			size_t errlen);
void hotplug_mem_abort(struct machine *m, uint64_t ram);
/* Returns the GED events to raise. */
unsigned int hotplug_mem_commit(struct machine *m, uint64_t ram);

#endif

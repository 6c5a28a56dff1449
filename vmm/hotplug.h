/*
 * Hotplug on the VMM thread: vm.resize's vCPU part, and the guest's ejects.
 *
 * Plugged vCPUs have a thread in KVM_RUN and are enabled in the CPU hotplug
 * controller. Growing creates (or reuses a parked) vCPU and its thread
 * before the GED tells the guest; shrinking only asks, and the guest's
 * _EJ0 completes it: then the thread is stopped and the vCPU parked.
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

/*
 * Sets the vCPU count to n. 0 on success (the guest was told, or nothing
 * changed); -EINVAL: n is out of range; -EBUSY: a removal still waits for
 * the guest; other errors: nothing changed. err says why.
 */
int hotplug_resize_cpus(struct machine *m, unsigned int n, char *err,
			size_t errlen);
/* Parks the vCPUs the guest ejected (VMM thread, on the eject event). */
void hotplug_reap(struct machine *m);
void hotplug_cpus_status(struct machine *m, struct hotplug_cpus *st);
enum hotplug_cpu_state hotplug_cpu_state(struct machine *m, unsigned int cpu);
const char *hotplug_cpu_state_name(enum hotplug_cpu_state s);

#endif

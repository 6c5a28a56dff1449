/*
 * vm.resize on the VMM thread: its vCPU part, and both parts together;
 * parking the vCPUs the guest ejected. The CPU hotplug controller holds
 * what the guest sees; m->cpu_present holds which vCPUs have a thread.
 * The RAM part is in vmm/hotplug_mem.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/cpu_hotplug.h"
#include "devices/ged.h"
#include "vmm/config.h"
#include "vmm/hotplug.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/vcpu.h"

static unsigned int hotplug_count(const struct machine *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < m->cfg->max_vcpus; i++)
		n += m->cpu_present[i];
	return n;
}

/* A removal or an insert the guest has not seen: the change is not done. */
static bool hotplug_busy(struct machine *m, unsigned int cpu, bool *removing)
{
	struct hp_slot st;

	cpu_hotplug_status(m->cpu_hp, cpu, &st);
	*removing = st.remove_requested;
	return st.remove_requested || st.inserting;
}

void hotplug_reap(struct machine *m)
{
	unsigned int i;
	uint64_t v;

	if (read(m->eject_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("eject event: %s", strerror(errno));
	for (i = m->cfg->boot_vcpus; i < m->cfg->max_vcpus; i++) {
		if (!cpu_hotplug_take_ejected(m->cpu_hp, i))
			continue;
		vcpu_stop(&m->vm.vcpus[i]);
		m->cpu_present[i] = false;
		log_info("vcpu%u: ejected by the guest, parked", i);
	}
	hotplug_mem_reap(m);
}

/* Thread first, then the controller: the guest may online it at once. */
static int hotplug_start_cpu(struct machine *m, unsigned int i)
{
	struct vcpu *v = &m->vm.vcpus[i];
	int ret;

	/* Set up (run mapped) means parked; else create or finish setup. */
	ret = !v->run ? vcpu_create(&m->vm, i) : vcpu_reset_ap(v);
	if (!ret)
		ret = vcpu_start(v);
	return ret;
}

static int hotplug_grow(struct machine *m, unsigned int cur, unsigned int n)
{
	unsigned int i;
	int ret = 0;

	for (i = cur; i < n && !ret; i++)
		ret = hotplug_start_cpu(m, i);
	if (ret) {
		/* Park what this request started: the VM is as it was. */
		while (i-- > cur)
			vcpu_stop(&m->vm.vcpus[i]);
		return ret;
	}
	for (i = cur; i < n; i++) {
		m->cpu_present[i] = true;
		cpu_hotplug_plug(m->cpu_hp, i);
	}
	return 0;
}

static void hotplug_shrink(struct machine *m, unsigned int cur,
			   unsigned int n)
{
	unsigned int i;

	for (i = cur; i-- > n;)
		cpu_hotplug_request_remove(m->cpu_hp, i);
}

static int hotplug_check(struct machine *m, unsigned int n, unsigned int cur,
			 char *err, size_t errlen)
{
	unsigned int i;
	bool removing;

	if (n < m->cfg->boot_vcpus || n > m->cfg->max_vcpus) {
		snprintf(err, errlen, "desired_vcpus: %u is outside %u..%u "
			 "(boot vCPUs cannot be removed; max is --cpus max)",
			 n, m->cfg->boot_vcpus, m->cfg->max_vcpus);
		return -EINVAL;
	}
	for (i = m->cfg->boot_vcpus; i < m->cfg->max_vcpus; i++) {
		if (!m->cpu_present[i] || !hotplug_busy(m, i, &removing))
			continue;
		/* Growing past an unseen insert is fine; anything else waits. */
		if (removing || n < cur) {
			snprintf(err, errlen, "desired_vcpus: vCPU %u is still "
				 "being %s by the guest; retry later", i,
				 removing ? "removed" : "added");
			return -EBUSY;
		}
	}
	return 0;
}

/* 1: nothing to do, 0: n is acceptable, < 0: it is not. */
static int hotplug_cpus_check(struct machine *m, unsigned int n, char *err,
			      size_t errlen)
{
	if (n == m->cpus_requested)
		return 1;	/* idempotent: vm.info tells when it is done */
	return hotplug_check(m, n, hotplug_count(m), err, errlen);
}

/* Returns the GED events to raise; on error nothing changed. */
static int hotplug_cpus_apply(struct machine *m, unsigned int n, char *err,
			      size_t errlen)
{
	unsigned int cur = hotplug_count(m);
	int ret;

	if (!m->running) {
		/* vm.shutdown'ed: the next vm.boot starts with n. */
		m->cpus_requested = n;
		return 0;
	}
	if (n > cur) {
		ret = hotplug_grow(m, cur, n);
		if (ret) {
			snprintf(err, errlen, "creating vCPUs: %s",
				 strerror(-ret));
			return ret;
		}
	} else if (n < cur) {
		hotplug_shrink(m, cur, n);
	}
	m->cpus_requested = n;
	log_info("vm.resize: vCPUs %u -> %u", cur, n);
	return GED_CPU_HOTPLUG;
}

/*
 * Check both parts, then map the RAM, then start the vCPUs (which can
 * fail and unwind themselves), and only then tell the guest of either.
 */
int hotplug_resize(struct machine *m, long long vcpus, long long ram,
		   char *err, size_t errlen, const char **field)
{
	bool do_cpus = vcpus >= 0, do_ram = ram >= 0;
	const char *f = NULL;
	int ret = 0, events = 0;

	hotplug_reap(m);
	if (do_cpus) {
		f = "desired_vcpus";
		/* The API bounds it to API_MAX_VCPUS. */
		ret = hotplug_cpus_check(m, (unsigned int)vcpus, err, errlen);
		do_cpus = ret == 0;
	}
	if (ret >= 0 && do_ram) {
		f = "desired_ram";
		ret = hotplug_mem_check(m, ram, err, errlen);
		if (!ret)
			ret = hotplug_mem_prepare(m, ram, err, errlen);
	}
	if (ret < 0)
		goto out;
	f = NULL;
	if (do_cpus) {
		events = hotplug_cpus_apply(m, vcpus, err, errlen);
		if (events < 0) {
			ret = events;
			f = "desired_vcpus";
			if (do_ram)
				hotplug_mem_abort(m, ram);
			goto out;
		}
	}
	if (do_ram)
		events |= hotplug_mem_commit(m, ram);
	if (events && m->running)
		ged_raise(m->ged, events);
	ret = 0;
out:
	if (field)
		*field = ret ? f : NULL;
	return ret;
}

enum hotplug_cpu_state hotplug_cpu_state(struct machine *m, unsigned int cpu)
{
	struct hp_slot st;

	if (!m->cpu_present[cpu])
		return HP_CPU_ABSENT;
	cpu_hotplug_status(m->cpu_hp, cpu, &st);
	if (st.remove_requested)
		return HP_CPU_REMOVING;
	if (m->running && atomic_load(&m->vm.vcpus[cpu].started))
		return HP_CPU_STARTED;
	if (st.inserting || cpu < m->cfg->boot_vcpus)
		return HP_CPU_PLUGGED;
	return HP_CPU_ACKED;
}

const char *hotplug_cpu_state_name(enum hotplug_cpu_state s)
{
	static const char *const names[] = {
		[HP_CPU_ABSENT] = "absent", [HP_CPU_PLUGGED] = "plugged",
		[HP_CPU_ACKED] = "acknowledged", [HP_CPU_STARTED] = "started",
		[HP_CPU_REMOVING] = "removing",
	};

	return names[s];
}

void hotplug_cpus_status(struct machine *m, struct hotplug_cpus *st)
{
	unsigned int i;
	bool removing;

	st->boot = m->cfg->boot_vcpus;
	st->max = m->cfg->max_vcpus;
	st->requested = m->cpus_requested;
	st->current = hotplug_count(m);
	st->pending = st->current != st->requested;
	for (i = 0; i < st->max && m->running; i++)
		if (m->cpu_present[i] && hotplug_busy(m, i, &removing))
			st->pending = true;
}

/*
 * RAM hotplug on the VMM thread. The ranges form a stack in the hotplug
 * region: range i starts where range i - 1 ends, growing pushes one range
 * of the whole difference, shrinking pops whole ranges. m->vm.hp_ram holds
 * what is mapped (and in KVM), the memory hotplug controller what the
 * guest sees.
 *
 * A guest may eject an older range before a newer one, leaving a hole
 * below it. A running guest's ranges cannot move, but then every newer
 * range is being removed too, and any other resize waits (429) until the
 * guest ejects it (no hole left) or reboots. With no VM (stopped, or at a
 * boot) the ranges are moved down, in order, to slots 0.. and to the
 * region's base: the guest finds them anew at its next boot. So a grow
 * always has the room above the newest range that max leaves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/ged.h"
#include "devices/mem_hotplug.h"
#include "vmm/config.h"
#include "vmm/hotplug.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/util.h"

unsigned int hotplug_mem_slots(uint64_t size, unsigned int kvm_memslots)
{
	uint64_t n = size / CONFIG_HOTPLUG_ALIGN;

	n = MIN(n, VM_MAX_HP_RAM);
	if (kvm_memslots <= VM_MAX_RAM)
		return 0;
	return MIN(n, kvm_memslots - VM_MAX_RAM);
}

static bool mem_mapped(const struct machine *m, unsigned int i)
{
	return m->vm.hp_ram[i].host != NULL;
}

/* One past the newest range. */
static unsigned int mem_top(const struct machine *m)
{
	unsigned int i = m->mem_slots;

	while (i && !mem_mapped(m, i - 1))
		i--;
	return i;
}

static uint64_t mem_current(const struct machine *m)
{
	uint64_t n = m->cfg->mem_size;
	unsigned int i;

	for (i = 0; i < m->mem_slots; i++)
		if (mem_mapped(m, i))
			n += m->vm.hp_ram[i].size;
	return n;
}

static uint64_t mem_next_base(const struct machine *m, unsigned int top)
{
	const struct vm_ram *r;

	if (!top)
		return config_hotplug_base(m->cfg->mem_size);
	r = &m->vm.hp_ram[top - 1];
	return r->gpa + r->size;
}

static uint64_t mem_region_end(const struct machine *m)
{
	return config_hotplug_base(m->cfg->mem_size) + m->cfg->hotplug_size;
}

/* The guest sees what is mapped, enabled, with no events pending. */
static void mem_reset(struct machine *m)
{
	uint64_t base[VM_MAX_HP_RAM] = { 0 }, size[VM_MAX_HP_RAM] = { 0 };
	unsigned int i;

	for (i = 0; i < m->mem_slots; i++) {
		base[i] = m->vm.hp_ram[i].gpa;
		size[i] = m->vm.hp_ram[i].size;
	}
	mem_hotplug_reset(m->mem_hp, base, size);
}

/* No KVM VM: closes the holes out-of-order ejects left, keeping the order. */
static void mem_compact(struct machine *m)
{
	uint64_t gpa = config_hotplug_base(m->cfg->mem_size);
	unsigned int i, n = 0;
	bool moved = false;

	for (i = 0; i < m->mem_slots; i++) {
		if (!mem_mapped(m, i))
			continue;
		if (i != n || m->vm.hp_ram[i].gpa != gpa) {
			if (vm_move_ram(&m->vm, i, n, gpa))
				return;
			log_info("RAM %u: moved to range %u at %#llx", i, n,
				 (unsigned long long)gpa);
			moved = true;
		}
		gpa += m->vm.hp_ram[n++].size;
	}
	if (moved)
		mem_reset(m);
}

static bool mem_enabled(struct machine *m, unsigned int i)
{
	struct mem_hp_status st;

	mem_hotplug_status(m->mem_hp, i, &st);
	return st.enabled;
}

void hotplug_mem_reap(struct machine *m)
{
	unsigned int i;

	for (i = 0; i < m->mem_slots; i++) {
		if (!mem_hotplug_take_ejected(m->mem_hp, i))
			continue;
		log_info("RAM %u: %llu MiB ejected by the guest, "
			 "unmapped", i, m->vm.hp_ram[i].size / MiB);
		vm_remove_ram(&m->vm, i);
	}
}

/* Boots with what was requested: unfinished removals happen now. */
void hotplug_mem_reboot(struct machine *m)
{
	unsigned int i;

	if (!m->mem_hp)
		return;
	hotplug_mem_reap(m);
	for (i = mem_top(m); i-- && mem_current(m) > m->mem_requested;)
		vm_remove_ram(&m->vm, i);
	mem_compact(m);
	mem_reset(m);
	m->mem_requested = mem_current(m);
}

/* A removal or an insert the guest has not seen. */
static bool mem_busy(struct machine *m, unsigned int i, bool *removing)
{
	struct mem_hp_status st;

	mem_hotplug_status(m->mem_hp, i, &st);
	*removing = st.remove_requested;
	return mem_mapped(m, i) && (st.remove_requested || st.inserting);
}

static int mem_check_busy(struct machine *m, uint64_t ram, uint64_t cur,
			  char *err, size_t errlen)
{
	unsigned int i;
	bool removing;

	for (i = 0; m->running && i < m->mem_slots; i++) {
		if (!mem_busy(m, i, &removing) || (!removing && ram > cur))
			continue;
		snprintf(err, errlen, "desired_ram: hotplugged RAM %u is still "
			 "being %s by the guest; retry later", i,
			 removing ? "removed" : "added");
		return -EBUSY;
	}
	return 0;
}

/* Shrinking pops whole ranges: ram must be where one of them begins. */
static int mem_check_shrink(struct machine *m, uint64_t ram, uint64_t cur,
			    char *err, size_t errlen)
{
	unsigned int i = mem_top(m);
	uint64_t at = cur;

	while (at > ram && i--)
		if (mem_mapped(m, i))
			at -= m->vm.hp_ram[i].size;
	if (at == ram)
		return 0;
	snprintf(err, errlen, "desired_ram: %llu MiB is inside a "
		 "hotplugged range; RAM shrinks by whole ranges, here to "
		 "%llu MiB or %llu MiB", ram / MiB, at / MiB,
		 (at + m->vm.hp_ram[i].size) / MiB);
	return -EINVAL;
}

int hotplug_mem_check(struct machine *m, uint64_t ram, char *err,
		      size_t errlen)
{
	uint64_t boot = m->cfg->mem_size, max = boot + m->cfg->hotplug_size;
	uint64_t cur;
	int ret;

	if (ram < boot || ram > max) {
		snprintf(err, errlen, "desired_ram: %llu MiB is outside "
			 "%llu..%llu MiB (boot RAM cannot be removed; max is "
			 "--memory size + hotplug_size)", ram / MiB,
			 boot / MiB, max / MiB);
		return -EINVAL;
	}
	/* Linux adds and removes RAM in 128 MiB blocks. */
	if ((ram - boot) % CONFIG_HOTPLUG_ALIGN) {
		snprintf(err, errlen, "desired_ram: %llu is not the boot RAM "
			 "(%llu) plus a multiple of 128 MiB (134217728 bytes)",
			 (unsigned long long)ram, (unsigned long long)boot);
		return -EINVAL;
	}
	if (ram == m->mem_requested)
		return 0;
	if (!m->running)	/* no guest to see ranges move */
		mem_compact(m);
	cur = mem_current(m);
	ret = mem_check_busy(m, ram, cur, err, errlen);
	if (ret || ram == cur)
		return ret;
	if (ram < cur)
		return mem_check_shrink(m, ram, cur, err, errlen);
	if (mem_top(m) >= m->mem_slots) {
		snprintf(err, errlen, "desired_ram: all %u hotplug ranges are "
			 "in use (one per growing resize); shrink first",
			 m->mem_slots);
		return -EINVAL;
	}
	return 0;
}

/* Maps and gives KVM the new range; the guest is not told yet. */
int hotplug_mem_prepare(struct machine *m, uint64_t ram, char *err,
			size_t errlen)
{
	uint64_t cur = mem_current(m), end = mem_region_end(m), base;
	unsigned int top = mem_top(m);
	int ret;

	if (ram == m->mem_requested || ram <= cur)
		return 0;
	base = mem_next_base(m, top);
	/* Cannot happen (see the top of this file); never map past the end. */
	if (base > end || ram - cur > end - base) {
		snprintf(err, errlen, "desired_ram: no room for %llu MiB above "
			 "the newest hotplugged range", (ram - cur) / MiB);
		log_err("%s", err);
		return -ENOSPC;
	}
	ret = vm_add_ram(&m->vm, top, base, ram - cur);
	if (ret)
		snprintf(err, errlen, "desired_ram: cannot map %llu"
			 " MiB: %s", (ram - cur) / MiB, strerror(-ret));
	return ret;
}

/* Unmaps what prepare mapped: the newest range, unknown to the guest. */
void hotplug_mem_abort(struct machine *m, uint64_t ram)
{
	unsigned int top = mem_top(m);

	if (ram > m->mem_requested && top && !mem_enabled(m, top - 1))
		vm_remove_ram(&m->vm, top - 1);
}

static void mem_shrink(struct machine *m, uint64_t ram)
{
	uint64_t at = mem_current(m);
	unsigned int i = mem_top(m);

	while (at > ram && i--) {
		if (!mem_mapped(m, i))
			continue;
		at -= m->vm.hp_ram[i].size;
		/* Stopped: no guest to ask. */
		if (!m->running)
			vm_remove_ram(&m->vm, i);
		else
			mem_hotplug_request_remove(m->mem_hp, i);
	}
}

unsigned int hotplug_mem_commit(struct machine *m, uint64_t ram)
{
	uint64_t cur = mem_current(m), old = m->mem_requested;
	unsigned int top = mem_top(m);
	struct vm_ram *r;

	if (ram == old)
		return 0;
	m->mem_requested = ram;
	log_info("vm.resize: RAM %llu -> %llu MiB", old / MiB,
		 ram / MiB);
	if (ram < cur) {
		mem_shrink(m, ram);
	} else if (m->running && top && !mem_enabled(m, top - 1)) {
		r = &m->vm.hp_ram[top - 1];
		mem_hotplug_plug(m->mem_hp, top - 1, r->gpa, r->size);
	}
	return m->running ? GED_MEM_HOTPLUG : 0;
}

enum hotplug_mem_state hotplug_mem_state(struct machine *m, unsigned int slot)
{
	struct mem_hp_status st;

	if (slot >= m->mem_slots || !mem_mapped(m, slot))
		return HP_MEM_ABSENT;
	mem_hotplug_status(m->mem_hp, slot, &st);
	if (st.remove_requested)
		return HP_MEM_REMOVING;
	if (st.inserting || (m->running && !st.enabled))
		return HP_MEM_PLUGGED;
	return HP_MEM_ACKED;
}

const char *hotplug_mem_state_name(enum hotplug_mem_state s)
{
	static const char *const names[] = {
		[HP_MEM_ABSENT] = "absent", [HP_MEM_PLUGGED] = "plugged",
		[HP_MEM_ACKED] = "acknowledged", [HP_MEM_REMOVING] = "removing",
	};

	return names[s];
}

void hotplug_mem_status(struct machine *m, struct hotplug_mem *st)
{
	unsigned int i;
	bool removing;

	st->boot = m->cfg->mem_size;
	st->max = st->boot + m->cfg->hotplug_size;
	st->requested = m->mem_requested;
	st->current = mem_current(m);
	st->pending = st->current != st->requested;
	for (i = 0; i < m->mem_slots && m->running; i++)
		if (mem_busy(m, i, &removing))
			st->pending = true;
}

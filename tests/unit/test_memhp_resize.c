/*
 * vm.resize's RAM part without KVM: a machine whose VM has no KVM fd, so
 * ranges are only mapped, and a guest played through the memory hotplug
 * controller's registers. Covers placement (stacked, 128 MiB aligned from
 * config_hotplug_base), validation, whole-range shrinking, busy states,
 * running out of ranges, ejects (in any order), a reboot, and a stopped VM;
 * then what else of the machine works without KVM: stopping it with vCPU
 * requests pending, and vm.info.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/cpu_hotplug.h"
#include "devices/gmem.h"
#include "devices/ged.h"
#include "devices/mem_hotplug.h"
#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/hotplug.h"
#include "vmm/machine.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"

static struct config cfg;
static struct machine m;
static bool present0 = true;
static int irqs, ejects;
static char err[256];
static const char *field;

static void count_irq(void *opaque)
{
	(void)opaque;
	irqs++;
}

static void on_eject(void *opaque, unsigned int slot)
{
	uint64_t one = 1;

	(void)opaque;
	(void)slot;
	ejects++;
	ck_assert_int_eq(write(m.eject_fd, &one, sizeof(one)), sizeof(one));
}

static void machine_setup(uint64_t size, uint64_t hotplug,
			  unsigned int kvm_slots)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&m, 0, sizeof(m));
	cfg.mem_size = size;
	cfg.hotplug_size = hotplug;
	cfg.boot_vcpus = cfg.max_vcpus = 1;
	m.cfg = &cfg;
	m.vm.fd = -1;
	m.vm.nr_memslots = kvm_slots;
	m.cpu_present = &present0;
	m.cpus_requested = 1;
	m.mem_requested = size;
	m.mem_slots = hotplug_mem_slots(hotplug, kvm_slots);
	ck_assert_uint_gt(m.mem_slots, 0);
	m.mem_hp = mem_hotplug_new(m.mem_slots, on_eject, NULL);
	m.ged = ged_new(count_irq, NULL);
	m.eject_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m.vm.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m.vm.kvm_fd = -1;
	m.vm.mem = gmem_new();
	ck_assert(m.mem_hp && m.ged && m.eject_fd >= 0 && m.vm.event_fd >= 0);
	m.running = true;
	irqs = ejects = 0;
}

static void setup(void)
{
	machine_setup(GiB, 3 * GiB, 509);
}

static void teardown(void)
{
	for (unsigned int i = 0; i < VM_MAX_HP_RAM; i++)
		vm_remove_ram(&m.vm, i);
	gmem_free(m.vm.mem);
	mem_hotplug_free(m.mem_hp);
	ged_free(m.ged);
	close(m.eject_fd);
	close(m.vm.event_fd);
}

static int resize(uint64_t bytes)
{
	field = "unset";
	err[0] = 0;
	return hotplug_resize(&m, HOTPLUG_NO_VCPUS, (long long)bytes, err,
			      sizeof(err), &field);
}

#define ck_resize_fails(bytes, want) do {				\
	ck_assert_int_eq(resize(bytes), want);				\
	ck_assert_str_eq(field, "desired_ram");				\
	ck_assert_ptr_nonnull(strstr(err, "desired_ram"));		\
} while (0)

/* The guest, through the registers. */
static void guest_write(uint64_t offset, uint32_t v)
{
	uint8_t d[4] = { v, v >> 8, v >> 16, v >> 24 };

	mem_hotplug_io(m.mem_hp, offset, d, 4, true);
}

static void guest_flags(unsigned int slot, uint8_t flags)
{
	guest_write(MEM_HP_BASE_LO, slot);
	mem_hotplug_io(m.mem_hp, MEM_HP_FLAGS, &flags, 1, true);
}

static struct mem_hp_status slot_status(unsigned int slot)
{
	struct mem_hp_status st;

	mem_hotplug_status(m.mem_hp, slot, &st);
	return st;
}

static struct hotplug_mem status(void)
{
	struct hotplug_mem st;

	hotplug_mem_status(&m, &st);
	return st;
}

/* Device threads see exactly the mapped ranges, where the guest does. */
static void ck_device_map(uint64_t base, uint64_t end)
{
	struct gmem_ref ref = gmem_get(m.vm.mem);
	const struct vm_ram *r;
	uint64_t gpa;
	unsigned int i;
	void *host;

	for (gpa = base; gpa < end; gpa += CONFIG_HOTPLUG_ALIGN) {
		host = NULL;
		for (i = 0; i < VM_MAX_HP_RAM; i++) {
			r = &m.vm.hp_ram[i];
			if (r->host && gpa >= r->gpa && gpa - r->gpa < r->size)
				host = r->host + (gpa - r->gpa);
		}
		ck_assert_ptr_eq(gmem_ptr(m.vm.mem, gpa, 1), host);
	}
	gmem_put(m.vm.mem, ref);
}

/* Every mapped range inside the region, 128 MiB aligned, none overlapping. */
static void ck_layout(void)
{
	uint64_t base = config_hotplug_base(cfg.mem_size);
	uint64_t end = base + cfg.hotplug_size, sum = cfg.mem_size;
	unsigned int i, j;

	for (i = 0; i < VM_MAX_HP_RAM; i++) {
		const struct vm_ram *a = &m.vm.hp_ram[i];

		if (!a->host)
			continue;
		ck_assert_uint_ge(a->gpa, base);
		ck_assert_uint_le(a->size, end - a->gpa);
		ck_assert_uint_eq(a->gpa % CONFIG_HOTPLUG_ALIGN, 0);
		ck_assert_uint_eq(a->size % CONFIG_HOTPLUG_ALIGN, 0);
		sum += a->size;
		for (j = 0; j < i; j++) {
			const struct vm_ram *b = &m.vm.hp_ram[j];

			ck_assert(!b->host || a->gpa >= b->gpa + b->size ||
				  b->gpa >= a->gpa + a->size);
		}
	}
	ck_assert_uint_eq(status().current, sum);
	ck_device_map(base, end);
}

/*
 * Two ranges; a shrink to boot RAM; the guest ejects only the older one,
 * leaving a hole below the newer (384 MiB at 5 GiB).
 */
static void mem_hole_below_newest(void)
{
	ck_assert_int_eq(resize(2 * GiB), 0);
	ck_assert_int_eq(resize(2 * GiB + 384 * MiB), 0);
	guest_flags(0, MEM_HP_F_INSERT);
	guest_flags(1, MEM_HP_F_INSERT);
	ck_assert_int_eq(resize(GiB), 0);
	guest_flags(0, MEM_HP_F_EJECT);
	hotplug_reap(&m);
	ck_assert_ptr_null(m.vm.hp_ram[0].host);
	ck_assert_ptr_nonnull(m.vm.hp_ram[1].host);
	ck_assert_uint_eq(status().current, GiB + 384 * MiB);
	ck_layout();
}

/* Stopped, then the largest size: it must fit in [4 GiB, 7 GiB). */
START_TEST(mem_hole_stopped_grow)
{
	mem_hole_below_newest();
	m.running = false;		/* vm.shutdown */
	ck_assert_int_eq(resize(4 * GiB), 0);
	ck_layout();
	ck_assert_uint_eq(status().current, 4 * GiB);
	/* The kept range moved down, still the older: shrinking pops the new. */
	ck_assert_uint_eq(m.vm.hp_ram[0].gpa, 4 * GiB);
	ck_assert_uint_eq(m.vm.hp_ram[0].size, 384 * MiB);
	ck_assert_int_eq(resize(GiB + 384 * MiB), 0);
	ck_assert_ptr_null(m.vm.hp_ram[1].host);
	ck_assert_ptr_nonnull(m.vm.hp_ram[0].host);
	ck_assert_int_eq(resize(4 * GiB), 0);
	ck_layout();
	hotplug_mem_reboot(&m);		/* vm.boot */
	ck_layout();
	ck_assert_uint_eq(status().current, 4 * GiB);
	ck_assert(!status().pending);
}
END_TEST

/* Kept across vm.boot by asking for its size, then grown while running. */
START_TEST(mem_hole_boot_grow)
{
	mem_hole_below_newest();
	m.running = false;
	ck_assert_int_eq(resize(GiB + 384 * MiB), 0);
	hotplug_mem_reboot(&m);
	m.running = true;
	ck_layout();
	ck_assert_int_eq(resize(4 * GiB), 0);
	ck_layout();
	ck_assert_uint_eq(status().current, 4 * GiB);
	/* The guest sees exactly what is mapped. */
	for (unsigned int i = 0; i < m.mem_slots; i++) {
		struct mem_hp_status st = slot_status(i);

		ck_assert(st.enabled == (m.vm.hp_ram[i].host != NULL));
		if (st.enabled) {
			ck_assert_uint_eq(st.base, m.vm.hp_ram[i].gpa);
			ck_assert_uint_eq(st.size, m.vm.hp_ram[i].size);
		}
	}
}
END_TEST

START_TEST(mem_slot_count)
{
	ck_assert_uint_eq(hotplug_mem_slots(0, 509), 0);
	ck_assert_uint_eq(hotplug_mem_slots(100 * MiB, 509), 0);
	ck_assert_uint_eq(hotplug_mem_slots(3 * GiB, 509), 24);
	ck_assert_uint_eq(hotplug_mem_slots(64 * GiB, 509), VM_MAX_HP_RAM);
	ck_assert_uint_eq(hotplug_mem_slots(3 * GiB, 5), 3);
	ck_assert_uint_eq(hotplug_mem_slots(3 * GiB, 2), 0);
}
END_TEST

START_TEST(mem_grow_stacks_ranges)
{
	struct mem_hp_status st;

	ck_assert_int_eq(resize(2 * GiB), 0);
	ck_assert_ptr_null(field);
	st = slot_status(0);
	ck_assert(st.enabled && st.inserting);
	ck_assert_uint_eq(st.base, 4 * GiB);
	ck_assert_uint_eq(st.size, GiB);
	ck_assert_ptr_nonnull(m.vm.hp_ram[0].host);
	ck_assert_int_eq(irqs, 1);
	ck_assert_int_eq(hotplug_mem_state(&m, 0), HP_MEM_PLUGGED);
	ck_assert(status().pending);

	/* Growing past an insert the guest has not seen is fine. */
	ck_assert_int_eq(resize(2 * GiB + 512 * MiB), 0);
	st = slot_status(1);
	ck_assert(st.enabled && st.inserting);
	ck_assert_uint_eq(st.base, 5 * GiB);
	ck_assert_uint_eq(st.size, 512 * MiB);
	ck_assert_uint_eq(status().current, 2 * GiB + 512 * MiB);

	/* The guest's scan acknowledges both. */
	guest_flags(0, MEM_HP_F_INSERT);
	guest_flags(1, MEM_HP_F_INSERT);
	ck_assert_int_eq(hotplug_mem_state(&m, 1), HP_MEM_ACKED);
	ck_assert(!status().pending);
	ck_assert_str_eq(hotplug_mem_state_name(HP_MEM_ACKED), "acknowledged");
}
END_TEST

/*
 * KVM maps a guest's 2 MiB page with one nested page table entry only when
 * the host address is 2 MiB aligned too: boot RAM and every range are.
 */
START_TEST(mem_ram_huge_aligned)
{
	struct vm vm = { .fd = -1, .kvm_fd = -1, .event_fd = -1 };
	unsigned int i;

	ck_assert_int_eq(resize(2 * GiB), 0);
	ck_assert_int_eq(resize(2 * GiB + 128 * MiB), 0);
	ck_assert_int_eq(resize(3 * GiB), 0);
	for (i = 0; i < 3; i++) {
		struct vm_ram *r = &m.vm.hp_ram[i];

		ck_assert_ptr_nonnull(r->host);
		ck_assert_uint_eq((uintptr_t)r->host % (2 * MiB), 0);
		r->host[0] = r->host[r->size - 1] = 1;
	}
	ck_assert_int_eq(vm_alloc_ram(&vm, 640 * MiB), 0);
	ck_assert_uint_eq((uintptr_t)vm.ram % (2 * MiB), 0);
	vm.ram[0] = vm.ram[640 * MiB - 1] = 1;
	vm_free(&vm);
}
END_TEST

/* Boot RAM above the 32-bit hole pushes the region up, 128 MiB aligned. */
START_TEST(mem_region_after_high_ram)
{
	teardown();
	machine_setup(3 * GiB + 2 * MiB, GiB, 509);
	/* Ranges are 128 MiB blocks on top of boot RAM. */
	ck_resize_fails(3 * GiB + 128 * MiB, -EINVAL);
	ck_assert_int_eq(resize(3 * GiB + 130 * MiB), 0);
	ck_assert_uint_eq(slot_status(0).base, 4 * GiB + 128 * MiB);
	ck_assert_uint_eq(slot_status(0).size, 128 * MiB);
	ck_assert_uint_eq(slot_status(0).base % (128 * MiB), 0);
}
END_TEST

START_TEST(mem_bad_sizes)
{
	ck_resize_fails(GiB + 1, -EINVAL);
	ck_resize_fails(GiB + 64 * MiB, -EINVAL);
	ck_resize_fails(512 * MiB, -EINVAL);
	ck_resize_fails(4 * GiB + 128 * MiB, -EINVAL);
	ck_resize_fails(1ULL << 62, -EINVAL);
	/* Nothing changed and the guest heard nothing. */
	ck_assert_int_eq(irqs, 0);
	ck_assert_ptr_null(m.vm.hp_ram[0].host);
	ck_assert(!slot_status(0).enabled);
	/* The current size: a no-op. */
	ck_assert_int_eq(resize(GiB), 0);
	ck_assert_int_eq(irqs, 0);
}
END_TEST

START_TEST(mem_shrink_whole_ranges)
{
	resize(2 * GiB);
	resize(2 * GiB + 512 * MiB);
	resize(3 * GiB);
	for (unsigned int i = 0; i < 3; i++)
		guest_flags(i, MEM_HP_F_INSERT);
	irqs = 0;

	/* Inside range 1 or 2: refused, saying where ranges begin. */
	ck_resize_fails(2 * GiB + 256 * MiB, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "2048 MiB or 2560 MiB"));
	ck_assert_int_eq(irqs, 0);

	ck_assert_int_eq(resize(2 * GiB), 0);
	ck_assert_int_eq(irqs, 1);
	ck_assert(slot_status(2).remove_requested && slot_status(2).removing);
	ck_assert(slot_status(1).remove_requested);
	ck_assert(!slot_status(0).remove_requested);
	ck_assert_int_eq(hotplug_mem_state(&m, 2), HP_MEM_REMOVING);
	/* Nothing unmapped before the guest ejects. */
	ck_assert_ptr_nonnull(m.vm.hp_ram[2].host);
	ck_assert_uint_eq(status().current, 3 * GiB);
	ck_assert(status().pending);

	/* Any other size waits; the same one is a no-op. */
	ck_resize_fails(3 * GiB, -EBUSY);
	ck_resize_fails(GiB, -EBUSY);
	ck_assert_int_eq(resize(2 * GiB), 0);

	guest_flags(2, MEM_HP_F_REMOVE | MEM_HP_F_EJECT);
	guest_flags(2, MEM_HP_F_EJECT);
	ck_assert_int_eq(ejects, 1);
	hotplug_reap(&m);
	ck_assert_ptr_null(m.vm.hp_ram[2].host);
	ck_assert_uint_eq(status().current, 2 * GiB + 512 * MiB);
	guest_flags(1, MEM_HP_F_EJECT);
	hotplug_reap(&m);
	ck_assert_ptr_null(m.vm.hp_ram[1].host);
	ck_assert_uint_eq(status().current, 2 * GiB);
	ck_assert(!status().pending);

	/* The freed place is reused by the next grow. */
	ck_assert_int_eq(resize(3 * GiB), 0);
	ck_assert_uint_eq(slot_status(1).base, 5 * GiB);
	ck_assert_uint_eq(slot_status(1).size, GiB);
}
END_TEST

START_TEST(mem_shrink_unseen_insert_busy)
{
	resize(2 * GiB);
	ck_resize_fails(GiB, -EBUSY);
	ck_assert(!slot_status(0).remove_requested);
}
END_TEST

/* The guest ejects only what evmm asked for. */
START_TEST(mem_hostile_ejects)
{
	resize(2 * GiB);
	resize(3 * GiB);
	guest_flags(0, MEM_HP_F_INSERT | MEM_HP_F_EJECT);
	guest_flags(1, 0xFF);
	guest_flags(7, MEM_HP_F_EJECT);
	guest_write(MEM_HP_BASE_LO, ~0u);
	guest_write(MEM_HP_FLAGS, MEM_HP_F_EJECT);
	hotplug_reap(&m);
	ck_assert_int_eq(ejects, 0);
	ck_assert_ptr_nonnull(m.vm.hp_ram[0].host);
	ck_assert_ptr_nonnull(m.vm.hp_ram[1].host);
	ck_assert_uint_eq(status().current, 3 * GiB);

	/* Asked for range 1: ejecting range 0 still does nothing. */
	ck_assert_int_eq(resize(2 * GiB), 0);
	guest_flags(0, MEM_HP_F_EJECT);
	hotplug_reap(&m);
	ck_assert_ptr_nonnull(m.vm.hp_ram[0].host);
	ck_assert_int_eq(ejects, 0);
}
END_TEST

START_TEST(mem_out_of_ranges)
{
	teardown();
	machine_setup(GiB, GiB, VM_MAX_RAM + 2);
	ck_assert_int_eq(m.mem_slots, 2);
	ck_assert_int_eq(resize(GiB + 128 * MiB), 0);
	ck_assert_int_eq(resize(GiB + 256 * MiB), 0);
	ck_resize_fails(GiB + 384 * MiB, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "all 2"));
	ck_assert_uint_eq(status().current, GiB + 256 * MiB);
}
END_TEST

/* A reboot finishes removals, keeps plugs, and starts with no events. */
START_TEST(mem_reboot)
{
	struct mem_hp_status st;

	resize(2 * GiB);
	resize(3 * GiB);
	guest_flags(0, MEM_HP_F_INSERT);
	guest_flags(1, MEM_HP_F_INSERT);
	resize(2 * GiB);
	hotplug_mem_reboot(&m);
	ck_assert_ptr_null(m.vm.hp_ram[1].host);
	ck_assert(!slot_status(1).enabled);
	st = slot_status(0);
	ck_assert(st.enabled && !st.inserting && !st.remove_requested);
	ck_assert_uint_eq(st.base, 4 * GiB);
	ck_assert_uint_eq(status().requested, 2 * GiB);
	ck_assert(!status().pending);
}
END_TEST

/* Stopped (vm.shutdown): no guest to ask, the next boot has the size. */
START_TEST(mem_stopped)
{
	m.running = false;
	ck_assert_int_eq(resize(3 * GiB), 0);
	ck_assert_int_eq(irqs, 0);
	ck_assert_ptr_nonnull(m.vm.hp_ram[0].host);
	ck_assert(!slot_status(0).enabled);
	ck_assert_int_eq(resize(GiB), 0);
	ck_assert_ptr_null(m.vm.hp_ram[0].host);
	ck_assert_int_eq(resize(2 * GiB), 0);
	hotplug_mem_reboot(&m);
	ck_assert(slot_status(0).enabled && !slot_status(0).inserting);
	ck_assert_uint_eq(status().current, 2 * GiB);
}
END_TEST

/* Stopped with a removal pending: asking for the size again keeps it. */
START_TEST(mem_stopped_cancels_removal)
{
	resize(2 * GiB);
	guest_flags(0, MEM_HP_F_INSERT);
	ck_assert_int_eq(resize(GiB), 0);
	m.running = false;		/* vm.shutdown; the guest never ejected */
	ck_assert_int_eq(resize(2 * GiB), 0);
	hotplug_mem_reboot(&m);
	ck_assert_ptr_nonnull(m.vm.hp_ram[0].host);
	ck_assert(slot_status(0).enabled && !slot_status(0).remove_requested);
	ck_assert_uint_eq(status().current, 2 * GiB);
	ck_assert_uint_eq(status().requested, 2 * GiB);
}
END_TEST

/* --- the machine: stop and vm.info ---------------------------------------- */

static bool event_pending(void)
{
	struct pollfd p = { .fd = m.vm.event_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/*
 * A vCPU's reset or power-off that raced vm.shutdown (or a second reset
 * during a reboot's stop) belonged to the old VM: gone with it.
 */
START_TEST(machine_stop_drops_requests)
{
	vm_request(&m.vm, VM_REQ_POWEROFF);
	machine_stop(&m);
	ck_assert(!m.running);
	ck_assert(!event_pending());
	ck_assert_int_eq(machine_take_request(&m), VM_REQ_NONE);

	m.running = true;		/* a reboot: stop, then start */
	vm_request(&m.vm, VM_REQ_REBOOT);
	machine_stop(&m);
	m.running = true;
	ck_assert_int_eq(machine_take_request(&m), VM_REQ_NONE);
}
END_TEST

/* Without a VM a reboot or power-off is nobody's; an error still counts. */
START_TEST(machine_no_vm_ignores_requests)
{
	vm_request(&m.vm, VM_REQ_REBOOT);
	ck_assert_int_eq(machine_take_request(&m), VM_REQ_REBOOT);
	m.running = false;
	vm_request(&m.vm, VM_REQ_REBOOT);
	ck_assert_int_eq(machine_take_request(&m), VM_REQ_NONE);
	vm_request(&m.vm, VM_REQ_POWEROFF);
	ck_assert_int_eq(machine_take_request(&m), VM_REQ_NONE);
	vm_request(&m.vm, VM_REQ_ERROR);
	ck_assert_int_eq(machine_take_request(&m), VM_REQ_ERROR);
	ck_assert(!event_pending());
}
END_TEST

/* vm.info: a vCPU never created still has its APIC ID. */
START_TEST(machine_info_apic_ids)
{
	static const uint32_t ids[3] = { 0, 1, 2 };
	struct api_request req = { .op = API_INFO };
	struct api_reply r = { 0 };
	struct control c = { .m = &m };
	bool present[3] = { true, false, false };
	json_t *info, *vcpus;
	unsigned int i;

	cfg.max_vcpus = 3;
	cfg.kernel = "bzImage";
	cfg.cmdline = "";
	m.cpu_present = present;
	m.cpu_hp = cpu_hotplug_new(3, 1, ids, NULL, NULL);
	m.vm.vcpus = calloc(3, sizeof(*m.vm.vcpus));
	ck_assert(m.cpu_hp && m.vm.vcpus);
	for (i = 0; i < 3; i++)
		m.vm.vcpus[i].fd = -1;
	control_handle(&c, &req, &r);
	ck_assert_int_eq(r.status, 200);
	info = json_loads(r.body, 0, NULL);
	vcpus = json_object_get(json_object_get(json_object_get(info,
			"hotplug"), "cpus"), "vcpus");
	ck_assert_uint_eq(json_array_size(vcpus), 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(
			json_array_get(vcpus, i), "apic_id")), vcpu_apic_id(i));
	json_decref(info);
	api_reply_free(&r);
	cpu_hotplug_free(m.cpu_hp);
	free(m.vm.vcpus);
	m.vm.vcpus = NULL;
	m.cpu_present = &present0;
}
END_TEST

Suite *memhp_resize_suite(void)
{
	Suite *s = suite_create("memhp_resize");
	TCase *tc = tcase_create("memhp_resize");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mem_slot_count);
	tcase_add_test(tc, mem_grow_stacks_ranges);
	tcase_add_test(tc, mem_ram_huge_aligned);
	tcase_add_test(tc, mem_region_after_high_ram);
	tcase_add_test(tc, mem_bad_sizes);
	tcase_add_test(tc, mem_shrink_whole_ranges);
	tcase_add_test(tc, mem_shrink_unseen_insert_busy);
	tcase_add_test(tc, mem_hostile_ejects);
	tcase_add_test(tc, mem_out_of_ranges);
	tcase_add_test(tc, mem_reboot);
	tcase_add_test(tc, mem_stopped);
	tcase_add_test(tc, mem_stopped_cancels_removal);
	tcase_add_test(tc, mem_hole_stopped_grow);
	tcase_add_test(tc, mem_hole_boot_grow);
	suite_add_tcase(s, tc);
	tc = tcase_create("machine");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, machine_stop_drops_requests);
	tcase_add_test(tc, machine_no_vm_ignores_requests);
	tcase_add_test(tc, machine_info_apic_ids);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * The resize state machine under libFuzzer, without KVM: vm.resize (RAM,
 * vCPUs, both), a guest played through the hotplug controllers' registers
 * as its AML would (scans, acks, ejects in any order, _OST failures,
 * garbage), reboot and power-off requests, vm.shutdown, vm.boot and
 * reboots. KVM's memory slots are a model fed by vm->set_memory; creating
 * a vCPU fails, as it does without KVM (so a vCPU grow while running
 * exercises the all-or-nothing unwinding).
 *
 * The input: 3 bytes of configuration (boot RAM, hotplug_size, KVM slots),
 * then one operation per byte, some followed by an argument byte. After
 * every operation the invariants in check() must hold, or it aborts saying
 * which and at which step.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/cpu_hotplug.h"
#include "devices/ged.h"
#include "devices/mem_hotplug.h"
#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/hotplug.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"

#define MAX_VCPUS	4
#define KVM_SLOTS	(VM_MAX_RAM + VM_MAX_HP_RAM)
#define BLOCK		CONFIG_HOTPLUG_ALIGN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct kvm_slot {
	bool used;
	uint64_t gpa, size, host;
};

struct input {
	const uint8_t *p;
	size_t n;
};

static struct config cfg;
static struct machine m;
static struct vcpu vcpus[MAX_VCPUS];
static bool present[MAX_VCPUS];
static struct kvm_slot kvm[KVM_SLOTS];	/* KVM's memory slot table */
static unsigned int step, irqs;
static bool quit;			/* evmm would have exited */

#define fail(...) do {							\
	fprintf(stderr, "fuzz_resize: step %u: ", step);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	abort();							\
} while (0)
#define want(c) do { if (!(c)) fail("%s", #c); } while (0)

static uint8_t next(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* Is the host page at addr mapped? */
static bool host_mapped(uint64_t addr)
{
	return !msync((void *)(uintptr_t)addr, 4096, MS_ASYNC);
}

/* KVM_SET_USER_MEMORY_REGION, as KVM would take it. */
static int fake_set_memory(struct vm *vm,
			   const struct kvm_userspace_memory_region *r)
{
	struct kvm_slot *s;
	unsigned int i;

	if (vm->fd < 0)
		fail("memory slot %u set without a VM", r->slot);
	if (r->slot < VM_MAX_RAM || r->slot >= KVM_SLOTS)
		fail("memory slot %u is not a hotplug slot", r->slot);
	s = &kvm[r->slot];
	if (!r->memory_size) {
		if (!s->used)
			return -EINVAL;
		/* The order that matters: slot gone, then unmapped. */
		if (!host_mapped(s->host))
			fail("KVM slot %u deleted after its memory was "
			     "unmapped", r->slot);
		s->used = false;
		return 0;
	}
	if (s->used)
		return -EINVAL;
	if (!host_mapped(r->userspace_addr))
		fail("KVM slot %u given unmapped memory", r->slot);
	for (i = 0; i < KVM_SLOTS; i++)
		if (kvm[i].used && r->guest_phys_addr < kvm[i].gpa + kvm[i].size &&
		    kvm[i].gpa < r->guest_phys_addr + r->memory_size)
			return -EEXIST;
	*s = (struct kvm_slot){ true, r->guest_phys_addr, r->memory_size,
				r->userspace_addr };
	return 0;
}

static void count_irq(void *opaque)
{
	(void)opaque;
	irqs++;
}

/* What machine_ejected does on the ejecting vCPU's thread. */
static void on_eject(void *opaque, unsigned int slot)
{
	uint64_t one = 1;

	(void)opaque;
	(void)slot;
	if (write(m.eject_fd, &one, sizeof(one)) != sizeof(one))
		fail("eject_fd: %s", strerror(errno));
}

/* machine_start without KVM: what it does before and in vm_create. */
static void vm_boot(void)
{
	unsigned int i;

	for (i = 0; i < cfg.max_vcpus; i++)
		present[i] = i < m.cpus_requested;
	cpu_hotplug_reset(m.cpu_hp, present);
	hotplug_mem_reboot(&m);
	ged_reset(m.ged);
	want(m.vm.fd < 0);
	m.vm.fd = eventfd(0, EFD_CLOEXEC);	/* stands for the VM's fd */
	want(m.vm.fd >= 0);
	for (i = 0; i < VM_MAX_HP_RAM; i++) {
		struct vm_ram *r = &m.vm.hp_ram[i];
		struct kvm_userspace_memory_region k = {
			.slot = VM_MAX_RAM + i, .guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (r->host && fake_set_memory(&m.vm, &k))
			fail("vm_create: range %u rejected by KVM", i);
	}
	m.running = true;
}

/* The VM's fd closed: KVM forgets its slots. */
static void vm_stop(void)
{
	machine_stop(&m);
	memset(kvm, 0, sizeof(kvm));
}

static void machine_new(struct input *in)
{
	static const uint64_t boot[] = {
		512 * MiB, GiB, 2 * GiB, 3 * GiB + 2 * MiB,
	};
	static const uint32_t apic_ids[MAX_VCPUS] = { 0, 1, 2, 3 };
	uint8_t b0 = next(in), b1 = next(in), b2 = next(in);
	unsigned int i;

	memset(&cfg, 0, sizeof(cfg));
	memset(&m, 0, sizeof(m));
	memset(kvm, 0, sizeof(kvm));
	cfg.mem_size = boot[b0 % ARRAY_SIZE(boot)];
	cfg.hotplug_size = (1 + b1 % 24) * BLOCK;
	cfg.boot_vcpus = 1;
	cfg.max_vcpus = MAX_VCPUS;
	cfg.kernel = "bzImage";
	cfg.cmdline = "";
	m.cfg = &cfg;
	m.vm.fd = m.vm.kvm_fd = -1;
	m.vm.nr_memslots = b2 & 1 ? 509 : VM_MAX_RAM + 1 + (b2 >> 1) % 6;
	m.vm.phys_bits = 40;
	m.vm.set_memory = fake_set_memory;
	m.vm.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m.eject_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (i = 0; i < MAX_VCPUS; i++)
		vcpus[i] = (struct vcpu){ .vm = &m.vm, .index = i, .fd = -1 };
	m.vm.vcpus = vcpus;
	m.vm.max_vcpus = MAX_VCPUS;
	m.cpu_present = present;
	m.cpus_requested = cfg.boot_vcpus;
	m.mem_requested = cfg.mem_size;
	m.mem_slots = hotplug_mem_slots(cfg.hotplug_size, m.vm.nr_memslots);
	m.mem_hp = mem_hotplug_new(m.mem_slots, on_eject, NULL);
	m.cpu_hp = cpu_hotplug_new(MAX_VCPUS, 1, apic_ids, on_eject, NULL);
	m.ged = ged_new(count_irq, NULL);
	want(m.vm.event_fd >= 0 && m.eject_fd >= 0);
	want(m.mem_hp && m.cpu_hp && m.ged);
	irqs = 0;
	quit = false;
	vm_boot();
}

static void machine_delete(void)
{
	unsigned int i;

	vm_stop();
	for (i = 0; i < VM_MAX_HP_RAM; i++)
		vm_remove_ram(&m.vm, i);
	mem_hotplug_free(m.mem_hp);
	cpu_hotplug_free(m.cpu_hp);
	ged_free(m.ged);
	close(m.vm.event_fd);
	close(m.eject_fd);
}

/* --- invariants ----------------------------------------------------------- */

static void check_range(unsigned int i, uint64_t base, uint64_t end)
{
	const struct vm_ram *a = &m.vm.hp_ram[i];
	const struct kvm_slot *k = &kvm[VM_MAX_RAM + i];
	unsigned int j;

	if (!a->host) {
		if (k->used)
			fail("range %u unmapped, its KVM slot still there", i);
		return;
	}
	if (i >= m.mem_slots)
		fail("range %u mapped; the guest has %u", i, m.mem_slots);
	if (a->gpa < base || a->gpa >= end || a->size > end - a->gpa)
		fail("range %u at %#llx..%#llx outside the region "
		     "%#llx..%#llx", i, (unsigned long long)a->gpa,
		     (unsigned long long)(a->gpa + a->size),
		     (unsigned long long)base, (unsigned long long)end);
	want(a->size && a->gpa % BLOCK == 0 && a->size % BLOCK == 0);
	for (j = 0; j < i; j++) {
		const struct vm_ram *b = &m.vm.hp_ram[j];

		if (b->host && a->gpa < b->gpa + b->size &&
		    b->gpa < a->gpa + a->size)
			fail("ranges %u and %u overlap", j, i);
	}
	/* While a VM runs, KVM has exactly what is mapped. */
	if (m.running && (!k->used || k->gpa != a->gpa ||
			  k->size != a->size || k->host != (uintptr_t)a->host))
		fail("range %u mapped, KVM's slot differs", i);
}

/* What the guest sees is what is mapped. */
static void check_controller(unsigned int i)
{
	const struct vm_ram *a = &m.vm.hp_ram[i];
	enum hotplug_mem_state state = hotplug_mem_state(&m, i);
	struct mem_hp_status st;

	mem_hotplug_status(m.mem_hp, i, &st);
	if ((state == HP_MEM_ABSENT) != !a->host)
		fail("range %u: vm.info state %s", i,
		     hotplug_mem_state_name(state));
	if (!m.running)
		return;
	if (st.enabled && (!a->host || st.base != a->gpa || st.size != a->size))
		fail("slot %u: the guest sees a range that is not mapped", i);
	if (a->host && !st.enabled && !st.ejected)
		fail("slot %u: mapped, the guest does not see it", i);
}

static void check_cpus(void)
{
	struct hotplug_cpus st;

	hotplug_cpus_status(&m, &st);
	want(st.requested >= st.boot && st.requested <= st.max);
	want(st.current >= st.boot && st.current <= st.max);
	want(st.pending || st.current == st.requested);
}

static void check(void)
{
	uint64_t base = config_hotplug_base(cfg.mem_size);
	uint64_t end = base + cfg.hotplug_size, sum = cfg.mem_size;
	struct hotplug_mem st;
	unsigned int i;

	for (i = 0; i < VM_MAX_HP_RAM; i++) {
		check_range(i, base, end);
		if (m.vm.hp_ram[i].host)
			sum += m.vm.hp_ram[i].size;
	}
	for (i = 0; i < KVM_SLOTS; i++)
		if (kvm[i].used && !host_mapped(kvm[i].host))
			fail("KVM slot %u's memory is unmapped", i);
	want(m.running == (m.vm.fd >= 0));
	for (i = 0; i < m.mem_slots; i++)
		check_controller(i);
	hotplug_mem_status(&m, &st);
	want(st.boot == cfg.mem_size && st.max == cfg.mem_size + cfg.hotplug_size);
	if (st.current != sum)
		fail("current %llu MiB, mapped %llu MiB",
		     (unsigned long long)(st.current / MiB),
		     (unsigned long long)(sum / MiB));
	want(st.requested >= st.boot && st.requested <= st.max);
	want((st.requested - st.boot) % BLOCK == 0);
	want(st.pending || st.current == st.requested);
	check_cpus();
}

/* vm.info agrees with the machine (its JSON, parsed back). */
static void check_info(void)
{
	struct api_request req = { .op = API_INFO };
	struct control c = { .m = &m };
	struct api_reply r = { 0 };
	json_t *info, *mem, *slots, *s;
	struct hotplug_mem st;
	size_t i, n = 0;

	control_handle(&c, &req, &r);
	want(r.status == 200 && r.body);
	info = json_loads(r.body, 0, NULL);
	want(info);
	hotplug_mem_status(&m, &st);
	mem = json_object_get(json_object_get(info, "hotplug"), "memory");
	want(json_integer_value(json_object_get(mem, "current")) ==
	     (json_int_t)st.current);
	want(json_integer_value(json_object_get(info, "memory_actual_size")) ==
	     (json_int_t)st.current);
	slots = json_object_get(mem, "slots");
	json_array_foreach(slots, i, s) {
		json_int_t id = json_integer_value(json_object_get(s, "id"));
		const struct vm_ram *a = &m.vm.hp_ram[id];

		want(id >= 0 && id < (json_int_t)m.mem_slots && a->host);
		want(json_integer_value(json_object_get(s, "base")) ==
		     (json_int_t)a->gpa);
		want(json_integer_value(json_object_get(s, "size")) ==
		     (json_int_t)a->size);
	}
	for (i = 0; i < VM_MAX_HP_RAM; i++)
		n += m.vm.hp_ram[i].host != NULL;
	want(json_array_size(slots) == n);
	json_decref(info);
	api_reply_free(&r);
}

/* --- operations ----------------------------------------------------------- */

/* Mostly valid sizes; some off the 128 MiB grid or out of range. */
static long long pick_ram(struct input *in)
{
	uint8_t b = next(in);
	uint64_t blocks = cfg.hotplug_size / BLOCK;

	switch (b >> 6) {
	case 0:
	case 1:
	case 2:
		return cfg.mem_size + (b % (blocks + 1)) * BLOCK;
	default:
		if (b & 1)
			return cfg.mem_size + (b & 0x3e) * (BLOCK / 2);
		return b & 2 ? (long long)(cfg.mem_size - BLOCK) :
			       (long long)(cfg.mem_size + cfg.hotplug_size +
					   BLOCK);
	}
}

/* Is each range of before still mapped, and nothing else? */
static bool same_ranges(const struct vm_ram *before)
{
	unsigned int i, j, n = 0;

	for (i = 0; i < VM_MAX_HP_RAM; i++) {
		if (!m.vm.hp_ram[i].host)
			continue;
		n++;
		for (j = 0; j < VM_MAX_HP_RAM; j++)
			if (before[j].host == m.vm.hp_ram[i].host &&
			    before[j].size == m.vm.hp_ram[i].size)
				break;
		if (j == VM_MAX_HP_RAM)
			return false;
	}
	for (i = 0; i < VM_MAX_HP_RAM; i++)
		n -= before[i].host != NULL;
	return !n;
}

/* Without KVM a vCPU cannot be created: keep its error line quiet. */
static int resize_quietly(long long vcpus, long long ram, char *err,
			  size_t len, const char **field)
{
	int fd = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
	int ret;

	want(fd >= 0 && null >= 0);
	dup2(null, STDERR_FILENO);
	ret = hotplug_resize(&m, vcpus, ram, err, len, field);
	dup2(fd, STDERR_FILENO);
	close(fd);
	close(null);
	return ret;
}

static void op_resize(long long vcpus, long long ram)
{
	struct vm_ram before[VM_MAX_HP_RAM];
	unsigned int cpus_req, irqs0 = irqs;
	struct hotplug_cpus cpus;
	bool cpu_grow;
	uint64_t mem_req;
	const char *field = "unset";
	char err[256] = "";
	int ret;

	hotplug_reap(&m);	/* what the resize does first */
	hotplug_cpus_status(&m, &cpus);
	cpu_grow = m.running && vcpus > (long long)cpus.current;
	memcpy(before, m.vm.hp_ram, sizeof(before));
	mem_req = m.mem_requested;
	cpus_req = m.cpus_requested;
	if (cpu_grow)
		ret = resize_quietly(vcpus, ram, err, sizeof(err), &field);
	else
		ret = hotplug_resize(&m, vcpus, ram, err, sizeof(err), &field);
	if (!ret) {
		want(!field);
		want(ram < 0 || m.mem_requested == (uint64_t)ram);
		want(vcpus < 0 || m.cpus_requested == vcpus);
		/* A change the guest must hear of is announced. */
		if (m.running && (m.mem_requested != mem_req ||
				  m.cpus_requested != cpus_req))
			want(irqs > irqs0);
		return;
	}
	/* Refused, or evmm failed: either way nothing changed. */
	if (ret != -EINVAL && ret != -EBUSY &&
	    !(cpu_grow && field && !strcmp(field, "desired_vcpus")))
		fail("resize(%lld, %lld): %s (%s)", vcpus, ram, strerror(-ret),
		     err);
	want(field && strcmp(field, "unset"));
	if (!strcmp(field, "desired_ram") && !strstr(err, "desired_ram"))
		fail("the error does not name desired_ram: %s", err);
	want(m.mem_requested == mem_req && m.cpus_requested == cpus_req);
	if (!same_ranges(before))
		fail("resize(%lld, %lld) failed and changed the ranges", vcpus,
		     ram);
	want(irqs == irqs0);
}

/* The guest's port writes, as its AML makes them. */
static void mem_write(uint64_t offset, uint32_t v, uint32_t len)
{
	uint8_t d[4] = { v, v >> 8, v >> 16, v >> 24 };

	mem_hotplug_io(m.mem_hp, offset, d, len, true);
}

static uint8_t mem_flags(unsigned int slot)
{
	uint8_t f;

	mem_write(MEM_HP_BASE_LO, slot, 4);
	mem_hotplug_io(m.mem_hp, MEM_HP_FLAGS, &f, 1, false);
	return f;
}

static void cpu_write(uint64_t offset, uint32_t v, uint32_t len)
{
	uint8_t d[4] = { v, v >> 8, v >> 16, v >> 24 };

	cpu_hotplug_io(m.cpu_hp, offset, d, len, true);
}

static uint8_t cpu_flags(unsigned int cpu)
{
	uint8_t f;

	cpu_write(CPU_HP_SEL, cpu, 4);
	cpu_hotplug_io(m.cpu_hp, CPU_HP_FLAGS, &f, 1, false);
	return f;
}

/* MSCN and CSCN: an insert is acknowledged, else a removal's event. */
static void guest_scan(void)
{
	unsigned int i;
	uint8_t f;

	for (i = 0; i < m.mem_slots; i++) {
		f = mem_flags(i);
		if (f & MEM_HP_F_INSERT)
			mem_write(MEM_HP_FLAGS, MEM_HP_F_INSERT, 1);
		else if (f & MEM_HP_F_REMOVE)
			mem_write(MEM_HP_FLAGS, MEM_HP_F_REMOVE, 1);
	}
	for (i = 0; i < cfg.max_vcpus; i++) {
		f = cpu_flags(i);
		if (f & CPU_HP_F_INSERT)
			cpu_write(CPU_HP_FLAGS, CPU_HP_F_INSERT, 1);
		else if (f & CPU_HP_F_REMOVE)
			cpu_write(CPU_HP_FLAGS, CPU_HP_F_REMOVE, 1);
	}
}

/* _OST(0x103 eject, status): the guest could not offline the range. */
static void guest_ost_fail(unsigned int slot, uint8_t status)
{
	mem_write(MEM_HP_BASE_LO, slot, 4);
	mem_write(MEM_HP_BASE_HI, 3, 4);
	mem_write(MEM_HP_SIZE_LO, 0x80 | status, 4);
}

/* The event loop's turn on the VM's eventfd (vmm_vm_event). */
static void event_loop(void)
{
	switch (machine_take_request(&m)) {
	case VM_REQ_NONE:
		break;
	case VM_REQ_REBOOT:
		want(m.running);
		vm_stop();
		vm_boot();
		break;
	case VM_REQ_POWEROFF:
	case VM_REQ_ERROR:
		want(m.running);
		quit = true;
		break;
	}
}

/* An action on the API, through the VMM thread's handler. */
static void api_action(enum api_op op)
{
	struct api_request req = { .op = op };
	struct control c = { .m = &m };
	struct api_reply r = { 0 };
	bool was = m.running;

	control_handle(&c, &req, &r);
	want(r.status == (was ? 204 : 409));
	api_reply_free(&r);
	if (op == API_SHUTDOWN && was)
		memset(kvm, 0, sizeof(kvm));
}

static void op_run(struct input *in)
{
	uint8_t op = next(in), arg;
	uint32_t val;

	switch (op % 16) {
	case 0:
	case 1:
	case 2:
		op_resize(HOTPLUG_NO_VCPUS, pick_ram(in));
		break;
	case 3:
		arg = next(in);
		op_resize(arg % (MAX_VCPUS + 2), arg & 0x80 ? pick_ram(in) :
			  HOTPLUG_NO_RAM);
		break;
	case 4:
	case 5:
		guest_scan();
		break;
	case 6:
	case 7:		/* _EJ0 of any slot, asked for or not */
		mem_write(MEM_HP_BASE_LO, next(in) % (m.mem_slots + 1), 4);
		mem_write(MEM_HP_FLAGS, MEM_HP_F_EJECT, 1);
		break;
	case 8:
		arg = next(in);
		guest_ost_fail(arg % m.mem_slots, next(in));
		break;
	case 9:		/* _EJ0 of a vCPU */
		cpu_write(CPU_HP_SEL, next(in) % MAX_VCPUS, 4);
		cpu_write(CPU_HP_FLAGS, CPU_HP_F_EJECT, 1);
		break;
	case 10:	/* the VMM thread's eject event */
		hotplug_reap(&m);
		break;
	case 11:
		api_action(API_SHUTDOWN);
		break;
	case 12:	/* vm.boot */
		if (!m.running)
			vm_boot();
		break;
	case 13:	/* a guest reset or power-off, or vm.reboot */
		arg = next(in);
		if (arg & 1)
			api_action(API_REBOOT);
		else if (m.running)
			vm_request(&m.vm, arg & 2 ? VM_REQ_POWEROFF :
				   VM_REQ_REBOOT);
		break;
	case 14:
		event_loop();
		break;
	default:	/* anything at all on the memory controller's ports */
		arg = next(in);
		val = next(in);
		val = val << 8 | next(in);
		mem_write(arg % (MEM_HP_IO_SIZE + 2), val, 1 + (arg >> 6));
		check_info();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	log_threshold = LOG_ERROR;
	step = 0;
	machine_new(&in);
	check();
	while (in.n && !quit) {
		step++;
		op_run(&in);
		check();
	}
	check_info();
	machine_delete();
	return 0;
}

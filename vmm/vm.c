#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static const struct {
	int cap;
	const char *name;
} vm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "IRQCHIP" },
	{ KVM_CAP_PIT2, "PIT2" },
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	{ KVM_CAP_MP_STATE, "MP_STATE" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
};

static int vm_check_caps(struct vm *vm)
{
	unsigned int i;
	int n;

	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		log_err("/dev/kvm: unsupported KVM API version");
		return -ENOTSUP;
	}
	for (i = 0; i < ARRAY_SIZE(vm_required_caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			  vm_required_caps[i].cap) <= 0) {
			log_err("KVM lacks KVM_CAP_%s", vm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	vm->host_max_vcpus = n > 0 ? n : 1;
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	vm->nr_memslots = n > 0 ? n : 32;
	return 0;
}

/* CPUID 0x80000008 EAX[7:0], as KVM reports it for guests. */
static unsigned int vm_find_phys_bits(const struct kvm_cpuid2 *c)
{
	unsigned int i, bits;

	for (i = 0; i < c->nent; i++) {
		bits = c->entries[i].eax & 0xFF;
		if (c->entries[i].function == 0x80000008 && bits >= 32 &&
		    bits <= 52)
			return bits;
	}
	return 36;	/* what x86 guarantees without the leaf */
}

/*
 * KVM emulates the TSC-deadline timer with its in-kernel LAPIC but leaves
 * the bit out of KVM_GET_SUPPORTED_CPUID: a VMM that has the capability
 * sets it. The guest then arms its timer with one WRMSR, not MMIO writes.
 */
static void vm_add_tsc_deadline(struct vm *vm, struct kvm_cpuid2 *c)
{
	unsigned int i;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
		return;
	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
}

static int vm_get_cpuid(struct vm *vm)
{
	unsigned int nent = 64;

	/* The kernel says E2BIG until the buffer holds every leaf. */
	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
					      nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			vm_add_tsc_deadline(vm, c);
			vm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return -errno;
		nent *= 2;
	}
}

int vm_init(struct vm *vm, unsigned int max_vcpus)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->event_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		log_err("/dev/kvm: %s", strerror(errno));
		return ret;
	}
	ret = vm_check_caps(vm);
	if (ret)
		goto err;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		ret = -EINVAL;
		goto err;
	}
	ret = vm_get_cpuid(vm);
	if (ret)
		goto err;
	vm->phys_bits = vm_find_phys_bits(vm->cpuid);
	ret = irq_init(&vm->irq, vm->kvm_fd);
	if (ret)
		goto err;
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->event_fd < 0) {
		ret = -errno;
		goto err;
	}
	vm->mem = gmem_new();
	vm->vcpus = calloc(max_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus || !vm->mem) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < max_vcpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].fd = -1;
	}
	vm->max_vcpus = max_vcpus;
	return 0;
err:
	vm_free(vm);
	return ret;
}

#define VM_HUGE_PAGE	(2UL << 20)

/*
 * Guest RAM: untouched costs the host nothing (no pre-faulting), touched goes
 * in 2 MiB transparent huge pages. KVM maps a guest's 2 MiB page with one
 * nested page table entry only when the host address is 2 MiB aligned like
 * the guest's; a plain mmap is 4 KiB aligned and costs one nested page fault
 * per 4 KiB the guest touches (29,000 exits in a Linux boot, against 900).
 */
static uint8_t *vm_map_ram(uint64_t size)
{
	uint8_t *p, *a;

	p = mmap(NULL, size + VM_HUGE_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)ALIGN_UP((uintptr_t)p, VM_HUGE_PAGE);
	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + VM_HUGE_PAGE - a);
	madvise(a, size, MADV_HUGEPAGE);
	return a;
}

/* Device threads see what the guest sees (tests' vms may have no map). */
static int vm_gmem_add(struct vm *vm, const struct vm_ram *r, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; vm->mem && i < n; i++) {
		ret = gmem_add(vm->mem, r[i].gpa, r[i].size, r[i].host);
		if (ret) {
			while (i--)
				gmem_remove(vm->mem, r[i].gpa);
			return ret;
		}
	}
	return 0;
}

static void vm_gmem_remove(struct vm *vm, uint64_t gpa)
{
	if (vm->mem && gmem_remove(vm->mem, gpa))
		log_err("device memory map: no range at %#llx",
			(unsigned long long)gpa);
}

int vm_alloc_ram(struct vm *vm, uint64_t size)
{
	uint64_t low = MIN(size, LAYOUT_MMIO_HOLE);

	vm->ram = vm_map_ram(size);
	if (!vm->ram)
		return -errno;
	vm->ram_size = size;
	vm->regions[0] = (struct vm_ram){ 0, low, vm->ram };
	vm->nregions = 1;
	if (size > low) {
		vm->regions[1] = (struct vm_ram){ LAYOUT_HIGH_RAM, size - low,
						  vm->ram + low };
		vm->nregions = 2;
	}
	return vm_gmem_add(vm, vm->regions, vm->nregions);
}

static int vm_set_slot(struct vm *vm, unsigned int slot,
		       const struct vm_ram *r, uint64_t size)
{
	struct kvm_userspace_memory_region k = {
		.slot = slot,
		.guest_phys_addr = r->gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)r->host,
	};

	if (vm->set_memory)
		return vm->set_memory(vm, &k);
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &k) ? -errno : 0;
}

static int vm_set_slots(struct vm *vm)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < vm->nregions && !ret; i++)
		ret = vm_set_slot(vm, i, &vm->regions[i], vm->regions[i].size);
	for (i = 0; i < VM_MAX_HP_RAM && !ret; i++)
		if (vm->hp_ram[i].host)
			ret = vm_set_slot(vm, VM_MAX_RAM + i, &vm->hp_ram[i],
					  vm->hp_ram[i].size);
	return ret;
}

int vm_add_ram(struct vm *vm, unsigned int slot, uint64_t gpa, uint64_t size)
{
	struct vm_ram *r;
	int ret;

	if (slot >= VM_MAX_HP_RAM || vm->hp_ram[slot].host || !size)
		return -EINVAL;
	r = &vm->hp_ram[slot];
	if (VM_MAX_RAM + slot >= vm->nr_memslots)
		return -ENOSPC;
	r->host = vm_map_ram(size);
	if (!r->host)
		return -errno;
	r->gpa = gpa;
	r->size = size;
	ret = vm->fd < 0 ? 0 : vm_set_slot(vm, VM_MAX_RAM + slot, r, size);
	if (!ret) {
		ret = vm_gmem_add(vm, r, 1);
		if (ret && vm->fd >= 0)
			vm_set_slot(vm, VM_MAX_RAM + slot, r, 0);
	}
	if (ret) {
		munmap(r->host, size);
		*r = (struct vm_ram){ 0 };
	}
	return ret;
}

void vm_remove_ram(struct vm *vm, unsigned int slot)
{
	struct vm_ram *r;
	int ret;

	if (slot >= VM_MAX_HP_RAM || !vm->hp_ram[slot].host)
		return;
	r = &vm->hp_ram[slot];
	/* Size 0 deletes the slot; KVM waits out vCPUs still using it. */
	ret = vm->fd >= 0 ? vm_set_slot(vm, VM_MAX_RAM + slot, r, 0) : 0;
	if (ret) {
		/* Unmapping what KVM still maps would fault the guest. */
		log_err("hotplug RAM %u: KVM kept the slot (%s); the range "
			"stays mapped", slot, strerror(-ret));
		return;
	}
	vm_gmem_remove(vm, r->gpa);
	munmap(r->host, r->size);
	*r = (struct vm_ram){ 0 };
}

int vm_move_ram(struct vm *vm, unsigned int from, unsigned int to,
		uint64_t gpa)
{
	if (vm->fd >= 0)
		return -EBUSY;
	if (from >= VM_MAX_HP_RAM || to >= VM_MAX_HP_RAM ||
	    !vm->hp_ram[from].host || (to != from && vm->hp_ram[to].host))
		return -EINVAL;
	vm_gmem_remove(vm, vm->hp_ram[from].gpa);
	vm->hp_ram[to] = vm->hp_ram[from];
	vm->hp_ram[to].gpa = gpa;
	if (to != from)
		vm->hp_ram[from] = (struct vm_ram){ 0 };
	/* Moved all the same: devices would then fail I/O to it, no more. */
	if (vm_gmem_add(vm, &vm->hp_ram[to], 1))
		log_err("device memory map: RAM %u at %#llx left out", to,
			(unsigned long long)gpa);
	return 0;
}

int vm_create(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = LAYOUT_IDENTITY_MAP;
	int ret;

	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return -errno;
	/* Order matters: TSS and identity map, then irqchip, before vCPUs. */
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, LAYOUT_TSS) ||
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) ||
	    ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) ||
	    ioctl(vm->fd, KVM_CREATE_PIT2, &pit)) {
		ret = -errno;
		goto err;
	}
	ret = vm_set_slots(vm);
	if (ret)
		goto err;
	irq_vm_created(&vm->irq, vm->fd);
	return 0;
err:
	vm_destroy(vm);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	irq_vm_gone(&vm->irq);
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
}

void vm_free(struct vm *vm)
{
	vm_destroy(vm);
	for (unsigned int i = 0; i < VM_MAX_HP_RAM; i++)
		vm_remove_ram(vm, i);
	for (unsigned int i = 0; i < vm->nregions; i++)
		vm_gmem_remove(vm, vm->regions[i].gpa);
	vm->nregions = 0;
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	vm->ram = NULL;
	gmem_free(vm->mem);
	vm->mem = NULL;
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	vm->event_fd = -1;
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->kvm_fd = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
	irq_free(&vm->irq);
	free(vm->vcpus);
	vm->vcpus = NULL;
}

void *vm_gpa_ptr(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < vm->nregions; i++) {
		const struct vm_ram *r = &vm->regions[i];

		/* Written so that no sum can overflow. */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (vm->fd < 0)
		return -ENODEV;
	return ioctl(vm->fd, KVM_IRQ_LINE, &irq) ? -errno : 0;
}

void vm_request(struct vm *vm, enum vm_request req)
{
	int cur = atomic_load(&vm->request);
	uint64_t one = 1;

	while (cur < (int)req &&
	       !atomic_compare_exchange_weak(&vm->request, &cur, req))
		;
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		log_err("cannot wake the VMM thread: %s", strerror(errno));
}

enum vm_request vm_take_request(struct vm *vm)
{
	uint64_t v;

	if (vm->event_fd >= 0 && read(vm->event_fd, &v, sizeof(v)) < 0 &&
	    errno != EAGAIN)
		log_err("event read: %s", strerror(errno));
	return atomic_exchange(&vm->request, VM_REQ_NONE);
}

/*
 * The KVM virtual machine: /dev/kvm and VM file descriptors, guest RAM and
 * its memory slots, interrupt lines, and the requests vCPU threads make of
 * the VMM thread (power off, reboot, fatal error).
 */
#ifndef EVMM_VM_H
#define EVMM_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

struct gmem;
struct vcpu;
struct kvm_cpuid2;
struct kvm_userspace_memory_region;

#define VM_MAX_RAM	2	/* below the 32-bit hole, above 4 GiB */
#define VM_MAX_HP_RAM	32	/* hotplugged ranges, one KVM slot each */
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)	/* vm->cpuid has it when KVM can */

struct vm_ram {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

enum vm_request {
	VM_REQ_NONE,
	VM_REQ_REBOOT,
	VM_REQ_POWEROFF,
	VM_REQ_ERROR,	/* highest: an error is never hidden by a reboot */
};

struct vm {
	int kvm_fd;
	int fd;			/* -1 while no KVM VM exists (between reboots) */
	int run_size;		/* of each vCPU's struct kvm_run */
	unsigned int host_max_vcpus;
	struct kvm_cpuid2 *cpuid;	/* what KVM supports, patched per vCPU */

	uint8_t *ram;		/* boot RAM, one host mapping */
	uint64_t ram_size;
	struct vm_ram regions[VM_MAX_RAM];
	unsigned int nregions;
	struct vm_ram hp_ram[VM_MAX_HP_RAM];	/* host NULL: absent */
	struct gmem *mem;	/* all of the above, for device threads */
	unsigned int nr_memslots;	/* KVM's limit */
	unsigned int phys_bits;		/* guest physical address width */

	struct bus pio;
	struct bus mmio;
	struct irq irq;		/* MSI routes, irqfds, ioeventfds */

	struct vcpu *vcpus;	/* max_vcpus entries, sized once */
	unsigned int max_vcpus;

	/*
	 * Tests only (NULL otherwise): called instead of the memory-slot
	 * ioctl, so a test without KVM sees slots added and deleted, in order
	 * with the mappings. Returns 0 or a negative errno.
	 */
	int (*set_memory)(struct vm *vm,
			  const struct kvm_userspace_memory_region *r);

	int seccomp;		/* enum seccomp_mode for the vCPU threads */
	int event_fd;		/* vCPU threads wake the VMM thread here */
	atomic_int request;	/* enum vm_request */
};

/* Opens /dev/kvm and checks the capabilities evmm needs. */
int vm_init(struct vm *vm, unsigned int max_vcpus);
/* Maps boot RAM (not yet given to KVM). */
int vm_alloc_ram(struct vm *vm, uint64_t size);
/*
 * Maps size bytes (untouched, unreserved) as hotplug range `slot` at gpa,
 * and gives it to KVM now if the VM exists, else at vm_create.
 */
int vm_add_ram(struct vm *vm, unsigned int slot, uint64_t gpa, uint64_t size);
/*
 * Takes range `slot` from KVM and from device threads (waiting for their
 * references), and unmaps it: its RSS goes back to the host.
 */
void vm_remove_ram(struct vm *vm, unsigned int slot);
/*
 * Makes range `from` range `to` (absent), at gpa; its memory stays. Only
 * while no KVM VM exists (-EBUSY otherwise): KVM would keep the old slot.
 */
int vm_move_ram(struct vm *vm, unsigned int from, unsigned int to,
		uint64_t gpa);
/* Creates the KVM VM: TSS, irqchip, PIT, memory slots. */
int vm_create(struct vm *vm);
/* Closes the KVM VM; the vCPUs must be stopped and closed first. */
void vm_destroy(struct vm *vm);
/* Everything, including RAM and /dev/kvm. */
void vm_free(struct vm *vm);

/* Host pointer for [gpa, gpa + len) of boot RAM, or NULL if not all RAM. */
void *vm_gpa_ptr(const struct vm *vm, uint64_t gpa, uint64_t len);
/* Sets an IOAPIC pin's level. */
int vm_irq_line(struct vm *vm, uint32_t gsi, int level);
/* From any thread: ask the VMM thread to act. */
void vm_request(struct vm *vm, enum vm_request req);
/* Reads and clears the pending request (VMM thread). */
enum vm_request vm_take_request(struct vm *vm);

#endif

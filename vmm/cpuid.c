/*
 * CPUID per vCPU. KVM passes through most of what it supports; we patch what
 * depends on the vCPU (its APIC ID) and on the topology: one package with
 * max_vcpus cores, one thread each, APIC ID = core index. Linux matches these
 * against the MADT, so they must agree with vcpu_apic_id().
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CPUID_HTT		(1U << 28)	/* leaf 1 EDX */
#define CPUID_HYPERVISOR	(1U << 31)	/* leaf 1 ECX */
#define TOPO_SMT		1
#define TOPO_CORE		2

static unsigned int cpuid_order(unsigned int n)
{
	unsigned int shift = 0;

	while ((1U << shift) < n)
		shift++;
	return shift;
}

static void cpuid_ext_topology(struct kvm_cpuid_entry2 *e, unsigned int max,
			       uint32_t apic_id)
{
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_SMT << 8) | e->index;
		break;
	case 1:
		e->eax = cpuid_order(max);
		e->ebx = max;
		e->ecx = (TOPO_CORE << 8) | e->index;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = apic_id;
}

static void cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned int max,
			uint32_t apic_id)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0xFFFF) | (MIN(max, 255U) << 16) |
			 (apic_id << 24);
		e->edx = max > 1 ? e->edx | CPUID_HTT : e->edx & ~CPUID_HTT;
		e->ecx |= CPUID_HYPERVISOR;
		break;
	case 4:		/* Intel cache topology: cores sharing the package */
		e->eax = (e->eax & 0x03FFFFFF) | ((MIN(max, 64U) - 1) << 26);
		break;
	case 0xB:
	case 0x1F:
		cpuid_ext_topology(e, max, apic_id);
		break;
	case 0x80000008:	/* AMD: cores per package, APIC ID width */
		e->ecx = (e->ecx & ~0xF0FFU) | (cpuid_order(max) << 12) |
			 (MIN(max, 256U) - 1);
		break;
	case 0x8000001E:	/* AMD: extended APIC ID, core, node */
		e->eax = apic_id;
		e->ebx = apic_id & 0xFF;
		e->ecx = 0;
		break;
	}
}

int cpuid_setup(struct vcpu *v)
{
	const struct kvm_cpuid2 *sup = v->vm->cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	unsigned int i;
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, size);
	for (i = 0; i < c->nent; i++)
		cpuid_patch(&c->entries[i], v->vm->max_vcpus, v->apic_id);
	if (ioctl(v->fd, KVM_SET_CPUID2, c))
		ret = -errno;
	free(c);
	return ret;
}

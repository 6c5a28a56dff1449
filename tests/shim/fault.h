/*
 * The fault shim's targets (tests/shim/fault.c), as a test arms them:
 * sigqueue(pid, SIGUSR2, { .sival_int = FAULT_ARG(target, skip) }).
 */
#ifndef EVMM_TESTS_SHIM_FAULT_H
#define EVMM_TESTS_SHIM_FAULT_H

enum fault_target {
	FAULT_NONE,
	FAULT_MMAP,		/* guest RAM's mmap */
	FAULT_CREATE_VCPU,	/* ioctl KVM_CREATE_VCPU */
	FAULT_SET_MEMORY,	/* ioctl KVM_SET_USER_MEMORY_REGION, adding */
	FAULT_PTHREAD_CREATE,
	FAULT_MMAP_RUN,		/* a vCPU's kvm_run mapping (its fd, shared) */
	FAULT_TRAP_VCPU,	/* a forbidden syscall on a vCPU thread */
	FAULT_TRAP_API,		/* ... on the API thread */
	FAULT_TRAP_VMM,		/* ... on the VMM thread */
	FAULT_TRAP_CREATE,	/* ... on the thread creating a vCPU thread */
	FAULT_MAX
};

/* Fail the matching call after skip others. */
#define FAULT_ARG(target, skip)	((target) | ((skip) << 8))

#endif

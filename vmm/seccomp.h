/*
 * seccomp filters, one per thread type, built with libseccomp. A thread
 * installs its own filter before it touches guest-controlled data. Filters
 * stack: a vCPU thread, created by the filtered spawner, must pass both.
 */
#ifndef EVMM_SECCOMP_H
#define EVMM_SECCOMP_H

enum seccomp_thread {
	SECCOMP_VMM, SECCOMP_VCPU, SECCOMP_API, SECCOMP_SPAWNER, SECCOMP_IO,
};

/* The fds a thread's ioctls are limited to; -1: none. */
struct seccomp_fds {
	int kvm;	/* /dev/kvm: KVM_CREATE_VM, on the VMM thread */
	int vm;		/* the KVM VM: interrupts, MSI routes, doorbells */
	int vcpu;	/* a vCPU thread's own vCPU: KVM_RUN */
	int tap;	/* an I/O thread's tap: TUNSETOFFLOAD */
};

/*
 * mode is enum seccomp_mode (vmm/config.h). The terminal's fd (term_get_fd())
 * is allowed its mode set, so term_raw() comes first. 0 or a negative errno.
 */
int seccomp_apply_fds(enum seccomp_thread thread, int mode,
		      const struct seccomp_fds *fds);
/* The same with no fds (fds NULL). */
int seccomp_apply(enum seccomp_thread thread, int mode);
/* SIGSYS handler that names the blocked syscall, then exits; once, at start. */
int seccomp_init_reporting(void);

#endif

/*
 * seccomp filters, one per thread type, built with libseccomp. A thread
 * installs its own filter before it touches guest-controlled data. Filters
 * stack: a vCPU thread, created by the filtered VMM thread, must pass both.
 */
#ifndef EVMM_SECCOMP_H
#define EVMM_SECCOMP_H

enum seccomp_thread { SECCOMP_VMM, SECCOMP_VCPU, SECCOMP_API };

/* mode is enum seccomp_mode (vmm/config.h). 0 or a negative errno. */
int seccomp_apply(enum seccomp_thread thread, int mode);
/* SIGSYS handler that names the blocked syscall, then exits; once, at start. */
int seccomp_init_reporting(void);

#endif

/*
 * vCPUs: one KVM vCPU and one thread each. The array is sized for max_vcpus
 * at start; a vCPU's thread is created before the guest learns of it, so
 * the guest's INIT/SIPI finds it waiting in KVM_RUN.
 */
#ifndef EVMM_VCPU_H
#define EVMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	uint32_t apic_id;
	int fd;			/* -1: not created */
	struct kvm_run *run;
	pthread_t thread;
	bool thread_live;
	atomic_bool stop;
	atomic_bool started;	/* the guest started it (INIT/SIPI), or it ran */
};

/* APIC ID of vCPU index: one package, one thread per core, dense IDs. */
uint32_t vcpu_apic_id(unsigned int index);
/*
 * KVM_CREATE_VCPU with CPUID, MSRs and LAPIC set up; no registers. On a
 * failure after KVM_CREATE_VCPU the fd stays (run is NULL): call it again.
 */
int vcpu_create(struct vm *vm, unsigned int index);
/*
 * Starts the thread that creates vCPU threads, with its own seccomp filter:
 * before the VMM thread's filter, which vCPU threads must not inherit.
 * vcpu_start() starts it with the VM's mode if it is not running yet.
 */
int vcpu_spawner_start(int seccomp_mode);
/*
 * Any thread: fn(arg) on a new thread the spawner creates (started with
 * seccomp_mode if it is not running yet), so that it carries the
 * spawner's filter, not its caller's; the new thread installs its own.
 * 0 or -errno (also the spawner's filter having failed).
 */
int vcpu_spawn_thread(pthread_t *thread, void *(*fn)(void *), void *arg,
		      int seccomp_mode);
/* Starts the vCPU's thread (which applies its seccomp filter). */
int vcpu_start(struct vcpu *v);
/* Kicks the thread out of KVM_RUN and joins it. */
void vcpu_stop(struct vcpu *v);
/*
 * Back to waiting for INIT/SIPI, for a vCPU the guest ejected and evmm
 * parked (stopped, fd kept: KVM cannot destroy one vCPU) and now plugs again.
 */
int vcpu_reset_ap(struct vcpu *v);
/* Closes the KVM vCPU (only with its VM: KVM cannot destroy one alone). */
void vcpu_close(struct vcpu *v);
/* Installs the kick signal handler; once, before any vCPU starts. */
int vcpu_signals_init(void);

/* cpuid.c: per-vCPU CPUID from what KVM supports (APIC ID, topology). */
int cpuid_setup(struct vcpu *v);

#endif

/*
 * Fault injection for evmm's e2e tests, as an LD_PRELOAD shim
 * (build/tests/libevmm-fault.so). Nothing changes until it is armed:
 * evmm's threads run under seccomp, which forbids open, so the test arms
 * it with SIGUSR2, whose handler only sets a flag and writes a line.
 *
 *	sigqueue(pid, SIGUSR2, { .sival_int = target | skip << 8 })
 *	kill -USR2 pid		(the target named by EVMM_FAULT at load time)
 *
 * A fault target fails the matching call after `skip` others, once:
 *	mmap		an anonymous MAP_NORESERVE mapping of 64 MiB or more
 *			(guest RAM), ENOMEM
 *	create_vcpu	ioctl KVM_CREATE_VCPU, ENOMEM
 *	set_memory	ioctl KVM_SET_USER_MEMORY_REGION adding a slot, ENOMEM
 *	pthread_create	EAGAIN
 *	mmap_run	a shared mapping of a file (a vCPU's kvm_run), ENOMEM
 * A trap target makes, on that thread, a syscall no seccomp filter of
 * evmm allows (getppid), so evmm's SIGSYS handler runs there:
 *	trap:vcpu	at a vCPU's next KVM_RUN
 *	trap:api	at the API thread's next epoll_wait
 *	trap:vmm	at the VMM (main) thread's next epoll_wait
 *	trap:create	at the next pthread_create (a vm.resize adding a vCPU)
 * and the handler kicks that thread out of its wait with SIGUSR1 (evmm's
 * own no-op kick), so it gets there without help from the guest. The API
 * and vCPU threads are known by the names they give themselves.
 * Each step is written to stderr as "evmm-fault: ...".
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/shim/fault.h"

#define FAULT_RAM_MIN	(64UL << 20)

static const char *const fault_names[FAULT_MAX] = {
	[FAULT_NONE] = "none", [FAULT_MMAP] = "mmap",
	[FAULT_CREATE_VCPU] = "create_vcpu", [FAULT_SET_MEMORY] = "set_memory",
	[FAULT_PTHREAD_CREATE] = "pthread_create", [FAULT_MMAP_RUN] = "mmap_run",
	[FAULT_TRAP_VCPU] = "trap:vcpu", [FAULT_TRAP_API] = "trap:api",
	[FAULT_TRAP_VMM] = "trap:vmm", [FAULT_TRAP_CREATE] = "trap:create",
};

static int fault_default;		/* EVMM_FAULT */
static atomic_uint fault_armed;		/* bit per target */
static atomic_int fault_skip[FAULT_MAX];
static atomic_int fault_tid_vcpu, fault_tid_api;
static __thread pid_t fault_my_tid;
static __thread bool fault_is_api;	/* named "evmm-api" */

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *,
				  void *(*)(void *), void *);
static int (*real_setname)(pthread_t, const char *);

/* Async-signal-safe: one write of "evmm-fault: <what> <name>\n". */
static void fault_say(const char *what, int target)
{
	char msg[96] = "evmm-fault: ";

	strcat(msg, what);
	strcat(msg, " ");
	strcat(msg, fault_names[target]);
	strcat(msg, "\n");
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		return;
}

static pid_t fault_tid(void)
{
	if (!fault_my_tid)
		fault_my_tid = syscall(SYS_gettid);
	return fault_my_tid;
}

static void fault_kick(pid_t tid)
{
	if (tid > 0)
		syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
}

static void fault_arm(int sig, siginfo_t *info, void *uc)
{
	int target = fault_default, v;

	(void)sig;
	(void)uc;
	if (info->si_code == SI_QUEUE) {
		v = info->si_value.sival_int;
		target = v & 0xFF;
		if (target <= FAULT_NONE || target >= FAULT_MAX)
			return;
		atomic_store(&fault_skip[target], v >> 8);
	}
	if (target == FAULT_NONE)
		return;
	atomic_fetch_or(&fault_armed, 1u << target);
	fault_say("armed", target);
	if (target == FAULT_TRAP_VCPU)
		fault_kick(atomic_load(&fault_tid_vcpu));
	else if (target == FAULT_TRAP_API)
		fault_kick(atomic_load(&fault_tid_api));
	else if (target == FAULT_TRAP_VMM)
		fault_kick(getpid());
}

/* True once for an armed target, after its skips. */
static bool fault_take(int target)
{
	unsigned int bit = 1u << target;

	if (!(atomic_load(&fault_armed) & bit))
		return false;
	if (atomic_fetch_sub(&fault_skip[target], 1) > 0)
		return false;
	if (!(atomic_fetch_and(&fault_armed, ~bit) & bit))
		return false;
	fault_say("failing", target);
	return true;
}

static void fault_trap(int target)
{
	if (!fault_take(target))
		return;
	syscall(SYS_getppid);
}

static void fault_resolve(void)
{
	if (!real_mmap)
		real_mmap = dlsym(RTLD_NEXT, "mmap");
	if (!real_ioctl)
		real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	if (!real_epoll_wait)
		real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
	if (!real_pthread_create)
		real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	if (!real_setname)
		real_setname = dlsym(RTLD_NEXT, "pthread_setname_np");
}

__attribute__((constructor)) static void fault_init(void)
{
	struct sigaction sa = { .sa_sigaction = fault_arm,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	const char *env = getenv("EVMM_FAULT");
	int i;

	fault_resolve();
	for (i = FAULT_NONE + 1; env && i < FAULT_MAX; i++)
		if (!strcmp(env, fault_names[i]))
			fault_default = i;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!real_mmap)
		fault_resolve();
	if (((flags & MAP_NORESERVE) && (flags & MAP_ANONYMOUS) &&
	     len >= FAULT_RAM_MIN && fault_take(FAULT_MMAP)) ||
	    ((flags & MAP_SHARED) && fd >= 0 && fault_take(FAULT_MMAP_RUN))) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

static bool fault_ioctl(unsigned long req, void *arg)
{
	const struct kvm_userspace_memory_region *r = arg;

	switch (req) {
	case KVM_RUN:
		atomic_store(&fault_tid_vcpu, fault_tid());
		fault_trap(FAULT_TRAP_VCPU);
		return false;
	case KVM_CREATE_VCPU:
		return fault_take(FAULT_CREATE_VCPU);
	case KVM_SET_USER_MEMORY_REGION:
		return r->memory_size && fault_take(FAULT_SET_MEMORY);
	default:
		return false;
	}
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		fault_resolve();
	if (fault_ioctl(req, arg)) {
		errno = ENOMEM;
		return -1;
	}
	return real_ioctl(fd, req, arg);
}

int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	if (!real_epoll_wait)
		fault_resolve();
	if (fault_tid() == getpid()) {
		fault_trap(FAULT_TRAP_VMM);
	} else if (fault_is_api) {
		atomic_store(&fault_tid_api, fault_tid());
		fault_trap(FAULT_TRAP_API);
	}
	return real_epoll_wait(epfd, ev, max, timeout);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	if (!real_pthread_create)
		fault_resolve();
	fault_trap(FAULT_TRAP_CREATE);
	if (fault_take(FAULT_PTHREAD_CREATE))
		return EAGAIN;
	return real_pthread_create(t, attr, fn, arg);
}

int pthread_setname_np(pthread_t t, const char *name)
{
	if (!real_setname)
		fault_resolve();
	if (pthread_equal(t, pthread_self()))
		fault_is_api = !strcmp(name, "evmm-api");
	return real_setname(t, name);
}

/*
 * Per-thread seccomp allow-lists. Default action: SIGSYS, whose handler
 * names the syscall and exits, so a missing entry fails a test loudly
 * instead of a user's resize quietly.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/seccomp.h"
#include "vmm/term.h"
#include "vmm/util.h"

/* Every thread: memory, locks, signals, time, logging, exit. */
static const int seccomp_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(futex), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mremap),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(tgkill), SCMP_SYS(tkill),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sched_yield),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(getrandom), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(pread64), SCMP_SYS(rseq),
	SCMP_SYS(set_robust_list), SCMP_SYS(prctl),
};

/* The VMM thread creates vCPUs and threads, and runs the event loop. */
static const int seccomp_vmm[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_create1), SCMP_SYS(eventfd2), SCMP_SYS(clone),
	SCMP_SYS(clone3), SCMP_SYS(readv), SCMP_SYS(unlink),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(ppoll), SCMP_SYS(poll),
	SCMP_SYS(seccomp),	/* vCPU threads stack their own filter */
};

/*
 * The API thread runs libmicrohttpd from its own epoll loop. Its sockets,
 * epoll and eventfds are all created before the filter; here it accepts,
 * reads, writes (send, sendmsg for header + body), checks SO_PEERCRED,
 * and closes. setsockopt: MHD's per-socket options on some paths.
 */
static const int seccomp_api[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(shutdown),
	SCMP_SYS(fcntl),	/* MHD_add_connection checks O_NONBLOCK */
};

static const unsigned long seccomp_vmm_ioctls[] = {
	KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_SET_TSS_ADDR,
	KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2,
	KVM_SET_USER_MEMORY_REGION, KVM_SET_CPUID2, KVM_SET_MSRS,
	KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_SET_REGS, KVM_SET_FPU, KVM_IRQ_LINE, KVM_CHECK_EXTENSION,
	KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_RUN, KVM_GET_REGS,
	TCGETS, TCSETS, TCSETSW, TCSETSF,
};

static const unsigned long seccomp_vcpu_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_MP_STATE,
	KVM_GET_REGS, KVM_GET_SREGS,	/* the register dump of a fatal exit */
};

static int seccomp_add(scmp_filter_ctx ctx, const int *sys, size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sys[i], 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int seccomp_add_ioctls(scmp_filter_ctx ctx, const unsigned long *req,
			      size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFF,
					       req[i]));
		if (ret)
			return ret;
	}
	return 0;
}

static int seccomp_add_thread(scmp_filter_ctx ctx, enum seccomp_thread thread)
{
	int ret = seccomp_add(ctx, seccomp_common, ARRAY_SIZE(seccomp_common));

	if (ret)
		return ret;
	/*
	 * glibc opens /proc files on its own (malloc's first heap trim reads
	 * overcommit_memory) and copes when that fails: fail, don't kill.
	 */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (ret)
		return ret;
	switch (thread) {
	case SECCOMP_VMM:
		ret = seccomp_add(ctx, seccomp_vmm, ARRAY_SIZE(seccomp_vmm));
		return ret ? ret : seccomp_add_ioctls(ctx, seccomp_vmm_ioctls,
					ARRAY_SIZE(seccomp_vmm_ioctls));
	case SECCOMP_VCPU:
		return seccomp_add_ioctls(ctx, seccomp_vcpu_ioctls,
					  ARRAY_SIZE(seccomp_vcpu_ioctls));
	case SECCOMP_API:
		return seccomp_add(ctx, seccomp_api, ARRAY_SIZE(seccomp_api));
	}
	return -EINVAL;
}

int seccomp_apply(enum seccomp_thread thread, int mode)
{
	scmp_filter_ctx ctx;
	int ret;

	if (mode == SECCOMP_OFF)
		return 0;
	ctx = seccomp_init(mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	ret = seccomp_add_thread(ctx, thread);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

static void seccomp_put_num(char *p, unsigned long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = '0' + v % 10;
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	*p = 0;
}

static void seccomp_sigsys(int sig, siginfo_t *info, void *uc)
{
	char msg[96] = "evmm: error: seccomp blocked syscall ";

	(void)sig;
	(void)uc;
	/* Only async-signal-safe calls here. */
	seccomp_put_num(msg + strlen(msg), info->si_syscall);
	strcat(msg, "; rerun with --seccomp log to find more\n");
	term_restore();
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		_exit(128 + SIGSYS);
	_exit(128 + SIGSYS);
}

int seccomp_init_reporting(void)
{
	struct sigaction sa = {
		.sa_sigaction = seccomp_sigsys,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}

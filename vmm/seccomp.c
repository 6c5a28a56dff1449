/*
 * Per-thread seccomp allow-lists. Default action: SIGSYS, whose handler
 * names the syscall and exits, so a missing entry fails a test loudly
 * instead of a user's resize quietly.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/term.h"
#include "vmm/util.h"

/*
 * Every thread: memory, locks, signals, time, logging, exit. mmap, mprotect
 * (never PROT_EXEC) and tgkill (own process only) are added with their
 * limits by seccomp_add_limited().
 */
static const int seccomp_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(futex), SCMP_SYS(munmap),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mremap),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sched_yield),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(getrandom), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(pread64), SCMP_SYS(rseq),
	SCMP_SYS(set_robust_list),
};

/* The VMM thread runs the event loop; it creates no threads. */
static const int seccomp_vmm[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(unlink),	/* the API socket, at exit */
	SCMP_SYS(poll),		/* the console's last output, at exit */
};

/* The vCPU spawner (see seccomp_add_spawner); its filter stays on vCPUs. */
static const int seccomp_spawner[] = {
	SCMP_SYS(sched_getaffinity),	/* ASan's pthread_create (check-asan) */
};

/*
 * A device (I/O) thread waits in epoll on its queues' eventfds and its
 * backend's fd (a tap, added to and removed from the set as the guest's
 * buffers come and go), does its backend's I/O (a disk image's reads,
 * writes and flushes; a tap's frames: readv and read in, writev out) and
 * writes irqfds (write). No socket, no thread, no open; one ioctl, on its
 * own tap only (seccomp_io_ioctls).
 */
static const int seccomp_io[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(pwrite64),
	SCMP_SYS(fdatasync), SCMP_SYS(readv),
};

/* On an I/O thread's own tap: the offloads its guest's driver accepted. */
static const unsigned long seccomp_io_ioctls[] = {
	TUNSETOFFLOAD,
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

/* On any fd (the VM's and vCPUs' fds change with every boot). */
static const unsigned long seccomp_vmm_ioctls[] = {
	KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_IRQCHIP,
	KVM_CREATE_PIT2, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU,
	KVM_SET_CPUID2, KVM_SET_MSRS, KVM_GET_LAPIC, KVM_SET_LAPIC,
	KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS, KVM_SET_FPU,
	KVM_IRQ_LINE, KVM_SET_MP_STATE,
	KVM_GET_REGS,		/* the register dump of a stopped vCPU */
	KVM_IOEVENTFD,		/* a reboot's PCI reset drops queue doorbells */
};

/* On the thread's own vCPU fd. */
static const unsigned long seccomp_vcpu_ioctls[] = {
	KVM_RUN,
	KVM_GET_REGS, KVM_GET_SREGS,	/* the register dump of a fatal exit */
};

/*
 * On the VM's fd, from vCPU threads: device interrupts (the serial's and
 * the GED's lines), and what a guest's PCI register writes do: MSI-X
 * table writes route vectors (GSI routes, irqfds), queue enables and
 * resets add and drop doorbells (ioeventfds).
 */
static const unsigned long seccomp_vcpu_vm_ioctls[] = {
	KVM_IRQ_LINE, KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD,
};

/* prctl options, by thread type (none: no prctl at all). */
static const unsigned long seccomp_spawner_prctls[] = {
	PR_SET_NAME,		/* pthread_setname_np in a new vCPU thread */
	PR_SET_NO_NEW_PRIVS,	/* libseccomp, as a vCPU thread loads its filter */
};

/* pthread_create's flags, and the namespace flags it must not have. */
#define SECCOMP_CLONE_THREAD	(CLONE_VM | CLONE_FS | CLONE_FILES | \
				 CLONE_SIGHAND | CLONE_THREAD)
#define SECCOMP_CLONE_MASK	(SECCOMP_CLONE_THREAD | CLONE_NEWNS | \
				 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
				 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

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

/*
 * ioctl(fd, req[i]); fd < 0: on any fd. The request is 32 bits wide, and
 * int arguments (fds, pids, flags) are compared on their 32 bits: the
 * upper half of the register is not always zeroed.
 */
static int seccomp_add_ioctls(scmp_filter_ctx ctx, const unsigned long *req,
			      size_t n, int fd)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (fd >= 0)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				SCMP_SYS(ioctl), 2, SCMP_A0_32(SCMP_CMP_EQ, fd),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFF, req[i]));
		else
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFF, req[i]));
		if (ret)
			return ret;
	}
	return 0;
}

#ifdef __SANITIZE_ADDRESS__
/*
 * The ASan/UBSan build (make soak): the runtime's thread start asks glibc
 * for the stack (pthread_getattr_np reads the affinity). UBSan reads its
 * options at its first report; a report reads /proc/self/{environ,maps,exe}
 * with the open and readlink syscalls (glibc uses neither), checks memory
 * with a pipe and asks whether stderr is a terminal.
 */
static const int seccomp_sanitizer[] = {
	SCMP_SYS(sched_getaffinity), SCMP_SYS(open), SCMP_SYS(readlink),
	SCMP_SYS(pipe2),
};

static int seccomp_add_sanitizer(scmp_filter_ctx ctx)
{
	static const unsigned long ioctls[] = { TCGETS };
	int ret = seccomp_add(ctx, seccomp_sanitizer,
			      ARRAY_SIZE(seccomp_sanitizer));

	return ret ? ret : seccomp_add_ioctls(ctx, ioctls, ARRAY_SIZE(ioctls),
					      -1);
}
#else
static int seccomp_add_sanitizer(scmp_filter_ctx ctx)
{
	(void)ctx;
	return 0;
}
#endif

static int seccomp_add_prctls(scmp_filter_ctx ctx, const unsigned long *opt,
			      size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0_32(SCMP_CMP_EQ, opt[i]));
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Every thread: no executable memory once the filters are on (the
 * libraries are mapped by then), signals only within this process, and
 * the terminal's mode and the console output's flags restored on a
 * seccomp kill (term_restore: glibc's tcsetattr reads the mode back with
 * TCGETS).
 */
static int seccomp_add_limited(scmp_filter_ctx ctx)
{
	static const unsigned long tty[] = { TCGETS, TCSETS, TCSETSW, TCSETSF };
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect),
			1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0_32(SCMP_CMP_EQ, getpid()));
	/*
	 * glibc opens /proc files on its own (malloc's first heap trim reads
	 * overcommit_memory) and copes when that fails: fail, don't kill.
	 */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
				       SCMP_SYS(openat), 0);
	if (!ret && term_get_fd() >= 0)
		ret = seccomp_add_ioctls(ctx, tty, ARRAY_SIZE(tty),
					 term_get_fd());
	/* A console output fd made non-blocking gets its flags back. */
	if (!ret && term_get_flags_fd() >= 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2,
				       SCMP_A0_32(SCMP_CMP_EQ,
						  term_get_flags_fd()),
				       SCMP_A1_32(SCMP_CMP_EQ, F_SETFL));
	return ret;
}

/*
 * The vCPU spawner creates vCPU threads, which then stack their own filter;
 * the spawner's stays on them too, so it also allows what they do.
 * Thread creation: clone with pthread_create's flags only. glibc tries
 * clone3 first, whose flags are in memory a filter cannot read: ENOSYS
 * makes it fall back to clone.
 */
static int seccomp_add_spawner(scmp_filter_ctx ctx)
{
	int ret = seccomp_add(ctx, seccomp_spawner, ARRAY_SIZE(seccomp_spawner));

	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0_32(SCMP_CMP_MASKED_EQ,
						  SECCOMP_CLONE_MASK,
						  SECCOMP_CLONE_THREAD));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1,
				       SCMP_A0_32(SCMP_CMP_EQ,
						  SECCOMP_SET_MODE_FILTER));
	if (!ret)
		ret = seccomp_add_prctls(ctx, seccomp_spawner_prctls,
					 ARRAY_SIZE(seccomp_spawner_prctls));
	/* What its vCPU and I/O threads do, on fds not known yet. */
	if (!ret)
		ret = seccomp_add_ioctls(ctx, seccomp_vcpu_ioctls,
					 ARRAY_SIZE(seccomp_vcpu_ioctls), -1);
	if (!ret)
		ret = seccomp_add(ctx, seccomp_io, ARRAY_SIZE(seccomp_io));
	if (!ret)
		ret = seccomp_add_ioctls(ctx, seccomp_io_ioctls,
					 ARRAY_SIZE(seccomp_io_ioctls), -1);
	return ret;
}

static int seccomp_add_thread(scmp_filter_ctx ctx, enum seccomp_thread thread,
			      const struct seccomp_fds *fds)
{
	static const unsigned long create_vm[] = { KVM_CREATE_VM };
	int ret = seccomp_add(ctx, seccomp_common, ARRAY_SIZE(seccomp_common));

	if (!ret)
		ret = seccomp_add_limited(ctx);
	if (!ret)
		ret = seccomp_add_sanitizer(ctx);
	if (ret)
		return ret;
	switch (thread) {
	case SECCOMP_VMM:
		ret = seccomp_add(ctx, seccomp_vmm, ARRAY_SIZE(seccomp_vmm));
		if (!ret && fds->kvm >= 0)
			ret = seccomp_add_ioctls(ctx, create_vm, 1, fds->kvm);
		return ret ? ret : seccomp_add_ioctls(ctx, seccomp_vmm_ioctls,
					ARRAY_SIZE(seccomp_vmm_ioctls), -1);
	case SECCOMP_SPAWNER:
		ret = seccomp_add_spawner(ctx);
		/* What any vCPU does on its VM's fd (any VM's). */
		return ret ? ret : seccomp_add_ioctls(ctx,
				seccomp_vcpu_vm_ioctls,
				ARRAY_SIZE(seccomp_vcpu_vm_ioctls), -1);
	case SECCOMP_VCPU:
		if (fds->vm >= 0)
			ret = seccomp_add_ioctls(ctx, seccomp_vcpu_vm_ioctls,
				ARRAY_SIZE(seccomp_vcpu_vm_ioctls), fds->vm);
		if (!ret && fds->vcpu >= 0)
			ret = seccomp_add_ioctls(ctx, seccomp_vcpu_ioctls,
				ARRAY_SIZE(seccomp_vcpu_ioctls), fds->vcpu);
		return ret;
	case SECCOMP_API:
		return seccomp_add(ctx, seccomp_api, ARRAY_SIZE(seccomp_api));
	case SECCOMP_IO:
		ret = seccomp_add(ctx, seccomp_io, ARRAY_SIZE(seccomp_io));
		if (!ret && fds->tap >= 0)
			ret = seccomp_add_ioctls(ctx, seccomp_io_ioctls,
				ARRAY_SIZE(seccomp_io_ioctls), fds->tap);
		return ret;
	}
	return -EINVAL;
}

int seccomp_apply_fds(enum seccomp_thread thread, int mode,
		      const struct seccomp_fds *fds)
{
	static const struct seccomp_fds none = { -1, -1, -1, -1 };
	scmp_filter_ctx ctx;
	int ret;

	if (mode == SECCOMP_OFF)
		return 0;
	ctx = seccomp_init(mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	ret = seccomp_add_thread(ctx, thread, fds ? fds : &none);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

int seccomp_apply(enum seccomp_thread thread, int mode)
{
	return seccomp_apply_fds(thread, mode, NULL);
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
	/* Not a blocking write: a stalled stderr would keep evmm alive. */
	log_raw(msg, strlen(msg));
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

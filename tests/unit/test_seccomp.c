/*
 * seccomp: each thread type's filter, installed in a forked child (SIGSYS
 * must not kill the runner): the forbidden variant of a call is trapped,
 * reported and exits 128 + SIGSYS; the allowed variant works.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/serial.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/term.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CHILD_WAIT_S	10
#define EXIT_SIGSYS	(128 + SIGSYS)

struct child {
	int status;
	char err[2048];		/* what it wrote on stderr */
};

/* Options of the next run_filtered(). */
static struct seccomp_fds fds = { -1, -1, -1, -1 };
static int raw_fd = -1;		/* term_raw() on it before the filter */
static int fd_a = -1, fd_b = -1;	/* /dev/null, opened before the filter */

#define NO_FILTER	(-1)	/* the child installs what it needs itself */

static void child_main(int err_fd, int thread, void (*fn)(void))
{
	if (dup2(err_fd, STDERR_FILENO) < 0)
		_exit(100);
	if (raw_fd >= 0 && !term_raw(raw_fd))
		_exit(101);
	if (seccomp_init_reporting() || (thread != NO_FILTER &&
	    seccomp_apply_fds(thread, SECCOMP_ON, &fds)))
		_exit(102);
	fn();
	_exit(0);
}

/* Reads the child's stderr to EOF and reaps it; bounded. */
static void child_wait(pid_t pid, int fd, struct child *c)
{
	time_t end = time(NULL) + CHILD_WAIT_S;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (time(NULL) < end) {
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, c->err + len, sizeof(c->err) - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	c->err[len] = 0;
	close(fd);
	while (waitpid(pid, &c->status, WNOHANG) != pid) {
		if (time(NULL) >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &c->status, 0);
			ck_abort_msg("the filtered child still ran after %d s; "
				     "stderr: %s", CHILD_WAIT_S, c->err);
		}
		usleep(10000);
	}
}

static void run_filtered(int thread, void (*fn)(void), struct child *c)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid)
		child_main(p[1], thread, fn);
	close(p[1]);
	child_wait(pid, p[0], c);
}

static void expect_ok(enum seccomp_thread thread, void (*fn)(void))
{
	struct child c;

	run_filtered(thread, fn, &c);
	ck_assert_msg(WIFEXITED(c.status) && !WEXITSTATUS(c.status),
		      "thread type %d: wait status %#x, stderr: %s", thread,
		      c.status, c.err);
}

/* Trapped: the handler's message names syscall nr, exit 128 + SIGSYS. */
static void expect_trapped(enum seccomp_thread thread, void (*fn)(void),
			   long nr)
{
	char msg[96];
	struct child c;

	run_filtered(thread, fn, &c);
	snprintf(msg, sizeof(msg), "seccomp blocked syscall %ld;", nr);
	ck_assert_msg(WIFEXITED(c.status) &&
		      WEXITSTATUS(c.status) == EXIT_SIGSYS,
		      "thread type %d, syscall %ld: wait status %#x, "
		      "stderr: %s", thread, nr, c.status, c.err);
	ck_assert_msg(strstr(c.err, msg), "thread type %d: no \"%s\" in: %s",
		      thread, msg, c.err);
}

static const enum seccomp_thread all_threads[] = {
	SECCOMP_VMM, SECCOMP_VCPU, SECCOMP_API, SECCOMP_SPAWNER, SECCOMP_IO,
};

static void mmap_rw(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
}

static void mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	     -1, 0);
}

START_TEST(test_mmap_exec)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all_threads); i++) {
		expect_ok(all_threads[i], mmap_rw);
		expect_trapped(all_threads[i], mmap_exec, SYS_mmap);
	}
}
END_TEST

static void mprotect_to(int prot)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p, 4096, prot))
		_exit(1);
}

static void mprotect_ro(void)
{
	mprotect_to(PROT_READ);
}

static void mprotect_exec(void)
{
	mprotect_to(PROT_READ | PROT_EXEC);
}

START_TEST(test_mprotect_exec)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all_threads); i++) {
		expect_ok(all_threads[i], mprotect_ro);
		expect_trapped(all_threads[i], mprotect_exec, SYS_mprotect);
	}
}
END_TEST

static void *thread_fn(void *arg)
{
	return arg;
}

static void thread_create(void)
{
	pthread_t t;

	if (thread_start(&t, thread_fn, NULL) || pthread_join(t, NULL))
		_exit(1);
}

static void do_fork(void)
{
	if (!fork())
		_exit(0);
}

/* glibc falls back to clone, whose flags the filter can check. */
static void clone3_enosys(void)
{
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		_exit(1);
}

START_TEST(test_clone)
{
	expect_ok(SECCOMP_SPAWNER, thread_create);
	expect_ok(SECCOMP_SPAWNER, clone3_enosys);
	expect_trapped(SECCOMP_SPAWNER, do_fork, SYS_clone);
	/* Only the spawner creates threads. */
	expect_trapped(SECCOMP_VMM, clone3_enosys, SYS_clone3);
	expect_trapped(SECCOMP_VMM, do_fork, SYS_clone);
	expect_trapped(SECCOMP_API, do_fork, SYS_clone);
	expect_trapped(SECCOMP_VCPU, do_fork, SYS_clone);
	expect_trapped(SECCOMP_IO, do_fork, SYS_clone);
}
END_TEST

static void tgkill_self(void)
{
	if (syscall(SYS_tgkill, getpid(), gettid(), 0))
		_exit(1);
}

static pid_t parent;

static void tgkill_parent(void)
{
	syscall(SYS_tgkill, parent, parent, 0);
}

START_TEST(test_tgkill)
{
	size_t i;

	parent = getpid();
	for (i = 0; i < ARRAY_SIZE(all_threads); i++) {
		expect_ok(all_threads[i], tgkill_self);
		expect_trapped(all_threads[i], tgkill_parent, SYS_tgkill);
	}
}
END_TEST

static void prctl_name(void)
{
	if (prctl(PR_SET_NAME, "evmm-test"))
		_exit(1);
}

static void prctl_dumpable(void)
{
	prctl(PR_GET_DUMPABLE);
}

START_TEST(test_prctl)
{
	size_t i;

	expect_ok(SECCOMP_SPAWNER, prctl_name);
	for (i = 0; i < ARRAY_SIZE(all_threads); i++)
		expect_trapped(all_threads[i], prctl_dumpable, SYS_prctl);
	expect_trapped(SECCOMP_VMM, prctl_name, SYS_prctl);
	expect_trapped(SECCOMP_VCPU, prctl_name, SYS_prctl);
}
END_TEST

/* On /dev/null: ENOTTY when the filter lets the ioctl through. */
static void ioctl_on(int fd, unsigned long req)
{
	if (ioctl(fd, req, 0) != -1 || errno != ENOTTY)
		_exit(1);
}

static void run_a(void)
{
	ioctl_on(fd_a, KVM_RUN);
}

static void run_b(void)
{
	ioctl_on(fd_b, KVM_RUN);
}

static void irq_line_b(void)
{
	ioctl_on(fd_b, KVM_IRQ_LINE);
}

static void irqfd_a(void)
{
	ioctl_on(fd_a, KVM_IRQFD);
}

static void irqfd_b(void)
{
	ioctl_on(fd_b, KVM_IRQFD);
}

static void gsi_routing_a(void)
{
	ioctl_on(fd_a, KVM_SET_GSI_ROUTING);
}

static void gsi_routing_b(void)
{
	ioctl_on(fd_b, KVM_SET_GSI_ROUTING);
}

static void ioeventfd_a(void)
{
	ioctl_on(fd_a, KVM_IOEVENTFD);
}

static void ioeventfd_b(void)
{
	ioctl_on(fd_b, KVM_IOEVENTFD);
}

static void create_vm_a(void)
{
	ioctl_on(fd_a, KVM_CREATE_VM);
}

static void create_vm_b(void)
{
	ioctl_on(fd_b, KVM_CREATE_VM);
}

static void null_fds(void)
{
	fd_a = open("/dev/null", O_RDWR | O_CLOEXEC);
	fd_b = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd_a, 0);
	ck_assert_int_ge(fd_b, 0);
}

/* The VMM thread no longer runs vCPUs; KVM_CREATE_VM only on /dev/kvm. */
START_TEST(test_ioctl_vmm)
{
	null_fds();
	fds.kvm = fd_a;
	expect_trapped(SECCOMP_VMM, run_a, SYS_ioctl);
	expect_ok(SECCOMP_VMM, irq_line_b);
	expect_ok(SECCOMP_VMM, create_vm_a);
	expect_trapped(SECCOMP_VMM, create_vm_b, SYS_ioctl);
	expect_trapped(SECCOMP_API, run_a, SYS_ioctl);
	/* A reboot's PCI reset drops doorbells; vectors are the vCPUs'. */
	expect_ok(SECCOMP_VMM, ioeventfd_b);
	expect_trapped(SECCOMP_VMM, irqfd_b, SYS_ioctl);
	expect_trapped(SECCOMP_VMM, gsi_routing_b, SYS_ioctl);
	expect_trapped(SECCOMP_API, ioeventfd_b, SYS_ioctl);
}
END_TEST

/* A vCPU thread runs its own vCPU only, and raises IRQs on its own VM. */
START_TEST(test_ioctl_vcpu)
{
	null_fds();
	fds.vcpu = fd_a;
	expect_ok(SECCOMP_VCPU, run_a);
	expect_trapped(SECCOMP_VCPU, run_b, SYS_ioctl);
	expect_trapped(SECCOMP_VCPU, irq_line_b, SYS_ioctl);
	expect_trapped(SECCOMP_VCPU, ioeventfd_b, SYS_ioctl);
	fds.vm = fd_b;
	expect_ok(SECCOMP_VCPU, irq_line_b);
	expect_trapped(SECCOMP_VCPU, create_vm_a, SYS_ioctl);
	/* Guest PCI writes: MSI routes, irqfds, doorbells, on its VM only. */
	expect_ok(SECCOMP_VCPU, irqfd_b);
	expect_ok(SECCOMP_VCPU, gsi_routing_b);
	expect_ok(SECCOMP_VCPU, ioeventfd_b);
	expect_trapped(SECCOMP_VCPU, irqfd_a, SYS_ioctl);
	expect_trapped(SECCOMP_VCPU, gsi_routing_a, SYS_ioctl);
	expect_trapped(SECCOMP_VCPU, ioeventfd_a, SYS_ioctl);
}
END_TEST

/* A disk's work: vectored reads and writes, a flush, an epoll wait. */
static void disk_io(void)
{
	struct epoll_event ev;
	char buf[16];
	struct iovec v = { buf, sizeof(buf) };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	(void)ep;
	if (preadv(fd_a, &v, 1, 0) < 0 || pwritev(fd_a, &v, 1, 0) < 0 ||
	    pwrite(fd_a, buf, 1, 0) < 0 || pread(fd_a, buf, 1, 0) < 0)
		_exit(1);
	fdatasync(fd_a);	/* EINVAL on /dev/null: allowed is enough */
	epoll_wait(-1, &ev, 1, 0);
}

static void disk_io_no_epoll(void)
{
	struct epoll_event ev;
	char buf[16];
	struct iovec v = { buf, sizeof(buf) };

	if (preadv(fd_a, &v, 1, 0) < 0 || pwritev(fd_a, &v, 1, 0) < 0 ||
	    pwrite(fd_a, buf, 1, 0) < 0)
		_exit(1);
	fdatasync(fd_a);
	epoll_wait(-1, &ev, 1, 0);
}

static void open_socket(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}

/* A network card's work: frames in (readv, read) and out, its tap watched. */
static void tap_io(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char buf[16];
	struct iovec v = { buf, sizeof(buf) };

	if (readv(fd_a, &v, 1) < 0 || read(fd_a, buf, 1) < 0 ||
	    writev(fd_a, &v, 1) < 0)
		_exit(1);
	epoll_ctl(-1, EPOLL_CTL_ADD, fd_a, &ev);	/* EBADF: allowed is enough */
}

static void tap_offload_a(void)
{
	ioctl_on(fd_a, TUNSETOFFLOAD);
}

static void tap_offload_b(void)
{
	ioctl_on(fd_b, TUNSETOFFLOAD);
}

/* An I/O thread's one ioctl: its own tap's offloads; the spawner's any. */
START_TEST(test_io_tap)
{
	null_fds();
	expect_ok(SECCOMP_IO, tap_io);
	expect_ok(SECCOMP_SPAWNER, tap_io);
	expect_trapped(SECCOMP_IO, tap_offload_a, SYS_ioctl);
	fds.tap = fd_a;
	expect_ok(SECCOMP_IO, tap_offload_a);
	expect_trapped(SECCOMP_IO, tap_offload_b, SYS_ioctl);
	expect_trapped(SECCOMP_IO, irqfd_a, SYS_ioctl);
	expect_ok(SECCOMP_SPAWNER, tap_offload_b);
	expect_trapped(SECCOMP_VCPU, tap_offload_a, SYS_ioctl);
	expect_trapped(SECCOMP_VMM, tap_offload_a, SYS_ioctl);
}
END_TEST

/* An I/O thread: its backend's I/O, and no KVM ioctl at all. */
START_TEST(test_io_thread)
{
	null_fds();
	expect_ok(SECCOMP_IO, disk_io_no_epoll);
	expect_ok(SECCOMP_SPAWNER, disk_io_no_epoll);
	expect_trapped(SECCOMP_IO, disk_io, SYS_epoll_create1);
	expect_trapped(SECCOMP_IO, irqfd_a, SYS_ioctl);
	expect_trapped(SECCOMP_IO, ioeventfd_a, SYS_ioctl);
	expect_trapped(SECCOMP_IO, irq_line_b, SYS_ioctl);
	expect_trapped(SECCOMP_IO, open_socket, SYS_socket);
	expect_trapped(SECCOMP_VCPU, disk_io_no_epoll, SYS_preadv);
}
END_TEST

/* The spawner's filter stays on vCPU threads: it allows their VM ioctls. */
START_TEST(test_ioctl_spawner)
{
	null_fds();
	expect_ok(SECCOMP_SPAWNER, irqfd_a);
	expect_ok(SECCOMP_SPAWNER, gsi_routing_b);
	expect_ok(SECCOMP_SPAWNER, ioeventfd_a);
	expect_ok(SECCOMP_SPAWNER, irq_line_b);
	expect_trapped(SECCOMP_SPAWNER, create_vm_a, SYS_ioctl);
}
END_TEST

static struct termios saved;

static void tcsets_raw_fd(void)
{
	if (tcsetattr(raw_fd, TCSANOW, &saved))
		_exit(1);
}

static void tcsets_other_fd(void)
{
	tcsetattr(fd_b, TCSANOW, &saved);
}

static int open_pty(int *master)
{
	int slave;

	ck_assert_int_eq(openpty(master, &slave, NULL, NULL, NULL), 0);
	ck_assert_int_eq(tcgetattr(slave, &saved), 0);
	return slave;
}

/* TCSETS* only on the terminal term_raw() took. */
START_TEST(test_ioctl_tty)
{
	int master;
	size_t i;

	null_fds();
	raw_fd = open_pty(&master);
	for (i = 0; i < ARRAY_SIZE(all_threads); i++) {
		expect_ok(all_threads[i], tcsets_raw_fd);
		expect_trapped(all_threads[i], tcsets_other_fd, SYS_ioctl);
	}
}
END_TEST

static void forbidden(void)
{
	syscall(SYS_getppid);
}

/*
 * Defect 3: the SIGSYS handler restores the terminal with tcsetattr, which
 * the vCPU and API filters did not allow: the process died by SIGSYS with
 * no message and the terminal left raw.
 */
START_TEST(test_report_restores_tty)
{
	static const enum seccomp_thread threads[] = { SECCOMP_VCPU,
		SECCOMP_API, SECCOMP_VMM, SECCOMP_SPAWNER };
	struct termios now;
	struct child c;
	int master;
	size_t i;

	raw_fd = open_pty(&master);
	for (i = 0; i < ARRAY_SIZE(threads); i++) {
		run_filtered(threads[i], forbidden, &c);
		ck_assert_msg(WIFEXITED(c.status) &&
			      WEXITSTATUS(c.status) == EXIT_SIGSYS,
			      "thread type %d: wait status %#x (a signal: the "
			      "reporter was killed), stderr: %s", threads[i],
			      c.status, c.err);
		ck_assert_msg(strstr(c.err, "seccomp blocked syscall"),
			      "thread type %d: no message: %s", threads[i],
			      c.err);
		ck_assert_int_eq(tcgetattr(raw_fd, &now), 0);
		ck_assert_msg(now.c_lflag == saved.c_lflag &&
			      now.c_iflag == saved.c_iflag &&
			      now.c_oflag == saved.c_oflag,
			      "thread type %d: the terminal stayed raw "
			      "(lflag %#x, saved %#x)", threads[i],
			      now.c_lflag, saved.c_lflag);
	}
}
END_TEST

/* A full pipe whose reader never reads; blocking as a shell's pipe is. */
static int full_pipe(bool blocking)
{
	static const char junk[4096];
	int p[2];

	if (pipe2(p, O_NONBLOCK))
		_exit(90);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	if (blocking && fcntl(p[1], F_SETFL, 0))
		_exit(95);
	return p[1];	/* the read end stays open, unread */
}

static void no_irq(void *opaque, int level)
{
	(void)opaque;
	(void)level;
}

/*
 * evmm's exit with the console's reader stalled: serial_free gives the
 * buffered output its time (poll) under the VMM filter, then returns.
 * The e2e stalled-reader case died here by SIGSYS (poll was not allowed).
 */
static void drain_stalled(void)
{
	struct serial *s = serial_new(full_pipe(false), no_irq, NULL);
	uint8_t c = 'x';

	if (!s)
		_exit(91);
	serial_io(s, 0, &c, 1, true);	/* THR: waits in evmm's buffer */
	if (seccomp_apply(SECCOMP_VMM, SECCOMP_ON))
		_exit(92);
	serial_free(s);
}

START_TEST(test_drain_stalled_console)
{
	expect_ok(NO_FILTER, drain_stalled);
}
END_TEST

/*
 * The reporter with stderr a full pipe (evmm's console and log both to a
 * stalled reader): it exits 128 + SIGSYS at once, the line dropped; a
 * blocking write kept evmm alive until someone read.
 */
static void trap_stalled_stderr(void)
{
	if (dup2(full_pipe(true), STDERR_FILENO) < 0)
		_exit(93);
	log_nonblocking();
	if (seccomp_apply(SECCOMP_VMM, SECCOMP_ON))
		_exit(94);
	forbidden();
}

START_TEST(test_report_stalled_stderr)
{
	struct child c;

	run_filtered(NO_FILTER, trap_stalled_stderr, &c);
	ck_assert_msg(WIFEXITED(c.status) &&
		      WEXITSTATUS(c.status) == EXIT_SIGSYS,
		      "wait status %#x, expected exit %d; stderr: %s",
		      c.status, EXIT_SIGSYS, c.err);
}
END_TEST

/*
 * A vCPU thread started as evmm does, by a VMM thread under its filter:
 * the spawner's and the vCPU's filters let it name itself, install its
 * own filter, run its vCPU (here /dev/null: ENOTTY, a fatal error it
 * reports) and exit; the VMM thread kicks and joins it.
 */
static void vcpu_lifecycle(void)
{
	static struct kvm_run run;
	static struct vm vm;
	struct vcpu *v;
	uint64_t val;

	vm.seccomp = SECCOMP_ON;
	vm.fd = fd_b;
	vm.event_fd = eventfd(0, EFD_CLOEXEC);
	vm.vcpus = v = calloc(1, sizeof(*v));
	if (vm.event_fd < 0 || !v || vcpu_signals_init() ||
	    vcpu_spawner_start(SECCOMP_ON))
		_exit(1);
	v->vm = &vm;
	v->fd = fd_a;
	v->run = &run;
	if (seccomp_apply_fds(SECCOMP_VMM, SECCOMP_ON, &fds) || vcpu_start(v))
		_exit(2);
	/* Bounded: the parent kills a child that hangs. */
	if (read(vm.event_fd, &val, sizeof(val)) != sizeof(val) ||
	    atomic_load(&vm.request) != VM_REQ_ERROR)
		_exit(3);
	vcpu_stop(v);
	/* A vCPU thread again, on the same spawner. */
	if (vcpu_start(v) || read(vm.event_fd, &val, sizeof(val)) < 0)
		_exit(4);
	vcpu_stop(v);
}

START_TEST(test_vcpu_thread)
{
	struct child c;

	null_fds();
	run_filtered(NO_FILTER, vcpu_lifecycle, &c);
	ck_assert_msg(WIFEXITED(c.status) && !WEXITSTATUS(c.status),
		      "wait status %#x, stderr: %s", c.status, c.err);
	ck_assert_msg(strstr(c.err, "KVM_RUN"), "no KVM_RUN error: %s",
		      c.err);
}
END_TEST

Suite *seccomp_suite(void)
{
	const TTest *const tests[] = {
		test_mmap_exec, test_mprotect_exec, test_clone, test_tgkill,
		test_prctl, test_ioctl_vmm, test_ioctl_vcpu, test_ioctl_spawner,
		test_io_thread, test_io_tap,
		test_ioctl_tty,
		test_report_restores_tty, test_vcpu_thread,
		test_drain_stalled_console, test_report_stalled_stderr,
	};
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("seccomp");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tests); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

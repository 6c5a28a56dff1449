/*
 * A seccomp violation on any of evmm's threads, with the console on a
 * terminal: evmm must say "seccomp blocked syscall", exit with 128 + SIGSYS
 * and leave the terminal as it found it. evmm runs on a pty slave (stdin
 * and stdout; stderr on a pipe) under the fault shim (tests/shim/fault.c),
 * which, once armed, makes a syscall no filter allows on the chosen
 * thread: the VMM thread, the one creating vCPU threads (as a resize adds
 * a vCPU), a vCPU or the API thread. The guest is the calm fake bzImage
 * (firmware/payloads/hostile64.S).
 *
 * The vCPU and API cases are defect 3 of the hardening issue: the SIGSYS
 * handler's terminal restore was itself forbidden on those threads.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"
#include "tests/shim/fault.h"

#define T_TRAP		2.0
#define OUT_MAX		(256 * 1024)

struct trap_run {
	pid_t pid;
	int master, slave, err;
	char out[OUT_MAX], errbuf[OUT_MAX];
	size_t out_len, err_len;
	int status;
};

static struct trap_run r = { .pid = -1, .master = -1, .slave = -1,
			     .err = -1 };
static char sock[108];

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup(void)
{
	snprintf(sock, sizeof(sock), "/tmp/evmm-e2e-%d.sock", getpid());
	unlink(sock);
}

static void teardown(void)
{
	if (r.pid > 0) {
		kill(r.pid, SIGKILL);
		waitpid(r.pid, NULL, 0);
	}
	r.pid = -1;
	if (r.master >= 0)
		close(r.master);
	if (r.slave >= 0)
		close(r.slave);
	if (r.err >= 0)
		close(r.err);
	r.master = r.slave = r.err = -1;
	unlink(sock);
}

static void trap_fail(const char *what)
{
	ck_abort_msg("%s\n----- evmm's stderr -----\n%s\n----- console (%zu "
		     "bytes), last part -----\n%s\n-----", what, r.errbuf,
		     r.out_len, r.out + (r.out_len > 2000 ? r.out_len - 2000 : 0));
}

static void append(int fd, char *buf, size_t *len)
{
	ssize_t n;

	if (*len + 1 >= OUT_MAX)
		*len = 0;	/* keep the tail, roughly */
	n = read(fd, buf + *len, OUT_MAX - 1 - *len);
	if (n > 0)
		*len += n;
	buf[*len] = 0;
}

/* Reads the console and stderr until s shows in the one or the other. */
static void trap_read(int ms)
{
	struct pollfd p[2] = { { .fd = r.master, .events = POLLIN },
			       { .fd = r.err, .events = POLLIN } };

	if (poll(p, 2, ms) <= 0)
		return;
	if (p[0].revents)
		append(r.master, r.out, &r.out_len);
	if (p[1].revents)
		append(r.err, r.errbuf, &r.err_len);
}

static void trap_expect(const char *s, double timeout_s)
{
	double deadline = now() + timeout_s * guest_scale();
	char msg[160];

	while (!strstr(r.out, s) && !strstr(r.errbuf, s)) {
		if (now() > deadline) {
			snprintf(msg, sizeof(msg), "no \"%s\" within %.1f s", s,
				 timeout_s * guest_scale());
			trap_fail(msg);
		}
		trap_read(50);
	}
}

static bool same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	       a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	       !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc));
}

static void trap_spawn(void)
{
	const char *bin = env_or("EVMM_BIN", "build/evmm");
	const char *shim = env_or("EVMM_FAULT_SHIM",
				  "build/tests/libevmm-fault.so");
	const char *argv[] = {
		bin, "--kernel", env_or("EVMM_HOSTILE",
					"build/firmware/hostile64.bin"),
		"--cmdline", "calm", "--cpus", "boot=2,max=4",
		"--memory", "size=256M",
		"--api-socket", sock, NULL,
	};
	pid_t parent = getpid();
	int errp[2];

	ck_assert_msg(!access(shim, R_OK), "no %s", shim);
	ck_assert_msg(!openpty(&r.master, &r.slave, NULL, NULL, NULL),
		      "openpty: %s", strerror(errno));
	ck_assert_msg(!pipe2(errp, O_CLOEXEC), "pipe: %s", strerror(errno));
	fcntl(r.master, F_SETFD, FD_CLOEXEC);
	r.pid = fork();
	ck_assert_msg(r.pid >= 0, "fork: %s", strerror(errno));
	if (!r.pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setsid();
		if (dup2(r.slave, 0) < 0 || dup2(r.slave, 1) < 0 ||
		    dup2(errp[1], 2) < 0)
			_exit(127);
		setenv("LD_PRELOAD", shim, 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(errp[1]);
	r.err = errp[0];
}

/* Until evmm has put the terminal in raw mode. */
static void wait_raw(const struct termios *before)
{
	double deadline = now() + T_BOOT * guest_scale();
	struct termios t;

	for (;;) {
		ck_assert(!tcgetattr(r.slave, &t));
		if (!same_termios(&t, before))
			return;
		if (now() > deadline)
			trap_fail("evmm never changed the terminal's mode");
		trap_read(20);
	}
}

static void trap_wait_exit(void)
{
	double deadline = now() + T_TRAP * guest_scale();

	while (waitpid(r.pid, &r.status, WNOHANG) != r.pid) {
		if (now() > deadline)
			trap_fail("evmm still runs after the violation");
		trap_read(20);
	}
	r.pid = -1;
	/* What it wrote last. */
	while (now() < deadline) {
		size_t n = r.err_len;

		trap_read(50);
		if (r.err_len == n)
			break;
	}
}

static void trap_thread(enum fault_target t)
{
	union sigval v = { .sival_int = FAULT_ARG(t, 0) };
	struct termios before, after;
	char msg[256];

	trap_spawn();
	ck_assert(!tcgetattr(r.slave, &before));
	trap_expect("HOSTILE: tick", T_BOOT);
	wait_raw(&before);
	ck_assert_msg(!sigqueue(r.pid, SIGUSR2, v), "sigqueue: %s",
		      strerror(errno));
	/* evmm dies answering: no status to check. */
	if (t == FAULT_TRAP_CREATE)
		api_call(sock, "PUT", "vm.resize", "{\"desired_vcpus\": 3}",
			 NULL);
	trap_wait_exit();
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 128 + SIGSYS) {
		snprintf(msg, sizeof(msg), "wait status %#x, expected exit "
			 "status %d (128 + SIGSYS)%s", r.status, 128 + SIGSYS,
			 WIFSIGNALED(r.status) ? ": killed by a signal" : "");
		trap_fail(msg);
	}
	if (!strstr(r.errbuf, "evmm-fault: failing"))
		trap_fail("the shim did not trap");
	if (!strstr(r.errbuf, "seccomp blocked syscall"))
		trap_fail("no \"seccomp blocked syscall\" on stderr");
	ck_assert(!tcgetattr(r.slave, &after));
	if (!same_termios(&before, &after)) {
		snprintf(msg, sizeof(msg), "the terminal was not restored: "
			 "lflag %#x, expected %#x; oflag %#x, expected %#x",
			 after.c_lflag, before.c_lflag, after.c_oflag,
			 before.c_oflag);
		trap_fail(msg);
	}
}

START_TEST(trap_vmm)
{
	trap_thread(FAULT_TRAP_VMM);
}
END_TEST

/* The thread that creates vCPU threads, as a resize adds one. */
START_TEST(trap_create)
{
	trap_thread(FAULT_TRAP_CREATE);
}
END_TEST

START_TEST(trap_vcpu)
{
	trap_thread(FAULT_TRAP_VCPU);
}
END_TEST

START_TEST(trap_api)
{
	trap_thread(FAULT_TRAP_API);
}
END_TEST

Suite *e2e_seccomp_trap_suite(void)
{
	Suite *s = suite_create("e2e_seccomp_trap");
	double secs = T_BOOT * 2 + T_TRAP + 1;

	guest_add_test(s, "trap_vmm", trap_vmm, secs, setup, teardown);
	guest_add_test(s, "trap_create", trap_create, secs + T_API, setup,
		       teardown);
	guest_add_test(s, "trap_vcpu", trap_vcpu, secs, setup, teardown);
	guest_add_test(s, "trap_api", trap_api, secs, setup, teardown);
	return s;
}

/*
 * evmm's console as a user has it: a terminal, left as evmm found it on
 * every way out (poweroff, SIGTERM, a fatal signal on any thread); and a
 * reader that stops reading, which must cost guest output, never the
 * API's answers or SIGTERM.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

static struct guest g;
static char sock[108];
static int slave = -1;		/* the test's own handle on evmm's terminal */
static struct termios before;

static void setup(void)
{
	snprintf(sock, sizeof(sock), "/tmp/evmm-e2e-console-%d.sock",
		 getpid());
	unlink(sock);
}

static void teardown(void)
{
	guest_kill(&g);
	if (slave >= 0)
		close(slave);
	slave = -1;
	unlink(sock);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pty_child(int fd, const char *const *argv, pid_t parent)
{
	struct rlimit none = { 0, 0 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	/* The fatal-signal tests must not write a core of guest RAM. */
	setrlimit(RLIMIT_CORE, &none);
	setsid();
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	execv(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "e2e: cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

/* evmm with a pseudo-terminal as stdin, stdout and stderr, as in a shell. */
static void start_on_pty(void)
{
	const char *bin = getenv("EVMM_BIN") ? getenv("EVMM_BIN") :
		"build/evmm";
	const char *argv[] = { bin, "--kernel", guest_kernel(), "--initramfs",
		guest_initramfs(), "--cmdline", GUEST_CMDLINE, "--api-socket",
		sock, NULL };
	pid_t parent = getpid();
	int master;

	ck_assert_msg(!openpty(&master, &slave, NULL, NULL, NULL),
		      "openpty: %s", strerror(errno));
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(master, F_SETFL, O_NONBLOCK);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	memset(&before, 0, sizeof(before));
	ck_assert_int_eq(tcgetattr(slave, &before), 0);
	ck_assert_msg(before.c_lflag & ICANON, "a new pty is not canonical");
	signal(SIGPIPE, SIG_IGN);
	memset(&g, 0, sizeof(g));
	clock_gettime(CLOCK_MONOTONIC, &g.mark);
	g.pid = fork();
	ck_assert_int_ge(g.pid, 0);
	if (!g.pid)
		pty_child(slave, argv, parent);
	g.out = master;
	g.in = dup(master);
	g.started = true;
}

static bool term_is_raw(void)
{
	struct termios t;

	return !tcgetattr(slave, &t) && !(t.c_lflag & (ICANON | ECHO));
}

/* Raw mode shows that evmm has set the terminal up; the output is dropped. */
static void wait_raw(void)
{
	double deadline = now() + T_BOOT * guest_scale();
	char buf[4096];

	while (!term_is_raw()) {
		guest_check(&g, now() < deadline, "the terminal is not in raw "
			    "mode %.1f s after launch", T_BOOT * guest_scale());
		guest_check(&g, waitpid(g.pid, &g.status, WNOHANG) == 0,
			    "evmm ended before it set the terminal up");
		while (read(g.out, buf, sizeof(buf)) > 0 && !term_is_raw())
			;
		usleep(20000);
	}
}

static void expect_restored(const char *after)
{
	struct termios t;

	memset(&t, 0, sizeof(t));
	guest_check(&g, !tcgetattr(slave, &t), "tcgetattr: %s",
		    strerror(errno));
	guest_check(&g, t.c_iflag == before.c_iflag &&
		    t.c_oflag == before.c_oflag &&
		    t.c_cflag == before.c_cflag &&
		    t.c_lflag == before.c_lflag &&
		    !memcmp(t.c_cc, before.c_cc, sizeof(t.c_cc)),
		    "after %s the terminal is not restored: lflag %#x, "
		    "expected %#x; iflag %#x, expected %#x", after,
		    t.c_lflag, before.c_lflag, t.c_iflag, before.c_iflag);
}

/* Waits for evmm's end without reading its output (a stalled reader). */
static int wait_exit_unread(double timeout_s)
{
	double limit = timeout_s * guest_scale(), deadline = now() + limit;

	while (waitpid(g.pid, &g.status, WNOHANG) == 0) {
		guest_check(&g, now() < deadline, "evmm still runs %.1f s "
			    "later", limit);
		usleep(20000);
	}
	g.pid = 0;
	fprintf(stderr, "e2e: evmm ended %.3f s after the signal\n",
		guest_elapsed(&g));
	return g.status;
}

static void expect_api_answers(void)
{
	double t0 = now();
	json_t *info;
	int code = api_call(sock, "GET", "vmm.ping", NULL, NULL);

	guest_check(&g, code == 200, "vmm.ping: HTTP %d after %.1f s", code,
		    now() - t0);
	info = api_info(&g, sock);
	json_decref(info);
	fprintf(stderr, "e2e: vmm.ping and vm.info answered in %.3f s\n",
		now() - t0);
}

/* The guest boots and answers on the terminal; poweroff restores it. */
START_TEST(console_pty_poweroff)
{
	const char *v;
	int status;

	start_on_pty();
	guest_ready(&g, T_BOOT, NULL);
	guest_check(&g, term_is_raw(), "the terminal is not in raw mode");
	v = guest_query(&g, "echo answer=$((6*7))", "answer=");
	guest_check(&g, !strcmp(v, "42"), "answer=%s, expected 42", v);
	expect_api_answers();
	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	status = guest_wait_exit(&g, T_EXIT);
	guest_check(&g, WIFEXITED(status) && !WEXITSTATUS(status),
		    "evmm ended with wait status %#x, expected exit 0", status);
	expect_restored("a guest poweroff");
}
END_TEST

START_TEST(console_pty_sigterm)
{
	int status;

	start_on_pty();
	wait_raw();
	expect_api_answers();
	guest_signal(&g, SIGTERM);
	status = wait_exit_unread(T_EXIT);
	guest_check(&g, WIFEXITED(status) && !WEXITSTATUS(status),
		    "evmm ended with wait status %#x, expected exit 0", status);
	expect_restored("SIGTERM");
}
END_TEST

/* The newest thread but the main one: a vCPU, under its seccomp filter. */
static pid_t other_thread(void)
{
	char path[64];
	struct dirent *d;
	pid_t tid = 0, t;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", g.pid);
	dir = opendir(path);
	guest_check(&g, dir, "%s: %s", path, strerror(errno));
	while ((d = readdir(dir))) {
		t = atoi(d->d_name);
		if (t > 0 && t != g.pid && t > tid)
			tid = t;
	}
	closedir(dir);
	guest_check(&g, tid, "evmm %d has no thread but its main one", g.pid);
	return tid;
}

/*
 * A fatal signal restores the terminal and still kills evmm by that
 * signal: SIGSEGV on a vCPU thread (whose filter forbids the restore's
 * ioctl), SIGABRT to the process.
 */
static void fatal(int sig, bool on_vcpu)
{
	int status;

	start_on_pty();
	wait_raw();
	expect_api_answers();
	if (on_vcpu)
		guest_check(&g, !tgkill(g.pid, other_thread(), sig),
			    "tgkill: %s", strerror(errno));
	else
		guest_signal(&g, sig);
	clock_gettime(CLOCK_MONOTONIC, &g.mark);
	status = wait_exit_unread(T_EXIT);
	guest_check(&g, WIFSIGNALED(status) && WTERMSIG(status) == sig,
		    "evmm ended with wait status %#x, expected signal %d (%s)",
		    status, sig, strsignal(sig));
	expect_restored(strsignal(sig));
}

START_TEST(console_pty_sigsegv_vcpu)
{
	fatal(SIGSEGV, true);
}
END_TEST

START_TEST(console_pty_sigabrt)
{
	fatal(SIGABRT, false);
}
END_TEST

/* Bytes waiting in the pipe from evmm. */
static int pipe_fill(void)
{
	int n = 0;

	ioctl(g.out, FIONREAD, &n);
	return n;
}

/*
 * Reads the stalled pipe for a while before a failure kills evmm: a
 * regression then ends like any failing test, with evmm unblocked.
 */
static void unstall_fail(const char *what, double secs)
{
	struct pollfd p = { .fd = g.out, .events = POLLIN };
	double end = now() + 2;
	char buf[4096];

	guest_dump_threads(&g);
	while (now() < end)
		if (poll(&p, 1, 100) > 0 && read(g.out, buf, sizeof(buf)) <= 0)
			break;
	guest_fail(&g, "with nobody reading its output, %s (after %.1f s)",
		   what, secs);
}

static void expect_stalled_api_answers(void)
{
	double t0 = now();

	if (api_call(sock, "GET", "vmm.ping", NULL, NULL) != 200)
		unstall_fail("vmm.ping got no answer", now() - t0);
	if (api_call(sock, "GET", "vm.info", NULL, NULL) != 200)
		unstall_fail("vm.info got no answer", now() - t0);
	fprintf(stderr, "e2e: vmm.ping and vm.info answered in %.3f s\n",
		now() - t0);
}

/*
 * evmm's stdout and stderr a pipe that stops being read while the guest
 * prints: console input, the API and SIGTERM still work, and evmm exits
 * with output still waiting in its buffer. The pipe is shrunk to one page
 * and the guest prints about 12 KiB: past the pipe, into evmm's buffer,
 * in a few seconds of exits (a long flood of exits is what stalls the
 * nested host, see tools/nested-host).
 */
START_TEST(console_stalled_reader)
{
	double limit = T_BOOT * guest_scale(), deadline;
	int size, status;

	guest_start(&g, "--api-socket", sock, NULL);
	guest_ready(&g, T_BOOT, NULL);
	guest_drain(&g);	/* a pipe holding more cannot shrink */
	size = fcntl(g.out, F_SETPIPE_SZ, 4096);
	guest_check(&g, size > 0, "F_SETPIPE_SZ: %s", strerror(errno));
	guest_check(&g, guest_cmd(&g, "(i=0; while [ $i -lt 300 ]; do "
				  "echo flood-$i-abcdefghijklmnopqrstuvwxyz; "
				  "i=$((i+1)); done; echo flood-done) &", T_CMD) == 0,
		    "the flood did not start");
	/* From here on nobody reads: the pipe fills up. */
	fprintf(stderr, "e2e: the guest prints; nobody reads evmm's output\n");
	deadline = now() + limit;
	while (pipe_fill() < size - 64) {
		guest_check(&g, now() < deadline, "the pipe holds %d of %d "
			    "bytes %.1f s later", pipe_fill(), size, limit);
		usleep(50000);
	}
	fprintf(stderr, "e2e: evmm's output pipe is full (%d bytes)\n",
		pipe_fill());
	sleep(1);	/* the guest goes on printing into evmm's buffer */
	/* Input makes the VMM thread touch the UART the vCPU writes with. */
	guest_send(&g, "true");
	fprintf(stderr, "e2e: console input sent; asking the API\n");
	expect_stalled_api_answers();
	guest_signal(&g, SIGTERM);
	deadline = now() + T_EXIT * guest_scale();
	while (waitpid(g.pid, &g.status, WNOHANG) == 0) {
		if (now() > deadline)
			unstall_fail("SIGTERM did not end evmm",
				     T_EXIT * guest_scale());
		usleep(20000);
	}
	g.pid = 0;
	status = g.status;
	fprintf(stderr, "e2e: evmm ended %.3f s after SIGTERM\n",
		guest_elapsed(&g));
	guest_check(&g, WIFEXITED(status) && !WEXITSTATUS(status),
		    "evmm ended with wait status %#x, expected exit 0", status);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *test, double secs)
{
	guest_add_test(s, name, test, secs, setup, teardown);
}

Suite *e2e_console_suite(void)
{
	Suite *s = suite_create("e2e_console");

	check_set_max_msg_size(GUEST_MSG_MAX);
	/* Sums of the harness' own timeouts plus a margin: it fails first. */
	add(s, "pty_poweroff", console_pty_poweroff,
	    2 * T_BOOT + 3 * T_CMD + 14 * T_API + T_EXIT);
	add(s, "pty_sigterm", console_pty_sigterm,
	    2 * T_BOOT + 14 * T_API + T_EXIT);
	add(s, "pty_sigsegv_vcpu", console_pty_sigsegv_vcpu,
	    2 * T_BOOT + 14 * T_API + T_EXIT);
	add(s, "pty_sigabrt", console_pty_sigabrt,
	    2 * T_BOOT + 14 * T_API + T_EXIT);
	add(s, "stalled_reader", console_stalled_reader,
	    3 * T_BOOT + 2 * T_CMD + 14 * T_API + T_EXIT);
	return s;
}

/*
 * The terminal evmm found is the one it leaves, even when a fatal signal
 * ends it: on the VMM thread, or on a thread whose seccomp filter forbids
 * the restore's ioctl (a vCPU's). Each case runs in a child on a pty.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/seccomp.h"
#include "vmm/term.h"

static int crash_sig;

static void *crash_filtered(void *arg)
{
	(void)arg;
	if (seccomp_apply(SECCOMP_VCPU, SECCOMP_ON))
		_exit(4);
	raise(crash_sig);
	return NULL;
}

/* The child: raw mode on the pty, then sig on a vCPU-like thread or here. */
static void child(int tty, int sig, bool on_thread)
{
	struct rlimit none = { 0, 0 };
	pthread_t t;

	setrlimit(RLIMIT_CORE, &none);
	if (term_catch_signals() || term_raw(tty) != 1)
		_exit(2);
	crash_sig = sig;
	if (!on_thread)
		raise(sig);
	else if (!pthread_create(&t, NULL, crash_filtered, NULL))
		pthread_join(t, NULL);	/* as the VMM thread waits */
	_exit(3);
}

static void expect_restored_after(int sig, bool on_thread)
{
	struct termios before, after;
	int m, s, status;
	pid_t pid;

	ck_assert_int_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	ck_assert_int_eq(tcgetattr(s, &before), 0);
	ck_assert(before.c_lflag & ICANON);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid)
		child(s, sig, on_thread);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig,
		      "wait status %#x, expected death by signal %d (%s)",
		      status, sig, strsignal(sig));
	ck_assert_int_eq(tcgetattr(s, &after), 0);
	ck_assert_msg(after.c_lflag == before.c_lflag &&
		      after.c_iflag == before.c_iflag &&
		      after.c_oflag == before.c_oflag &&
		      !memcmp(after.c_cc, before.c_cc, sizeof(after.c_cc)),
		      "the terminal stays raw after %s: lflag %#x, was %#x",
		      strsignal(sig), after.c_lflag, before.c_lflag);
	close(m);
	close(s);
}

START_TEST(term_sigsegv_on_filtered_thread)
{
	expect_restored_after(SIGSEGV, true);
}
END_TEST

START_TEST(term_sigabrt_on_main_thread)
{
	expect_restored_after(SIGABRT, false);
}
END_TEST

Suite *term_suite(void)
{
	Suite *s = suite_create("term");
	TCase *tc = tcase_create("term");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, term_sigsegv_on_filtered_thread);
	tcase_add_test(tc, term_sigabrt_on_main_thread);
	suite_add_tcase(s, tc);
	return s;
}

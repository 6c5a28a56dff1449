/*
 * The real binary refuses a bad command line at once, with one line that
 * names the option. No KVM needed, but it is evmm end to end.
 */
#include <check.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/e2e/guest.h"

static struct guest g;

static void teardown(void)
{
	guest_kill(&g);
}

static void expect_rejected(const char *opt)
{
	int status = guest_wait_exit(&g, T_CLI);
	const char *nl = strchr(g.buf ? g.buf : "", '\n');

	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "evmm ended with wait status %#x, expected a failure",
		    status);
	guest_check(&g, nl && !nl[1], "expected one line, got \"%s\"",
		    g.buf ? g.buf : "");
	guest_check(&g, strstr(g.buf, opt), "\"%s\" does not name %s",
		    g.buf, opt);
}

START_TEST(cli_zero_cpus)
{
	guest_start(&g, "--cpus", "boot=0", NULL);
	expect_rejected("--cpus");
}
END_TEST

START_TEST(cli_tiny_memory)
{
	guest_start(&g, "--memory", "size=1", NULL);
	expect_rejected("--memory");
}
END_TEST

START_TEST(cli_not_a_bzimage)
{
	guest_start(&g, "--kernel", guest_initramfs(), NULL);
	expect_rejected("--kernel");
	guest_check(&g, strstr(g.buf, "bzImage"), "\"%s\" does not say "
		    "what a kernel must be", g.buf);
}
END_TEST

Suite *e2e_cli_suite(void)
{
	Suite *s = suite_create("e2e_cli");
	TCase *tc = tcase_create("bad_cli");

	check_set_max_msg_size(GUEST_MSG_MAX);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 2 * T_CLI);
	tcase_add_test(tc, cli_zero_cpus);
	tcase_add_test(tc, cli_tiny_memory);
	tcase_add_test(tc, cli_not_a_bzimage);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * The real binary refuses a bad command line at once, with one line that
 * names the option. No KVM needed, but it is evmm end to end. Then its API
 * socket file: gone after a failure past the API's start, and never taken
 * from a running evmm.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

static struct guest g, g2;
static char dir[64], sock[128], lock[160], big[128];

static void teardown(void)
{
	guest_kill(&g);
	guest_kill(&g2);
}

static void sock_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/evmm-cli-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	snprintf(lock, sizeof(lock), "%s.lock", sock);
	snprintf(big, sizeof(big), "%s/big.cpio", dir);
}

static void sock_teardown(void)
{
	teardown();
	unlink(sock);
	unlink(lock);
	unlink(big);
	rmdir(dir);
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? 0 : st.st_ino;
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

/*
 * --net needs a tap it can have (lo is not one; e2e_net has the rest),
 * --disk an image (a character device is not one).
 */
START_TEST(cli_devices_refused)
{
	guest_start(&g, "--net", "tap=lo", NULL);
	expect_rejected("--net");
	guest_check(&g, strstr(g.buf, "tap \"lo\": cannot attach"),
		    "\"%s\" does not say what is wrong", g.buf);
	teardown();
	guest_start(&g, "--disk", "path=/dev/null", NULL);
	expect_rejected("--disk");
	guest_check(&g, strstr(g.buf, "block device"), "\"%s\" does not say "
		    "what an image must be", g.buf);
}
END_TEST

/*
 * The API is up before the kernel is loaded: an initramfs that cannot fit
 * in 64 MiB fails machine_start (a die()), which must not leave the
 * socket file or its lock behind.
 */
START_TEST(cli_api_socket_after_failure)
{
	int fd = open(big, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 128 << 20), 0);	/* sparse */
	close(fd);
	guest_start(&g, "--api-socket", sock, "--memory", "size=64M",
		    "--initramfs", big, NULL);
	expect_rejected("--memory");
	guest_check(&g, !ino_of(sock), "%s left behind", sock);
	guest_check(&g, !ino_of(lock), "%s left behind", lock);
}
END_TEST

/* A second evmm on a live socket is refused and leaves it to the first. */
START_TEST(cli_api_socket_in_use)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	double end;
	ino_t ino;

	guest_start(&g, "--api-socket", sock, NULL);
	end = guest_elapsed(&g) + T_CLI * 5 * guest_scale();
	while (api_call(sock, "GET", "vmm.ping", NULL, NULL) != 200 &&
	       guest_elapsed(&g) < end)
		nanosleep(&nap, NULL);
	guest_check(&g, api_call(sock, "GET", "vmm.ping", NULL, NULL) == 200,
		    "the first evmm's API is not up");
	ino = ino_of(sock);
	guest_start(&g2, "--api-socket", sock, NULL);
	guest_wait_exit(&g2, T_CLI);
	guest_check(&g2, WIFEXITED(g2.status) && WEXITSTATUS(g2.status) == 1,
		    "the second evmm ended with wait status %#x",
		    g2.status);
	guest_check(&g2, g2.buf && strstr(g2.buf, "--api-socket") &&
		    strstr(g2.buf, "in use"), "\"%s\" does not say why",
		    g2.buf ? g2.buf : "");
	guest_check(&g, ino_of(sock) == ino, "the second evmm replaced %s",
		    sock);
	guest_check(&g, api_call(sock, "GET", "vmm.ping", NULL, NULL) == 200,
		    "the first evmm no longer answers");
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
	tcase_add_test(tc, cli_devices_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("api_socket");
	tcase_add_checked_fixture(tc, sock_setup, sock_teardown);
	tcase_set_timeout(tc, 4 * T_CLI + 2 * T_EXIT + 12 * T_API);
	tcase_add_test(tc, cli_api_socket_after_failure);
	tcase_add_test(tc, cli_api_socket_in_use);
	suite_add_tcase(s, tc);
	return s;
}

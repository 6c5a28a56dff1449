/*
 * A log line never blocks on a stderr nobody reads (the console's stall,
 * issue 13): it is dropped and counted.
 */
#include <check.h>
#include <fcntl.h>
#include <unistd.h>

#include "vmm/log.h"

START_TEST(log_full_stderr_drops)
{
	int p[2], saved = dup(STDERR_FILENO), fl;
	unsigned int lost = log_dropped();
	char fill[4096] = { 0 };

	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(pipe(p), 0);
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	/* stderr itself stays blocking: only evmm's own open is not. */
	fcntl(p[1], F_SETFL, fl);
	ck_assert_int_ge(dup2(p[1], STDERR_FILENO), 0);
	log_nonblocking();
	log_msg(LOG_ERROR, "nobody reads this");	/* hangs without the fix */
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	log_nonblocking();
	ck_assert_uint_eq(log_dropped(), lost + 1);
	ck_assert_int_eq(fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);
	close(saved);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, log_full_stderr_drops);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * One Check runner per tier. The Makefile passes SUITES, a generated header
 * with one SUITE(name) line per "Suite *name(void)" found in the tier's files.
 * EVMM_TEST="a b ..." runs only the suites whose names start so, and
 * EVMM_SKIP="x y ..." leaves out those named exactly (tools/run-tier's
 * retry after a stalled nested host skips the suites that had passed).
 * Each suite runs on its own and says "runner: suite NAME passed|failed".
 * Exit status: 0 when all passed.
 */
#include <check.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tests/seccomp_audit.h"

#define SUITE(fn) Suite *fn(void);
#include SUITES
#undef SUITE

/* One of list's space-separated words begins name (all of it: exact). */
static bool runner_listed(const char *list, const char *name, bool exact)
{
	size_t n;

	for (; *list; list += n) {
		list += strspn(list, " ");
		n = strcspn(list, " ");
		if (n && !strncmp(list, name, n) && (!exact || !name[n]))
			return true;
	}
	return false;
}

static bool runner_wanted(const char *name)
{
	const char *only = getenv("EVMM_TEST"), *skip = getenv("EVMM_SKIP");

	return (!only || runner_listed(only, name, false)) &&
	       (!skip || !runner_listed(skip, name, true));
}

/* Runs one suite; adds its counts to *run and *failed. */
static void runner_suite(const char *name, Suite *s, int *run, int *failed)
{
	SRunner *sr = srunner_create(s);
	int r, f;

	srunner_run_all(sr, CK_NORMAL);
	r = srunner_ntests_run(sr);
	f = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("runner: suite %s %s\n", name, f ? "failed" : "passed");
	fflush(stdout);
	*run += r;
	*failed += f;
}

int main(void)
{
	int run = 0, failed = 0, audit;

	audit = seccomp_audit_begin();
#define SUITE(fn) \
	if (runner_wanted(#fn)) \
		runner_suite(#fn, fn(), &run, &failed);
#include SUITES
#undef SUITE
	printf("%s: %d passed, %d failed\n", TIER, run - failed, failed);
	/* EVMM_E2E_SECCOMP=log: any call outside the filters fails the run. */
	if (!audit)
		audit = seccomp_audit_end();
	/* No test at all is a mistake, unless a retry skipped them all. */
	if (!run && !getenv("EVMM_SKIP"))
		failed = 1;
	return failed || audit ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * One Check runner per tier. The Makefile passes SUITES, a generated header
 * with one SUITE(name) line per "Suite *name(void)" found in the tier's files.
 * EVMM_TEST="a b ..." runs only the suites whose names start so. Exit
 * status: 0 when all passed.
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

/* No EVMM_TEST, or one of its space-separated words begins name. */
static bool runner_wanted(const char *only, const char *name)
{
	size_t n;

	if (!only)
		return true;
	for (; *only; only += n) {
		only += strspn(only, " ");
		n = strcspn(only, " ");
		if (n && !strncmp(only, name, n))
			return true;
	}
	return false;
}

int main(void)
{
	const char *only = getenv("EVMM_TEST");

	(void)only;	/* unused when a tier has no suites yet */
	SRunner *sr = srunner_create(NULL);
	int run, failed, audit;

#define SUITE(fn) \
	if (runner_wanted(only, #fn)) \
		srunner_add_suite(sr, fn());
#include SUITES
#undef SUITE
	audit = seccomp_audit_begin();
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%s: %d passed, %d failed\n", TIER, run - failed, failed);
	/* EVMM_E2E_SECCOMP=log: any call outside the filters fails the run. */
	if (!audit)
		audit = seccomp_audit_end();
	return failed || !run || audit ? EXIT_FAILURE : EXIT_SUCCESS;
}

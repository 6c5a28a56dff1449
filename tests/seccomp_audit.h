/*
 * The seccomp audit of a test run (EVMM_E2E_SECCOMP=log): evmm's filters
 * then log what they would have blocked, the kernel writes each such call
 * to its log (audit type 1326, SECCOMP_RET_LOG), and the run fails naming
 * every call and thread found there. Without the variable: nothing.
 */
#ifndef EVMM_TESTS_SECCOMP_AUDIT_H
#define EVMM_TESTS_SECCOMP_AUDIT_H

/* Before the suites: where the kernel log ends now. 0, or -1 (reported). */
int seccomp_audit_begin(void);
/* After them: how many distinct calls were logged (printed), -1 on error. */
int seccomp_audit_end(void);

#endif

/*
 * vCPUs that do not come back by themselves: a guest spinning or halted
 * with interrupts off must still stop promptly (kt_stop measures each
 * vcpu_stop), and a guest that breaks its vCPU turns into a request for
 * the VMM thread instead of a hang or a crash.
 */
#include <check.h>
#include <unistd.h>

#include "tests/kvm/kvm_test.h"

static struct kt t;

static void stop_after(uint32_t arg)
{
	kt_run(&t, "spin", 1, arg);
	ck_assert_uint_eq(kt_report(&t, 0), 1);
	usleep(50000);		/* well inside the loop or the hlt by now */
	ck_assert_uint_eq(atomic_load(&t.report.count), 1);
	ck_assert_int_eq(vm_take_request(&t.vm), VM_REQ_NONE);
	kt_finish(&t);
}

START_TEST(stop_spinning_vcpu)
{
	stop_after(0);
}
END_TEST

START_TEST(stop_halted_vcpu)
{
	stop_after(1);
}
END_TEST

/* evmm's policy: a triple fault is what a reset does. */
START_TEST(triple_fault_reboots)
{
	kt_run(&t, "fatal", 1, 0);
	ck_assert_uint_eq(kt_report(&t, 0), 1);
	ck_assert_int_eq(kt_wait_request(&t), VM_REQ_REBOOT);
	kt_finish(&t);
}
END_TEST

/* An exit evmm has no handler for: an error request, with seccomp on. */
START_TEST(unhandled_exit_is_error)
{
	kt_run(&t, "fatal", 1, 1);
	ck_assert_uint_eq(kt_report(&t, 0), 1);
	ck_assert_int_eq(kt_wait_request(&t), VM_REQ_ERROR);
	kt_finish(&t);
}
END_TEST

Suite *kvm_stop_suite(void)
{
	Suite *s = suite_create("kvm_stop");
	TCase *tc = tcase_create("stop");

	tcase_set_timeout(tc, KT_TIMEOUT_S);
	tcase_add_test(tc, stop_spinning_vcpu);
	tcase_add_test(tc, stop_halted_vcpu);
	tcase_add_test(tc, triple_fault_reboots);
	tcase_add_test(tc, unhandled_exit_is_error);
	suite_add_tcase(s, tc);
	return s;
}

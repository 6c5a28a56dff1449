/*
 * Several vCPUs: APs wait in KVM_RUN until the BSP's INIT/SIPI, and each
 * sees the APIC ID evmm gave it in its LAPIC and in CPUID leaves 1 and 0xB.
 */
#include <check.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tests/kvm/kvm_test.h"
#include "vmm/vcpu.h"

static struct kt t;

/* Waits for n ID reports; returns the set of APIC IDs seen, as bits. */
static uint32_t smp_ids(unsigned int n)
{
	uint32_t seen = 0;
	unsigned int i;

	ck_assert_msg(kt_wait_count(&t.test, n), "%u CPUs reported, want %u",
		      atomic_load(&t.test.count), n);
	for (i = 0; i < n; i++) {
		struct kt_access a = kt_access_at(&t.test, i);
		uint32_t id = (a.value >> 16) & 0xFF;

		ck_assert(a.is_write && a.len == 4 && a.addr == PL_PORT_TEST);
		ck_assert_msg(a.value == PL_SMP_REPORT(id, id, id),
			      "LAPIC ID %u, CPUID.1 says %u, CPUID.0xB %u",
			      id, (unsigned int)(a.value >> 8) & 0xFF,
			      (unsigned int)a.value & 0xFF);
		ck_assert_msg(id < 32 && !(seen & (1U << id)),
			      "APIC ID %u twice", id);
		seen |= 1U << id;
	}
	return seen;
}

START_TEST(smp_broadcast_starts_all)
{
	unsigned int i;

	kt_run(&t, "smp", 4, 3 << 8);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(t.vm.vcpus[i].apic_id, vcpu_apic_id(i));
	ck_assert_uint_eq(smp_ids(4), 0xF);
	ck_assert_uint_eq(kt_report(&t, 0), 3);
	kt_expect_done(&t, 1);
	ck_assert_uint_eq(atomic_load(&t.test.count), 4);
	kt_finish(&t);
}
END_TEST

/* Only APIC ID 2 is started; vCPU 1 stays waiting for SIPI and still stops. */
START_TEST(smp_targeted_starts_one)
{
	struct kvm_mp_state mp;

	kt_run(&t, "smp", 3, 2 | (1 << 8));
	ck_assert_uint_eq(smp_ids(2), (1U << 0) | (1U << 2));
	ck_assert_uint_eq(kt_report(&t, 0), 1);
	kt_expect_done(&t, 1);
	usleep(20000);
	ck_assert_uint_eq(atomic_load(&t.test.count), 2);
	kt_stop(&t);
	ck_assert_int_eq(ioctl(t.vm.vcpus[1].fd, KVM_GET_MP_STATE, &mp), 0);
	ck_assert_uint_eq(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	kt_finish(&t);
}
END_TEST

Suite *kvm_smp_suite(void)
{
	Suite *s = suite_create("kvm_smp");
	TCase *tc = tcase_create("smp");

	tcase_set_timeout(tc, KT_TIMEOUT_S);
	tcase_add_test(tc, smp_broadcast_starts_all);
	tcase_add_test(tc, smp_targeted_starts_one);
	suite_add_tcase(s, tc);
	return s;
}

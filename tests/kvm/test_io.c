/*
 * Port I/O and MMIO exits through evmm's run loop and bus: every access the
 * guest makes reaches the device once, in order, with its size and value;
 * reads return what the device answered; nobody's addresses read all ones.
 */
#include <check.h>

#include "tests/kvm/kvm_test.h"

static struct kt t;

#define W(a, l, v)	{ (a), (v), (l), true }
#define MASK(l)		((1ULL << (8 * (l))) - 1)
#define R(a, l)		{ (a), ((a) + 1) & MASK(l), (l), false }

static void expect_log(struct kt_dev *d, const struct kt_access *want,
		       unsigned int n)
{
	unsigned int i;

	ck_assert_msg(kt_wait_count(d, n), "device saw %u accesses, want %u",
		      atomic_load(&d->count), n);
	ck_assert_uint_eq(atomic_load(&d->count), n);
	for (i = 0; i < n; i++) {
		struct kt_access a = kt_access_at(d, i);

		ck_assert_msg(a.addr == want[i].addr && a.len == want[i].len &&
			      a.is_write == want[i].is_write &&
			      a.value == want[i].value,
			      "access %u: %s %#llx/%u = %#llx, "
			      "want %s %#llx/%u = %#llx",
			      i, a.is_write ? "write" : "read",
			      (unsigned long long)a.addr, a.len,
			      (unsigned long long)a.value,
			      want[i].is_write ? "write" : "read",
			      (unsigned long long)want[i].addr, want[i].len,
			      (unsigned long long)want[i].value);
	}
}

START_TEST(pio_sizes_and_strings)
{
	const uint16_t p = PL_PORT_TEST;
	const struct kt_access want[] = {
		W(p, 1, 0xA5), W(p + 2, 2, 0xBEEF), W(p + 4, 4, 0xDEADBEEF),
		R(p, 1), R(p + 2, 2), R(p + 4, 4), R(p + 15, 1),
		W(p + 8, 1, 'A'), W(p + 8, 1, 'B'), W(p + 8, 1, 'C'),
		W(p + 8, 1, 'D'), W(p + 8, 1, 'E'),
		W(p + 10, 2, 0x1111), W(p + 10, 2, 0x2222),
		W(p + 10, 2, 0x3333),
		R(p + 12, 1), R(p + 12, 1), R(p + 12, 1), R(p + 12, 1),
	};

	kt_run(&t, "pio", 1, 0);
	/* The guest's sum of what it read: 0x11 + 0x13 + 0x15 + 0x20. */
	ck_assert_uint_eq(kt_report(&t, 0), 0x59);
	/* rep insb stored each byte the device returned. */
	ck_assert_uint_eq(kt_report(&t, 1), 0x1D1D1D1D);
	kt_expect_done(&t, 2);
	expect_log(&t.test, want, sizeof(want) / sizeof(want[0]));
	kt_finish(&t);
}
END_TEST

START_TEST(mmio_sizes_and_strings)
{
	const uint64_t m = PL_MMIO_TEST;
	const struct kt_access want[] = {
		W(m, 1, 0x5A), W(m + 2, 2, 0xCAFE), W(m + 4, 4, 0x12345678),
		R(m, 1), R(m + 2, 2), R(m + 4, 4), R(m + 0xFFC, 4),
		W(m + 0x20, 4, 0x11223344), W(m + 0x24, 4, 0x11223344),
		W(m + 0x28, 4, 0x11223344),
	};

	kt_run(&t, "mmio", 1, 0);
	/* 0x01 + 0x0003 + 0xD0000005 + 0xD0000FFD, modulo 2^32. */
	ck_assert_uint_eq(kt_report(&t, 0), 0xA0001006);
	kt_expect_done(&t, 1);
	expect_log(&t.mmio, want, sizeof(want) / sizeof(want[0]));
	kt_finish(&t);
}
END_TEST

START_TEST(unclaimed_reads_all_ones)
{
	kt_run(&t, "unclaimed", 1, 0);
	/* Ports: byte, word, dword; a word straddling the test range's end. */
	ck_assert_uint_eq(kt_report(&t, 0), 0xFF);
	ck_assert_uint_eq(kt_report(&t, 1), 0xFFFF);
	ck_assert_uint_eq(kt_report(&t, 2), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 3), 0xFFFF);
	/* MMIO in the hole and above RAM, each read after a write to it. */
	ck_assert_uint_eq(kt_report(&t, 4), 0xFF);
	ck_assert_uint_eq(kt_report(&t, 5), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 6), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 7), 0xFFFF);
	kt_expect_done(&t, 8);
	/* The writes and the straddling access reached no device. */
	ck_assert_uint_eq(atomic_load(&t.test.count), 0);
	ck_assert_uint_eq(atomic_load(&t.mmio.count), 0);
	ck_assert_int_eq(vm_take_request(&t.vm), VM_REQ_NONE);
	kt_finish(&t);
}
END_TEST

Suite *kvm_io_suite(void)
{
	Suite *s = suite_create("kvm_io");
	TCase *tc = tcase_create("io");

	tcase_set_timeout(tc, KT_TIMEOUT_S);
	tcase_add_test(tc, pio_sizes_and_strings);
	tcase_add_test(tc, mmio_sizes_and_strings);
	tcase_add_test(tc, unclaimed_reads_all_ones);
	suite_add_tcase(s, tc);
	return s;
}

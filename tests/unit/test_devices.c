/* Bus dispatch, the 16550 register model, the PM registers: no KVM needed. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "devices/pm.h"
#include "devices/serial.h"
#include "vmm/bus.h"
#include "vmm/layout.h"

struct rec {
	uint64_t offset;
	uint32_t len;
	bool is_write;
	int calls;
};

static void rec_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct rec *r = opaque;

	r->offset = offset;
	r->len = len;
	r->is_write = is_write;
	r->calls++;
	if (!is_write)
		memset(data, 0x5A, len);
}

START_TEST(bus_dispatches_by_range)
{
	struct bus bus = { 0 };
	struct rec a = { 0 }, b = { 0 };
	uint8_t d[4] = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, rec_io, &b), 0);
	ck_assert_int_eq(bus_register(&bus, 0x10, 8, rec_io, &a), 0);
	ck_assert(bus_access(&bus, 0x13, d, 2, false));
	ck_assert_int_eq(a.offset, 3);
	ck_assert_int_eq(a.len, 2);
	ck_assert_int_eq(d[0], 0x5A);
	ck_assert(bus_access(&bus, 0x10F, d, 1, true));
	ck_assert_int_eq(b.offset, 0xF);
	ck_assert(b.is_write);
}
END_TEST

START_TEST(bus_rejects_overlaps_and_bad_ranges)
{
	struct bus bus = { 0 };
	struct rec a = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x100, 0x10, rec_io, &a), 0);
	ck_assert_int_eq(bus_register(&bus, 0x10F, 1, rec_io, &a), -EBUSY);
	ck_assert_int_eq(bus_register(&bus, 0xF0, 0x11, rec_io, &a), -EBUSY);
	ck_assert_int_eq(bus_register(&bus, 0x0, 0x1000, rec_io, &a), -EBUSY);
	ck_assert_int_eq(bus_register(&bus, 0x200, 0, rec_io, &a), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, ~0ULL, 2, rec_io, &a), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, 0x110, 1, rec_io, &a), 0);
	ck_assert_int_eq(bus.count, 2);
}
END_TEST

START_TEST(bus_unclaimed_reads_all_ones)
{
	struct bus bus = { 0 };
	struct rec a = { 0 };
	uint8_t d[4] = { 0 };

	ck_assert_int_eq(bus_register(&bus, 0x100, 4, rec_io, &a), 0);
	ck_assert(!bus_access(&bus, 0x50, d, 4, false));
	ck_assert_int_eq(d[0] & d[1] & d[2] & d[3], 0xFF);
	/* An access straddling the range end is not the device's. */
	ck_assert(!bus_access(&bus, 0x102, d, 4, false));
	ck_assert_int_eq(a.calls, 0);
}
END_TEST

START_TEST(bus_full)
{
	struct bus bus = { 0 };
	struct rec a = { 0 };
	unsigned int i;

	for (i = 0; i < BUS_MAX_RANGES; i++)
		ck_assert_int_eq(bus_register(&bus, i * 16, 8, rec_io, &a), 0);
	ck_assert_int_eq(bus_register(&bus, 0x10000, 8, rec_io, &a), -ENOSPC);
}
END_TEST

static int irq_level = -1;
static int irq_changes;

static void test_irq(void *opaque, int level)
{
	(void)opaque;
	irq_level = level;
	irq_changes++;
}

static uint8_t rd(struct serial *s, uint64_t reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static void wr(struct serial *s, uint64_t reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

START_TEST(serial_transmits_to_fd)
{
	int p[2];
	struct serial *s;
	char buf[8] = { 0 };

	ck_assert_int_eq(pipe(p), 0);
	s = serial_new(p[1], test_irq, NULL);
	wr(s, 0, 'h');
	wr(s, 0, 'i');
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "hi");
	ck_assert_int_eq(rd(s, 5) & 0x60, 0x60);	/* THRE | TEMT */
	serial_free(s);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(serial_rx_interrupt_follows_data)
{
	struct serial *s = serial_new(-1, test_irq, NULL);

	irq_level = -1;
	ck_assert_int_eq(serial_input(s, (const uint8_t *)"ab", 2), 2);
	ck_assert_int_eq(irq_level, -1);	/* IER off: no interrupt */
	wr(s, 1, 0x01);				/* IER: receive */
	ck_assert_int_eq(irq_level, 1);
	ck_assert_int_eq(rd(s, 2) & 0x0F, 0x04);	/* IIR: RX data */
	ck_assert_int_eq(rd(s, 5) & 1, 1);
	ck_assert_int_eq(rd(s, 0), 'a');
	ck_assert_int_eq(irq_level, 1);
	ck_assert_int_eq(rd(s, 0), 'b');
	ck_assert_int_eq(irq_level, 0);
	ck_assert_int_eq(rd(s, 5) & 1, 0);
	ck_assert_int_eq(rd(s, 2) & 0x0F, 0x01);	/* none pending */
	serial_free(s);
}
END_TEST

START_TEST(serial_thr_interrupt_acked_by_iir_read)
{
	struct serial *s = serial_new(-1, test_irq, NULL);

	irq_level = -1;
	wr(s, 1, 0x02);				/* IER: THR empty */
	ck_assert_int_eq(irq_level, 1);
	ck_assert_int_eq(rd(s, 2) & 0x0F, 0x02);
	ck_assert_int_eq(irq_level, 0);		/* reading IIR acked it */
	wr(s, 0, 'x');				/* transmit: empty again */
	ck_assert_int_eq(irq_level, 1);
	serial_free(s);
}
END_TEST

START_TEST(serial_loopback_and_divisor)
{
	struct serial *s = serial_new(-1, test_irq, NULL);

	wr(s, 3, 0x80);			/* DLAB */
	wr(s, 0, 0x01);
	wr(s, 1, 0x02);
	ck_assert_int_eq(rd(s, 0), 0x01);
	ck_assert_int_eq(rd(s, 1), 0x02);
	wr(s, 3, 0x03);
	wr(s, 4, 0x10 | 0x0A);		/* loopback, RTS, OUT2 */
	ck_assert_int_eq(rd(s, 6) & 0xF0, 0x90);	/* CTS | DCD: 8250 probe */
	wr(s, 0, 'L');
	ck_assert_int_eq(rd(s, 0), 'L');
	wr(s, 7, 0x55);
	ck_assert_int_eq(rd(s, 7), 0x55);
	serial_free(s);
}
END_TEST

START_TEST(serial_rx_full_and_hostile_accesses)
{
	struct serial *s = serial_new(-1, test_irq, NULL);
	uint8_t big[SERIAL_RX_SIZE + 10];
	uint8_t d[8];
	int efd[2];
	uint64_t v = 0;

	memset(big, 'z', sizeof(big));
	ck_assert_int_eq(pipe(efd), 0);
	serial_set_notify(s, efd[1]);
	ck_assert_uint_eq(serial_input(s, big, sizeof(big)), SERIAL_RX_SIZE);
	ck_assert_uint_eq(serial_rx_space(s), 0);
	while (serial_rx_space(s) < SERIAL_RX_SIZE / 2 + 1)
		rd(s, 0);
	/* Draining below half wakes the VMM thread's input again. */
	ck_assert_int_eq(read(efd[0], &v, sizeof(v)), sizeof(v));
	ck_assert_uint_eq(v, 1);
	/* Wide and out-of-range accesses are ignored, reads see ones. */
	serial_io(s, 0, d, 4, false);
	ck_assert_int_eq(d[0], 0xFF);
	serial_io(s, 9, d, 1, true);
	serial_io(s, 8, d, 1, false);
	ck_assert_int_eq(d[0], 0xFF);
	serial_free(s);
	close(efd[0]);
	close(efd[1]);
}
END_TEST

static enum pm_event last_event;
static int pm_events;

static void test_pm_event(void *opaque, enum pm_event e)
{
	(void)opaque;
	last_event = e;
	pm_events++;
}

START_TEST(pm_poweroff_reset_and_garbage)
{
	struct pm pm;
	uint8_t v;
	uint8_t w[2] = { 0x34, 0 };

	pm_init(&pm, test_pm_event, NULL);
	pm_events = 0;
	v = 0x14;	/* S5 without SLP_EN */
	pm_io(&pm, PM_SLEEP_CONTROL, &v, 1, true);
	v = (3 << 2) | PM_SLP_EN;	/* S3: not supported */
	pm_io(&pm, PM_SLEEP_CONTROL, &v, 1, true);
	v = 2;
	pm_io(&pm, PM_RESET, &v, 1, true);
	pm_io(&pm, PM_SLEEP_CONTROL, w, 2, true);
	ck_assert_int_eq(pm_events, 0);
	v = (PM_S5 << 2) | PM_SLP_EN;
	pm_io(&pm, PM_SLEEP_CONTROL, &v, 1, true);
	ck_assert_int_eq(pm_events, 1);
	ck_assert_int_eq(last_event, PM_POWEROFF);
	v = PM_RESET_VALUE;
	pm_io(&pm, PM_RESET, &v, 1, true);
	ck_assert_int_eq(pm_events, 2);
	ck_assert_int_eq(last_event, PM_REBOOT);
	pm_io(&pm, PM_SLEEP_STATUS, &v, 1, false);
	ck_assert_int_eq(v, PM_WAK_STS);
}
END_TEST

/* Found by fuzz_devices: a 0-byte read of sleep status wrote a byte. */
START_TEST(pm_empty_read_writes_nothing)
{
	struct pm pm;
	uint8_t v = 0xEE;

	pm_init(&pm, test_pm_event, NULL);
	pm_io(&pm, PM_SLEEP_STATUS, &v, 0, false);
	ck_assert_int_eq(v, 0xEE);
}
END_TEST

Suite *devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bus_dispatches_by_range);
	tcase_add_test(tc, bus_rejects_overlaps_and_bad_ranges);
	tcase_add_test(tc, bus_unclaimed_reads_all_ones);
	tcase_add_test(tc, bus_full);
	tcase_add_test(tc, serial_transmits_to_fd);
	tcase_add_test(tc, serial_rx_interrupt_follows_data);
	tcase_add_test(tc, serial_thr_interrupt_acked_by_iir_read);
	tcase_add_test(tc, serial_loopback_and_divisor);
	tcase_add_test(tc, serial_rx_full_and_hostile_accesses);
	tcase_add_test(tc, pm_poweroff_reset_and_garbage);
	tcase_add_test(tc, pm_empty_read_writes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

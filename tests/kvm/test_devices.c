/*
 * evmm's own devices driven by guest code: the 16550 both ways, the PM
 * registers' power off and reset (and everything that must not trigger
 * them), the reset-vector stub, and a guest hammering them with junk.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "devices/serial.h"
#include "tests/kvm/kvm_test.h"
#include "vmm/layout.h"
#include "vmm/util.h"

static struct kt t;

START_TEST(serial_output_and_echo)
{
	const char *in = "ping 123\n";

	kt_run(&t, "serial", 1, 0);
	kt_expect_serial(&t, "hello\n");
	ck_assert_uint_eq(kt_report(&t, 0), 0xFFFF);
	ck_assert_uint_eq(kt_report(&t, 1), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 2), 1);
	ck_assert_uint_eq(serial_input(t.serial, (const uint8_t *)in,
				       strlen(in)), strlen(in));
	/* Anything the wide writes printed would come first. */
	kt_expect_serial(&t, in);
	ck_assert_uint_eq(kt_report(&t, 3), strlen(in));
	kt_expect_done(&t, 4);
	kt_finish(&t);
}
END_TEST

/* Runs the pm payload with arg; returns the request it made at the end. */
static enum vm_request pm_run(uint32_t arg)
{
	struct pollfd p = { .events = POLLIN };

	kt_run(&t, "pm", 1, arg);
	ck_assert_uint_eq(kt_report(&t, 0), 0);		/* sleep control */
	ck_assert_uint_eq(kt_report(&t, 1), PM_WAK_STS);	/* status */
	ck_assert_uint_eq(kt_report(&t, 2), 0);		/* reset */
	ck_assert_uint_eq(kt_report(&t, 3), 1);
	/* The garbage came before report 3, and each exit is synchronous. */
	p.fd = t.vm.event_fd;
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	ck_assert_int_eq(vm_take_request(&t.vm), VM_REQ_NONE);
	kt_open_gate(&t);
	/* Likewise the final write before PL_DONE: no need to wait. */
	kt_expect_done(&t, 4);
	return poll(&p, 1, 0) == 1 ? vm_take_request(&t.vm) : VM_REQ_NONE;
}

START_TEST(pm_garbage_does_nothing)
{
	ck_assert_int_eq(pm_run(0), VM_REQ_NONE);
	kt_finish(&t);
}
END_TEST

START_TEST(pm_poweroff)
{
	ck_assert_int_eq(pm_run(1), VM_REQ_POWEROFF);
	kt_finish(&t);
}
END_TEST

START_TEST(pm_reset)
{
	ck_assert_int_eq(pm_run(2), VM_REQ_REBOOT);
	kt_finish(&t);
}
END_TEST

/*
 * What boot.c puts at the reset vector (Linux 6.1 jumps there to reboot a
 * HW-reduced machine): mov dx, reset; mov al, value; out dx, al; hlt; jmp.
 */
START_TEST(reset_vector_stub_reboots)
{
	const uint8_t stub[] = {
		0xBA, PL_PM_RESET & 0xFF, PL_PM_RESET >> 8, 0xB0,
		PL_PM_RESET_VALUE, 0xEE, 0xF4, 0xEB, 0xFD,
	};

	kt_init(&t, 1);
	kt_load_bytes(&t, LAYOUT_RESET_VECTOR, stub, sizeof(stub));
	kt_set_real_mode(&t, 0, 0xF000, 0xFFF0, 0);
	kt_start(&t);
	ck_assert_int_eq(kt_wait_request(&t), VM_REQ_REBOOT);
	kt_finish(&t);
}
END_TEST

/* Drains the serial pipe into buf; returns the bytes kept (last ones). */
static size_t drain_serial(char *buf, size_t size, size_t have)
{
	char tmp[4096];
	ssize_t n;

	while ((n = read(t.serial_out[0], tmp, sizeof(tmp))) > 0) {
		size_t k = MIN((size_t)n, size);

		if (have + k > size) {
			memmove(buf, buf + have + k - size, size - k);
			have = size - k;
		}
		memcpy(buf + have, tmp + n - k, k);
		have += k;
	}
	return have;
}

/*
 * Junk at every register of the serial port and around it, of every size,
 * while the host feeds input; then the guest restores the UART and prints:
 * evmm survived, and the device still works.
 */
START_TEST(hostile_guest)
{
	const uint8_t junk[] = "junk input\n";
	double end;
	char out[64];
	size_t have = 0;

	kt_run(&t, "hostile", 1, 0x1234);
	ck_assert_int_eq(fcntl(t.serial_out[0], F_SETFL, O_NONBLOCK), 0);
	end = kt_now() + KT_WAIT_S * 4 * kt_scale();
	while (atomic_load(&t.report.count) < 2 && kt_now() < end) {
		serial_input(t.serial, junk, sizeof(junk) - 1);
		have = drain_serial(out, sizeof(out), have);
		usleep(1000);
	}
	ck_assert_uint_eq(kt_report(&t, 0), PL_HOSTILE_ROUNDS);
	kt_expect_done(&t, 1);
	have = drain_serial(out, sizeof(out), have);
	ck_assert_uint_ge(have, 4);
	ck_assert_msg(!memcmp(out + have - 4, "\nok\n", 4),
		      "serial output does not end in \"\\nok\\n\"");
	kt_finish(&t);
}
END_TEST

Suite *kvm_devices_suite(void)
{
	Suite *s = suite_create("kvm_devices");
	TCase *tc = tcase_create("devices");

	tcase_set_timeout(tc, KT_TIMEOUT_S);
	tcase_add_test(tc, serial_output_and_echo);
	tcase_add_test(tc, pm_garbage_does_nothing);
	tcase_add_test(tc, pm_poweroff);
	tcase_add_test(tc, pm_reset);
	tcase_add_test(tc, reset_vector_stub_reboots);
	tcase_add_test(tc, hostile_guest);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * evmm's VM and vCPU code on a real /dev/kvm, with tiny real-mode guests
 * written as bytes here: port I/O both ways, the PM reset register and the
 * reset-vector path, a kick of a vCPU that never exits, seccomp on.
 */
#include <check.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "devices/pm.h"
#include "vmm/config.h"
#include "vmm/layout.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CODE_GPA	0x1000
#define TEST_PORT	0x10

static atomic_int port_writes;
static atomic_int last_value;

static void test_port(void *opaque, uint64_t offset, uint8_t *data,
		      uint32_t len, bool is_write)
{
	(void)opaque;
	(void)offset;
	if (is_write) {
		atomic_store(&last_value, data[0] | (len > 1 ? data[1] << 8 : 0));
		atomic_fetch_add(&port_writes, 1);
	} else {
		memset(data, 0, len);
		data[0] = 0x41;
	}
}

static void pm_event(void *opaque, enum pm_event e)
{
	vm_request(opaque, e == PM_POWEROFF ? VM_REQ_POWEROFF : VM_REQ_REBOOT);
}

static double scale(void)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");

	return m ? atof(m) : 1.0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static struct vm vm;
static struct pm pm;

/* A VM with 2 MiB of RAM, one vCPU in real mode at cs:ip = seg:off. */
static void guest_setup(const uint8_t *code, size_t len, uint16_t seg,
			uint16_t off, uint64_t gpa)
{
	struct kvm_sregs s;
	struct kvm_regs r = { .rip = off, .rflags = 2 };

	ck_assert_int_eq(vm_init(&vm, 1), 0);
	vm.seccomp = SECCOMP_ON;
	ck_assert_int_eq(vm_alloc_ram(&vm, 2 * MiB), 0);
	ck_assert_int_eq(bus_register(&vm.pio, TEST_PORT, 2, test_port, NULL), 0);
	pm_init(&pm, pm_event, &vm);
	ck_assert_int_eq(bus_register(&vm.pio, PORT_PM_BASE, 3, pm_io, &pm), 0);
	ck_assert_int_eq(vm_create(&vm), 0);
	ck_assert_int_eq(vcpu_create(&vm, 0), 0);
	memcpy(vm_gpa_ptr(&vm, gpa, len), code, len);
	ck_assert_int_eq(ioctl(vm.vcpus[0].fd, KVM_GET_SREGS, &s), 0);
	s.cs.selector = seg;
	s.cs.base = (uint64_t)seg << 4;
	ck_assert_int_eq(ioctl(vm.vcpus[0].fd, KVM_SET_SREGS, &s), 0);
	ck_assert_int_eq(ioctl(vm.vcpus[0].fd, KVM_SET_REGS, &r), 0);
	atomic_store(&port_writes, 0);
	ck_assert_int_eq(vcpu_signals_init(), 0);
	ck_assert_int_eq(vcpu_start(&vm.vcpus[0]), 0);
}

static void guest_teardown(void)
{
	double t0 = now();

	vcpu_stop(&vm.vcpus[0]);
	ck_assert_msg(now() - t0 < 2 * scale(), "vcpu_stop took %.2f s",
		      now() - t0);
	vcpu_close(&vm.vcpus[0]);
	vm_free(&vm);
}

static bool wait_writes(int n)
{
	double end = now() + 2 * scale();

	while (atomic_load(&port_writes) < n && now() < end) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	return atomic_load(&port_writes) >= n;
}

static enum vm_request wait_request(void)
{
	struct pollfd p = { .fd = vm.event_fd, .events = POLLIN };

	if (poll(&p, 1, 2000 * scale()) != 1)
		return VM_REQ_NONE;
	return vm_take_request(&vm);
}

START_TEST(kvm_pio_round_trip)
{
	/* in al, 0x10; inc al; out 0x10, al; mov ax, 0x1234; out 0x10, ax; jmp $ */
	const uint8_t code[] = { 0xE4, TEST_PORT, 0xFE, 0xC0, 0xE6, TEST_PORT,
				 0xB8, 0x34, 0x12, 0xE7, TEST_PORT, 0xEB, 0xFE };

	guest_setup(code, sizeof(code), 0, CODE_GPA, CODE_GPA);
	ck_assert(wait_writes(1));
	ck_assert_int_eq(port_writes >= 1, 1);
	ck_assert(wait_writes(2));
	ck_assert_int_eq(atomic_load(&last_value), 0x1234);
	guest_teardown();
}
END_TEST

START_TEST(kvm_unclaimed_port_reads_ones)
{
	/* in al, 0x90 (nobody); out 0x10, al; jmp $ */
	const uint8_t code[] = { 0xE4, 0x90, 0xE6, TEST_PORT, 0xEB, 0xFE };

	guest_setup(code, sizeof(code), 0, CODE_GPA, CODE_GPA);
	ck_assert(wait_writes(1));
	ck_assert_int_eq(atomic_load(&last_value), 0xFF);
	guest_teardown();
}
END_TEST

START_TEST(kvm_pm_poweroff)
{
	/* mov dx, 0x600; mov al, S5|SLP_EN; out dx, al; jmp $ */
	const uint8_t code[] = { 0xBA, 0x00, 0x06, 0xB0, (PM_S5 << 2) | PM_SLP_EN,
				 0xEE, 0xEB, 0xFE };

	guest_setup(code, sizeof(code), 0, CODE_GPA, CODE_GPA);
	ck_assert_int_eq(wait_request(), VM_REQ_POWEROFF);
	guest_teardown();
}
END_TEST

/* The reset-vector stub boot_setup_memory writes: a jump to f000:fff0 reboots. */
START_TEST(kvm_reset_vector_reboots)
{
	const uint8_t stub[] = { 0xBA, 0x02, 0x06, 0xB0, PM_RESET_VALUE, 0xEE,
				 0xF4, 0xEB, 0xFD };

	guest_setup(stub, sizeof(stub), 0xF000, 0xFFF0, LAYOUT_RESET_VECTOR);
	ck_assert_int_eq(wait_request(), VM_REQ_REBOOT);
	guest_teardown();
}
END_TEST

START_TEST(kvm_stop_spinning_vcpu)
{
	const uint8_t code[] = { 0xEB, 0xFE };	/* jmp $: never exits */

	guest_setup(code, sizeof(code), 0, CODE_GPA, CODE_GPA);
	guest_teardown();	/* asserts the kick is prompt */
}
END_TEST

Suite *kvm_basic_suite(void)
{
	Suite *s = suite_create("kvm_basic");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, kvm_pio_round_trip);
	tcase_add_test(tc, kvm_unclaimed_port_reads_ones);
	tcase_add_test(tc, kvm_pm_poweroff);
	tcase_add_test(tc, kvm_reset_vector_reboots);
	tcase_add_test(tc, kvm_stop_spinning_vcpu);
	suite_add_tcase(s, tc);
	return s;
}

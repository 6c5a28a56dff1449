/*
 * vmm/irq.c on real KVM: the msi payload's doorbells land in ioeventfds
 * (one with datamatch, one of any length where KVM has it) instead of
 * exiting, and an irqfd on a GSI with an MSI route interrupts the guest.
 * Then the tables KVM accepts and refuses, across a new VM.
 */
#include <check.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/kvm/kvm_test.h"
#include "vmm/irq.h"
#include "vmm/vm.h"

#define MSI_ADDR	0xFEE00000ULL	/* APIC ID 0, physical */

static struct kt t;

static uint64_t efd_count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) < 0)
		ck_assert_int_eq(errno, EAGAIN);
	return n;
}

START_TEST(doorbells_and_msis)
{
	struct irq_ioeventfd bell = {
		.addr = PL_MSI_DOORBELL, .len = 2, .datamatch = true,
		.data = PL_MSI_DOORBELL_MATCH,
	}, any;
	struct kt_access a;
	struct irq_msi v;

	kt_init(&t, 1);
	any = (struct irq_ioeventfd){
		.addr = PL_MSI_DOORBELL_ANY,
		.len = irq_ioeventfd_len(&t.vm.irq, 4),
	};
	bell.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	any.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(bell.fd, 0);
	ck_assert_int_ge(any.fd, 0);
	ck_assert_int_eq(irq_ioeventfd_add(&t.vm.irq, &bell), 0);
	ck_assert_int_eq(irq_ioeventfd_add(&t.vm.irq, &any), 0);
	ck_assert_int_eq(irq_msi_init(&v), 0);
	ck_assert_int_eq(irq_msi_route(&t.vm.irq, &v, MSI_ADDR, PL_MSI_VECTOR),
			 0);
	ck_assert_int_eq(v.gsi, IRQ_GSI_BASE);
	kt_load(&t, "msi");
	kt_set_real_mode(&t, 0, 0, PL_BASE, 0);
	kt_start(&t);
	ck_assert_uint_eq(kt_report(&t, 0), PL_MSI_READY);
	ck_assert_uint_eq(efd_count(bell.fd), 1);
	ck_assert_uint_eq(efd_count(any.fd), 1);
	/* Only the word that missed the datamatch exited. */
	ck_assert_uint_eq(atomic_load(&t.mmio.count), 1);
	a = kt_access_at(&t.mmio, 0);
	ck_assert_uint_eq(a.addr, PL_MSI_DOORBELL);
	ck_assert_uint_eq(a.value, PL_MSI_DOORBELL_MATCH + 1);
	irq_msi_fire(&v);
	ck_assert_uint_eq(kt_report(&t, 1), 1);
	irq_msi_fire(&v);
	ck_assert_uint_eq(kt_report(&t, 2), 2);
	kt_expect_done(&t, 3);
	kt_stop(&t);
	ck_assert_int_eq(irq_ioeventfd_del(&t.vm.irq, &bell), 0);
	ck_assert_int_eq(irq_ioeventfd_del(&t.vm.irq, &any), 0);
	irq_msi_close(&t.vm.irq, &v);
	ck_assert_uint_eq(irq_msi_count(&t.vm.irq), 0);
	close(bell.fd);
	close(any.fd);
	kt_finish(&t);
}
END_TEST

/* What KVM takes and refuses, and a new VM with nothing in it. */
START_TEST(tables_across_vms)
{
	struct irq_ioeventfd e = { .addr = PL_MSI_DOORBELL, .len = 4 };
	struct irq_msi v[2];
	struct vm vm;

	ck_assert_int_eq(vm_init(&vm, 1), 0);
	ck_assert_int_eq(vm_create(&vm), 0);
	ck_assert_int_eq(irq_msi_init(&v[0]), 0);
	ck_assert_int_eq(irq_msi_init(&v[1]), 0);
	ck_assert_int_eq(irq_msi_route(&vm.irq, &v[0], MSI_ADDR, 0x30), 0);
	/* A guest's garbage message is the guest's problem, not KVM's. */
	ck_assert_int_eq(irq_msi_route(&vm.irq, &v[1], 0x123456789ABCDEF0ULL,
				       0xFFFFFFFF), 0);
	ck_assert_int_eq(irq_msi_route(&vm.irq, &v[0], MSI_ADDR, 0x31), 0);
	ck_assert_int_eq(v[1].gsi, IRQ_GSI_BASE + 1);
	e.fd = v[0].efd;
	ck_assert_int_eq(irq_ioeventfd_add(&vm.irq, &e), 0);
	ck_assert_int_eq(irq_ioeventfd_add(&vm.irq, &e), -EEXIST);
	ck_assert_int_eq(irq_ioeventfd_del(&vm.irq, &e), 0);
	ck_assert_int_eq(irq_ioeventfd_del(&vm.irq, &e), -ENOENT);
	if (vm.irq.any_length) {
		e.len = 0;
		ck_assert_int_eq(irq_ioeventfd_add(&vm.irq, &e), 0);
		ck_assert_int_eq(irq_ioeventfd_del(&vm.irq, &e), 0);
	}
	irq_msi_release(&vm.irq, &v[0]);
	ck_assert_uint_eq(irq_msi_count(&vm.irq), 1);
	/* A reboot's new VM: no routes; the first vector gets GSI 24 again. */
	vm_destroy(&vm);
	ck_assert_int_eq(irq_msi_route(&vm.irq, &v[1], MSI_ADDR, 0x32),
			 -ENODEV);
	ck_assert_int_eq(vm_create(&vm), 0);
	ck_assert_uint_eq(irq_msi_count(&vm.irq), 0);
	ck_assert_int_eq(irq_msi_route(&vm.irq, &v[1], MSI_ADDR, 0x32), 0);
	ck_assert_int_eq(v[1].gsi, IRQ_GSI_BASE);
	irq_msi_close(&vm.irq, &v[0]);
	irq_msi_close(&vm.irq, &v[1]);
	vm_free(&vm);
}
END_TEST

Suite *kvm_irq_suite(void)
{
	Suite *s = suite_create("kvm_irq");
	TCase *tc = tcase_create("irq");

	tcase_add_test(tc, doorbells_and_msis);
	tcase_add_test(tc, tables_across_vms);
	tcase_set_timeout(tc, KT_TIMEOUT_S);
	suite_add_tcase(s, tc);
	return s;
}

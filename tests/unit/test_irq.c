/*
 * vmm/irq.c without KVM: a fake ioctl answers the probes and records the
 * routing tables, irqfds and ioeventfds evmm hands KVM, and fails them on
 * demand.
 */
#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/irq.h"

#define VM_FD		77
#define MAX_ROUTES	1024
#define MAX_ENTRIES	64

struct fake_kvm {
	int caps_irqfd, caps_ioeventfd, caps_routing, caps_any;
	int fail_routing, fail_irqfd, fail_ioeventfd;	/* -errno, once */
	int routings, irqfds, ioeventfds;
	unsigned int nr;				/* last table */
	struct kvm_irq_routing_entry e[MAX_ENTRIES];
	struct kvm_irqfd irqfd;				/* last one */
	struct kvm_ioeventfd ioev;
};

static struct irq irq;
static struct fake_kvm fk;

static int take_fail(int *f)
{
	int r = *f;

	*f = 0;
	return r;
}

static int fake_check(long cap)
{
	switch (cap) {
	case KVM_CAP_IRQFD:
		return fk.caps_irqfd;
	case KVM_CAP_IOEVENTFD:
		return fk.caps_ioeventfd;
	case KVM_CAP_IRQ_ROUTING:
		return fk.caps_routing;
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
		return fk.caps_any;
	}
	return 0;
}

static int fake_routing(const struct kvm_irq_routing *t)
{
	ck_assert_uint_le(t->nr, MAX_ENTRIES);
	if (fk.fail_routing)
		return take_fail(&fk.fail_routing);
	fk.routings++;
	fk.nr = t->nr;
	memcpy(fk.e, t->entries, t->nr * sizeof(t->entries[0]));
	return 0;
}

static int fake_ioctl(struct irq *i, unsigned long req, void *arg)
{
	ck_assert_ptr_eq(i, &irq);
	switch (req) {
	case KVM_CHECK_EXTENSION:
		return fake_check((long)arg);
	case KVM_SET_GSI_ROUTING:
		return fake_routing(arg);
	case KVM_IRQFD:
		if (fk.fail_irqfd)
			return take_fail(&fk.fail_irqfd);
		fk.irqfds++;
		fk.irqfd = *(struct kvm_irqfd *)arg;
		return 0;
	case KVM_IOEVENTFD:
		if (fk.fail_ioeventfd)
			return take_fail(&fk.fail_ioeventfd);
		fk.ioeventfds++;
		fk.ioev = *(struct kvm_ioeventfd *)arg;
		return 0;
	}
	ck_abort_msg("unexpected ioctl %#lx", req);
	return -EINVAL;
}

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.caps_irqfd = fk.caps_ioeventfd = 1;
	fk.caps_routing = MAX_ROUTES;
	memset(&irq, 0, sizeof(irq));
	irq.ioctl = fake_ioctl;
	ck_assert_int_eq(irq_init(&irq, -1), 0);
	irq_vm_created(&irq, VM_FD);
}

static void teardown(void)
{
	irq_free(&irq);
}

/* The committed entry for gsi, or NULL. */
static const struct kvm_irq_routing_entry *committed(unsigned int gsi,
						     unsigned int type)
{
	unsigned int i;

	for (i = 0; i < fk.nr; i++)
		if (fk.e[i].gsi == gsi && fk.e[i].type == type)
			return &fk.e[i];
	return NULL;
}

START_TEST(probe_caps)
{
	struct irq i2;

	ck_assert_uint_eq(irq.max_routes, MAX_ROUTES);
	ck_assert(!irq.any_length);
	irq_free(&irq);
	fk.caps_any = 1;
	ck_assert_int_eq(irq_init(&irq, -1), 0);
	ck_assert(irq.any_length);
	irq_free(&irq);
	fk.caps_irqfd = 0;
	ck_assert_int_eq(irq_init(&irq, -1), -ENOTSUP);
	fk.caps_irqfd = 1;
	fk.caps_ioeventfd = 0;
	ck_assert_int_eq(irq_init(&irq, -1), -ENOTSUP);
	fk.caps_ioeventfd = 1;
	fk.caps_routing = IRQ_BASE_ROUTES;
	ck_assert_int_eq(irq_init(&irq, -1), -ENOTSUP);
	ck_assert_ptr_null(irq.table);
	/* Never initialised: freeing and forgetting are no-ops. */
	memset(&i2, 0, sizeof(i2));
	irq_vm_gone(&i2);
	irq_vm_created(&i2, VM_FD);
	irq_free(&i2);
	fk.caps_routing = MAX_ROUTES;
	ck_assert_int_eq(irq_init(&irq, -1), 0);
}
END_TEST

/* The first route commits KVM's pin routes too, and binds the irqfd. */
START_TEST(first_route)
{
	const struct kvm_irq_routing_entry *e;
	struct irq_msi v;
	unsigned int g;

	ck_assert_int_eq(irq_msi_init(&v), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE01000, 0x4041), 0);
	ck_assert_int_eq(v.gsi, IRQ_GSI_BASE);
	ck_assert_int_eq(fk.routings, 1);
	ck_assert_uint_eq(fk.nr, IRQ_BASE_ROUTES + 1);
	for (g = 0; g < IRQ_GSI_BASE; g++) {
		e = committed(g, KVM_IRQ_ROUTING_IRQCHIP);
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
		ck_assert_uint_eq(e->u.irqchip.pin, g);
	}
	/* GSI 10: IOAPIC pin 10 and the slave PIC's pin 2. */
	ck_assert_uint_eq(fk.e[IRQ_GSI_BASE + 10].gsi, 10);
	ck_assert_uint_eq(fk.e[IRQ_GSI_BASE + 10].u.irqchip.irqchip,
			  KVM_IRQCHIP_PIC_SLAVE);
	ck_assert_uint_eq(fk.e[IRQ_GSI_BASE + 10].u.irqchip.pin, 2);
	ck_assert_uint_eq(fk.e[IRQ_GSI_BASE + 3].u.irqchip.irqchip,
			  KVM_IRQCHIP_PIC_MASTER);
	e = committed(IRQ_GSI_BASE, KVM_IRQ_ROUTING_MSI);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xFEE01000);
	ck_assert_uint_eq(e->u.msi.address_hi, 0);
	ck_assert_uint_eq(e->u.msi.data, 0x4041);
	ck_assert_int_eq(fk.irqfds, 1);
	ck_assert_uint_eq(fk.irqfd.fd, (uint32_t)v.efd);
	ck_assert_uint_eq(fk.irqfd.gsi, IRQ_GSI_BASE);
	ck_assert_uint_eq(fk.irqfd.flags, 0);
	ck_assert_uint_eq(irq_msi_count(&irq), 1);
	irq_msi_close(&irq, &v);
	ck_assert_int_eq(v.efd, -1);
	irq_msi_close(&irq, &v);
}
END_TEST

/* A new message updates the route in place; no second irqfd. */
START_TEST(reroute)
{
	const struct kvm_irq_routing_entry *e;
	struct irq_msi v;

	ck_assert_int_eq(irq_msi_init(&v), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE01000, 0x41), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0x1FEE02000ULL, 0x42), 0);
	ck_assert_int_eq(fk.routings, 2);
	ck_assert_int_eq(fk.irqfds, 1);
	ck_assert_uint_eq(fk.nr, IRQ_BASE_ROUTES + 1);
	e = committed(IRQ_GSI_BASE, KVM_IRQ_ROUTING_MSI);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xFEE02000);
	ck_assert_uint_eq(e->u.msi.address_hi, 1);
	ck_assert_uint_eq(e->u.msi.data, 0x42);
	/* A failed update keeps the old route, in evmm's table too. */
	fk.fail_routing = -EINVAL;
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE03000, 0x43), -EINVAL);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0x1FEE02000ULL, 0x42), 0);
	ck_assert_uint_eq(committed(IRQ_GSI_BASE,
				    KVM_IRQ_ROUTING_MSI)->u.msi.data, 0x42);
	irq_msi_close(&irq, &v);
}
END_TEST

/* GSIs are the lowest free; a release frees its GSI and route. */
START_TEST(gsi_allocation)
{
	struct irq_msi v[3];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(irq_msi_init(&v[i]), 0);
		ck_assert_int_eq(irq_msi_route(&irq, &v[i], 0xFEE00000, i), 0);
		ck_assert_int_eq(v[i].gsi, IRQ_GSI_BASE + (int)i);
	}
	irq_msi_release(&irq, &v[0]);
	ck_assert_int_eq(v[0].gsi, -1);
	ck_assert_uint_eq(fk.irqfd.flags, KVM_IRQFD_FLAG_DEASSIGN);
	ck_assert_uint_eq(fk.irqfd.gsi, IRQ_GSI_BASE);
	ck_assert_uint_eq(fk.nr, IRQ_BASE_ROUTES + 2);
	ck_assert_ptr_null(committed(IRQ_GSI_BASE, KVM_IRQ_ROUTING_MSI));
	ck_assert_ptr_nonnull(committed(IRQ_GSI_BASE + 2,
					KVM_IRQ_ROUTING_MSI));
	/* Released twice: nothing more happens. */
	i = fk.irqfds;
	irq_msi_release(&irq, &v[0]);
	ck_assert_int_eq(fk.irqfds, (int)i);
	ck_assert_int_eq(irq_msi_route(&irq, &v[0], 0xFEE00000, 9), 0);
	ck_assert_int_eq(v[0].gsi, IRQ_GSI_BASE);
	for (i = 0; i < 3; i++)
		irq_msi_close(&irq, &v[i]);
	ck_assert_uint_eq(irq_msi_count(&irq), 0);
}
END_TEST

/* Each failing step leaves nothing behind. */
START_TEST(assign_failures)
{
	struct irq_msi v;

	ck_assert_int_eq(irq_msi_init(&v), 0);
	fk.fail_routing = -ENOMEM;
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), -ENOMEM);
	ck_assert_int_eq(v.gsi, -1);
	ck_assert_uint_eq(irq_msi_count(&irq), 0);
	ck_assert_int_eq(fk.irqfds, 0);
	fk.fail_irqfd = -EBUSY;
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), -EBUSY);
	ck_assert_int_eq(v.gsi, -1);
	ck_assert_uint_eq(irq_msi_count(&irq), 0);
	/* The route went in, then out again. */
	ck_assert_int_eq(fk.routings, 2);
	ck_assert_uint_eq(fk.nr, IRQ_BASE_ROUTES);
	/* The GSI was given back. */
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), 0);
	ck_assert_int_eq(v.gsi, IRQ_GSI_BASE);
	irq_msi_close(&irq, &v);
}
END_TEST

/* KVM's route count bounds the GSIs and the table. */
START_TEST(out_of_gsis)
{
	struct irq_msi v[3];
	unsigned int i;

	irq_free(&irq);
	fk.caps_routing = IRQ_BASE_ROUTES + 2;
	ck_assert_int_eq(irq_init(&irq, -1), 0);
	irq_vm_created(&irq, VM_FD);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(irq_msi_init(&v[i]), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v[0], 0xFEE00000, 0), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v[1], 0xFEE00000, 1), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v[2], 0xFEE00000, 2), -ENOSPC);
	ck_assert_int_eq(v[2].gsi, -1);
	irq_msi_release(&irq, &v[0]);
	ck_assert_int_eq(irq_msi_route(&irq, &v[2], 0xFEE00000, 2), 0);
	/* One MSI route of room. */
	for (i = 0; i < 3; i++)
		irq_msi_release(&irq, &v[i]);
	irq_free(&irq);
	fk.caps_routing = IRQ_BASE_ROUTES + 1;
	ck_assert_int_eq(irq_init(&irq, -1), 0);
	irq_vm_created(&irq, VM_FD);
	ck_assert_int_eq(irq_msi_route(&irq, &v[1], 0xFEE00000, 0), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v[2], 0xFEE00000, 0), -ENOSPC);
	for (i = 0; i < 3; i++)
		irq_msi_close(&irq, &v[i]);
}
END_TEST

/* A new VM has no route: old GSIs are forgotten, not released. */
START_TEST(reboot_forgets)
{
	struct irq_msi v;
	int calls;

	ck_assert_int_eq(irq_msi_init(&v), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), 0);
	irq_vm_gone(&irq);
	ck_assert_uint_eq(irq_msi_count(&irq), 0);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), -ENODEV);
	calls = fk.irqfds + fk.routings;
	irq_msi_release(&irq, &v);
	ck_assert_int_eq(fk.irqfds + fk.routings, calls);
	irq_vm_created(&irq, VM_FD + 1);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), 0);
	ck_assert_int_eq(fk.irqfds, 2);
	ck_assert_uint_eq(fk.irqfd.flags, 0);
	ck_assert_uint_eq(fk.nr, IRQ_BASE_ROUTES + 1);
	/* A vector routed before the reboot but not since: no ioctl. */
	irq_vm_gone(&irq);
	irq_vm_created(&irq, VM_FD);
	calls = fk.irqfds + fk.routings;
	irq_msi_close(&irq, &v);
	ck_assert_int_eq(fk.irqfds + fk.routings, calls);
}
END_TEST

/* Signals before the irqfd are dropped; later ones reach the eventfd. */
START_TEST(fire_and_drain)
{
	struct irq_msi v;
	uint64_t n;

	ck_assert_int_eq(irq_msi_init(&v), 0);
	irq_msi_fire(&v);
	irq_msi_fire(&v);
	ck_assert_int_eq(irq_msi_route(&irq, &v, 0xFEE00000, 1), 0);
	ck_assert_int_eq(read(v.efd, &n, sizeof(n)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	irq_msi_fire(&v);
	ck_assert_int_eq(read(v.efd, &n, sizeof(n)), sizeof(n));
	ck_assert_uint_eq(n, 1);
	irq_msi_close(&irq, &v);
}
END_TEST

START_TEST(ioeventfds)
{
	struct irq_ioeventfd e = { .addr = 0xC0003000, .len = 2, .fd = 5 };

	ck_assert_uint_eq(irq_ioeventfd_len(&irq, 2), 2);
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), 0);
	ck_assert_uint_eq(fk.ioev.addr, 0xC0003000);
	ck_assert_uint_eq(fk.ioev.len, 2);
	ck_assert_int_eq(fk.ioev.fd, 5);
	ck_assert_uint_eq(fk.ioev.flags, 0);
	e.datamatch = true;
	e.data = 3;
	ck_assert_int_eq(irq_ioeventfd_del(&irq, &e), 0);
	ck_assert_uint_eq(fk.ioev.flags, KVM_IOEVENTFD_FLAG_DATAMATCH |
			  KVM_IOEVENTFD_FLAG_DEASSIGN);
	ck_assert_uint_eq(fk.ioev.datamatch, 3);
	/* Lengths. */
	e.len = 3;
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), -EINVAL);
	e.len = 0;
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), -EINVAL);
	irq.any_length = true;
	ck_assert_uint_eq(irq_ioeventfd_len(&irq, 2), 0);
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), -EINVAL);
	e.datamatch = false;
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), 0);
	ck_assert_uint_eq(fk.ioev.len, 0);
	/* KVM's refusal comes back. */
	fk.fail_ioeventfd = -EEXIST;
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), -EEXIST);
	/* No VM: nothing to add to, nothing to drop. */
	irq_vm_gone(&irq);
	ck_assert_int_eq(irq_ioeventfd_add(&irq, &e), -ENODEV);
	ck_assert_int_eq(irq_ioeventfd_del(&irq, &e), 0);
	ck_assert_int_eq(fk.ioeventfds, 3);
}
END_TEST

Suite *irq_suite(void)
{
	const TTest *const tests[] = {
		probe_caps, first_route, reroute, gsi_allocation,
		assign_failures, out_of_gsis, reboot_forgets, fire_and_drain,
		ioeventfds,
	};
	Suite *s = suite_create("irq");
	TCase *tc = tcase_create("irq");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

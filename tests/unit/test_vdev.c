/*
 * The VMM's side of a virtio-pci device without KVM: vmm/irq.c with a
 * fake ioctl, so the routes, irqfds and ioeventfds a guest's probe causes
 * are seen; and the device thread, kicked through its eventfd as KVM's
 * doorbell would, running the type's work and stopping cleanly.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "vmm/config.h"
#include "vmm/iothread.h"
#include "vmm/vdev.h"
#include "vmm/vm.h"

#define WIN32		0xC0000000ULL
#define WIN32_SIZE	0x20000000ULL
#define RAM_GPA		0x100000ULL
#define RAM_SIZE	0x100000ULL
#define SLOT		2
#define NQ		2

static struct {
	int kicks[NQ];
	int routes, irqfds, bells, unbells;
	int fail_irqfd;
	struct kvm_irqfd last_irqfd;
	struct kvm_ioeventfd last_bell;
} fk;

static struct vm vm;
static struct vdev vd;
static struct pci_bus *bus;
static uint8_t *ram;

static int fake_ioctl(struct irq *irq, unsigned long req, void *arg)
{
	(void)irq;
	switch (req) {
	case KVM_CHECK_EXTENSION:
		return (long)arg == KVM_CAP_IRQ_ROUTING ? 1024 : 1;
	case KVM_SET_GSI_ROUTING:
		fk.routes++;
		return 0;
	case KVM_IRQFD:
		if (fk.fail_irqfd)
			return -EBUSY;
		fk.irqfds++;
		fk.last_irqfd = *(struct kvm_irqfd *)arg;
		return 0;
	case KVM_IOEVENTFD:
		fk.last_bell = *(struct kvm_ioeventfd *)arg;
		if (fk.last_bell.flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
			fk.unbells++;
		else
			fk.bells++;
		return 0;
	}
	return -EINVAL;
}

static void dev_config_read(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void dev_kick(void *dev, struct virtio_pci *t, unsigned int q)
{
	(void)dev;
	(void)t;
	__atomic_add_fetch(&fk.kicks[q], 1, __ATOMIC_SEQ_CST);
}

static void dev_reset(void *dev)
{
	(void)dev;
}

static const struct virtio_dev_ops dev_ops = {
	.type = 2, .class_code = 0x018000, .config_len = 4,
	.config_read = dev_config_read, .kick = dev_kick, .reset = dev_reset,
};

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	memset(&vm, 0, sizeof(vm));
	vm.fd = vm.kvm_fd = vm.event_fd = -1;
	vm.irq.ioctl = fake_ioctl;
	ck_assert_int_eq(irq_init(&vm.irq, -1), 0);
	irq_vm_created(&vm.irq, 99);
	vm.mem = gmem_new();
	ram = aligned_alloc(4096, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, RAM_SIZE);
	ck_assert_int_eq(gmem_add(vm.mem, RAM_GPA, RAM_SIZE, ram), 0);
	bus = pci_bus_new(WIN32, WIN32_SIZE, 0, 0);
	ck_assert_ptr_nonnull(bus);
	ck_assert_int_eq(vdev_init(&vd, &vm, &dev_ops, NULL, NQ, 16, "vd0"), 0);
	ck_assert_int_eq(pci_bus_add(bus, SLOT, virtio_pci_dev(vd.t)), SLOT);
}

static void teardown(void)
{
	if (vd.t)
		pci_bus_remove(bus, virtio_pci_dev(vd.t));
	vdev_free(&vd);
	pci_bus_free(bus);
	gmem_remove(vm.mem, RAM_GPA);
	gmem_free(vm.mem);
	irq_free(&vm.irq);
	free(ram);
}

static void wr(uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(vd.t, off, (uint8_t *)&v, len, true);
}

static void cfg_wr(unsigned int off, uint32_t v, uint32_t len)
{
	pci_ecam_io(bus, SLOT << 15 | off, (uint8_t *)&v, len, true);
}

/* Features, MSI-X (vectors 0 and 1 programmed), both queues, DRIVER_OK. */
static void probe(void)
{
	unsigned int q, c = 0x40;

	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(VIRTIO_PCI_COMMON_GF, 1, 4);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	while (virtio_pci_dev(vd.t)->cfg[c] != MSIX_CAP_ID)
		c = virtio_pci_dev(vd.t)->cfg[c + 1];
	cfg_wr(c + 2, MSIX_CTRL_ENABLE, 2);
	for (q = 0; q < 2; q++) {
		wr(VIRTIO_PCI_MSIX_OFF + 16 * q, 0xFEE00000, 4);
		wr(VIRTIO_PCI_MSIX_OFF + 16 * q + 8, 0x40 + q, 4);
		wr(VIRTIO_PCI_MSIX_OFF + 16 * q + 12, 0, 4);
	}
	for (q = 0; q < NQ; q++) {
		wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		wr(VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
		wr(VIRTIO_PCI_COMMON_Q_DESCLO, RAM_GPA + 0x10000 * q, 8);
		wr(VIRTIO_PCI_COMMON_Q_AVAILLO, RAM_GPA + 0x10000 * q + 0x1000, 8);
		wr(VIRTIO_PCI_COMMON_Q_USEDLO, RAM_GPA + 0x10000 * q + 0x2000, 8);
		wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	}
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* Waits (bounded) until queue q's kick count reaches n. */
static bool wait_kicks(unsigned int q, int n)
{
	struct timespec nap = { 0, 1000000 };
	unsigned int i;

	for (i = 0; i < 5000; i++) {
		if (__atomic_load_n(&fk.kicks[q], __ATOMIC_SEQ_CST) >= n)
			return true;
		nanosleep(&nap, NULL);
	}
	return false;
}

/* The probe's MSI-X and queues become routes, irqfds and doorbells. */
START_TEST(probe_reaches_kvm)
{
	uint64_t bar = pci_dev_bar_addr(virtio_pci_dev(vd.t), 0);
	struct pollfd p;

	probe();
	ck_assert_int_eq(fk.irqfds, 2);
	ck_assert_uint_eq(fk.last_irqfd.fd, (uint32_t)vd.vec[1].efd);
	ck_assert_uint_eq(fk.last_irqfd.gsi, IRQ_GSI_BASE + 1);
	ck_assert_int_eq(fk.routes, 2);
	ck_assert_int_eq(fk.bells, NQ);
	ck_assert_uint_eq(fk.last_bell.addr, bar + VIRTIO_PCI_NOTIFY_OFF + 4);
	/* The fake KVM has KVM_CAP_IOEVENTFD_ANY_LENGTH: any write rings. */
	ck_assert_uint_eq(fk.last_bell.len, 0);
	ck_assert_uint_eq(fk.last_bell.flags, 0);
	ck_assert_int_eq(fk.last_bell.fd, virtio_pci_kick_fd(vd.t, 1));
	ck_assert_uint_eq(vd.nvec, NQ + 1);
	/* A config interrupt reaches vector 0's eventfd. */
	wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	virtio_pci_config_changed(vd.t);
	p = (struct pollfd){ .fd = vd.vec[0].efd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	/* The driver's reset drops both doorbells. */
	wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	ck_assert_int_eq(fk.unbells, NQ);
}
END_TEST

/* A failing irqfd: the vector pends, nothing breaks. */
START_TEST(route_failure)
{
	fk.fail_irqfd = 1;
	probe();
	ck_assert_int_eq(fk.irqfds, 0);
	ck_assert_uint_eq(irq_msi_count(&vm.irq), 0);
	ck_assert_uint_eq(virtio_pci_status(vd.t) & VIRTIO_CONFIG_S_DRIVER_OK,
			  VIRTIO_CONFIG_S_DRIVER_OK);
}
END_TEST

/* The device thread: kicks through the eventfd, a clean stop. */
START_TEST(device_thread)
{
	uint64_t one = 1;

	probe();
	ck_assert_int_eq(vdev_start(&vd, SECCOMP_OFF), 0);
	ck_assert(vd.io.live);
	/* DRIVER_OK looked at both queues already. */
	ck_assert(wait_kicks(0, 1));
	ck_assert(wait_kicks(1, 1));
	ck_assert_int_eq(write(virtio_pci_kick_fd(vd.t, 1), &one, 8), 8);
	ck_assert(wait_kicks(1, 2));
	ck_assert_int_eq(__atomic_load_n(&fk.kicks[0], __ATOMIC_SEQ_CST), 1);
	iothread_stop(&vd.io);
	ck_assert(!vd.io.live);
	ck_assert_int_eq(vd.io.epfd, -1);
	/* Stopped twice, or never started: harmless. */
	iothread_stop(&vd.io);
}
END_TEST

static struct {
	int calls;
	uint32_t events;
	int fd;
	bool unwatch;
} rd;

/* A backend's fd is readable: on the device thread. */
static void fd_ready(void *opaque, uint32_t events)
{
	char buf[16];

	ck_assert_ptr_eq(opaque, &rd);
	if (read(rd.fd, buf, sizeof(buf)) < 0)
		return;
	rd.events = events;
	if (rd.unwatch)
		iothread_watch_fd(&vd.io, 0, 0);
	__atomic_add_fetch(&rd.calls, 1, __ATOMIC_SEQ_CST);
}

static bool wait_ready(int n)
{
	struct timespec nap = { 0, 1000000 };
	unsigned int i;

	for (i = 0; i < 5000; i++) {
		if (__atomic_load_n(&rd.calls, __ATOMIC_SEQ_CST) >= n)
			return true;
		nanosleep(&nap, NULL);
	}
	return false;
}

/* A backend's fd (a tap's): watched as asked, out of the set when not. */
START_TEST(backend_fd)
{
	struct timespec nap = { 0, 50000000 };
	int p[2];

	memset(&rd, 0, sizeof(rd));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	rd.fd = p[0];
	ck_assert_int_eq(iothread_add_fd(&vd.io, p[0], fd_ready, &rd), 0);
	ck_assert_int_eq(iothread_add_fd(&vd.io, p[0], fd_ready, &rd), 1);
	ck_assert_int_eq(iothread_add_fd(&vd.io, p[0], fd_ready, &rd),
			 -ENOSPC);
	ck_assert_int_eq(iothread_watch_fd(&vd.io, 2, EPOLLIN), -EINVAL);
	vd.io.nfds = 1;
	/* Asked before the start: watched from it. */
	ck_assert_int_eq(iothread_watch_fd(&vd.io, 0, EPOLLIN), 0);
	probe();
	ck_assert_int_eq(vdev_start(&vd, SECCOMP_OFF), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert(wait_ready(1));
	ck_assert_uint_eq(rd.events, EPOLLIN);
	/* The owner stops watching it on the thread: no more calls. */
	rd.unwatch = true;
	ck_assert_int_eq(write(p[1], "y", 1), 1);
	ck_assert(wait_ready(2));
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	nanosleep(&nap, NULL);
	ck_assert_int_eq(__atomic_load_n(&rd.calls, __ATOMIC_SEQ_CST), 2);
	ck_assert_uint_eq(vd.io.fds[0].events, 0);
	iothread_stop(&vd.io);
	/* The fd stays the caller's. */
	ck_assert_int_eq(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(iothread_names)
{
	struct iothread io;

	iothread_init(&io);
	iothread_stop(&io);
	ck_assert_int_eq(iothread_start(&io, vd.t, "a-very-long-disk-id",
					SECCOMP_OFF), 0);
	ck_assert_str_eq(io.name, "io-a-very-long-");
	iothread_stop(&io);
}
END_TEST

/* A vdev whose transport cannot be made frees what it had. */
START_TEST(init_errors)
{
	struct vdev d;

	ck_assert_int_eq(vdev_init(&d, &vm, &dev_ops, NULL, 0, 16, "bad"),
			 -EINVAL);
	ck_assert_ptr_null(d.t);
	vdev_free(&d);
	ck_assert_int_eq(vdev_init(&d, &vm, &dev_ops, NULL, 1, 3, "bad"),
			 -EINVAL);
	vdev_free(&d);
	ck_assert_ptr_null(d.vec);
}
END_TEST

Suite *vdev_suite(void)
{
	const TTest *const tests[] = {
		probe_reaches_kvm, route_failure, device_thread, backend_fd,
		iothread_names, init_errors,
	};
	Suite *s = suite_create("vdev");
	TCase *tc = tcase_create("vdev");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

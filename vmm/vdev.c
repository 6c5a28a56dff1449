/*
 * virtio-pci's ops in KVM terms. Guest-made failures (a route KVM
 * refuses, a doorbell at an address KVM will not take) are logged at
 * debug level only: a guest must not be able to flood evmm's log. They
 * cost the guest only its interrupts (the vector stays pending) or the
 * fast path of its kicks (an MMIO exit instead).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_pci.h"
#include "vmm/log.h"
#include "vmm/vdev.h"
#include "vmm/vm.h"

/* Virtio notifies with a 16-bit write of the queue's index. */
#define VDEV_NOTIFY_LEN	2

static void vdev_fire(void *opaque, unsigned int v)
{
	struct vdev *d = opaque;

	irq_msi_fire(&d->vec[v]);
}

static int vdev_route(void *opaque, unsigned int v, uint64_t addr,
		      uint32_t data)
{
	struct vdev *d = opaque;
	int ret = irq_msi_route(&d->vm->irq, &d->vec[v], addr, data);

	if (ret)
		log_debug("%s: vector %u: no route: %s", d->name, v,
			  strerror(-ret));
	return ret;
}

static int vdev_ioeventfd(void *opaque, int fd, uint64_t addr, bool add)
{
	struct vdev *d = opaque;
	struct irq_ioeventfd e = {
		.addr = addr, .fd = fd,
		.len = irq_ioeventfd_len(&d->vm->irq, VDEV_NOTIFY_LEN),
	};
	int ret = add ? irq_ioeventfd_add(&d->vm->irq, &e) :
			irq_ioeventfd_del(&d->vm->irq, &e);

	if (ret)
		log_debug("%s: doorbell at %#llx: %s", d->name,
			  (unsigned long long)addr, strerror(-ret));
	return ret;
}

static const struct virtio_pci_ops vdev_ops = {
	.msix = { vdev_fire, vdev_route },
	.ioeventfd = vdev_ioeventfd,
};

static int vdev_vectors(struct vdev *d, unsigned int n)
{
	unsigned int i;
	int ret;

	d->vec = calloc(n, sizeof(*d->vec));
	if (!d->vec)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		d->vec[i].efd = -1;
	d->nvec = n;
	for (i = 0; i < n; i++) {
		ret = irq_msi_init(&d->vec[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int vdev_init(struct vdev *d, struct vm *vm, const struct virtio_dev_ops *ops,
	      void *dev, unsigned int num_queues, unsigned int queue_size,
	      const char *name)
{
	struct virtio_pci_config c = {
		.dev_ops = ops, .dev = dev, .ops = &vdev_ops, .opaque = d,
		.mem = vm->mem, .num_queues = num_queues,
		.queue_size = queue_size,
	};
	int ret;

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	iothread_init(&d->io);
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* A vector per queue and one for configuration changes. */
	ret = vdev_vectors(d, num_queues + 1);
	return ret ? ret : virtio_pci_new(&d->t, &c);
}

int vdev_start(struct vdev *d, int seccomp_mode)
{
	return iothread_start(&d->io, d->t, d->name, seccomp_mode);
}

void vdev_free(struct vdev *d)
{
	unsigned int i;

	iothread_stop(&d->io);
	virtio_pci_free(d->t);
	d->t = NULL;
	for (i = 0; i < d->nvec; i++)
		irq_msi_close(&d->vm->irq, &d->vec[i]);
	free(d->vec);
	d->vec = NULL;
	d->nvec = 0;
}

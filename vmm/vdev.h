/*
 * The VMM's side of a virtio-pci device: what devices/virtio_pci.h asks
 * of it. Its MSI-X vectors are irqfds on KVM GSIs and its doorbells
 * ioeventfds (vmm/irq.c), in whichever KVM VM runs; its work runs on its
 * own device thread (vmm/iothread.h). The device type and the transport
 * stay devices/'s; the machine owns the vdev.
 */
#ifndef EVMM_VDEV_H
#define EVMM_VDEV_H

#include "vmm/iothread.h"
#include "vmm/irq.h"

struct vm;
struct virtio_dev_ops;
struct virtio_pci;

struct vdev {
	struct vm *vm;
	struct virtio_pci *t;		/* NULL: none */
	struct irq_msi *vec;		/* one per MSI-X vector */
	unsigned int nvec;
	struct iothread io;
	char name[64];
};

/*
 * The transport of a device type (ops, dev) with num_queues queues of up
 * to queue_size entries, on vm's RAM; not on a bus yet, no thread. 0 or
 * -errno; vdev_free cleans up either way.
 */
int vdev_init(struct vdev *d, struct vm *vm, const struct virtio_dev_ops *ops,
	      void *dev, unsigned int num_queues, unsigned int queue_size,
	      const char *name);
/* Its device thread, started by the spawner. */
int vdev_start(struct vdev *d, int seccomp_mode);
/*
 * Stops its thread, closes its vectors and frees the transport; off the
 * bus already (pci_bus_remove), or the bus gone.
 */
void vdev_free(struct vdev *d);

#endif

/*
 * The virtio 1.x modern PCI transport (virtio spec, "Virtio Over PCI
 * Bus"), for device types behind struct virtio_dev_ops. A function of
 * vendor 0x1AF4, device 0x1040 + type, with one 64-bit BAR0 of 32 KiB:
 *
 *	0x0000	common configuration (0x38 bytes)
 *	0x1000	ISR status (1 byte, read to clear)
 *	0x2000	device configuration (the type's)
 *	0x3000	notifications: queue n at 0x3000 + 4n (multiplier 4)
 *	0x4000	MSI-X table (a vector per queue, then one for configuration)
 *	0x5000	MSI-X PBA
 *
 * and the vendor capabilities common, notify, ISR, device and PCI-cfg
 * (a window onto BAR0 through configuration space), then MSI-X.
 *
 * Kicks: each queue has an eventfd the device thread waits on. Once the
 * guest enables a queue, ops->ioeventfd has KVM signal it on the queue's
 * notify address (2-byte writes, or any length where KVM can); the doorbell
 * follows BAR0 when the guest moves it and goes at the queue's reset.
 * Writes KVM does not catch come here and signal the eventfd too.
 *
 * Threads and locks: guest register accesses (vCPU threads, under the PCI
 * bus lock) take the transport's register lock. The device's work runs on
 * its device (I/O) thread under the transport's queue lock, which register
 * writes also take to enable or reset queues: so a reset waits for the
 * work in progress, and the type's kick and reset never run at once. A
 * register write waiting for the queue lock gets it before the next kick.
 * Order: bus lock, register lock, queue lock, MSI-X lock.
 */
#ifndef EVMM_VIRTIO_PCI_H
#define EVMM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/msix.h"

struct gmem;
struct pci_dev;
struct virtio_pci;
struct vq;

#define VIRTIO_PCI_VENDOR	0x1AF4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_PCI_SUBSYS	0x1100
#define VIRTIO_PCI_REVISION	1
#define VIRTIO_PCI_BAR		0
#define VIRTIO_PCI_BAR_SIZE	0x8000
#define VIRTIO_PCI_COMMON_OFF	0x0000
#define VIRTIO_PCI_COMMON_LEN	0x38
#define VIRTIO_PCI_ISR_OFF	0x1000
#define VIRTIO_PCI_DEVICE_OFF	0x2000
#define VIRTIO_PCI_DEVICE_MAX	0x1000
#define VIRTIO_PCI_NOTIFY_OFF	0x3000
#define VIRTIO_PCI_NOTIFY_MULT	4
#define VIRTIO_PCI_MSIX_OFF	0x4000
#define VIRTIO_PCI_PBA_OFF	0x5000
/* A vector per queue and one for configuration: the 4 KiB table's 256. */
#define VIRTIO_PCI_MAX_QUEUES	255
#define VIRTIO_PCI_NO_VECTOR	0xFFFF

/*
 * A device type. Its callbacks get the type's own pointer (dev). The
 * transport offers features | VERSION_1 | INDIRECT_DESC | EVENT_IDX (the
 * virtqueues do both).
 */
struct virtio_dev_ops {
	uint16_t type;			/* VIRTIO_ID_BLOCK, VIRTIO_ID_NET, ... */
	uint32_t class_code;		/* PCI class:subclass:prog-if */
	uint64_t features;		/* the type's own feature bits */
	uint32_t config_len;		/* device configuration, 1..0x1000 */
	/*
	 * Device configuration, off + len <= config_len, len 1..8; on vCPU
	 * threads under the register lock. config_write may be NULL
	 * (read-only configuration).
	 */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data,
			     uint32_t len);
	/*
	 * Queue q of transport t was kicked (or DRIVER_OK came with buffers
	 * waiting): pop, handle and push with virtio_pci_vq(t, q), then
	 * virtio_pci_notify(). On the device thread, under the queue lock,
	 * with a gmem reference held, only while DRIVER_OK is set and q is
	 * enabled. A reset, and a RAM removal, wait for it to return: it
	 * must bound its work whatever the guest posts (then signal the
	 * queue's kick fd to come back for the rest).
	 */
	void (*kick)(void *dev, struct virtio_pci *t, unsigned int q);
	/*
	 * The driver or a PCI reset reset the device: forget every request
	 * (the queues are disabled already). Under the queue lock.
	 */
	void (*reset)(void *dev);
};

/* What the VMM does for the transport (devices/ knows nothing of KVM). */
struct virtio_pci_ops {
	struct msix_ops msix;		/* routes and fires MSI-X vectors */
	/*
	 * Adds (add) or drops the doorbell: a guest write at addr signals fd.
	 * 0 or a negative errno; on failure kicks come the slow way (an MMIO
	 * exit to the notify handler). On vCPU threads, and on the VMM
	 * thread at a PCI reset.
	 */
	int (*ioeventfd)(void *opaque, int fd, uint64_t addr, bool add);
};

struct virtio_pci_config {
	const struct virtio_dev_ops *dev_ops;
	void *dev;
	const struct virtio_pci_ops *ops;
	void *opaque;			/* the ops' */
	struct gmem *mem;		/* guest RAM, for the virtqueues */
	unsigned int num_queues;	/* 1..VIRTIO_PCI_MAX_QUEUES */
	unsigned int queue_size;	/* each queue's largest, a power of 2 */
};

/*
 * A transport with its PCI function ready for pci_bus_add(). 0, -EINVAL
 * (a bad config), -ENOMEM, or eventfd's error.
 */
int virtio_pci_new(struct virtio_pci **out, const struct virtio_pci_config *c);
/* After pci_bus_remove (or with the bus gone): closes the kick fds. */
void virtio_pci_free(struct virtio_pci *t);
struct pci_dev *virtio_pci_dev(struct virtio_pci *t);

/*
 * BAR0's handler (pci_io_fn, opaque the transport): offset within BAR0.
 * Reads of nothing read 0; writes to nothing are dropped.
 */
void virtio_pci_bar_io(void *opaque, uint64_t offset, uint8_t *data,
		       uint32_t len, bool is_write);

/* --- The device thread's side ------------------------------------------ */

unsigned int virtio_pci_num_queues(const struct virtio_pci *t);
/* Queue q's kick eventfd (non-blocking): read it, then virtio_pci_kick. */
int virtio_pci_kick_fd(const struct virtio_pci *t, unsigned int q);
/*
 * Runs the type's kick for q if the device is live (DRIVER_OK, q enabled)
 * and says whether it was; q out of range: no-op, false. A backend's fd
 * that woke the thread for a device no longer live is not watched again
 * until the device runs.
 */
bool virtio_pci_kick(struct virtio_pci *t, unsigned int q);
/* Inside kick only: the virtqueue of q. */
struct vq *virtio_pci_vq(struct virtio_pci *t, unsigned int q);
/* Inside kick, after pushes: interrupts the guest if it wants one. */
void virtio_pci_notify(struct virtio_pci *t, unsigned int q);
/*
 * Inside kick, when vq_pop or vq_push says the guest broke q's ring: sets
 * DEVICE_NEEDS_RESET and, with DRIVER_OK, sends a configuration interrupt.
 */
void virtio_pci_queue_error(struct virtio_pci *t, unsigned int q);
/* Any thread: the device configuration changed (generation, interrupt). */
void virtio_pci_config_changed(struct virtio_pci *t);
/* The negotiated features (0 before FEATURES_OK). */
uint64_t virtio_pci_features(struct virtio_pci *t);
/* The device status byte, as the guest reads it. */
uint8_t virtio_pci_status(struct virtio_pci *t);

#endif

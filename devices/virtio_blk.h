/*
 * virtio-blk (virtio spec, "Block Device") on a raw image's file
 * descriptor: read, write, flush and get-id, done synchronously with
 * preadv/pwritev/fdatasync on the device's thread, so that a request is
 * complete (a flush: on stable storage) when the guest sees it used.
 * A device type for devices/virtio_pci.h; it knows nothing of where the
 * fd came from (vmm/disk.c opens and locks it).
 *
 * What the guest is told: capacity, seg_max (VQ_MAX_IOV - 2: a request's
 * header and status take the other two), size_max, blk_size, FLUSH, RO
 * for a readonly disk, MQ with more than one queue.
 *
 * A request the device cannot do ends with a status, never a crash:
 * IOERR for a bad header, a length not a whole number of sectors or over
 * VIRTIO_BLK_MAX_DATA, sectors past the end, a write to a readonly disk,
 * or the host's I/O error; UNSUPP for other types. A chain without a
 * status byte is returned used with length 0.
 *
 * A kick does at most VIRTIO_BLK_BUDGET requests or VIRTIO_BLK_BUDGET_BYTES
 * (the request that crosses it included), then kicks the queue again:
 * a reset, a reboot, evmm's exit and a RAM removal wait for a kick, so
 * the guest must not be able to make one last long.
 */
#ifndef EVMM_VIRTIO_BLK_H
#define EVMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtqueue.h"

struct virtio_blk;
struct virtio_dev_ops;

#define VIRTIO_BLK_SECTOR	512
#define VIRTIO_BLK_SERIAL	20	/* VIRTIO_BLK_ID_BYTES */
/* Bounce buffer for O_DIRECT and a guest buffer it cannot take. */
#define VIRTIO_BLK_BOUNCE	(256 * 1024)
/* One segment at most, as drivers are told: requests of 63.5 MiB. */
#define VIRTIO_BLK_SIZE_MAX	(256 * 1024)
#define VIRTIO_BLK_SEG_MAX	(VQ_MAX_IOV - 2)
#define VIRTIO_BLK_MAX_DATA	((uint64_t)VIRTIO_BLK_SEG_MAX * \
				 VIRTIO_BLK_SIZE_MAX)
#define VIRTIO_BLK_BUDGET	256
#define VIRTIO_BLK_BUDGET_BYTES	(64ULL << 20)

struct virtio_blk_backend {
	int fd;			/* stays the caller's */
	uint64_t sectors;	/* 512-byte sectors */
	uint32_t block_size;	/* logical block: a power of 2, >= 512 */
	bool readonly;
	bool direct;		/* fd is O_DIRECT: block_size-aligned I/O */
	char serial[VIRTIO_BLK_SERIAL + 1];	/* get-id's answer */
};

/*
 * A device of num_queues queues (1..255). 0, -EINVAL (a bad backend or
 * count) or -ENOMEM.
 */
int virtio_blk_new(struct virtio_blk **out, const struct virtio_blk_backend *b,
		   unsigned int num_queues);
void virtio_blk_free(struct virtio_blk *b);
/* Its type, for virtio_pci_new (dev: the virtio_blk). */
const struct virtio_dev_ops *virtio_blk_ops(const struct virtio_blk *b);

#endif

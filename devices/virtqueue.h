/*
 * Split virtqueues (virtio 1.x, "Split Virtqueues"), device side, over the
 * guest memory map (devices/gmem.h). Knows nothing of PCI: the transport
 * calls vq_enable and vq_reset, a device thread pops chains and pushes
 * them back used.
 *
 * The guest writes the rings while the device reads them: every field it
 * controls is read once into a local, checked, and only the copy used.
 * Host pointers are never kept across calls (RAM can be unplugged): every
 * call translates the rings again.
 *
 * Threads: a queue belongs to one device thread at a time. That thread
 * calls vq_pop, vq_push, vq_need_notify and the kick functions while it
 * holds a gmem reference, and uses a popped chain's iovecs only while it
 * still holds a reference taken before the pop. The transport enables and
 * resets a queue while no device thread uses it.
 *
 * A device thread's loop, so that no kick is lost and none is wasted:
 *
 *	do {
 *		vq_suppress_kicks(q);
 *		while ((ret = vq_pop(q, &e)) > 0)
 *			... handle e, vq_push(q, &e, written) ...
 *		if (ret < 0)
 *			... the ring is broken: tell the transport ...
 *	} while (vq_allow_kicks(q));
 *	if (vq_need_notify(q))
 *		... interrupt the guest ...
 */
#ifndef EVMM_VIRTQUEUE_H
#define EVMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct gmem;

#define VQ_MAX_SIZE		32768	/* the spec's largest queue */
/*
 * Segments of each direction in one chain: what a device can promise the
 * guest (virtio-blk's seg_max: VQ_MAX_IOV - 2, for the header and the
 * status). A struct vq_elem is 8 KiB because of it.
 */
#define VQ_MAX_IOV		256
/* Descriptors in one indirect table (one table's walk is bounded by it). */
#define VQ_MAX_INDIRECT		VQ_MAX_SIZE

struct vq {
	struct gmem *mem;
	uint64_t desc, avail, used;	/* guest addresses of the rings */
	uint16_t size;			/* 0: disabled */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */
	bool kicks_off;			/* vq_suppress_kicks, not yet allowed */
	uint16_t last_avail;		/* the next avail entry to take */
	uint16_t avail_idx;		/* the guest's avail idx, last read */
	uint16_t used_idx;		/* the next used entry to fill */
	uint16_t signalled;		/* used_idx at the last vq_need_notify */
	uint32_t inflight;		/* popped, not yet pushed */
	int err;			/* broken: what vq_pop returns */
};

/*
 * One chain. out: device-readable segments, in: device-writable ones,
 * each in chain order; zero-length descriptors give none, a buffer across
 * two adjacent RAM regions gives one per region.
 */
struct vq_elem {
	uint16_t head;			/* what vq_push gives back */
	int err;			/* 0, or why the chain is bad */
	unsigned int nout, nin;
	uint32_t out_len, in_len;	/* bytes of all out / in segments */
	struct iovec out[VQ_MAX_IOV];
	struct iovec in[VQ_MAX_IOV];
};

/*
 * Transport: checks and starts a queue, with the negotiated features (the
 * two ring bits count): size a power of two in 1..VQ_MAX_SIZE (-EINVAL),
 * desc 16-, avail 2- and used 4-aligned (-EINVAL), each ring wholly in one
 * RAM region now (-EFAULT). The queue starts at index 0 both ways. On an
 * error it stays disabled. Takes its own gmem reference.
 */
int vq_enable(struct vq *q, struct gmem *m, uint16_t size, uint64_t desc,
	      uint64_t avail, uint64_t used, uint64_t features);
/* Disabled, everything forgotten; guest memory is not touched. */
void vq_reset(struct vq *q);

/*
 * The next available chain: 1 with it in *e, 0 when there is none (or the
 * queue is disabled), or a negative errno when the guest broke the ring
 * itself: -EFAULT, a ring is no longer in RAM (unplugged); -EPROTO, the
 * avail idx moved by more than the queue size or a head index is out of
 * range. The queue is then broken: vq_pop and vq_push return that error
 * until vq_reset, and nothing else touches guest memory. The transport
 * sets DEVICE_NEEDS_RESET and signals a configuration change; the
 * driver's reset brings the queue back. Only the guest's own I/O stops.
 *
 * A malformed chain is not fatal: it is returned (1) with e->err set, no
 * segments, and the device completes it with vq_push(q, e, 0):
 *	-EINVAL	a descriptor index past the queue or its indirect table,
 *		INDIRECT not negotiated, inside an indirect table, or with
 *		NEXT; an indirect table of 0 bytes, not a multiple of 16 or
 *		over VQ_MAX_INDIRECT descriptors; a readable descriptor after
 *		a writable one
 *	-ELOOP	more descriptors than the queue size (or than the table holds)
 *	-EFAULT	a buffer or indirect table outside RAM, or wrapping past 2^64
 *	-E2BIG	more than VQ_MAX_IOV segments in one direction
 *	-EOVERFLOW more than 2^32 - 1 bytes in one direction
 */
int vq_pop(struct vq *q, struct vq_elem *e);
/*
 * Returns a popped chain used, with `len` bytes written to its in segments
 * (capped at e->in_len), and publishes it: the element, then (release) the
 * used idx. -EINVAL for a queue that is disabled, a head past it, or more
 * pushes than pops; a broken queue's error; -EFAULT if the used ring is
 * gone, which breaks the queue.
 */
int vq_push(struct vq *q, const struct vq_elem *e, uint32_t len);
/*
 * After a batch of pushes: whether the guest wants an interrupt for them.
 * False if nothing was pushed since the last call; else the guest's
 * VIRTQ_AVAIL_F_NO_INTERRUPT flag, or with EVENT_IDX whether the used idx
 * passed its used_event since the last call (16-bit wrap-around).
 */
bool vq_need_notify(struct vq *q);
/*
 * Kick suppression while the device thread drains the queue: suppress
 * sets VIRTQ_USED_F_NO_NOTIFY, or with EVENT_IDX leaves avail_event
 * behind. allow clears the flag or sets avail_event to the next entry,
 * then (after a full barrier) looks again: true when the guest made
 * entries available meanwhile (no kick will come for them: pop again).
 */
void vq_suppress_kicks(struct vq *q);
bool vq_allow_kicks(struct vq *q);
/*
 * The same, but kicks only for entries past the avail idx vq_pop last read:
 * for a device that has looked at every entry it was shown and waits for
 * more (virtio-net's receive side, short of buffers for a whole packet).
 * True when more came already.
 */
bool vq_allow_kicks_new(struct vq *q);

/*
 * Gives back the last n chains vq_pop returned, none of them pushed: the
 * next vq_pop returns them again, in the same order. For a device that
 * popped buffers before it knew how many it needs (virtio-net's receive
 * side). -EINVAL for more than are in flight; a broken queue's error.
 * Pushing one of them before, or after, is the caller's bug.
 */
int vq_unpop(struct vq *q, unsigned int n);

/*
 * Copy between segments and a local buffer, starting `off` bytes into the
 * segments; returns the bytes copied (fewer when the segments end). Read
 * guest headers this way, once, and use the copy.
 */
size_t vq_iov_read(const struct iovec *iov, unsigned int n, size_t off,
		   void *buf, size_t len);
size_t vq_iov_write(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len);

#endif

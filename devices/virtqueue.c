/*
 * Split virtqueues, device side. Ring layouts (little-endian; x86 is too):
 *	desc	16 * size: { le64 addr, le32 len, le16 flags, le16 next }
 *	avail	le16 flags, le16 idx, le16 ring[size], le16 used_event
 *	used	le16 flags, le16 idx, { le32 id, le32 len } ring[size],
 *		le16 avail_event
 * The alignment vq_enable checks, with page-aligned regions, makes every
 * ring field naturally aligned in host memory too; indirect tables may sit
 * anywhere, so descriptors are copied out bytewise.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "devices/gmem.h"
#include "devices/virtqueue.h"

#define VQ_DESC_SIZE	16

static uint64_t vq_desc_bytes(uint16_t size)
{
	return (uint64_t)VQ_DESC_SIZE * size;
}

static uint64_t vq_avail_bytes(uint16_t size)
{
	return 6 + 2ULL * size;
}

static uint64_t vq_used_bytes(uint16_t size)
{
	return 6 + 8ULL * size;
}

static uint16_t vq_load16(const uint8_t *p, int order)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, order));
}

static void vq_store16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)p, htole16(v), order);
}

static void vq_store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/* One copy of a descriptor the guest may be rewriting: only it is used. */
static void vq_read_desc(const uint8_t *p, struct vring_desc *d)
{
	memcpy(d, p, sizeof(*d));
	__asm__ __volatile__("" : : : "memory");
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

void vq_reset(struct vq *q)
{
	memset(q, 0, sizeof(*q));
}

int vq_enable(struct vq *q, struct gmem *m, uint16_t size, uint64_t desc,
	      uint64_t avail, uint64_t used, uint64_t features)
{
	struct gmem_ref ref;
	bool ok;

	vq_reset(q);
	if (!size || size > VQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if (desc % VRING_DESC_ALIGN_SIZE || avail % VRING_AVAIL_ALIGN_SIZE ||
	    used % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	ref = gmem_get(m);
	ok = gmem_ptr(m, desc, vq_desc_bytes(size)) &&
	     gmem_ptr(m, avail, vq_avail_bytes(size)) &&
	     gmem_ptr(m, used, vq_used_bytes(size));
	gmem_put(m, ref);
	if (!ok)
		return -EFAULT;
	q->mem = m;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q->size = size;
	return 0;
}

static int vq_break(struct vq *q, int err)
{
	q->err = err;
	return err;
}

/* --- Walking a chain -------------------------------------------------------- */

/* Where the walk is: the table it reads and how far it may go. */
struct vq_walk {
	const uint8_t *table;
	uint32_t count;		/* descriptors in the table */
	uint32_t steps;		/* descriptors read from it so far */
	bool indirect;		/* the table is an indirect one */
	bool writable;		/* a device-writable descriptor was seen */
};

/* One buffer's segments, split where it crosses from one region to the next. */
static int vq_add_segments(struct vq *q, struct iovec *iov, unsigned int *n,
			   uint64_t gpa, uint32_t len)
{
	uint64_t left = len, got;
	void *p;

	while (left) {
		p = gmem_span(q->mem, gpa, left, &got);
		if (!p)
			return -EFAULT;
		if (*n == VQ_MAX_IOV)
			return -E2BIG;
		iov[*n].iov_base = p;
		iov[*n].iov_len = got;
		(*n)++;
		gpa += got;
		left -= got;
	}
	return 0;
}

static int vq_add_buffer(struct vq *q, struct vq_walk *w,
			 const struct vring_desc *d, struct vq_elem *e)
{
	bool wr = d->flags & VRING_DESC_F_WRITE;
	uint32_t *total = wr ? &e->in_len : &e->out_len;
	int ret;

	if (!wr && w->writable)
		return -EINVAL;
	w->writable |= wr;
	if (!d->len)
		return 0;
	/* gmem maps nothing that wraps either; this check does not rely on it. */
	if (d->len - 1 > UINT64_MAX - d->addr)
		return -EFAULT;
	if (d->len > UINT32_MAX - *total)
		return -EOVERFLOW;
	if (wr)
		ret = vq_add_segments(q, e->in, &e->nin, d->addr, d->len);
	else
		ret = vq_add_segments(q, e->out, &e->nout, d->addr, d->len);
	if (ret)
		return ret;
	*total += d->len;
	return 0;
}

/* Continues the walk in the indirect table `d` points at. */
static int vq_enter_indirect(struct vq *q, struct vq_walk *w,
			     const struct vring_desc *d)
{
	const uint8_t *table;

	if (!q->indirect || w->indirect || (d->flags & VRING_DESC_F_NEXT))
		return -EINVAL;
	if (!d->len || d->len % VQ_DESC_SIZE ||
	    d->len / VQ_DESC_SIZE > VQ_MAX_INDIRECT)
		return -EINVAL;
	table = gmem_ptr(q->mem, d->addr, d->len);
	if (!table)
		return -EFAULT;
	w->table = table;
	w->count = d->len / VQ_DESC_SIZE;
	w->steps = 0;
	w->indirect = true;
	return 0;
}

/*
 * Every descriptor index is checked against its table, and a table is
 * read at most `count` times: a loop ends as -ELOOP.
 */
static int vq_walk_chain(struct vq *q, const uint8_t *desc, uint16_t head,
			 struct vq_elem *e)
{
	struct vq_walk w = { .table = desc, .count = q->size };
	struct vring_desc d;
	uint32_t i = head;
	int ret;

	for (;;) {
		if (i >= w.count)
			return -EINVAL;
		if (++w.steps > w.count)
			return -ELOOP;
		vq_read_desc(w.table + (uint64_t)VQ_DESC_SIZE * i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			ret = vq_enter_indirect(q, &w, &d);
			if (ret)
				return ret;
			i = 0;
			continue;
		}
		ret = vq_add_buffer(q, &w, &d, e);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static void vq_elem_clear(struct vq_elem *e, uint16_t head)
{
	e->head = head;
	e->err = 0;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
}

/* --- The device thread's calls ---------------------------------------------- */

/* How many entries the guest has made available: at most the queue size. */
static int vq_available(struct vq *q, const uint8_t *avail)
{
	uint16_t n;

	if (q->avail_idx != q->last_avail)
		return 1;
	/* Acquire: the entries and descriptors are read after the idx. */
	q->avail_idx = vq_load16(avail + 2, __ATOMIC_ACQUIRE);
	n = q->avail_idx - q->last_avail;
	if (n > q->size)
		return vq_break(q, -EPROTO);
	return n != 0;
}

int vq_pop(struct vq *q, struct vq_elem *e)
{
	const uint8_t *avail, *desc;
	uint16_t head;
	int ret;

	if (q->err)
		return q->err;
	if (!q->size)
		return 0;
	avail = gmem_ptr(q->mem, q->avail, vq_avail_bytes(q->size));
	desc = gmem_ptr(q->mem, q->desc, vq_desc_bytes(q->size));
	if (!avail || !desc)
		return vq_break(q, -EFAULT);
	ret = vq_available(q, avail);
	if (ret <= 0)
		return ret;
	head = vq_load16(avail + 4 + 2 * (q->last_avail & (q->size - 1)),
			 __ATOMIC_RELAXED);
	if (head >= q->size)
		return vq_break(q, -EPROTO);
	q->last_avail++;
	q->inflight++;
	vq_elem_clear(e, head);
	ret = vq_walk_chain(q, desc, head, e);
	if (ret) {
		vq_elem_clear(e, head);
		e->err = ret;
	}
	return 1;
}

int vq_push(struct vq *q, const struct vq_elem *e, uint32_t len)
{
	uint8_t *used, *elem;

	if (q->err)
		return q->err;
	if (!q->size || !q->inflight || e->head >= q->size)
		return -EINVAL;
	used = gmem_ptr(q->mem, q->used, vq_used_bytes(q->size));
	if (!used)
		return vq_break(q, -EFAULT);
	elem = used + 4 + 8 * (q->used_idx & (q->size - 1));
	vq_store32(elem, e->head);
	vq_store32(elem + 4, len < e->in_len ? len : e->in_len);
	q->used_idx++;
	/* Release: the element is visible before the idx that covers it. */
	vq_store16(used + 2, q->used_idx, __ATOMIC_RELEASE);
	q->inflight--;
	return 0;
}

/* The new used idx passed `event` since `old` (the spec's vring_need_event). */
static bool vq_passed(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool vq_need_notify(struct vq *q)
{
	uint16_t old = q->signalled, new = q->used_idx;
	const uint8_t *avail;

	if (!q->size || old == new)
		return false;
	q->signalled = new;
	/* The used idx store before the guest's flags or used_event load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail = gmem_ptr(q->mem, q->avail, vq_avail_bytes(q->size));
	if (!avail)
		return true;	/* a spurious interrupt is harmless */
	if (!q->event_idx)
		return !(vq_load16(avail, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	return vq_passed(vq_load16(avail + 4 + 2 * q->size, __ATOMIC_RELAXED),
			 new, old);
}

void vq_suppress_kicks(struct vq *q)
{
	uint8_t *used;

	if (!q->size || q->err || q->kicks_off)
		return;
	q->kicks_off = true;
	/* With EVENT_IDX, flags must stay 0; avail_event left behind will do. */
	if (q->event_idx)
		return;
	used = gmem_ptr(q->mem, q->used, vq_used_bytes(q->size));
	if (used)
		vq_store16(used, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

/*
 * Kicks back on, for entries from the next one to take, or with `latest`
 * from the first past the avail idx vq_pop last read (what the device has
 * seen); true when the guest made entries from there available meanwhile.
 */
static bool vq_kicks_on(struct vq *q, bool latest)
{
	const uint8_t *avail;
	uint16_t from;
	uint8_t *used;

	if (!q->size || q->err)
		return false;
	q->kicks_off = false;
	used = gmem_ptr(q->mem, q->used, vq_used_bytes(q->size));
	avail = gmem_ptr(q->mem, q->avail, vq_avail_bytes(q->size));
	if (!used || !avail) {
		vq_break(q, -EFAULT);
		return true;	/* the next vq_pop reports it */
	}
	from = latest ? q->avail_idx : q->last_avail;
	if (q->event_idx)
		vq_store16(used + 4 + 8 * q->size, from, __ATOMIC_RELAXED);
	else
		vq_store16(used, 0, __ATOMIC_RELAXED);
	/* Our store before the avail idx load: the guest does the converse. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_load16(avail + 2, __ATOMIC_RELAXED) != from;
}

bool vq_allow_kicks(struct vq *q)
{
	return vq_kicks_on(q, false);
}

bool vq_allow_kicks_new(struct vq *q)
{
	return vq_kicks_on(q, true);
}

int vq_unpop(struct vq *q, unsigned int n)
{
	if (q->err)
		return q->err;
	if (n > q->inflight)
		return -EINVAL;
	q->last_avail -= n;
	q->inflight -= n;
	return 0;
}

/* --- Copies --------------------------------------------------------------- */

/* Copies len bytes between buf and the segments, from `off` into them. */
static size_t vq_iov_copy(const struct iovec *iov, unsigned int n, size_t off,
			  uint8_t *buf, size_t len, bool to_iov)
{
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, buf + done, k);
		else
			memcpy(buf + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vq_iov_read(const struct iovec *iov, unsigned int n, size_t off,
		   void *buf, size_t len)
{
	return vq_iov_copy(iov, n, off, buf, len, false);
}

size_t vq_iov_write(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len)
{
	return vq_iov_copy(iov, n, off, (uint8_t *)buf, len, true);
}

/*
 * Split virtqueues against a hostile guest. Guest RAM is 64 KiB in two
 * regions at adjacent guest addresses but separate host buffers (so a
 * buffer across them is two segments), its bytes from the input: the
 * descriptor table, rings and indirect tables are wherever the input puts
 * them. The input also picks the queue size, the ring addresses, the
 * features, and guest actions between pops: 16-bit writes into RAM (the
 * avail idx moving under the device, say) and the unplug of the upper
 * region, after which its buffer is freed, so that ASan sees any touch.
 *
 * Input: size selector (1 byte), desc, avail and used offsets (3 bytes
 * each, from 256 bytes below RAM to 256 past it), features (bit 0
 * INDIRECT_DESC, bit 1 EVENT_IDX), an action count, that many actions
 * (offset 2 bytes, 0xFFFF: unplug; value 2 bytes), then the RAM image.
 *
 * The device drains the queue as an I/O thread does (suppress kicks, pop
 * until empty, allow kicks, again), writing a pattern into every chain's
 * in segments and reading its out segments. Invariants: every segment
 * lies inside one live region's buffer; segment counts and lengths add
 * up; a bad chain has none and a known error; heads are in range; pop
 * ends, and a broken ring stays broken with -EFAULT or -EPROTO; each push
 * advances the used idx by one, in guest memory too.
 */
#include <errno.h>
#include <linux/virtio_ring.h>

#include "devices/gmem.h"
#include "devices/virtqueue.h"
#include "tests/fuzz/fuzz.h"

#define RAM_GPA		0x10000ULL
#define HALF		0x8000ULL
#define RAM_SIZE	(2 * HALF)
#define MAX_ACTIONS	64
#define MAX_POPS	4096
#define MAX_ROUNDS	8
#define UNPLUG		0xFFFF

struct action {
	uint16_t off, val;
};

struct guest {
	uint8_t *lo, *hi;	/* RAM_GPA, RAM_GPA + HALF */
	bool hi_live;
	struct gmem *m;
	struct gmem_ref ref;
	struct action act[MAX_ACTIONS];
	unsigned int nact, next_act;
};

static struct vq_elem elem;

static uint64_t take_gpa(struct fuzz_in *in)
{
	return RAM_GPA - 0x100 + fuzz_take(in, 3) % (RAM_SIZE + 0x200);
}

static uint8_t *host_of(struct guest *g, uint64_t off)
{
	return off < HALF ? g->lo + off : g->hi + off - HALF;
}

/* Unplugs as the VMM does: no reference held, then the memory is gone. */
static void guest_unplug(struct guest *g)
{
	if (!g->hi_live)
		return;
	gmem_put(g->m, g->ref);
	fuzz_assert(gmem_remove(g->m, RAM_GPA + HALF) == 0, "unplug");
	g->ref = gmem_get(g->m);
	free(g->hi);
	g->hi = NULL;
	g->hi_live = false;
}

/* The guest's next action, if any is left. */
static void guest_act(struct guest *g)
{
	struct action *a;
	uint64_t off;

	if (g->next_act >= g->nact)
		return;
	a = &g->act[g->next_act++];
	if (a->off == UNPLUG) {
		guest_unplug(g);
		return;
	}
	off = a->off % (RAM_SIZE - 1);
	if (off >= HALF - 1 && !g->hi_live)
		return;
	/* Byte by byte: the offset may straddle the two buffers. */
	*host_of(g, off) = a->val;
	*host_of(g, off + 1) = a->val >> 8;
}

static bool in_buffer(const uint8_t *buf, const struct iovec *v)
{
	const uint8_t *p = v->iov_base;

	return buf && p >= buf && v->iov_len <= HALF &&
	       (size_t)(p - buf) <= HALF - v->iov_len;
}

static uint32_t check_segments(struct guest *g, const struct iovec *v,
			       unsigned int n)
{
	uint64_t total = 0;
	unsigned int i;

	fuzz_assert(n <= VQ_MAX_IOV, "%u segments", n);
	for (i = 0; i < n; i++) {
		fuzz_assert(v[i].iov_len > 0, "empty segment %u", i);
		fuzz_assert(in_buffer(g->lo, &v[i]) ||
			    (g->hi_live && in_buffer(g->hi, &v[i])),
			    "segment %u (%p, %zu) outside RAM", i,
			    v[i].iov_base, v[i].iov_len);
		total += v[i].iov_len;
	}
	fuzz_assert(total <= UINT32_MAX, "total %llu",
		    (unsigned long long)total);
	return total;
}

static void check_elem(struct guest *g, const struct vq *q,
		       const struct vq_elem *e)
{
	fuzz_assert(e->head < q->size, "head %u of %u", e->head, q->size);
	if (e->err) {
		fuzz_assert(e->err == -EINVAL || e->err == -ELOOP ||
			    e->err == -EFAULT || e->err == -E2BIG ||
			    e->err == -EOVERFLOW, "chain error %d", e->err);
		fuzz_assert(!e->nout && !e->nin && !e->out_len && !e->in_len,
			    "bad chain with segments");
		return;
	}
	fuzz_assert(check_segments(g, e->out, e->nout) == e->out_len,
		    "out_len %u", e->out_len);
	fuzz_assert(check_segments(g, e->in, e->nin) == e->in_len,
		    "in_len %u", e->in_len);
}

/* What a device does with a chain: reads its header, writes its reply. */
static uint32_t serve(const struct vq_elem *e)
{
	static const uint8_t reply[64] = { [0 ... 63] = 0xA5 };
	uint8_t hdr[16];
	uint32_t len;

	vq_iov_read(e->out, e->nout, 0, hdr, sizeof(hdr));
	len = e->in_len < sizeof(reply) ? e->in_len : sizeof(reply);
	fuzz_assert(vq_iov_write(e->in, e->nin, 0, reply, len) == len,
		    "short write");
	return len;
}

static uint16_t guest_used_idx(struct guest *g, const struct vq *q)
{
	const uint8_t *p = gmem_ptr(g->m, q->used + 2, 2);

	return p ? p[0] | p[1] << 8 : 0;
}

/* One drain: 0 when the queue is empty, else the ring's error. */
static int drain(struct guest *g, struct vq *q, unsigned int *pops)
{
	uint16_t used;
	int ret = 0;

	vq_suppress_kicks(q);
	while (*pops < MAX_POPS && (ret = vq_pop(q, &elem)) > 0) {
		(*pops)++;
		check_elem(g, q, &elem);
		used = q->used_idx;
		ret = vq_push(q, &elem, elem.err ? 0 : serve(&elem));
		if (ret)
			return ret;
		fuzz_assert(q->used_idx == (uint16_t)(used + 1), "used idx");
		fuzz_assert(guest_used_idx(g, q) == q->used_idx,
			    "guest sees used idx %u, not %u",
			    guest_used_idx(g, q), q->used_idx);
		guest_act(g);
	}
	return *pops < MAX_POPS ? ret : 0;
}

static void run_queue(struct guest *g, struct vq *q)
{
	unsigned int pops = 0, round;
	int ret = 0;

	for (round = 0; round < MAX_ROUNDS; round++) {
		ret = drain(g, q, &pops);
		if (ret)
			break;
		vq_need_notify(q);
		if (!vq_allow_kicks(q)) {
			guest_act(g);	/* the guest adds more, perhaps */
			if (!vq_allow_kicks(q))
				break;
		}
	}
	if (!ret)
		ret = vq_pop(q, &elem) < 0 ? q->err : 0;
	if (ret) {
		fuzz_assert(ret == -EFAULT || ret == -EPROTO, "ring error %d",
			    ret);
		fuzz_assert(vq_pop(q, &elem) == ret, "broken ring recovered");
		fuzz_assert(vq_push(q, &elem, 0) == ret, "push on broken ring");
	}
}

static void guest_init(struct guest *g, struct fuzz_in *in)
{
	unsigned int i;

	memset(g, 0, sizeof(*g));
	g->nact = fuzz_take(in, 1) % (MAX_ACTIONS + 1);
	for (i = 0; i < g->nact; i++) {
		g->act[i].off = fuzz_take(in, 2);
		g->act[i].val = fuzz_take(in, 2);
	}
	g->lo = aligned_alloc(GMEM_ALIGN, HALF);
	g->hi = aligned_alloc(GMEM_ALIGN, HALF);
	g->m = gmem_new();
	if (!g->lo || !g->hi || !g->m)
		abort();
	memset(g->lo, 0, HALF);
	memset(g->hi, 0, HALF);
	memcpy(g->lo, in->p, in->left < HALF ? in->left : HALF);
	if (in->left > HALF)
		memcpy(g->hi, in->p + HALF,
		       in->left - HALF < HALF ? in->left - HALF : HALF);
	if (gmem_add(g->m, RAM_GPA, HALF, g->lo) ||
	    gmem_add(g->m, RAM_GPA + HALF, HALF, g->hi))
		abort();
	g->hi_live = true;
	g->ref = gmem_get(g->m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t sel = fuzz_take(&in, 1);
	uint16_t qsize = (1u << (sel % 16)) | (sel & 0x80 ? 1 : 0);
	uint64_t desc = take_gpa(&in), avail = take_gpa(&in);
	uint64_t used = take_gpa(&in), features = 0;
	uint8_t f = fuzz_take(&in, 1);
	struct guest g;
	struct vq q;

	if (f & 1)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (f & 2)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	guest_init(&g, &in);
	if (vq_enable(&q, g.m, qsize, desc, avail, used, features) == 0)
		run_queue(&g, &q);
	else
		fuzz_assert(q.size == 0 && vq_pop(&q, &elem) == 0,
			    "a queue that failed to enable works");
	gmem_put(g.m, g.ref);
	gmem_free(g.m);
	free(g.lo);
	free(g.hi);
	return 0;
}

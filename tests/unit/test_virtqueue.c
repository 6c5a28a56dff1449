/*
 * Split virtqueues against a fake guest: 64 KiB of "RAM" in a gmem, the
 * test writing descriptors and the avail ring as a driver would. Normal
 * chains, every malformed chain (each returned bad, the ring going on),
 * rings the guest breaks, 16-bit index wrap-around, notification and kick
 * suppression, and a ring whose RAM is unplugged.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/gmem.h"
#include "devices/virtqueue.h"

#define RAM_GPA		0x100000ULL
#define RAM_SIZE	0x10000ULL
#define QSZ		8
#define DESC_GPA	RAM_GPA
#define AVAIL_GPA	(RAM_GPA + 0x1000)
#define USED_GPA	(RAM_GPA + 0x2000)
#define TABLE_GPA	(RAM_GPA + 0x3000)	/* indirect tables */
#define BUF_GPA		(RAM_GPA + 0x8000)	/* buffers */
#define F_INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define R		0			/* device-readable */
#define W		VRING_DESC_F_WRITE
#define N		VRING_DESC_F_NEXT
#define I		VRING_DESC_F_INDIRECT

static uint8_t *ram;
static struct gmem *m;
static struct gmem_ref ref;
static struct vq q;
static struct vq_elem *e;
static uint16_t avail_idx;	/* the driver's */

static uint8_t *g2h(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}

static void enable(uint64_t features)
{
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA,
				   features), 0);
}

static void setup(void)
{
	ram = aligned_alloc(GMEM_ALIGN, RAM_SIZE);
	e = malloc(sizeof(*e));
	m = gmem_new();
	ck_assert(ram && e && m);
	memset(ram, 0, RAM_SIZE);
	ck_assert_int_eq(gmem_add(m, RAM_GPA, RAM_SIZE, ram), 0);
	avail_idx = 0;
	enable(F_INDIRECT);
	ref = gmem_get(m);
}

static void teardown(void)
{
	gmem_put(m, ref);
	gmem_free(m);
	free(e);
	free(ram);
}

/* --- The driver's side ---------------------------------------------------- */

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(g2h(gpa), &v, 2);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, g2h(gpa), 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, g2h(gpa), 4);
	return v;
}

/* Descriptor i of the table at `table` (main or indirect). */
static void desc_at(uint64_t table, unsigned int i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(g2h(table + 16 * i), &d, sizeof(d));
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	desc_at(DESC_GPA, i, addr, len, flags, next);
}

static void set_avail_idx(uint16_t idx)
{
	avail_idx = idx;
	put16(AVAIL_GPA + 2, idx);
}

static void post(uint16_t head)
{
	put16(AVAIL_GPA + 4 + 2 * (avail_idx % QSZ), head);
	set_avail_idx(avail_idx + 1);
}

static uint16_t used_idx(void)
{
	return get16(USED_GPA + 2);
}

static void check_used(uint16_t idx, uint32_t id, uint32_t len)
{
	uint64_t el = USED_GPA + 4 + 8 * (idx % QSZ);

	ck_assert_uint_eq(get32(el), id);
	ck_assert_uint_eq(get32(el + 4), len);
}

static void check_iov(const struct iovec *iov, uint64_t gpa, size_t len)
{
	ck_assert_ptr_eq(iov->iov_base, g2h(gpa));
	ck_assert_uint_eq(iov->iov_len, len);
}

/* Pops one chain that must be bad with `err`, and completes it. */
static void pop_bad(int err)
{
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, err);
	ck_assert_uint_eq(e->nout, 0);
	ck_assert_uint_eq(e->nin, 0);
	ck_assert_uint_eq(e->in_len, 0);
	ck_assert_int_eq(vq_push(&q, e, 100), 0);
	check_used(used_idx() - 1, e->head, 0);
}

/* After a bad chain, a good one at head 7 still goes through. */
static void ring_goes_on(void)
{
	desc(7, BUF_GPA, 64, W, 0);
	post(7);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->head, 7);
	ck_assert_uint_eq(e->nin, 1);
	ck_assert_int_eq(vq_push(&q, e, 64), 0);
	check_used(used_idx() - 1, 7, 64);
	ck_assert_int_eq(vq_pop(&q, e), 0);
}

/* --- Enable ------------------------------------------------------------- */

START_TEST(vq_enable_checks_size)
{
	static const uint16_t bad[] = { 0, 3, 6, 100, 32767, 40000, 65535 };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(vq_enable(&q, m, bad[i], DESC_GPA, AVAIL_GPA,
					   USED_GPA, 0), -EINVAL);
		ck_assert_uint_eq(q.size, 0);
	}
	ck_assert_int_eq(vq_enable(&q, m, 1, DESC_GPA, AVAIL_GPA, USED_GPA, 0),
			 0);
	ck_assert_int_eq(vq_enable(&q, m, 256, DESC_GPA, AVAIL_GPA, USED_GPA,
				   0), 0);
}
END_TEST

/* The largest queue: its rings need 832 KiB, in another region. */
START_TEST(vq_enable_largest_queue)
{
	uint64_t gpa = 1ULL << 32;
	uint8_t *big = aligned_alloc(GMEM_ALIGN, 1 << 20);

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(gmem_add(m, gpa, 1 << 20, big), 0);
	ck_assert_int_eq(vq_enable(&q, m, VQ_MAX_SIZE, gpa, gpa + 0x80000,
				   gpa + 0x92000, 0), 0);
	ck_assert_uint_eq(q.size, VQ_MAX_SIZE);
	/* The used ring's last byte past the region: refused. */
	ck_assert_int_eq(vq_enable(&q, m, VQ_MAX_SIZE, gpa, gpa + 0x80000,
				   gpa + (1 << 20) - 8 * VQ_MAX_SIZE - 4, 0),
			 -EFAULT);
	gmem_put(m, ref);
	ck_assert_int_eq(gmem_remove(m, gpa), 0);
	ref = gmem_get(m);
	free(big);
}
END_TEST

START_TEST(vq_enable_checks_alignment)
{
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA + 8, AVAIL_GPA,
				   USED_GPA, 0), -EINVAL);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA + 1,
				   USED_GPA, 0), -EINVAL);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA,
				   USED_GPA + 2, 0), -EINVAL);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA + 16, AVAIL_GPA + 2,
				   USED_GPA + 4, 0), 0);
}
END_TEST

/* Each ring wholly in RAM: its last byte one past the end is refused. */
START_TEST(vq_enable_checks_rings_in_ram)
{
	uint64_t end = RAM_GPA + RAM_SIZE;

	ck_assert_int_eq(vq_enable(&q, m, QSZ, end - 16 * QSZ, AVAIL_GPA,
				   USED_GPA, 0), 0);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, end - 16 * QSZ + 16, AVAIL_GPA,
				   USED_GPA, 0), -EFAULT);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, end - 6 - 2 * QSZ,
				   USED_GPA, 0), 0);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, end - 4 - 2 * QSZ,
				   USED_GPA, 0), -EFAULT);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA,
				   end - 8 - 8 * QSZ, 0), 0);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA,
				   end - 4 - 8 * QSZ, 0), -EFAULT);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, 0, AVAIL_GPA, USED_GPA, 0),
			 -EFAULT);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, -16ULL * QSZ, AVAIL_GPA,
				   USED_GPA, 0), -EFAULT);
	/* A failed enable leaves the queue disabled. */
	ck_assert_uint_eq(q.size, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 0);
	ck_assert_int_eq(vq_push(&q, e, 0), -EINVAL);
}
END_TEST

/* --- Good chains ---------------------------------------------------------- */

START_TEST(vq_pop_single_readable)
{
	ck_assert_int_eq(vq_pop(&q, e), 0);
	desc(3, BUF_GPA, 100, R, 0);
	post(3);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->head, 3);
	ck_assert_uint_eq(e->nout, 1);
	ck_assert_uint_eq(e->nin, 0);
	ck_assert_uint_eq(e->out_len, 100);
	check_iov(&e->out[0], BUF_GPA, 100);
	ck_assert_int_eq(vq_pop(&q, e), 0);
	ck_assert_int_eq(vq_push(&q, e, 0), 0);
	ck_assert_uint_eq(used_idx(), 1);
	check_used(0, 3, 0);
}
END_TEST

/* out first, then in; next in any order of the table; used len capped. */
START_TEST(vq_pop_mixed_chain)
{
	desc(5, BUF_GPA, 16, R | N, 2);
	desc(2, BUF_GPA + 0x100, 512, R | N, 6);
	desc(6, BUF_GPA + 0x400, 1024, W | N, 0);
	desc(0, BUF_GPA + 0x1000, 1, W, 0);
	post(5);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->head, 5);
	ck_assert_uint_eq(e->nout, 2);
	ck_assert_uint_eq(e->nin, 2);
	ck_assert_uint_eq(e->out_len, 528);
	ck_assert_uint_eq(e->in_len, 1025);
	check_iov(&e->out[0], BUF_GPA, 16);
	check_iov(&e->out[1], BUF_GPA + 0x100, 512);
	check_iov(&e->in[0], BUF_GPA + 0x400, 1024);
	check_iov(&e->in[1], BUF_GPA + 0x1000, 1);
	ck_assert_int_eq(vq_push(&q, e, 5000), 0);
	check_used(0, 5, 1025);
}
END_TEST

/* A chain of exactly the queue size is no loop. */
START_TEST(vq_pop_chain_of_queue_size)
{
	unsigned int i;

	for (i = 0; i < QSZ; i++)
		desc(i, BUF_GPA + 16 * i, 16, W | (i + 1 < QSZ ? N : 0), i + 1);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->nin, QSZ);
	ck_assert_uint_eq(e->in_len, 16 * QSZ);
}
END_TEST

START_TEST(vq_pop_zero_length_skipped)
{
	desc(0, BUF_GPA, 0, R | N, 1);
	desc(1, BUF_GPA + 16, 16, R | N, 2);
	desc(2, 0xdead0000, 0, W | N, 3);	/* no buffer: its address is moot */
	desc(3, UINT64_MAX, 0, W, 0);		/* and cannot wrap */
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->nout, 1);
	ck_assert_uint_eq(e->nin, 0);
	check_iov(&e->out[0], BUF_GPA + 16, 16);
}
END_TEST

START_TEST(vq_pop_indirect)
{
	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R | N, 2);
	desc_at(TABLE_GPA, 2, BUF_GPA + 0x100, 200, W | N, 1);
	desc_at(TABLE_GPA, 1, BUF_GPA + 0x200, 1, W, 0);
	/* The WRITE flag of the descriptor naming the table is ignored. */
	desc(4, TABLE_GPA, 3 * 16, I | W, 0);
	post(4);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->head, 4);
	ck_assert_uint_eq(e->nout, 1);
	ck_assert_uint_eq(e->nin, 2);
	check_iov(&e->out[0], BUF_GPA, 16);
	check_iov(&e->in[0], BUF_GPA + 0x100, 200);
	check_iov(&e->in[1], BUF_GPA + 0x200, 1);
	ck_assert_int_eq(vq_push(&q, e, 201), 0);
	check_used(0, 4, 201);
}
END_TEST

/* Direct descriptors, then one INDIRECT at the end: valid, says the spec. */
START_TEST(vq_pop_direct_then_indirect)
{
	desc(0, BUF_GPA, 8, R | N, 1);
	desc(1, TABLE_GPA, 2 * 16, I, 0);
	desc_at(TABLE_GPA, 0, BUF_GPA + 8, 8, R | N, 1);
	desc_at(TABLE_GPA, 1, BUF_GPA + 0x100, 32, W, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->nout, 2);
	ck_assert_uint_eq(e->nin, 1);
	check_iov(&e->out[1], BUF_GPA + 8, 8);
	check_iov(&e->in[0], BUF_GPA + 0x100, 32);
}
END_TEST

/* A buffer over two adjacent regions is two segments. */
START_TEST(vq_pop_buffer_across_regions)
{
	uint8_t *next = aligned_alloc(GMEM_ALIGN, GMEM_ALIGN);

	ck_assert_ptr_nonnull(next);
	ck_assert_int_eq(gmem_add(m, RAM_GPA + RAM_SIZE, GMEM_ALIGN, next), 0);
	desc(0, RAM_GPA + RAM_SIZE - 10, 30, W, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->nin, 2);
	ck_assert_uint_eq(e->in_len, 30);
	check_iov(&e->in[0], RAM_GPA + RAM_SIZE - 10, 10);
	ck_assert_ptr_eq(e->in[1].iov_base, next);
	ck_assert_uint_eq(e->in[1].iov_len, 20);
	gmem_put(m, ref);
	ck_assert_int_eq(gmem_remove(m, RAM_GPA + RAM_SIZE), 0);
	ref = gmem_get(m);
	free(next);
}
END_TEST

START_TEST(vq_pop_max_segments)
{
	unsigned int i;

	for (i = 0; i < VQ_MAX_IOV; i++)
		desc_at(TABLE_GPA, i, BUF_GPA + i, 1,
			R | (i + 1 < VQ_MAX_IOV ? N : 0), i + 1);
	desc(0, TABLE_GPA, 16 * VQ_MAX_IOV, I, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->nout, VQ_MAX_IOV);
	ck_assert_uint_eq(e->out_len, VQ_MAX_IOV);
}
END_TEST

/* Reserved address space, never touched: 8 GiB of "RAM" at 4 GiB. */
static void *reserve_big(uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(gmem_add(m, gpa, size, p), 0);
	return p;
}

START_TEST(vq_pop_total_length_limit)
{
	uint64_t big = 1ULL << 32, size = 8ULL << 30;
	void *p = reserve_big(big, size);

	desc(0, big, 0xFFFFF000, W | N, 1);
	desc(1, big + 0x100000000ULL, 0xFFF, W, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_eq(e->in_len, UINT32_MAX);
	desc(1, big + 0x100000000ULL, 0x1000, W, 0);
	post(0);
	pop_bad(-EOVERFLOW);
	gmem_put(m, ref);
	ck_assert_int_eq(gmem_remove(m, big), 0);
	ref = gmem_get(m);
	munmap(p, size);
}
END_TEST

START_TEST(vq_iov_copies_across_segments)
{
	struct iovec iov[3] = {
		{ g2h(BUF_GPA), 3 }, { g2h(BUF_GPA + 16), 0 },
		{ g2h(BUF_GPA + 32), 5 },
	};
	uint8_t buf[8];

	ck_assert_uint_eq(vq_iov_write(iov, 3, 1, "abcdefgh", 8), 7);
	ck_assert_int_eq(memcmp(g2h(BUF_GPA), "\0ab", 3), 0);
	ck_assert_int_eq(memcmp(g2h(BUF_GPA + 32), "cdefg", 5), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(vq_iov_read(iov, 3, 2, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "bcde", 4), 0);
	ck_assert_uint_eq(vq_iov_read(iov, 3, 8, buf, 4), 0);
	ck_assert_uint_eq(vq_iov_read(iov, 3, 0, buf, 0), 0);
}
END_TEST

/* --- Bad chains: each completed with length 0, the ring goes on ---------- */

START_TEST(vq_bad_next_out_of_range)
{
	desc(0, BUF_GPA, 16, R | N, QSZ);
	post(0);
	pop_bad(-EINVAL);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_loop)
{
	desc(0, BUF_GPA, 16, R | N, 1);
	desc(1, BUF_GPA, 16, R | N, 0);
	post(0);
	pop_bad(-ELOOP);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_self_loop_zero_length)
{
	desc(2, BUF_GPA, 0, R | N, 2);
	post(2);
	pop_bad(-ELOOP);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_indirect_not_negotiated)
{
	enable(0);
	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R, 0);
	desc(0, TABLE_GPA, 16, I, 0);
	post(0);
	pop_bad(-EINVAL);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_indirect_length)
{
	static const uint32_t lens[] = {
		0, 8, 20, 16 * VQ_MAX_INDIRECT + 16, 0xFFFFFFF0,
	};
	unsigned int i;

	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R, 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		desc(0, TABLE_GPA, lens[i], I, 0);
		post(0);
		pop_bad(-EINVAL);
	}
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_indirect_outside_ram)
{
	desc(0, RAM_GPA + RAM_SIZE - 16, 32, I, 0);
	post(0);
	pop_bad(-EFAULT);
	desc(0, -16ULL, 32, I, 0);	/* wraps */
	post(0);
	pop_bad(-EFAULT);
	desc(0, 0x1000, 16, I, 0);
	post(0);
	pop_bad(-EFAULT);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_nested_indirect)
{
	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R | N, 1);
	desc_at(TABLE_GPA, 1, TABLE_GPA, 32, I, 0);
	desc(0, TABLE_GPA, 32, I, 0);
	post(0);
	pop_bad(-EINVAL);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_indirect_with_next)
{
	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R, 0);
	desc(0, TABLE_GPA, 16, I | N, 1);
	desc(1, BUF_GPA, 16, W, 0);
	post(0);
	pop_bad(-EINVAL);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_indirect_next_past_table)
{
	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R | N, 1);
	desc_at(TABLE_GPA, 1, BUF_GPA, 16, R | N, 2);
	desc_at(TABLE_GPA, 2, BUF_GPA, 16, R, 0);	/* past the 2 given */
	desc(0, TABLE_GPA, 32, I, 0);
	post(0);
	pop_bad(-EINVAL);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_indirect_loop)
{
	desc_at(TABLE_GPA, 0, BUF_GPA, 16, R | N, 1);
	desc_at(TABLE_GPA, 1, BUF_GPA, 0, R | N, 0);
	desc(0, TABLE_GPA, 32, I, 0);
	post(0);
	pop_bad(-ELOOP);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_buffer_outside_ram)
{
	desc(0, RAM_GPA - 16, 16, R, 0);
	post(0);
	pop_bad(-EFAULT);
	desc(0, RAM_GPA + RAM_SIZE - 16, 17, W, 0);	/* one byte over */
	post(0);
	pop_bad(-EFAULT);
	desc(0, 0, 1, W, 0);
	post(0);
	pop_bad(-EFAULT);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_buffer_wraps)
{
	desc(0, -8ULL, 16, R, 0);
	post(0);
	pop_bad(-EFAULT);
	desc(0, -1ULL, 2, W, 0);
	post(0);
	pop_bad(-EFAULT);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_readable_after_writable)
{
	desc(0, BUF_GPA, 16, W | N, 1);
	desc(1, BUF_GPA + 16, 16, R, 0);
	post(0);
	pop_bad(-EINVAL);
	/* Also from a direct writable into an indirect table's readable. */
	desc(0, BUF_GPA, 16, W | N, 1);
	desc(1, TABLE_GPA, 16, I, 0);
	desc_at(TABLE_GPA, 0, BUF_GPA + 16, 16, R, 0);
	post(0);
	pop_bad(-EINVAL);
	ring_goes_on();
}
END_TEST

START_TEST(vq_bad_too_many_segments)
{
	unsigned int i;

	for (i = 0; i <= VQ_MAX_IOV; i++)
		desc_at(TABLE_GPA, i, BUF_GPA + i, 1,
			W | (i < VQ_MAX_IOV ? N : 0), i + 1);
	desc(0, TABLE_GPA, 16 * (VQ_MAX_IOV + 1), I, 0);
	post(0);
	pop_bad(-E2BIG);
	ring_goes_on();
}
END_TEST

/* --- Broken rings ------------------------------------------------------- */

static void check_broken(int err)
{
	ck_assert_int_eq(vq_pop(&q, e), err);
	ck_assert_int_eq(vq_pop(&q, e), err);
	ck_assert_int_eq(vq_push(&q, e, 0), err);
	ck_assert(!vq_allow_kicks(&q));
}

/* After a reset and enable, the same memory works again. */
static void check_recovers(void)
{
	enable(F_INDIRECT);
	set_avail_idx(0);
	put16(USED_GPA + 2, 0);
	ring_goes_on();
}

START_TEST(vq_broken_avail_idx_jump)
{
	desc(0, BUF_GPA, 16, R, 0);
	set_avail_idx(QSZ + 1);
	check_broken(-EPROTO);
	check_recovers();
}
END_TEST

/* Exactly the queue size is a full ring, not a jump. */
START_TEST(vq_avail_idx_full_ring)
{
	unsigned int i;

	for (i = 0; i < QSZ; i++) {
		desc(i, BUF_GPA, 16, R, 0);
		post(i);
	}
	for (i = 0; i < QSZ; i++)
		ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(vq_pop(&q, e), 0);
}
END_TEST

START_TEST(vq_broken_head_out_of_range)
{
	post(QSZ);
	check_broken(-EPROTO);
	check_recovers();
}
END_TEST

/* The guest unplugs the RAM its rings are in. */
START_TEST(vq_broken_ring_unplugged)
{
	desc(0, BUF_GPA, 16, R, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	gmem_put(m, ref);
	ck_assert_int_eq(gmem_remove(m, RAM_GPA), 0);
	ref = gmem_get(m);
	ck_assert(vq_need_notify(&q) == false);	/* nothing pushed */
	ck_assert_int_eq(vq_pop(&q, e), -EFAULT);
	check_broken(-EFAULT);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA,
				   0), -EFAULT);
	ck_assert_int_eq(gmem_add(m, RAM_GPA, RAM_SIZE, ram), 0);
	check_recovers();
}
END_TEST

/* Only the used ring's region goes: push or allow find out. */
static void move_used_ring(uint64_t gpa, void *host)
{
	ck_assert_int_eq(gmem_add(m, gpa, GMEM_ALIGN, host), 0);
	ck_assert_int_eq(vq_enable(&q, m, QSZ, DESC_GPA, AVAIL_GPA, gpa, 0), 0);
	desc(0, BUF_GPA, 16, R, 0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	gmem_put(m, ref);
	ck_assert_int_eq(gmem_remove(m, gpa), 0);
	ref = gmem_get(m);
}

START_TEST(vq_broken_used_ring_unplugged)
{
	uint8_t *used = aligned_alloc(GMEM_ALIGN, GMEM_ALIGN);

	ck_assert_ptr_nonnull(used);
	move_used_ring(1ULL << 32, used);
	ck_assert_int_eq(vq_push(&q, e, 0), -EFAULT);
	check_broken(-EFAULT);
	move_used_ring(1ULL << 32, used);
	ck_assert(vq_allow_kicks(&q));	/* pop again: it reports the error */
	check_broken(-EFAULT);
	free(used);
}
END_TEST

/* Only a buffer is gone: that chain is bad, the ring is fine. */
START_TEST(vq_bad_buffer_unplugged)
{
	uint8_t *hp = aligned_alloc(GMEM_ALIGN, GMEM_ALIGN);
	uint64_t hp_gpa = 1ULL << 32;

	ck_assert_ptr_nonnull(hp);
	ck_assert_int_eq(gmem_add(m, hp_gpa, GMEM_ALIGN, hp), 0);
	desc(0, hp_gpa, 16, W, 0);
	post(0);
	post(0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(e->err, 0);
	ck_assert_ptr_eq(e->in[0].iov_base, hp);
	ck_assert_int_eq(vq_push(&q, e, 16), 0);
	gmem_put(m, ref);
	ck_assert_int_eq(gmem_remove(m, hp_gpa), 0);
	ref = gmem_get(m);
	free(hp);
	pop_bad(-EFAULT);
	ring_goes_on();
}
END_TEST

START_TEST(vq_push_needs_a_pop)
{
	e->head = 0;
	e->in_len = 0;
	ck_assert_int_eq(vq_push(&q, e, 0), -EINVAL);
	desc(1, BUF_GPA, 16, R, 0);
	post(1);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	e->head = QSZ;
	ck_assert_int_eq(vq_push(&q, e, 0), -EINVAL);
	e->head = 1;
	ck_assert_int_eq(vq_push(&q, e, 0), 0);
	ck_assert_int_eq(vq_push(&q, e, 0), -EINVAL);
	ck_assert_uint_eq(used_idx(), 1);
}
END_TEST

/* --- Indices wrapping at 2^16 --------------------------------------------- */

/* The used element at idx is {id, len}: plain C, for loops of 65536. */
static bool used_is(uint16_t idx, uint32_t id, uint32_t len)
{
	uint64_t el = USED_GPA + 4 + 8 * (idx % QSZ);

	return get32(el) == id && get32(el + 4) == len;
}

/*
 * Pops and pushes `n` chains in batches of up to `batch`. Checks count
 * failures and assert once: a Check assertion per pop is slow.
 */
static void cycle(unsigned int n, unsigned int batch)
{
	unsigned int i, k, bad = 0;
	uint16_t want;

	for (i = 0; i < QSZ; i++)
		desc(i, BUF_GPA + 16 * i, 16, W, 0);
	while (n) {
		k = n < batch ? n : batch;
		for (i = 0; i < k; i++)
			post((avail_idx + 3) % QSZ);
		for (i = 0; i < k; i++) {
			want = ((uint16_t)(avail_idx - k + i) + 3) % QSZ;
			bad += vq_pop(&q, e) != 1 || e->err || e->head != want;
			bad += vq_push(&q, e, i) != 0;
			bad += !used_is(used_idx() - 1, want, i);
		}
		bad += vq_pop(&q, e) != 0;
		n -= k;
	}
	ck_assert_uint_eq(bad, 0);
}

START_TEST(vq_indices_wrap)
{
	/* Batches of 7: some cross 65535 → 0 in the middle. */
	cycle(65536 + 20, QSZ - 1);
	ck_assert_uint_eq(avail_idx, 20);
	ck_assert_uint_eq(used_idx(), 20);
	/* A jump is measured across the wrap too: 65534 → 7 is 9 entries. */
	enable(0);
	set_avail_idx(0);
	put16(USED_GPA + 2, 0);
	cycle(65534, QSZ);
	set_avail_idx(7);
	ck_assert_int_eq(vq_pop(&q, e), -EPROTO);
}
END_TEST

/* --- Used buffer notifications ------------------------------------------ */

START_TEST(vq_notify_without_event_idx)
{
	ck_assert(!vq_need_notify(&q));
	cycle(1, 1);
	ck_assert(vq_need_notify(&q));
	ck_assert(!vq_need_notify(&q));	/* nothing new */
	put16(AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	cycle(3, 3);
	ck_assert(!vq_need_notify(&q));
	put16(AVAIL_GPA, 0);
	cycle(1, 1);
	ck_assert(vq_need_notify(&q));
}
END_TEST

/* vring_need_event: notify when used idx passed used_event since the last. */
START_TEST(vq_notify_event_idx)
{
	enable(F_EVENT_IDX);
	put16(AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);	/* ignored */
	put16(AVAIL_GPA + 4 + 2 * QSZ, 0);		/* used_event */
	cycle(1, 1);					/* used 0 → 1 */
	ck_assert(vq_need_notify(&q));
	cycle(1, 1);					/* 1 → 2 */
	ck_assert(!vq_need_notify(&q));
	put16(AVAIL_GPA + 4 + 2 * QSZ, 3);
	cycle(3, 3);					/* 2 → 5 */
	ck_assert(vq_need_notify(&q));
	put16(AVAIL_GPA + 4 + 2 * QSZ, 5);
	cycle(1, 1);					/* 5 → 6 */
	ck_assert(vq_need_notify(&q));
	cycle(2, 2);					/* 6 → 8, event 5 */
	ck_assert(!vq_need_notify(&q));
	ck_assert(!vq_need_notify(&q));
}
END_TEST

START_TEST(vq_notify_event_idx_wraps)
{
	enable(F_EVENT_IDX);
	cycle(65534, QSZ);
	ck_assert(vq_need_notify(&q));			/* past event 0 */
	put16(AVAIL_GPA + 4 + 2 * QSZ, 65535);
	cycle(3, 3);					/* 65534 → 1 */
	ck_assert(vq_need_notify(&q));
	put16(AVAIL_GPA + 4 + 2 * QSZ, 0);
	cycle(2, 2);					/* 1 → 3 */
	ck_assert(!vq_need_notify(&q));
	put16(AVAIL_GPA + 4 + 2 * QSZ, 65535);		/* far behind */
	cycle(3, 3);
	ck_assert(!vq_need_notify(&q));
	put16(AVAIL_GPA + 4 + 2 * QSZ, 7);
	cycle(3, 3);					/* 6 → 9 */
	ck_assert(vq_need_notify(&q));
}
END_TEST

/* --- Available buffer notifications (kicks) ------------------------------- */

START_TEST(vq_kicks_without_event_idx)
{
	vq_suppress_kicks(&q);
	ck_assert_uint_eq(get16(USED_GPA), VRING_USED_F_NO_NOTIFY);
	ck_assert(!vq_allow_kicks(&q));
	ck_assert_uint_eq(get16(USED_GPA), 0);
	vq_suppress_kicks(&q);
	desc(0, BUF_GPA, 16, R, 0);
	post(0);	/* while suppressed: the guest does not kick */
	ck_assert(vq_allow_kicks(&q));
	ck_assert_uint_eq(get16(USED_GPA), 0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert(!vq_allow_kicks(&q));
}
END_TEST

START_TEST(vq_kicks_event_idx)
{
	uint64_t avail_event = USED_GPA + 4 + 8 * QSZ;

	enable(F_EVENT_IDX);
	put16(avail_event, 0xAAAA);
	vq_suppress_kicks(&q);
	ck_assert_uint_eq(get16(USED_GPA), 0);		/* flags stay 0 */
	ck_assert_uint_eq(get16(avail_event), 0xAAAA);	/* left behind */
	cycle(3, 3);
	ck_assert(!vq_allow_kicks(&q));
	ck_assert_uint_eq(get16(avail_event), 3);	/* the next entry */
	vq_suppress_kicks(&q);
	desc(0, BUF_GPA, 16, R, 0);
	post(0);
	ck_assert(vq_allow_kicks(&q));
	ck_assert_uint_eq(get16(avail_event), 3);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert(!vq_allow_kicks(&q));
	ck_assert_uint_eq(get16(avail_event), 4);
	ck_assert_uint_eq(get16(USED_GPA), 0);
}
END_TEST

/* Waiting for more than is there: a kick only for what comes next. */
START_TEST(vq_kicks_new_event_idx)
{
	uint64_t avail_event = USED_GPA + 4 + 8 * QSZ;
	unsigned int i;

	enable(F_EVENT_IDX);
	desc(0, BUF_GPA, 16, W, 0);
	desc(1, BUF_GPA + 16, 16, W, 0);
	post(0);
	post(1);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(vq_unpop(&q, 1), 0);
	/* Entry 0 is still to take, but the guest is at 2: wait for 2. */
	ck_assert(!vq_allow_kicks_new(&q));
	ck_assert_uint_eq(get16(avail_event), 2);
	ck_assert(vq_allow_kicks(&q));		/* the plain one: from 0 */
	ck_assert_uint_eq(get16(avail_event), 0);
	vq_suppress_kicks(&q);
	desc(2, BUF_GPA + 32, 16, W, 0);
	post(2);
	ck_assert(vq_allow_kicks_new(&q));	/* 3 now: look again */
	ck_assert_uint_eq(get16(avail_event), 2);
	/* Without EVENT_IDX: the flag goes. */
	enable(0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(vq_pop(&q, e), 0);
	ck_assert_int_eq(vq_unpop(&q, 3), 0);
	vq_suppress_kicks(&q);
	ck_assert_uint_eq(get16(USED_GPA), VRING_USED_F_NO_NOTIFY);
	ck_assert(!vq_allow_kicks_new(&q));
	ck_assert_uint_eq(get16(USED_GPA), 0);
}
END_TEST

START_TEST(vq_unpop_gives_back)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		desc(i, BUF_GPA + 16 * i, 16, W, 0);
		post(i);
	}
	ck_assert_int_eq(vq_unpop(&q, 1), -EINVAL);	/* none in flight */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(vq_unpop(&q, 4), -EINVAL);
	ck_assert_int_eq(vq_push(&q, e, 0), 0);		/* 2 used, 0 and 1 held */
	ck_assert_int_eq(vq_unpop(&q, 3), -EINVAL);
	ck_assert_int_eq(vq_unpop(&q, 0), 0);
	/* Pretend 2 was 1: give 1 back; it comes again, then 3. */
	ck_assert_int_eq(vq_unpop(&q, 1), 0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_uint_eq(e->head, 2);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_uint_eq(e->head, 3);
	ck_assert_int_eq(vq_pop(&q, e), 0);
	ck_assert_int_eq(vq_unpop(&q, 3), 0);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_uint_eq(e->head, 1);
	/* A broken queue says so. */
	set_avail_idx(avail_idx + QSZ + 1);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(vq_pop(&q, e), 1);
	ck_assert_int_eq(vq_pop(&q, e), -EPROTO);
	ck_assert_int_eq(vq_unpop(&q, 1), -EPROTO);
}
END_TEST

START_TEST(vq_reset_forgets)
{
	cycle(3, 3);
	vq_reset(&q);
	ck_assert_uint_eq(q.size, 0);
	ck_assert_int_eq(vq_pop(&q, e), 0);
	ck_assert(!vq_need_notify(&q));
	ck_assert(!vq_allow_kicks(&q));
	vq_suppress_kicks(&q);
	ck_assert_uint_eq(get16(USED_GPA), 0);
}
END_TEST

Suite *virtqueue_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *tc = tcase_create("good");
	TCase *bad = tcase_create("bad");
	TCase *ring = tcase_create("ring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, vq_enable_checks_size);
	tcase_add_test(tc, vq_enable_largest_queue);
	tcase_add_test(tc, vq_enable_checks_alignment);
	tcase_add_test(tc, vq_enable_checks_rings_in_ram);
	tcase_add_test(tc, vq_pop_single_readable);
	tcase_add_test(tc, vq_pop_mixed_chain);
	tcase_add_test(tc, vq_pop_chain_of_queue_size);
	tcase_add_test(tc, vq_pop_zero_length_skipped);
	tcase_add_test(tc, vq_pop_indirect);
	tcase_add_test(tc, vq_pop_direct_then_indirect);
	tcase_add_test(tc, vq_pop_buffer_across_regions);
	tcase_add_test(tc, vq_pop_max_segments);
	tcase_add_test(tc, vq_pop_total_length_limit);
	tcase_add_test(tc, vq_iov_copies_across_segments);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, vq_bad_next_out_of_range);
	tcase_add_test(bad, vq_bad_loop);
	tcase_add_test(bad, vq_bad_self_loop_zero_length);
	tcase_add_test(bad, vq_bad_indirect_not_negotiated);
	tcase_add_test(bad, vq_bad_indirect_length);
	tcase_add_test(bad, vq_bad_indirect_outside_ram);
	tcase_add_test(bad, vq_bad_nested_indirect);
	tcase_add_test(bad, vq_bad_indirect_with_next);
	tcase_add_test(bad, vq_bad_indirect_next_past_table);
	tcase_add_test(bad, vq_bad_indirect_loop);
	tcase_add_test(bad, vq_bad_buffer_outside_ram);
	tcase_add_test(bad, vq_bad_buffer_wraps);
	tcase_add_test(bad, vq_bad_readable_after_writable);
	tcase_add_test(bad, vq_bad_too_many_segments);
	tcase_add_test(bad, vq_bad_buffer_unplugged);
	suite_add_tcase(s, bad);

	/* 65536 chains and more, under ASan too. */
	tcase_set_timeout(ring, 30);
	tcase_add_checked_fixture(ring, setup, teardown);
	tcase_add_test(ring, vq_broken_avail_idx_jump);
	tcase_add_test(ring, vq_avail_idx_full_ring);
	tcase_add_test(ring, vq_broken_head_out_of_range);
	tcase_add_test(ring, vq_broken_ring_unplugged);
	tcase_add_test(ring, vq_broken_used_ring_unplugged);
	tcase_add_test(ring, vq_push_needs_a_pop);
	tcase_add_test(ring, vq_indices_wrap);
	tcase_add_test(ring, vq_notify_without_event_idx);
	tcase_add_test(ring, vq_notify_event_idx);
	tcase_add_test(ring, vq_notify_event_idx_wraps);
	tcase_add_test(ring, vq_kicks_without_event_idx);
	tcase_add_test(ring, vq_kicks_event_idx);
	tcase_add_test(ring, vq_kicks_new_event_idx);
	tcase_add_test(ring, vq_unpop_gives_back);
	tcase_add_test(ring, vq_reset_forgets);
	suite_add_tcase(s, ring);
	return s;
}

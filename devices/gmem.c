/*
 * The guest memory map: regions readers scan without a lock, and two
 * generations of reference counters for the removal's grace period.
 *
 * Why a removal is safe (every access to `live` and `refs` is seq_cst):
 * a reader increments a counter, then loads `live`. A removal stores
 * live = 0, then waits until each counter reads 0. A reader whose
 * increment comes after the removal's zero read also loads `live` after
 * the store, and misses the region; a reader whose increment comes before
 * it keeps that counter above 0 until it puts its reference. Which counter
 * a reader picks does not matter for this: both are waited for. The
 * generation switch between the two waits only keeps new readers off the
 * counter being waited for, so each wait ends once the references that
 * were there have been put.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/gmem.h"

struct gmem_region {
	uint64_t gpa, size;
	uint8_t *host;
	atomic_bool live;	/* the fields above are set while false */
};

struct gmem {
	/* Written by device threads: a cache line of their own. */
	alignas(64) atomic_ulong refs[2];
	atomic_bool waiting;		/* a removal sleeps on `drained` */
	alignas(64) atomic_uint gen;	/* new references count in refs[gen] */
	atomic_uint top;		/* regions[top..] have never been live */
	struct gmem_region regions[GMEM_MAX_REGIONS];
	pthread_mutex_t update;		/* one writer at a time */
	pthread_mutex_t lock;		/* with `drained`: a removal's wait */
	pthread_cond_t drained;
};

struct gmem *gmem_new(void)
{
	struct gmem *m = aligned_alloc(64, sizeof(*m));
	unsigned int i;

	if (!m)
		return NULL;
	atomic_init(&m->refs[0], 0);
	atomic_init(&m->refs[1], 0);
	atomic_init(&m->waiting, false);
	atomic_init(&m->gen, 0);
	atomic_init(&m->top, 0);
	for (i = 0; i < GMEM_MAX_REGIONS; i++)
		atomic_init(&m->regions[i].live, false);
	pthread_mutex_init(&m->update, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->drained, NULL);
	return m;
}

void gmem_free(struct gmem *m)
{
	if (!m)
		return;
	pthread_cond_destroy(&m->drained);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->update);
	free(m);
}

/* --- Device threads -------------------------------------------------------- */

struct gmem_ref gmem_get(struct gmem *m)
{
	struct gmem_ref r = {
		.gen = atomic_load_explicit(&m->gen, memory_order_relaxed) & 1,
	};

	atomic_fetch_add(&m->refs[r.gen], 1);
	return r;
}

void gmem_put(struct gmem *m, struct gmem_ref ref)
{
	if (atomic_fetch_sub(&m->refs[ref.gen & 1], 1) != 1)
		return;
	if (!atomic_load(&m->waiting))
		return;
	/* Under the lock: the removal is checking or already asleep. */
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->drained);
	pthread_mutex_unlock(&m->lock);
}

void *gmem_span(struct gmem *m, uint64_t gpa, uint64_t len, uint64_t *n)
{
	unsigned int i, top = atomic_load(&m->top);

	if (!len)
		return NULL;
	for (i = 0; i < top; i++) {
		struct gmem_region *r = &m->regions[i];
		uint64_t off;

		if (!atomic_load(&r->live) || gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		if (off >= r->size)
			continue;
		*n = len < r->size - off ? len : r->size - off;
		return r->host + off;
	}
	return NULL;
}

void *gmem_ptr(struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t n;
	void *p = gmem_span(m, gpa, len, &n);

	return p && n == len ? p : NULL;
}

/* --- VMM thread ------------------------------------------------------------ */

static bool gmem_overlaps(struct gmem *m, uint64_t gpa, uint64_t size)
{
	unsigned int i, top = atomic_load(&m->top);

	for (i = 0; i < top; i++) {
		struct gmem_region *r = &m->regions[i];

		if (atomic_load(&r->live) && gpa < r->gpa + r->size &&
		    r->gpa < gpa + size)
			return true;
	}
	return false;
}

static struct gmem_region *gmem_free_slot(struct gmem *m)
{
	unsigned int i;

	for (i = 0; i < GMEM_MAX_REGIONS; i++)
		if (!atomic_load(&m->regions[i].live))
			return &m->regions[i];
	return NULL;
}

int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *host)
{
	struct gmem_region *r;
	unsigned int slot;
	int ret = 0;

	if (!size || gpa + size < gpa || gpa % GMEM_ALIGN ||
	    size % GMEM_ALIGN || (uintptr_t)host % GMEM_ALIGN)
		return -EINVAL;
	pthread_mutex_lock(&m->update);
	if (gmem_overlaps(m, gpa, size)) {
		ret = -EINVAL;
		goto out;
	}
	r = gmem_free_slot(m);
	if (!r) {
		ret = -ENOSPC;
		goto out;
	}
	/* Nobody reads a slot that is not live: plain stores are enough. */
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	atomic_store(&r->live, true);
	slot = r - m->regions;
	if (slot >= atomic_load(&m->top))
		atomic_store(&m->top, slot + 1);
out:
	pthread_mutex_unlock(&m->update);
	return ret;
}

/* Until no reference of generation `gen` is held. */
static void gmem_drain(struct gmem *m, unsigned int gen)
{
	pthread_mutex_lock(&m->lock);
	atomic_store(&m->waiting, true);
	while (atomic_load(&m->refs[gen]))
		pthread_cond_wait(&m->drained, &m->lock);
	atomic_store(&m->waiting, false);
	pthread_mutex_unlock(&m->lock);
}

/*
 * Every reference taken before the call has been put when it returns.
 * The other generation first: it holds only references older than the
 * last switch, and new ones go to the current generation meanwhile.
 */
static void gmem_synchronize(struct gmem *m)
{
	unsigned int cur = atomic_load(&m->gen) & 1;

	gmem_drain(m, cur ^ 1);
	atomic_store(&m->gen, cur ^ 1);
	gmem_drain(m, cur);
}

static struct gmem_region *gmem_find(struct gmem *m, uint64_t gpa)
{
	unsigned int i, top = atomic_load(&m->top);

	for (i = 0; i < top; i++)
		if (atomic_load(&m->regions[i].live) &&
		    m->regions[i].gpa == gpa)
			return &m->regions[i];
	return NULL;
}

int gmem_remove(struct gmem *m, uint64_t gpa)
{
	struct gmem_region *r;

	pthread_mutex_lock(&m->update);
	r = gmem_find(m, gpa);
	if (!r) {
		pthread_mutex_unlock(&m->update);
		return -ENOENT;
	}
	atomic_store(&r->live, false);
	gmem_synchronize(m);
	pthread_mutex_unlock(&m->update);
	return 0;
}

/*
 * The guest memory map: translation at every edge, the VMM thread's errors,
 * and removal against device threads that hold references: it waits for
 * the ones taken before it, only for those, and nothing translates into
 * the range afterwards (the tests unmap it, so a late touch crashes).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/gmem.h"

#define PAGE	4096ULL
#define A_GPA	0x100000ULL		/* 1 MiB */
#define A_SIZE	(16 * PAGE)
#define B_GPA	(A_GPA + A_SIZE)	/* right after A */
#define B_SIZE	(4 * PAGE)

static struct gmem *m;
static uint8_t *a, *b;

static void *map_pages(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

static void setup(void)
{
	m = gmem_new();
	ck_assert_ptr_nonnull(m);
	a = map_pages(A_SIZE);
	b = map_pages(B_SIZE);
	ck_assert_int_eq(gmem_add(m, A_GPA, A_SIZE, a), 0);
}

static void teardown(void)
{
	gmem_free(m);
	munmap(a, A_SIZE);
	if (b)
		munmap(b, B_SIZE);
	m = NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

START_TEST(gmem_translates_inside_one_region)
{
	struct gmem_ref r = gmem_get(m);
	uint64_t n;

	ck_assert_ptr_eq(gmem_ptr(m, A_GPA, 1), a);
	ck_assert_ptr_eq(gmem_ptr(m, A_GPA, A_SIZE), a);
	ck_assert_ptr_eq(gmem_ptr(m, A_GPA + 100, 28), a + 100);
	ck_assert_ptr_eq(gmem_ptr(m, A_GPA + A_SIZE - 1, 1), a + A_SIZE - 1);
	ck_assert_ptr_eq(gmem_span(m, A_GPA + 8, 16, &n), a + 8);
	ck_assert_uint_eq(n, 16);
	gmem_put(m, r);
}
END_TEST

START_TEST(gmem_rejects_ranges_past_a_region)
{
	struct gmem_ref r = gmem_get(m);
	uint64_t n = 77;

	ck_assert_ptr_null(gmem_ptr(m, A_GPA - 1, 1));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA - 1, 2));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA + A_SIZE, 1));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA + A_SIZE - 1, 2));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA, A_SIZE + 1));
	ck_assert_ptr_null(gmem_ptr(m, 0, 1));
	ck_assert_ptr_null(gmem_span(m, A_GPA + A_SIZE, 1, &n));
	ck_assert_uint_eq(n, 77);
	gmem_put(m, r);
}
END_TEST

/* len 0 is no access; a length that wraps is no range. */
START_TEST(gmem_zero_and_wrapping_lengths)
{
	struct gmem_ref r = gmem_get(m);
	uint64_t n;

	ck_assert_ptr_null(gmem_ptr(m, A_GPA, 0));
	ck_assert_ptr_null(gmem_span(m, A_GPA, 0, &n));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA + PAGE, UINT64_MAX));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA + PAGE, -PAGE));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA + PAGE, -(A_GPA + PAGE)));
	ck_assert_ptr_null(gmem_ptr(m, UINT64_MAX, 2));
	ck_assert_ptr_null(gmem_ptr(m, UINT64_MAX, UINT64_MAX));
	/* span clips at the region's end whatever the length. */
	ck_assert_ptr_eq(gmem_span(m, A_GPA + PAGE, UINT64_MAX, &n), a + PAGE);
	ck_assert_uint_eq(n, A_SIZE - PAGE);
	gmem_put(m, r);
}
END_TEST

START_TEST(gmem_straddling_adjacent_regions_is_null)
{
	struct gmem_ref r;
	uint64_t n;

	ck_assert_int_eq(gmem_add(m, B_GPA, B_SIZE, b), 0);
	r = gmem_get(m);
	ck_assert_ptr_null(gmem_ptr(m, B_GPA - 1, 2));
	ck_assert_ptr_null(gmem_ptr(m, A_GPA, A_SIZE + B_SIZE));
	ck_assert_ptr_eq(gmem_ptr(m, B_GPA - 1, 1), a + A_SIZE - 1);
	ck_assert_ptr_eq(gmem_ptr(m, B_GPA, 1), b);
	ck_assert_ptr_eq(gmem_ptr(m, B_GPA, B_SIZE), b);
	/* Piece by piece it is two spans. */
	ck_assert_ptr_eq(gmem_span(m, B_GPA - 4, 10, &n), a + A_SIZE - 4);
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_eq(gmem_span(m, B_GPA, 6, &n), b);
	ck_assert_uint_eq(n, 6);
	gmem_put(m, r);
}
END_TEST

START_TEST(gmem_add_rejects_bad_ranges)
{
	uint8_t *p = b;

	ck_assert_int_eq(gmem_add(m, 0, 0, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, -PAGE, PAGE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, -PAGE, 2 * PAGE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, 1, PAGE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, 0, PAGE + 1, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, 0, PAGE, p + 8), -EINVAL);
	/* Overlaps: same, front, back, inside, around. */
	ck_assert_int_eq(gmem_add(m, A_GPA, A_SIZE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, A_GPA - PAGE, 2 * PAGE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, B_GPA - PAGE, 2 * PAGE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, A_GPA + PAGE, PAGE, p), -EINVAL);
	ck_assert_int_eq(gmem_add(m, 0, 1ULL << 30, p), -EINVAL);
	/* Touching either end is fine. */
	ck_assert_int_eq(gmem_add(m, A_GPA - PAGE, PAGE, p), 0);
	ck_assert_int_eq(gmem_add(m, B_GPA, PAGE, p), 0);
}
END_TEST

/* Host memory is never touched here: one page backs every region. */
START_TEST(gmem_holds_max_regions_then_enospc)
{
	unsigned int i;

	for (i = 1; i < GMEM_MAX_REGIONS; i++)
		ck_assert_int_eq(gmem_add(m, (1ULL << 32) + i * 2 * PAGE, PAGE,
					  b), 0);
	ck_assert_int_eq(gmem_add(m, 1ULL << 40, PAGE, b), -ENOSPC);
	ck_assert_int_ge(GMEM_MAX_REGIONS, 2 + 32);
	/* A removal frees a slot. */
	ck_assert_int_eq(gmem_remove(m, (1ULL << 32) + 6 * PAGE), 0);
	ck_assert_int_eq(gmem_add(m, 1ULL << 40, PAGE, b), 0);
	ck_assert_int_eq(gmem_add(m, 1ULL << 41, PAGE, b), -ENOSPC);
}
END_TEST

START_TEST(gmem_remove_by_start_only)
{
	struct gmem_ref r;

	ck_assert_int_eq(gmem_remove(m, A_GPA + PAGE), -ENOENT);
	ck_assert_int_eq(gmem_remove(m, B_GPA), -ENOENT);
	ck_assert_int_eq(gmem_add(m, B_GPA, B_SIZE, b), 0);
	ck_assert_int_eq(gmem_remove(m, A_GPA), 0);
	ck_assert_int_eq(gmem_remove(m, A_GPA), -ENOENT);
	r = gmem_get(m);
	ck_assert_ptr_null(gmem_ptr(m, A_GPA, 1));
	ck_assert_ptr_eq(gmem_ptr(m, B_GPA, 1), b);
	gmem_put(m, r);
	/* The range can come back, at another host address even. */
	ck_assert_int_eq(gmem_add(m, A_GPA, PAGE, b + PAGE), 0);
	r = gmem_get(m);
	ck_assert_ptr_eq(gmem_ptr(m, A_GPA, PAGE), b + PAGE);
	ck_assert_ptr_null(gmem_ptr(m, A_GPA + PAGE, 1));
	gmem_put(m, r);
}
END_TEST

/* --- Removal against references ------------------------------------------ */

struct remover {
	pthread_t t;
	uint64_t gpa;
	atomic_int done;
	int ret;
};

static void *remover_main(void *arg)
{
	struct remover *rm = arg;

	rm->ret = gmem_remove(m, rm->gpa);
	atomic_store(&rm->done, 1);
	return NULL;
}

static void remover_start(struct remover *rm, uint64_t gpa)
{
	rm->gpa = gpa;
	atomic_init(&rm->done, 0);
	ck_assert_int_eq(pthread_create(&rm->t, NULL, remover_main, rm), 0);
}

/* True once the removal returned, within ms. */
static bool remover_wait(struct remover *rm, long ms)
{
	for (; ms > 0 && !atomic_load(&rm->done); ms -= 5)
		sleep_ms(5);
	return atomic_load(&rm->done);
}

static void remover_join(struct remover *rm)
{
	ck_assert_msg(remover_wait(rm, 5000), "gmem_remove never returned");
	pthread_join(rm->t, NULL);
	ck_assert_int_eq(rm->ret, 0);
}

START_TEST(gmem_remove_waits_for_a_held_reference)
{
	struct gmem_ref r = gmem_get(m);
	uint8_t *p = gmem_ptr(m, A_GPA + PAGE, PAGE);
	struct remover rm;

	ck_assert_ptr_eq(p, a + PAGE);
	remover_start(&rm, A_GPA);
	ck_assert(!remover_wait(&rm, 100));
	/* Still ours to touch, and no new translation finds it. */
	memset(p, 0x5A, PAGE);
	ck_assert_ptr_null(gmem_ptr(m, A_GPA, 1));
	gmem_put(m, r);
	remover_join(&rm);
}
END_TEST

/* Several references at once, in any order; a removal waits for the last. */
START_TEST(gmem_remove_waits_for_every_reference)
{
	struct gmem_ref r1 = gmem_get(m), r2 = gmem_get(m), r3 = gmem_get(m);
	struct remover rm;

	remover_start(&rm, A_GPA);
	ck_assert(!remover_wait(&rm, 50));
	gmem_put(m, r2);
	gmem_put(m, r1);
	ck_assert(!remover_wait(&rm, 50));
	gmem_put(m, r3);
	remover_join(&rm);
}
END_TEST

struct putter {
	pthread_t t;
	struct gmem_ref ref;
};

static void *putter_main(void *arg)
{
	struct putter *pt = arg;

	sleep_ms(50);
	gmem_put(m, pt->ref);
	return NULL;
}

/* An I/O submitted on one thread completes on another. */
START_TEST(gmem_reference_put_on_another_thread)
{
	struct putter pt = { .ref = gmem_get(m) };
	struct remover rm;

	remover_start(&rm, A_GPA);
	ck_assert(!remover_wait(&rm, 50));
	ck_assert_int_eq(pthread_create(&pt.t, NULL, putter_main, &pt), 0);
	remover_join(&rm);
	pthread_join(pt.t, NULL);
}
END_TEST

/* A reference taken while a removal waits neither blocks nor delays it. */
START_TEST(gmem_new_reference_during_removal)
{
	struct gmem_ref old = gmem_get(m), young;
	struct remover rm;

	ck_assert_int_eq(gmem_add(m, B_GPA, B_SIZE, b), 0);
	remover_start(&rm, A_GPA);
	ck_assert(!remover_wait(&rm, 50));
	young = gmem_get(m);
	ck_assert_ptr_null(gmem_ptr(m, A_GPA, 1));
	ck_assert_ptr_eq(gmem_ptr(m, B_GPA, 1), b);
	gmem_put(m, old);
	remover_join(&rm);
	/* And the next removal waits for it. */
	remover_start(&rm, B_GPA);
	ck_assert(!remover_wait(&rm, 50));
	gmem_put(m, young);
	remover_join(&rm);
}
END_TEST

/*
 * Device threads that always hold a reference (each takes the next one
 * before it puts the last, as overlapping I/Os do) while the VMM removes
 * A: the removal still ends, A is unmapped right after it, and no thread
 * that saw the removal done translates into A again.
 */
#define READERS	2

static atomic_int stop, removed, violations;
static atomic_ulong iterations;

static void touch(uint8_t *p)
{
	if (p)
		__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}

static void *reader_main(void *arg)
{
	struct gmem_ref held = gmem_get(m), ref;
	uint8_t *held_p = gmem_ptr(m, A_GPA, PAGE), *p;
	int seen;

	(void)arg;
	while (!atomic_load(&stop)) {
		seen = atomic_load(&removed);
		ref = gmem_get(m);
		p = gmem_ptr(m, A_GPA + PAGE, PAGE);
		if (seen && p)
			atomic_fetch_add(&violations, 1);
		touch(p);
		touch(held_p);	/* still covered by `held` */
		gmem_put(m, held);
		held = ref;
		held_p = p;
		atomic_fetch_add(&iterations, 1);
	}
	gmem_put(m, held);
	return NULL;
}

static void wait_iterations(unsigned long more)
{
	unsigned long target = atomic_load(&iterations) + more;
	int ms;

	for (ms = 0; ms < 5000 && atomic_load(&iterations) < target; ms++)
		sleep_ms(1);
	ck_assert_uint_ge(atomic_load(&iterations), target);
}

static pthread_t readers[READERS];

static void readers_start(void)
{
	int i;

	atomic_store(&stop, 0);
	atomic_store(&removed, 0);
	atomic_store(&violations, 0);
	atomic_store(&iterations, 0);
	for (i = 0; i < READERS; i++)
		ck_assert_int_eq(pthread_create(&readers[i], NULL, reader_main,
						NULL), 0);
}

static void readers_stop(void)
{
	int i;

	atomic_store(&stop, 1);
	for (i = 0; i < READERS; i++)
		pthread_join(readers[i], NULL);
	ck_assert_int_eq(atomic_load(&violations), 0);
}

START_TEST(gmem_remove_not_starved_by_readers)
{
	struct remover rm;

	readers_start();
	wait_iterations(1000);
	remover_start(&rm, A_GPA);
	remover_join(&rm);
	atomic_store(&removed, 1);
	ck_assert_int_eq(munmap(a, A_SIZE), 0);
	a = map_pages(A_SIZE);	/* for teardown; likely elsewhere */
	wait_iterations(1000);
	readers_stop();
}
END_TEST

/* Removals one after another, readers all along: each generation drains. */
START_TEST(gmem_repeated_removals_under_load)
{
	struct remover rm;
	int round;

	readers_start();
	for (round = 0; round < 20; round++) {
		wait_iterations(100);
		remover_start(&rm, A_GPA);
		remover_join(&rm);
		ck_assert_int_eq(gmem_add(m, A_GPA, A_SIZE, a), 0);
	}
	readers_stop();
}
END_TEST

Suite *gmem_suite(void)
{
	Suite *s = suite_create("gmem");
	TCase *tc = tcase_create("map");
	TCase *th = tcase_create("threads");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gmem_translates_inside_one_region);
	tcase_add_test(tc, gmem_rejects_ranges_past_a_region);
	tcase_add_test(tc, gmem_zero_and_wrapping_lengths);
	tcase_add_test(tc, gmem_straddling_adjacent_regions_is_null);
	tcase_add_test(tc, gmem_add_rejects_bad_ranges);
	tcase_add_test(tc, gmem_holds_max_regions_then_enospc);
	tcase_add_test(tc, gmem_remove_by_start_only);
	suite_add_tcase(s, tc);

	/* A removal that never returns fails here, not in the CI's timeout. */
	tcase_set_timeout(th, 20);
	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, gmem_remove_waits_for_a_held_reference);
	tcase_add_test(th, gmem_remove_waits_for_every_reference);
	tcase_add_test(th, gmem_reference_put_on_another_thread);
	tcase_add_test(th, gmem_new_reference_during_removal);
	tcase_add_test(th, gmem_remove_not_starved_by_readers);
	tcase_add_test(th, gmem_repeated_removals_under_load);
	suite_add_tcase(s, th);
	return s;
}

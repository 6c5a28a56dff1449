/* Small helpers shared by every module. */
#ifndef EVMM_UTIL_H
#define EVMM_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KiB		(1024ULL)
#define MiB		(1024ULL * KiB)
#define GiB		(1024ULL * MiB)
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/*
 * evmm's threads (vCPUs, the API) get 1 MiB stacks, not glibc's 8 MiB: a
 * stack of 2 MiB or more gets a transparent huge page where THP is on for
 * every mapping, 2 MiB of RSS per thread for a few KiB used. 1 MiB still
 * holds jansson's deepest parse of a 4 KiB body.
 */
#define THREAD_STACK	(1UL << 20)
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif

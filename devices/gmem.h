/*
 * Guest physical memory as device threads see it: a small map of
 * (gpa, size, host) regions. The VMM thread adds boot RAM and hotplugged
 * ranges, and removes a range before it unmaps it; device (I/O) threads
 * translate guest addresses to host pointers.
 *
 * References, not a lock: a device thread takes a reference (gmem_get)
 * before it translates and puts it back (gmem_put) when it no longer
 * touches what it translated. A reference is a value, not a lock owned by
 * a thread: it may be taken on one thread and put on another, much later
 * (an asynchronous I/O holds one from submission to completion), and a
 * thread may hold many at once. Taking one never blocks and costs one
 * atomic increment; putting one, one atomic decrement.
 *
 * Removal is a grace period, as in RCU: gmem_remove first hides the region
 * (no translation made from then on finds it), then waits for every
 * reference taken before that moment, and only those. References come in
 * two generations (gmem_ref.gen): new ones go to the current one, and a
 * removal switches generations before waiting for the old one to drain,
 * so a steady stream of new references never delays it. Readers never
 * wait for a removal either: a thread holding a reference for an I/O in
 * flight may take another one for its next batch while a removal waits
 * for the first (a rwlock with writer preference would deadlock there).
 */
#ifndef EVMM_GMEM_H
#define EVMM_GMEM_H

#include <stdint.h>

struct gmem;

/* Boot RAM (2 regions) and 32 hotplugged ranges (vmm/vm.h), with room. */
#define GMEM_MAX_REGIONS	40
/* Regions are page-granular, as KVM's memory slots. */
#define GMEM_ALIGN		4096

/* One reference: put it back with gmem_put exactly once. */
struct gmem_ref {
	unsigned int gen;
};

/* An empty map; NULL when out of memory. */
struct gmem *gmem_new(void);
/* No references may be held any more. */
void gmem_free(struct gmem *m);

/*
 * VMM thread (calls are serialized by an internal mutex). gmem_add makes
 * [gpa, gpa + size) translate to host: gpa, size and host GMEM_ALIGN
 * aligned. -EINVAL for an empty, unaligned or wrapping range or one that
 * overlaps a region; -ENOSPC when GMEM_MAX_REGIONS are in use.
 */
int gmem_add(struct gmem *m, uint64_t gpa, uint64_t size, void *host);
/*
 * Removes the region that starts at gpa (-ENOENT if none) and returns only
 * when no thread can touch its host memory any more: the caller may unmap
 * it. Waits for the references taken before it; never call it while
 * holding one (it would wait for itself).
 */
int gmem_remove(struct gmem *m, uint64_t gpa);

/* Device threads: a reference, and its release. */
struct gmem_ref gmem_get(struct gmem *m);
void gmem_put(struct gmem *m, struct gmem_ref ref);

/*
 * The host address of [gpa, gpa + len) if the whole range lies inside one
 * region, else NULL (also for len 0: there is nothing to touch, and a
 * pointer one past a region's end is not a translation). Overflow-safe.
 * Only while a reference is held; the pointer is good until that
 * reference is put, never after.
 */
void *gmem_ptr(struct gmem *m, uint64_t gpa, uint64_t len);
/*
 * The host address of gpa and, in *n, how many of the len bytes from gpa
 * lie in its region (1..len): a range across adjacent regions is walked
 * piece by piece. NULL when gpa is in no region or len is 0. The caller
 * checks gpa + len for wrap-around. Same lifetime rule as gmem_ptr.
 */
void *gmem_span(struct gmem *m, uint64_t gpa, uint64_t len, uint64_t *n);

#endif

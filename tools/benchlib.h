/* What the benchmark tools share: the host's clock and a process's RSS. */
#ifndef EVMM_BENCHLIB_H
#define EVMM_BENCHLIB_H

#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds. */
double now_ms(void);
/* VmRSS of pid in KiB, or -1. */
long rss_kb(pid_t pid);
/* A field of /proc/PID/smaps_rollup in KiB ("AnonHugePages"), or -1. */
long rollup_kb(pid_t pid, const char *field);
/*
 * The VMM's own memory: the RSS of every mapping in /proc/PID/smaps except
 * guest RAM, in KiB, or -1. Guest RAM is matched by size, as Firecracker and
 * Cloud Hypervisor do: every mapping of GUEST_RAM_MIN or more (evmm's and
 * QEMU's RAM blocks and hotplug ranges are 128 MiB or more; malloc arenas,
 * stacks and binaries are far smaller).
 */
#define GUEST_RAM_MIN (128L << 20)
long overhead_kb(pid_t pid);

#endif

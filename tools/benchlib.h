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

#endif

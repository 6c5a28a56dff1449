/*
 * benchreport: make bench's raw runs → bench.json, bench.md and a chart.
 * A raw file DIR/PREFIX-{evmm,qemu}.txt has one run per line of key=value
 * tokens; the spec (tools/bench-spec.json) says which keys make which rows.
 * A row: file, key, label, unit; optional cfg (only lines with cfg=CFG),
 * target (on the ratio evmm/QEMU of the medians, met when the ratio is at
 * most the target, or at least it with "higher": true, for throughput),
 * ratio (false: no ratio), base (a row of the table evmm is compared to).
 */
#ifndef EVMM_BENCHREPORT_H
#define EVMM_BENCHREPORT_H

#include <stddef.h>

struct bench_stats {
	int n;
	double min, median, max;
};

/* The values of KEY in FILE's lines (only lines with cfg=CFG if CFG). */
int bench_stats_read(const char *file, const char *key, const char *cfg,
		     struct bench_stats *st);

struct benchreport_opts {
	const char **context;	/* "key=value", NULL-terminated; may be NULL */
	int chart;		/* also draw DIR/ratios.png with gnuplot */
};

/*
 * Writes DIR/bench.json, bench.md, ratios.dat and (o->chart) ratios.gp and
 * ratios.png. 0, or a negative errno with err saying what: -EINVAL only for
 * a bad spec (err names the table, the row and the field), -ENOENT when
 * gnuplot is missing (the JSON and Markdown are written then).
 */
int benchreport_run(const char *spec, const char *dir,
		    const struct benchreport_opts *o, char *err, size_t errlen);

#endif

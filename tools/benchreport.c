/*
 * benchreport: turns make bench's raw runs into bench.json, bench.md and a
 * gnuplot chart of the evmm/QEMU ratios (benchreport.h has the formats).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/benchreport.h"

extern char **environ;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define WS " \t\r\n\v\f"

/* The value of "key=" in a line of tokens, or NULL. */
static const char *token(const char *line, const char *key)
{
	size_t len = strlen(key);
	const char *p = line;

	while (*p) {
		p += strspn(p, WS);
		if (!strncmp(p, key, len) && p[len] == '=')
			return p + len + 1;
		p += strcspn(p, WS);
	}
	return NULL;
}

/* Only [-+]digits[.digits]: strtod alone would take "0x1f", "inf", "1e3". */
static int value_of(const char *t, double *x)
{
	size_t len = strcspn(t, WS), i = 0, digits;

	i += t[i] == '-' || t[i] == '+';
	digits = strspn(t + i, "0123456789");
	i += digits;
	if (t[i] == '.') {
		size_t frac = strspn(t + i + 1, "0123456789");

		digits += frac;
		i += 1 + frac;
	}
	if (!digits || i != len)
		return -EINVAL;
	*x = strtod(t, NULL);
	return 0;
}

static int cfg_matches(const char *line, const char *cfg)
{
	const char *v = token(line, "cfg");
	size_t len;

	if (!cfg)
		return 1;
	len = strlen(cfg);
	return v && !strncmp(v, cfg, len) && (!v[len] || strchr(WS, v[len]));
}

static void stats_of(double *v, int n, struct bench_stats *st)
{
	qsort(v, n, sizeof(*v), cmp_double);
	st->n = n;
	st->min = v[0];
	st->max = v[n - 1];
	st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_stats_read(const char *file, const char *key, const char *cfg,
		     struct bench_stats *st)
{
	double *v = NULL, *nv, x;
	char *line = NULL;
	size_t linecap = 0;
	const char *t;
	int n = 0, cap = 0, ret = 0;
	FILE *f;

	memset(st, 0, sizeof(*st));
	f = fopen(file, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &linecap, f) >= 0) {
		t = token(line, key);
		if (!t || !cfg_matches(line, cfg) || value_of(t, &x))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[n++] = x;
	}
	if (n)
		stats_of(v, n, st);
out:
	fclose(f);
	free(line);
	free(v);
	return ret;
}

/* --- the spec ---------------------------------------------------------- */

static int spec_err(char *err, size_t errlen, size_t t, long r,
		    const char *field, const char *want)
{
	if (r < 0)
		snprintf(err, errlen, "spec: table %zu: \"%s\" must be %s", t,
			 field, want);
	else
		snprintf(err, errlen, "spec: table %zu row %ld: \"%s\" must be "
			 "%s", t, r, field, want);
	return -EINVAL;
}

static int spec_check_row(json_t *row, size_t t, size_t r, size_t nrows,
			  char *err, size_t errlen)
{
	static const char *const strs[] = { "file", "key", "label", "unit" };
	json_t *v;
	size_t i;

	if (!json_is_object(row))
		return spec_err(err, errlen, t, r, "rows[]", "an object");
	for (i = 0; i < 4; i++)
		if (!json_is_string(json_object_get(row, strs[i])))
			return spec_err(err, errlen, t, r, strs[i], "a string");
	v = json_object_get(row, "cfg");
	if (v && !json_is_string(v))
		return spec_err(err, errlen, t, r, "cfg", "a string");
	v = json_object_get(row, "target");
	if (v && !json_is_number(v))
		return spec_err(err, errlen, t, r, "target", "a number");
	v = json_object_get(row, "ratio");
	if (v && !json_is_boolean(v))
		return spec_err(err, errlen, t, r, "ratio", "true or false");
	v = json_object_get(row, "higher");
	if (v && !json_is_boolean(v))
		return spec_err(err, errlen, t, r, "higher", "true or false");
	v = json_object_get(row, "base");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		  (size_t)json_integer_value(v) >= nrows))
		return spec_err(err, errlen, t, r, "base",
				"the index of a row in the same table");
	return 0;
}

static int spec_check_note(json_t *note, size_t t, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	if (!note)
		return 0;
	if (!json_is_array(note))
		return spec_err(err, errlen, t, -1, "note",
				"an array of strings");
	json_array_foreach(note, i, v)
		if (!json_is_string(v))
			return spec_err(err, errlen, t, -1, "note[]",
					"a string");
	return 0;
}

static int spec_check(json_t *spec, char *err, size_t errlen)
{
	json_t *tables = json_object_get(spec, "tables"), *tab, *rows, *v;
	size_t t, r;
	int ret;

	if (!json_is_array(tables)) {
		snprintf(err, errlen, "spec: \"tables\" must be an array");
		return -EINVAL;
	}
	json_array_foreach(tables, t, tab) {
		if (!json_is_object(tab))
			return spec_err(err, errlen, t, -1, "tables[]", "an object");
		if (!json_is_string(json_object_get(tab, "id")))
			return spec_err(err, errlen, t, -1, "id", "a string");
		if (!json_is_string(json_object_get(tab, "title")))
			return spec_err(err, errlen, t, -1, "title", "a string");
		if (!json_is_string(json_object_get(tab, "peer")))
			return spec_err(err, errlen, t, -1, "peer", "a string");
		ret = spec_check_note(json_object_get(tab, "note"), t, err,
				      errlen);
		if (ret)
			return ret;
		rows = json_object_get(tab, "rows");
		if (!json_is_array(rows))
			return spec_err(err, errlen, t, -1, "rows", "an array");
		json_array_foreach(rows, r, v) {
			ret = spec_check_row(v, t, r, json_array_size(rows),
					     err, errlen);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* --- one row ----------------------------------------------------------- */

struct row {
	const char *label, *unit, *cfg;
	struct bench_stats evmm, qemu;
	double ratio, target, vs_base;	/* NAN: none */
	int want_ratio;			/* "ratio", true if absent */
	int higher;			/* higher is better (throughput) */
};

/* Lower is better (times, memory) unless the row says "higher". */
static int target_met(const struct row *r)
{
	return r->higher ? r->ratio >= r->target : r->ratio <= r->target;
}

static const char *target_op(const struct row *r)
{
	return r->higher ? "≥" : "≤";
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int row_read(const char *dir, json_t *spec, struct row *r)
{
	char path[4096];
	json_t *v;
	int ret;

	r->label = str(spec, "label");
	r->unit = str(spec, "unit");
	r->cfg = str(spec, "cfg");
	snprintf(path, sizeof(path), "%s/%s-evmm.txt", dir, str(spec, "file"));
	ret = bench_stats_read(path, str(spec, "key"), r->cfg, &r->evmm);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s-qemu.txt", dir, str(spec, "file"));
	ret = bench_stats_read(path, str(spec, "key"), r->cfg, &r->qemu);
	if (ret)
		return ret;
	v = json_object_get(spec, "ratio");
	r->want_ratio = !v || json_is_true(v);
	r->higher = json_is_true(json_object_get(spec, "higher"));
	r->ratio = NAN;
	if (r->evmm.n && r->qemu.n && r->qemu.median != 0 && r->want_ratio)
		r->ratio = r->evmm.median / r->qemu.median;
	v = json_object_get(spec, "target");
	r->target = v ? json_number_value(v) : NAN;
	r->vs_base = NAN;
	return 0;
}

static json_t *num(double x)
{
	if (isnan(x))
		return json_null();
	if (x == floor(x) && fabs(x) < 1e15)
		return json_integer((json_int_t)x);
	return json_real(x);
}

static json_t *stats_json(const struct bench_stats *st)
{
	if (!st->n)
		return json_null();
	return json_pack("{s:i, s:o, s:o, s:o}", "n", st->n, "min",
			 num(st->min), "median", num(st->median), "max",
			 num(st->max));
}

static json_t *row_json(const struct row *r, json_t *spec)
{
	json_t *j = json_pack("{s:s, s:s, s:O, s:O, s:o, s:o, s:o, s:o, s:o}",
			      "label", r->label, "unit", r->unit,
			      "file", json_object_get(spec, "file"),
			      "key", json_object_get(spec, "key"),
			      "evmm", stats_json(&r->evmm),
			      "qemu", stats_json(&r->qemu),
			      "ratio", num(r->ratio), "target", num(r->target),
			      "vs_base", num(r->vs_base));

	if (j && r->cfg)
		json_object_set_new(j, "cfg", json_string(r->cfg));
	if (j)
		json_object_set_new(j, "met",
				    isnan(r->ratio) || isnan(r->target) ?
				    json_null() : json_boolean(target_met(r)));
	if (j)
		json_object_set_new(j, "higher", json_boolean(r->higher));
	return j;
}

/* --- Markdown ---------------------------------------------------------- */

static void md_num(FILE *f, double x)
{
	if (x == floor(x) && fabs(x) < 1e15)
		fprintf(f, "%.0f", x);
	else
		fprintf(f, "%.1f", x);
}

static void md_stats(FILE *f, const struct bench_stats *st)
{
	if (!st->n) {
		fputs(" n/a |", f);
		return;
	}
	fputc(' ', f);
	md_num(f, st->min);
	fputs(" / ", f);
	md_num(f, st->median);
	fputs(" / ", f);
	md_num(f, st->max);
	fputs(" |", f);
}

static void md_row(FILE *f, const struct row *r)
{
	fprintf(f, "| %s (%s", r->label, r->unit);
	if (!isnan(r->vs_base))
		fprintf(f, ", ×%.2f", r->vs_base);
	fputs(") |", f);
	md_stats(f, &r->evmm);
	md_stats(f, &r->qemu);
	if (!r->want_ratio)
		fputs(" - |", f);
	else if (isnan(r->ratio))
		fputs(" n/a |", f);
	else
		fprintf(f, " %.2f |", r->ratio);
	if (isnan(r->target))
		fputs(" |\n", f);
	else if (isnan(r->ratio))
		fprintf(f, " %s %g |\n", target_op(r), r->target);
	else
		fprintf(f, " %s %g %s |\n", target_op(r), r->target,
			target_met(r) ? "✓" : "✗");
}

static void md_table_head(FILE *f, json_t *tab)
{
	fprintf(f, "| %s | evmm min / median / max | %s min / median / max "
		"| evmm/%s (median) | target |\n|---|---|---|---|---|\n",
		str(tab, "title"), str(tab, "peer"), str(tab, "peer"));
}

/* --- the chart --------------------------------------------------------- */

struct out {
	FILE *md, *dat, *sum;
	json_t *tables;
	int chart_rows;
	double lo, hi;		/* span of the ratios, targets and 1 */
};

/* A log axis cannot show a ratio of 0 or less: such rows stay off it. */
static void chart_row(struct out *o, json_t *tab, const struct row *r)
{
	if (isnan(r->ratio) || r->ratio <= 0)
		return;
	fprintf(o->dat, "%s: %s%s\t%g\t", str(tab, "id"), r->label,
		r->higher ? " [higher is better]" : "", r->ratio);
	o->lo = fmin(o->lo, r->ratio);
	o->hi = fmax(o->hi, r->ratio);
	if (isnan(r->target) || r->target <= 0) {
		fputs("-\n", o->dat);
	} else {
		fprintf(o->dat, "%g\n", r->target);
		o->lo = fmin(o->lo, r->target);
		o->hi = fmax(o->hi, r->target);
	}
	o->chart_rows++;
}

/* DIR/NAME as a gnuplot string: inside single quotes, ' is written ''. */
static void gp_path(FILE *f, const char *dir, const char *name)
{
	const char *s;

	fputc('\'', f);
	for (s = dir; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fprintf(f, "/%s'", name);
}

static void chart_script(FILE *f, const char *dir, const struct out *o)
{
	/* Whole powers of 2 around the data, with room for the value labels. */
	double lo = exp2(floor(log2(o->lo / 2)));
	double hi = exp2(ceil(log2(o->hi * 1.6)));
	int h = 160 + 22 * o->chart_rows;

	fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		"\tset terminal pngcairo size 1200,%d font ',10'\n"
		"} else {\n\tset terminal png size 1200,%d font ',9'\n}\n"
		"set termoption noenhanced\nset output ", h, h);
	gp_path(f, dir, "ratios.png");
	fprintf(f, "\nset title 'evmm / QEMU, ratio of the medians (better: "
		"left of 1; right for [higher is better])'\n"
		"set datafile separator '\\t'\nset datafile missing '-'\n"
		"set logscale x 2\nset format x '%%.3g'\nset xrange [%g:%g]\n"
		"set yrange [%d:-1]\nset ytics nomirror\nset grid xtics\n"
		"set key below center horizontal reverse Left samplen 2\n"
		"set style fill solid 0.5\n"
		"set arrow from 1, graph 0 to 1, graph 1 nohead lw 2\n"
		"plot ", lo, hi, o->chart_rows);
	gp_path(f, dir, "ratios.dat");
	/* Bars from the axis' left end, targets as red marks across them. */
	fprintf(f, " using (sqrt($2 * %g)):0:(%g):2:($0 - 0.35):($0 + 0.35):"
		"ytic(1) \\\n\twith boxxyerror lc rgb '#4477aa' "
		"title 'evmm/QEMU, medians', \\\n"
		"\t'' using 3:($0 - 0.45):(0):(0.9) with vectors nohead lw 3 "
		"lc rgb '#cc3311' title 'target (met when the bar ends left "
		"of it, or right of it where higher is better)', \\\n"
		"\t'' using ((valid(3) && $3 > $2) ? $3 : $2):0:"
		"(sprintf('%%.2f', $2)) with labels left offset 0.6,0 "
		"notitle\n", lo, lo);
}

static int chart_run(const char *gp, char *err, size_t errlen)
{
	char *argv[] = { "gnuplot", (char *)gp, NULL };
	pid_t pid;
	int st, ret;

	ret = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (!ret) {
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return -errno;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			return 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			ret = ENOENT;
	}
	if (ret == ENOENT) {
		snprintf(err, errlen, "gnuplot not found: install gnuplot-nox "
			 "(make deps)");
		return -ENOENT;
	}
	snprintf(err, errlen, "gnuplot %s failed", gp);
	return -EIO;
}

static int chart_draw(const char *dir, const struct out *o, char *err,
		      size_t errlen)
{
	char gp[4096];
	FILE *f;

	/* Never a stale chart beside new numbers. */
	snprintf(gp, sizeof(gp), "%s/ratios.png", dir);
	unlink(gp);
	if (!o->chart_rows)
		return 0;
	snprintf(gp, sizeof(gp), "%s/ratios.gp", dir);
	f = fopen(gp, "we");
	if (!f)
		goto fail;
	chart_script(f, dir, o);
	if (fclose(f))
		goto fail;
	return chart_run(gp, err, errlen);
fail:
	snprintf(err, errlen, "%s: cannot write", gp);
	return -EIO;
}

/* --- the whole report -------------------------------------------------- */

static void summary_row(FILE *f, json_t *tab, const struct row *r)
{
	if (isnan(r->target))
		return;
	fprintf(f, "- %s, %s: ", str(tab, "id"), r->label);
	if (isnan(r->ratio))
		fprintf(f, "n/a, target %s %g: not measured\n", target_op(r),
			r->target);
	else
		fprintf(f, "%.2f, target %s %g: %s\n", r->ratio, target_op(r),
			r->target, target_met(r) ? "met" : "missed");
}

static void md_table(struct out *o, json_t *tab, const struct row *r,
		     size_t n)
{
	json_t *v;
	size_t i;

	md_table_head(o->md, tab);
	for (i = 0; i < n; i++) {
		md_row(o->md, &r[i]);
		chart_row(o, tab, &r[i]);
	}
	fputc('\n', o->md);
	json_array_foreach(json_object_get(tab, "note"), i, v)
		fprintf(o->md, "%s\n", json_string_value(v));
	fputc('\n', o->md);
}

static int table_report(const char *dir, json_t *tab, struct out *o)
{
	json_t *rows = json_object_get(tab, "rows"), *note, *spec, *jrows, *v;
	size_t n = json_array_size(rows), i, b;
	struct row *r = calloc(n ? n : 1, sizeof(*r));
	int ret = 0, data = 0;

	jrows = json_array();
	if (!r || !jrows) {
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(rows, i, spec) {
		ret = row_read(dir, spec, &r[i]);
		if (ret)
			goto out;
		data |= r[i].evmm.n || r[i].qemu.n;
	}
	json_array_foreach(rows, i, spec) {
		v = json_object_get(spec, "base");
		b = v ? (size_t)json_integer_value(v) : i;
		if (v && r[i].evmm.n && r[b].evmm.n && r[b].evmm.median != 0)
			r[i].vs_base = r[i].evmm.median / r[b].evmm.median;
		json_array_append_new(jrows, row_json(&r[i], spec));
		summary_row(o->sum, tab, &r[i]);
	}
	note = json_object_get(tab, "note");
	json_array_append_new(o->tables, json_pack("{s:O, s:O, s:O, s:o, s:O}",
		"id", json_object_get(tab, "id"),
		"title", json_object_get(tab, "title"),
		"peer", json_object_get(tab, "peer"),
		"note", note ? json_incref(note) : json_array(),
		"rows", jrows));
	/* A part that did not run makes no empty table. */
	if (data)
		md_table(o, tab, r, n);
out:
	json_decref(jrows);
	free(r);
	return ret;
}

static json_t *doc_json(const struct benchreport_opts *o, json_t *tables)
{
	json_t *c = json_object();
	char stamp[32];
	time_t now = time(NULL);
	const char **p;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (p = o && o->context ? o->context : NULL; c && p && *p; p++) {
		const char *eq = strchr(*p, '=');
		char *key;

		if (!eq)
			continue;
		key = strndup(*p, eq - *p);
		if (key)
			json_object_set_new(c, key, json_string(eq + 1));
		free(key);
	}
	return json_pack("{s:s, s:o, s:O}", "generated", stamp, "context", c,
			 "tables", tables);
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, "we");
}

static int write_json(json_t *doc, const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	return json_dump_file(doc, path, JSON_INDENT(1) | JSON_SORT_KEYS);
}

/* Closes bench.md and ratios.dat: 0, or -EIO if a write failed. */
static int out_close(struct out *o)
{
	int ret = 0;

	if (o->md && fclose(o->md))
		ret = -EIO;
	if (o->dat && fclose(o->dat))
		ret = -EIO;
	if (o->sum)
		fclose(o->sum);
	o->md = o->dat = o->sum = NULL;
	return ret;
}

static int report_write(json_t *spec, const char *dir,
			const struct benchreport_opts *opts, struct out *o,
			char *err, size_t errlen)
{
	char *summary = NULL;
	size_t sumlen = 0, t;
	json_t *tab, *doc;
	int ret = 0;

	o->sum = open_memstream(&summary, &sumlen);
	if (!o->sum) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(json_object_get(spec, "tables"), t, tab) {
		ret = table_report(dir, tab, o);
		if (ret) {
			snprintf(err, errlen, "reading %s: %s", dir,
				 strerror(-ret));
			goto out;
		}
	}
	fclose(o->sum);
	o->sum = NULL;
	if (sumlen)
		fprintf(o->md, "Targets (ratios of the medians):\n\n%s",
			summary);
	ret = out_close(o);
	doc = doc_json(opts, o->tables);
	if (ret || !doc || write_json(doc, dir)) {
		snprintf(err, errlen, "%s: cannot write the report", dir);
		ret = -EIO;
	}
	json_decref(doc);
out:
	if (o->sum)
		fclose(o->sum);		/* before its buffer is freed */
	o->sum = NULL;
	free(summary);
	return ret;
}

int benchreport_run(const char *spec_path, const char *dir,
		    const struct benchreport_opts *opts, char *err,
		    size_t errlen)
{
	struct out o = { .lo = 1, .hi = 1 };
	json_error_t jerr;
	json_t *spec;
	int ret;

	spec = json_load_file(spec_path, 0, &jerr);
	if (!spec) {
		snprintf(err, errlen, "spec: %s: line %d: %s", spec_path,
			 jerr.line, jerr.text);
		return -EINVAL;
	}
	ret = spec_check(spec, err, errlen);
	if (ret)
		goto out;
	o.tables = json_array();
	o.md = open_in(dir, "bench.md");
	o.dat = open_in(dir, "ratios.dat");
	if (!o.tables || !o.md || !o.dat) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		ret = -EIO;	/* not -EINVAL: that says the spec is bad */
		goto out;
	}
	ret = report_write(spec, dir, opts, &o, err, errlen);
	/* The chart last: without gnuplot, the numbers are written already. */
	if (!ret && opts && opts->chart)
		ret = chart_draw(dir, &o, err, errlen);
out:
	out_close(&o);
	json_decref(o.tables);
	json_decref(spec);
	return ret;
}

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

#include "tools/benchreport.h"

extern char **environ;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The value of "key=" in a line of tokens, or NULL. */
static const char *token(const char *line, const char *key)
{
	size_t len = strlen(key);
	const char *p = line;

	while (*p) {
		p += strspn(p, " \t\n");
		if (!strncmp(p, key, len) && p[len] == '=')
			return p + len + 1;
		p += strcspn(p, " \t\n");
	}
	return NULL;
}

static int cfg_matches(const char *line, const char *cfg)
{
	const char *v = token(line, "cfg");
	size_t len;

	if (!cfg)
		return 1;
	len = strlen(cfg);
	return v && !strncmp(v, cfg, len) && strchr(" \t\n", v[len]);
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
	double *v = NULL, *nv;
	char line[4096], *end;
	const char *t;
	int n = 0, cap = 0;
	FILE *f;

	memset(st, 0, sizeof(*st));
	f = fopen(file, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		t = token(line, key);
		if (!t || !cfg_matches(line, cfg))
			continue;
		double x = strtod(t, &end);
		if (end == t || !strchr(" \t\n", *end) || !isfinite(x))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = x;
	}
	fclose(f);
	if (n)
		stats_of(v, n, st);
	free(v);
	return 0;
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
	v = json_object_get(row, "base");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		  (size_t)json_integer_value(v) >= nrows))
		return spec_err(err, errlen, t, r, "base",
				"the index of a row in the same table");
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
		v = json_object_get(tab, "note");
		if (v && !json_is_array(v))
			return spec_err(err, errlen, t, -1, "note",
					"an array of strings");
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
};

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
	r->ratio = NAN;
	if (r->evmm.n && r->qemu.n && r->qemu.median != 0 &&
	    (!v || json_is_true(v)))
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
		json_object_set_new(j, "met", isnan(r->ratio) || isnan(r->target)
				    ? json_null()
				    : json_boolean(r->ratio <= r->target));
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

static void md_row(FILE *f, const struct row *r, int ratio_wanted)
{
	fprintf(f, "| %s (%s", r->label, r->unit);
	if (!isnan(r->vs_base))
		fprintf(f, ", ×%.2f", r->vs_base);
	fputs(") |", f);
	md_stats(f, &r->evmm);
	md_stats(f, &r->qemu);
	if (!ratio_wanted)
		fputs(" - |", f);
	else if (isnan(r->ratio))
		fputs(" n/a |", f);
	else
		fprintf(f, " %.2f |", r->ratio);
	if (isnan(r->target))
		fputs(" |\n", f);
	else if (isnan(r->ratio))
		fprintf(f, " ≤ %g |\n", r->target);
	else
		fprintf(f, " ≤ %g %s |\n", r->target,
			r->ratio <= r->target ? "✓" : "✗");
}

static void md_table_head(FILE *f, json_t *tab)
{
	fprintf(f, "| %s | evmm min / median / max | %s min / median / max "
		"| evmm/%s (median) | target |\n|---|---|---|---|---|\n",
		str(tab, "title"), str(tab, "peer"), str(tab, "peer"));
}

/* --- the chart --------------------------------------------------------- */

static void chart_row(FILE *dat, json_t *tab, const struct row *r)
{
	if (isnan(r->ratio))
		return;
	fprintf(dat, "%s: %s%s%s\t%g\t", str(tab, "id"), r->label,
		r->cfg ? " " : "", r->cfg ? r->cfg : "", r->ratio);
	if (isnan(r->target))
		fputs("-\n", dat);
	else
		fprintf(dat, "%g\n", r->target);
}

static int chart_draw(const char *dir, int rows, char *err, size_t errlen)
{
	char gp[4096], *argv[] = { "gnuplot", gp, NULL };
	pid_t pid;
	int st, ret;
	FILE *f;

	snprintf(gp, sizeof(gp), "%s/ratios.gp", dir);
	f = fopen(gp, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"set terminal pngcairo size 1200,%d font ',10'\n"
		"set output '%s/ratios.png'\n"
		"set title 'evmm / QEMU, medians (left of 1: evmm is smaller "
		"or faster); dots: targets'\n"
		"set datafile separator '\\t'\nset datafile missing '-'\n"
		"set logscale x 2\nset xrange [0.03:4]\nset yrange [%d:-1]\n"
		"set ytics nomirror font ',9'\nset grid xtics\nunset key\n"
		"set style fill solid 0.5\n"
		"set arrow from 1, graph 0 to 1, graph 1 nohead lw 2\n"
		"plot '%s/ratios.dat' using (sqrt($2 * 0.03)):0:(0.03):2:"
		"($0 - 0.35):($0 + 0.35):ytic(1) with boxxyerror lc rgb "
		"'#4477aa', '' using 3:0 with points pt 7 ps 1.2 lc rgb "
		"'#cc3311'\n", 160 + 22 * rows, dir, rows, dir);
	fclose(f);
	ret = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (!ret && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0)
		return 0;
	if (ret == ENOENT || (!ret && WIFEXITED(st) && WEXITSTATUS(st) == 127))
		snprintf(err, errlen, "gnuplot not found: install gnuplot-nox "
			 "(make deps)");
	else
		snprintf(err, errlen, "gnuplot %s failed", gp);
	return -ENOENT;
}

/* --- the whole report -------------------------------------------------- */

struct out {
	FILE *md, *dat, *sum;
	json_t *tables;
	int chart_rows;
};

static int table_report(const char *dir, json_t *tab, struct out *o)
{
	json_t *rows = json_object_get(tab, "rows"), *spec, *jrows, *v;
	size_t n = json_array_size(rows), i;
	struct row *r = calloc(n ? n : 1, sizeof(*r));
	int ret = 0, data = 0;

	jrows = json_array();
	if (!r || !jrows) {
		free(r);
		json_decref(jrows);
		return -ENOMEM;
	}
	json_array_foreach(rows, i, spec) {
		ret = row_read(dir, spec, &r[i]);
		if (ret)
			goto out;
		data |= r[i].evmm.n || r[i].qemu.n;
	}
	json_array_foreach(rows, i, spec) {
		v = json_object_get(spec, "base");
		if (v && r[i].evmm.n && r[json_integer_value(v)].evmm.n) {
			r[i].vs_base = r[i].evmm.median /
				       r[json_integer_value(v)].evmm.median;
		}
		json_array_append_new(jrows, row_json(&r[i], spec));
	}
	json_array_append_new(o->tables, json_pack("{s:O, s:O, s:O, s:O, s:O}",
		"id", json_object_get(tab, "id"),
		"title", json_object_get(tab, "title"),
		"peer", json_object_get(tab, "peer"),
		"note", json_object_get(tab, "note") ?: json_array(),
		"rows", jrows));
	if (!data)
		goto out;
	md_table_head(o->md, tab);
	json_array_foreach(rows, i, spec) {
		v = json_object_get(spec, "ratio");
		md_row(o->md, &r[i], !v || json_is_true(v));
		chart_row(o->dat, tab, &r[i]);
		o->chart_rows += !isnan(r[i].ratio);
		if (!isnan(r[i].target) && !isnan(r[i].ratio))
			fprintf(o->sum, "- %s, %s: %.2f, target ≤ %g: %s\n",
				str(tab, "id"), r[i].label, r[i].ratio,
				r[i].target, r[i].ratio <= r[i].target ?
				"met" : "missed");
	}
	fputc('\n', o->md);
	json_array_foreach(json_object_get(tab, "note"), i, v)
		fprintf(o->md, "%s\n", json_string_value(v) ?: "");
	fputc('\n', o->md);
out:
	json_decref(jrows);
	free(r);
	return ret;
}

static json_t *context_json(const struct benchreport_opts *o)
{
	json_t *c = json_object();
	char stamp[32];
	time_t now = time(NULL);
	const char **p;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_set_new(c, "generated", json_string(stamp));
	for (p = o && o->context ? o->context : NULL; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		char *key;

		if (!eq)
			continue;
		key = strndup(*p, eq - *p);
		if (key)
			json_object_set_new(c, key, json_string(eq + 1));
		free(key);
	}
	return c;
}

static FILE *open_in(const char *dir, const char *name, const char *mode)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, mode);
}

static int write_json(json_t *doc, const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/bench.json", dir);
	return json_dump_file(doc, path, JSON_INDENT(1) | JSON_SORT_KEYS);
}

int benchreport_run(const char *spec_path, const char *dir,
		    const struct benchreport_opts *opts, char *err,
		    size_t errlen)
{
	struct out o = { 0 };
	char *summary = NULL;
	size_t sumlen = 0;
	json_t *spec, *tab, *doc = NULL;
	json_error_t jerr;
	size_t t;
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
	o.md = open_in(dir, "bench.md", "we");
	o.dat = open_in(dir, "ratios.dat", "we");
	o.sum = open_memstream(&summary, &sumlen);
	if (!o.tables || !o.md || !o.dat || !o.sum) {
		ret = -errno ?: -ENOMEM;
		snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
		goto out;
	}
	json_array_foreach(json_object_get(spec, "tables"), t, tab) {
		ret = table_report(dir, tab, &o);
		if (ret) {
			snprintf(err, errlen, "reading %s: %s", dir,
				 strerror(-ret));
			goto out;
		}
	}
	fclose(o.sum);
	o.sum = NULL;
	fprintf(o.md, "Targets (ratios of the medians):\n\n%s", summary ?: "");
	doc = json_pack("{s:o, s:O}", "context", context_json(opts),
			"tables", o.tables);
	if (!doc || write_json(doc, dir)) {
		snprintf(err, errlen, "%s/bench.json: cannot write", dir);
		ret = -EIO;
		goto out;
	}
	fclose(o.dat);
	o.dat = NULL;
	ret = 0;
	if (opts && opts->chart)
		ret = chart_draw(dir, o.chart_rows, err, errlen);
out:
	if (o.md)
		fclose(o.md);
	if (o.dat)
		fclose(o.dat);
	if (o.sum)
		fclose(o.sum);
	free(summary);
	json_decref(o.tables);
	json_decref(doc);
	json_decref(spec);
	return ret;
}

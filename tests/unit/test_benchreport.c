/*
 * benchreport: statistics of raw bench runs, the spec's checks, and the
 * JSON and Markdown it writes (no chart: the tests need no gnuplot).
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/benchreport.h"

static char dir[64], err[512];

static void setup(void)
{
	strcpy(dir, "/tmp/evmm-benchreport-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	err[0] = 0;
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int run_chart(const char *spec, int chart)
{
	struct benchreport_opts o = { .context = (const char *[]){
		"host=test", "runs=5", NULL }, .chart = chart };

	put("spec.json", spec);
	return benchreport_run(path_of("spec.json"), dir, &o, err,
			       sizeof(err));
}

static int run(const char *spec)
{
	return run_chart(spec, 0);
}

static char *slurp(const char *name)
{
	static char buf[16384];
	size_t n;
	FILE *f = fopen(path_of(name), "r");

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

START_TEST(stats_odd_even_decimals)
{
	struct bench_stats st;

	put("a.txt", "ms=30 x=1\nms=10\nnoise ms=20\n");
	ck_assert_int_eq(bench_stats_read(path_of("a.txt"), "ms", NULL, &st), 0);
	ck_assert_int_eq(st.n, 3);
	ck_assert(st.min == 10 && st.median == 20 && st.max == 30);
	put("b.txt", "v=-1.5\nv=2.5\nv=0.5 w=9\nv=1.5\n");
	ck_assert_int_eq(bench_stats_read(path_of("b.txt"), "v", NULL, &st), 0);
	ck_assert_int_eq(st.n, 4);
	ck_assert(st.min == -1.5 && st.median == 1.0 && st.max == 2.5);
}
END_TEST

/* Odd count of negatives; CRLF lines; a line longer than any buffer. */
START_TEST(stats_negative_crlf_long)
{
	struct bench_stats st;
	char *line = malloc(10000);

	ck_assert_ptr_nonnull(line);
	memset(line, 'x', 9990);
	strcpy(line + 9990, " v=-2\n");
	put("n.txt", "v=-3\r\nv=-1 \r\n");
	put("long.txt", line);
	free(line);
	ck_assert_int_eq(bench_stats_read(path_of("n.txt"), "v", NULL, &st), 0);
	ck_assert_int_eq(st.n, 2);
	ck_assert(st.min == -3 && st.median == -2 && st.max == -1);
	ck_assert_int_eq(bench_stats_read(path_of("long.txt"), "v", NULL, &st),
			 0);
	ck_assert_int_eq(st.n, 1);
	ck_assert(st.median == -2);
}
END_TEST

/* Only integers and decimals are values; what strtod also takes is not. */
START_TEST(stats_strict_numbers)
{
	struct bench_stats st;

	put("s.txt", "v=0x10\nv=1e3\nv=inf\nv=nan\nv=12abc\nv=-\nv=\n"
		     "v=1.5.2\nv=+4\nv=.5\nv=7.\n");
	ck_assert_int_eq(bench_stats_read(path_of("s.txt"), "v", NULL, &st), 0);
	ck_assert_int_eq(st.n, 3);
	ck_assert(st.min == 0.5 && st.median == 4 && st.max == 7);
}
END_TEST

/* Bad values, other keys' prefixes and other cfgs do not count. */
START_TEST(stats_filters)
{
	struct bench_stats st;

	put("c.txt", "cfg=max8 ms=5\ncfg=max1 ms=7\ncfg=max64 ms=9\n"
		     "cfg=max1 ms=oops\nxms=100\ncfg=max1 ms=3\n");
	ck_assert_int_eq(bench_stats_read(path_of("c.txt"), "ms", "max1", &st),
			 0);
	ck_assert_int_eq(st.n, 2);
	ck_assert(st.min == 3 && st.max == 7);
	ck_assert_int_eq(bench_stats_read(path_of("c.txt"), "ms", NULL, &st), 0);
	ck_assert_int_eq(st.n, 4);
	ck_assert_int_eq(bench_stats_read(path_of("none.txt"), "ms", NULL, &st),
			 0);
	ck_assert_int_eq(st.n, 0);
}
END_TEST

#define SPEC_HEAD "{\"tables\":[{\"id\":\"boot\",\"title\":\"boot\"," \
		  "\"peer\":\"QEMU\",\"note\":[\"a note\"],\"rows\":["

START_TEST(report_json_and_markdown)
{
	json_t *j, *rows, *r;
	char *md;

	put("boot-evmm.txt", "ms=70 kb=5\nms=72 kb=4\nms=71 kb=6\n");
	put("boot-qemu.txt", "ms=100 kb=50\nms=80 kb=60\nms=90 kb=55\n");
	ck_assert_int_eq(run(SPEC_HEAD
		"{\"file\":\"boot\",\"key\":\"ms\",\"label\":\"boot\","
		"\"unit\":\"ms\",\"target\":0.75},"
		"{\"file\":\"boot\",\"key\":\"kb\",\"label\":\"rss\","
		"\"unit\":\"KiB\",\"target\":0.1},"
		"{\"file\":\"boot\",\"key\":\"kb\",\"label\":\"raw\","
		"\"unit\":\"KiB\",\"ratio\":false,\"base\":1},"
		"{\"file\":\"gone\",\"key\":\"ms\",\"label\":\"none\","
		"\"unit\":\"ms\"}]}]}"), 0);
	j = json_load_file(path_of("bench.json"), 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_object_get(j, "context"), "host")), "test");
	ck_assert_str_eq(json_string_value(json_object_get(
		json_object_get(j, "context"), "runs")), "5");
	ck_assert_int_eq(strlen(json_string_value(json_object_get(j,
		"generated"))), strlen("2026-01-01T00:00:00Z"));
	ck_assert_ptr_nonnull(strchr(json_string_value(json_object_get(j,
		"generated")), 'T'));
	rows = json_object_get(json_array_get(json_object_get(j, "tables"), 0),
			       "rows");
	r = json_array_get(rows, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(r, "evmm"), "median")), 71);
	ck_assert(json_number_value(json_object_get(r, "ratio")) > 0.788 &&
		  json_number_value(json_object_get(r, "ratio")) < 0.79);
	ck_assert(json_is_false(json_object_get(r, "met")));
	ck_assert(json_is_integer(json_object_get(r, "target")) == 0);
	ck_assert_ptr_null(json_object_get(r, "cfg"));
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(r, "qemu"), "n")), 3);
	r = json_array_get(rows, 1);
	ck_assert(json_is_true(json_object_get(r, "met")));
	r = json_array_get(rows, 2);
	ck_assert(json_is_null(json_object_get(r, "ratio")));
	ck_assert(json_is_null(json_object_get(r, "met")));
	ck_assert(json_number_value(json_object_get(r, "vs_base")) == 1.0);
	r = json_array_get(rows, 3);
	ck_assert(json_is_null(json_object_get(r, "evmm")));
	ck_assert(json_is_null(json_object_get(r, "qemu")));
	json_decref(j);
	md = slurp("bench.md");
	ck_assert_ptr_nonnull(strstr(md, "| boot (ms) | 70 / 71 / 72 | 80 / 90 "
				     "/ 100 | 0.79 | ≤ 0.75 ✗ |\n"));
	ck_assert_ptr_nonnull(strstr(md, "| rss (KiB) | 4 / 5 / 6 | 50 / 55 / "
				     "60 | 0.09 | ≤ 0.1 ✓ |\n"));
	ck_assert_ptr_nonnull(strstr(md, "| raw (KiB, ×1.00) |"));
	ck_assert_ptr_nonnull(strstr(md, "| none (ms) | n/a | n/a | n/a | |"));
	ck_assert_ptr_nonnull(strstr(md, "\na note\n"));
	ck_assert_ptr_nonnull(strstr(md, "- boot, boot: 0.79, target ≤ 0.75: "
				     "missed\n"));
	ck_assert_ptr_nonnull(strstr(slurp("ratios.dat"), "boot: rss\t"));
	ck_assert_ptr_null(strstr(slurp("ratios.dat"), "boot: raw"));
}
END_TEST

/* The cost-of-growing shape: one file, a row per cfg, each against row 0. */
START_TEST(report_cfg_and_vs_base)
{
	json_t *j, *rows, *r;
	char *md;

	put("grow-evmm.txt", "cfg=c1 ms=100\ncfg=c8 ms=103\ncfg=c1 ms=102\n"
			     "cfg=c8 ms=105\nms=999\n");
	put("grow-qemu.txt", "cfg=c1 ms=200\ncfg=c8 ms=210.5\n");
	ck_assert_int_eq(run(SPEC_HEAD
		"{\"file\":\"grow\",\"key\":\"ms\",\"cfg\":\"c1\","
		"\"label\":\"one\",\"unit\":\"ms\",\"base\":0},"
		"{\"file\":\"grow\",\"key\":\"ms\",\"cfg\":\"c8\","
		"\"label\":\"eight\",\"unit\":\"ms\",\"base\":0}]}]}"), 0);
	j = json_load_file(path_of("bench.json"), 0, NULL);
	ck_assert_ptr_nonnull(j);
	rows = json_object_get(json_array_get(json_object_get(j, "tables"), 0),
			       "rows");
	r = json_array_get(rows, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "cfg")), "c1");
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(r, "evmm"), "n")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(r, "evmm"), "median")), 101);
	r = json_array_get(rows, 1);
	ck_assert(json_is_real(json_object_get(json_object_get(r, "qemu"),
					       "median")));
	ck_assert(json_real_value(json_object_get(json_object_get(r, "qemu"),
						  "max")) == 210.5);
	ck_assert(json_real_value(json_object_get(r, "vs_base")) == 104.0 / 101);
	ck_assert(json_is_null(json_object_get(r, "target")));
	ck_assert(json_is_null(json_object_get(r, "met")));
	json_decref(j);
	md = slurp("bench.md");
	ck_assert_ptr_nonnull(strstr(md, "| eight (ms, ×1.03) | 103 / 104 / 105 "
				     "| 210.5 / 210.5 / 210.5 | 0.49 | |\n"));
	ck_assert_ptr_nonnull(strstr(md, "| boot | evmm min / median / max | "
				     "QEMU min / median / max | evmm/QEMU "
				     "(median) | target |\n"));
	/* No target, no summary. */
	ck_assert_ptr_null(strstr(md, "Targets"));
}
END_TEST

/* Missing QEMU runs: the evmm side only; a target is listed as unmeasured. */
START_TEST(report_missing_peer)
{
	json_t *j, *r;

	put("boot-evmm.txt", "ms=70\n");
	ck_assert_int_eq(run(SPEC_HEAD "{\"file\":\"boot\",\"key\":\"ms\","
			     "\"label\":\"boot\",\"unit\":\"ms\","
			     "\"target\":0.8}]}]}"), 0);
	j = json_load_file(path_of("bench.json"), 0, NULL);
	ck_assert_ptr_nonnull(j);
	r = json_array_get(json_object_get(json_array_get(json_object_get(j,
		"tables"), 0), "rows"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(r, "evmm"), "max")), 70);
	ck_assert(json_is_null(json_object_get(r, "qemu")));
	ck_assert(json_is_null(json_object_get(r, "ratio")));
	ck_assert(json_is_null(json_object_get(r, "met")));
	json_decref(j);
	ck_assert_ptr_nonnull(strstr(slurp("bench.md"), "| boot (ms) | 70 / 70 "
				     "/ 70 | n/a | n/a | ≤ 0.8 |\n"));
	ck_assert_ptr_nonnull(strstr(slurp("bench.md"), "- boot, boot: n/a, "
				     "target ≤ 0.8: not measured\n"));
	ck_assert_str_eq(slurp("ratios.dat"), "");
}
END_TEST

/*
 * Without gnuplot: the error says what to install; the numbers are there.
 * A ratio equal to its target meets it.
 */
START_TEST(report_chart_without_gnuplot)
{
	const char *path = getenv("PATH");
	char *saved = strdup(path ? path : "/usr/bin:/bin"), *gp;
	int ret;

	put("boot-evmm.txt", "ms=70\n");
	put("boot-qemu.txt", "ms=100\n");
	setenv("PATH", dir, 1);
	ret = run_chart(SPEC_HEAD "{\"file\":\"boot\",\"key\":\"ms\","
			"\"label\":\"boot\",\"unit\":\"ms\","
			"\"target\":0.7}]}]}", 1);
	setenv("PATH", saved, 1);
	free(saved);
	ck_assert_int_eq(ret, -ENOENT);
	ck_assert_str_eq(err, "gnuplot not found: install gnuplot-nox "
			 "(make deps)");
	ck_assert_ptr_nonnull(strstr(slurp("bench.json"), "\"met\": true"));
	ck_assert_ptr_nonnull(strstr(slurp("bench.md"), "| 0.70 | ≤ 0.7 ✓ |"));
	ck_assert_str_eq(slurp("ratios.dat"), "boot: boot\t0.7\t0.7\n");
	gp = slurp("ratios.gp");
	ck_assert_ptr_nonnull(strstr(gp, "set logscale x"));
	ck_assert_ptr_nonnull(strstr(gp, "pngcairo"));
	ck_assert_ptr_nonnull(strstr(gp, "ratios.dat' using"));
	ck_assert_ptr_nonnull(strstr(gp, "set arrow from 1,"));
}
END_TEST

/*
 * Throughput rows ("higher": true): a ratio at or above the target meets
 * it, in the JSON, the Markdown, the summary and the chart's labels.
 */
START_TEST(report_higher_is_better)
{
	json_t *j, *rows, *r;
	char *md;

	put("disk-evmm.txt", "cache=writeback rd=120 wr=80 kb=5\n"
			     "cache=writeback rd=100 wr=90 kb=6\n");
	put("disk-qemu.txt", "cache=writeback rd=100 wr=100 kb=50\n"
			     "cache=writeback rd=100 wr=100 kb=60\n");
	ck_assert_int_eq(run(SPEC_HEAD
		"{\"file\":\"disk\",\"key\":\"rd\",\"label\":\"read\","
		"\"unit\":\"MiB/s\",\"target\":1.1,\"higher\":true},"
		"{\"file\":\"disk\",\"key\":\"wr\",\"label\":\"write\","
		"\"unit\":\"MiB/s\",\"target\":1,\"higher\":true},"
		"{\"file\":\"disk\",\"key\":\"kb\",\"label\":\"rss\","
		"\"unit\":\"KiB\",\"target\":0.1,\"higher\":false}]}]}"), 0);
	j = json_load_file(path_of("bench.json"), 0, NULL);
	ck_assert_ptr_nonnull(j);
	rows = json_object_get(json_array_get(json_object_get(j, "tables"), 0),
			       "rows");
	r = json_array_get(rows, 0);
	ck_assert(json_is_true(json_object_get(r, "met")));
	ck_assert(json_is_true(json_object_get(r, "higher")));
	ck_assert(json_is_false(json_object_get(json_array_get(rows, 1),
						"met")));
	r = json_array_get(rows, 2);
	ck_assert(json_is_true(json_object_get(r, "met")));
	ck_assert(json_is_false(json_object_get(r, "higher")));
	json_decref(j);
	md = slurp("bench.md");
	/* A ratio equal to its target meets it, from above too. */
	ck_assert_ptr_nonnull(strstr(md, "| read (MiB/s) | 100 / 110 / 120 | "
				     "100 / 100 / 100 | 1.10 | ≥ 1.1 ✓ |\n"));
	ck_assert_ptr_nonnull(strstr(md, "| 0.85 | ≥ 1 ✗ |\n"));
	ck_assert_ptr_nonnull(strstr(md, "| 0.10 | ≤ 0.1 ✓ |\n"));
	ck_assert_ptr_nonnull(strstr(md, "- boot, write: 0.85, target ≥ 1: "
				     "missed\n"));
	ck_assert_ptr_nonnull(strstr(md, "- boot, read: 1.10, target ≥ 1.1: "
				     "met\n"));
	ck_assert_ptr_nonnull(strstr(slurp("ratios.dat"), "boot: read "
				     "[higher is better]\t1.1\t1.1\n"));
	ck_assert_ptr_nonnull(strstr(slurp("ratios.dat"), "boot: rss\t"));
}
END_TEST

/* A table without any data is in the JSON, not in the Markdown. */
START_TEST(report_empty_table)
{
	ck_assert_int_eq(run(SPEC_HEAD "{\"file\":\"x\",\"key\":\"ms\","
			     "\"label\":\"lonely\",\"unit\":\"ms\"}]}]}"), 0);
	ck_assert_ptr_null(strstr(slurp("bench.md"), "lonely"));
	ck_assert_ptr_nonnull(strstr(slurp("bench.json"), "lonely"));
}
END_TEST

#define ck_spec_bad(spec, field) do {					\
	ck_assert_int_eq(run(spec), -EINVAL);				\
	ck_assert_msg(strstr(err, field), "\"%s\" not in: %s", field, err); \
} while (0)

START_TEST(report_bad_spec)
{
	ck_spec_bad("{", "spec.json");
	ck_spec_bad("{\"tables\":3}", "\"tables\"");
	ck_spec_bad("{\"tables\":[{\"title\":\"t\",\"peer\":\"p\","
		    "\"rows\":[]}]}", "table 0: \"id\"");
	ck_spec_bad("{\"tables\":[{\"id\":\"i\",\"title\":\"t\",\"peer\":\"p\","
		    "\"rows\":{}}]}", "\"rows\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\"}"
		    "]}]}", "row 0: \"unit\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"target\":\"1\"}]}]}", "\"target\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"base\":1}]}]}", "\"base\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"ratio\":1}]}]}", "\"ratio\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"cfg\":1}]}]}", "\"cfg\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"higher\":\"yes\"}]}]}",
		    "row 0: \"higher\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"base\":-1}]}]}", "row 0: \"base\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\",\"base\":0.5}]}]}", "\"base\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"unit\":\"u\"}"
		    "]}]}", "table 0 row 0: \"label\"");
	ck_spec_bad(SPEC_HEAD "{\"file\":\"f\",\"key\":\"k\",\"label\":\"l\","
		    "\"unit\":\"u\"}, 7]}]}", "row 1: \"rows[]\"");
	ck_spec_bad("{\"tables\":[{\"id\":\"i\",\"title\":\"t\",\"peer\":\"p\","
		    "\"rows\":[]}, {\"id\":\"i\",\"title\":\"t\",\"peer\":\"p\","
		    "\"note\":[\"ok\", 1],\"rows\":[]}]}", "table 1: \"note[]\"");
	ck_spec_bad("{\"tables\":[{\"id\":\"i\",\"title\":\"t\",\"rows\":[]}]}",
		    "table 0: \"peer\"");
}
END_TEST

/* The project's own spec is valid. */
START_TEST(report_project_spec)
{
	struct benchreport_opts o = { .chart = 0 };

	ck_assert_msg(benchreport_run("tools/bench-spec.json", dir, &o, err,
				      sizeof(err)) == 0, "%s", err);
}
END_TEST

Suite *benchreport_suite(void)
{
	Suite *s = suite_create("benchreport");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stats_odd_even_decimals);
	tcase_add_test(tc, stats_negative_crlf_long);
	tcase_add_test(tc, stats_strict_numbers);
	tcase_add_test(tc, stats_filters);
	tcase_add_test(tc, report_json_and_markdown);
	tcase_add_test(tc, report_cfg_and_vs_base);
	tcase_add_test(tc, report_missing_peer);
	tcase_add_test(tc, report_chart_without_gnuplot);
	tcase_add_test(tc, report_higher_is_better);
	tcase_add_test(tc, report_empty_table);
	tcase_add_test(tc, report_bad_spec);
	tcase_add_test(tc, report_project_spec);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * benchreport: statistics of raw bench runs, the spec's checks, and the
 * JSON and Markdown it writes (no chart: the tests need no gnuplot).
 */
#include <check.h>
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

static int run(const char *spec)
{
	struct benchreport_opts o = { .context = (const char *[]){
		"host=test", NULL }, .chart = 0 };

	put("spec.json", spec);
	return benchreport_run(path_of("spec.json"), dir, &o, err,
			       sizeof(err));
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
	rows = json_object_get(json_array_get(json_object_get(j, "tables"), 0),
			       "rows");
	r = json_array_get(rows, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(r, "evmm"), "median")), 71);
	ck_assert(json_number_value(json_object_get(r, "ratio")) > 0.788 &&
		  json_number_value(json_object_get(r, "ratio")) < 0.79);
	ck_assert(json_is_false(json_object_get(r, "met")));
	r = json_array_get(rows, 1);
	ck_assert(json_is_true(json_object_get(r, "met")));
	r = json_array_get(rows, 2);
	ck_assert(json_is_null(json_object_get(r, "ratio")));
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
	ck_assert_int_lt(run(spec), 0);					\
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
	tcase_add_test(tc, stats_filters);
	tcase_add_test(tc, report_json_and_markdown);
	tcase_add_test(tc, report_empty_table);
	tcase_add_test(tc, report_bad_spec);
	tcase_add_test(tc, report_project_spec);
	suite_add_tcase(s, tc);
	return s;
}

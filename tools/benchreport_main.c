/*
 * benchreport [--no-chart] [--context KEY=VALUE]... SPEC DIR
 * Reads DIR's raw bench runs as SPEC says, writes DIR/bench.json, bench.md
 * and (with gnuplot) ratios.png. tools/bench runs it.
 * Exit status: 0, 2 for a bad spec or usage, 1 for anything else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/benchreport.h"

int main(int argc, char **argv)
{
	const char *ctx[32] = { 0 };
	struct benchreport_opts o = { .context = ctx, .chart = 1 };
	char err[512];
	int i, n = 0, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--no-chart"))
			o.chart = 0;
		else if (!strcmp(argv[i], "--context") && i + 1 < argc &&
			 n < 31 && strchr(argv[i + 1], '='))
			ctx[n++] = argv[++i];
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: benchreport [--no-chart] "
			"[--context KEY=VALUE]... SPEC DIR\n");
		return 2;
	}
	ret = benchreport_run(argv[i], argv[i + 1], &o, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "benchreport: %s\n", err);
		return ret == -EINVAL ? 2 : 1;
	}
	return 0;
}

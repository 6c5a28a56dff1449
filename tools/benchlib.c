/* What the benchmark tools share: the host's clock and a process's RSS. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/benchlib.h"

double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long rollup_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long overhead_kb(pid_t pid)
{
	char path[64], line[8192];	/* a header line holds a whole path */
	unsigned long lo, hi;
	long kb, sum = 0;
	int ram = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's header: "lo-hi perms offset dev inode [path]". */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			ram = hi - lo >= GUEST_RAM_MIN;
		else if (!ram && sscanf(line, "Rss: %ld kB", &kb) == 1)
			sum += kb;
	}
	fclose(f);
	return sum;
}

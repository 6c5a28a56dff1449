/*
 * bootbench: runs a VMM command, times launch → the first output line that
 * contains PATTERN on the host's monotonic clock (the guest's clock jumps
 * under nested virtualization), reads the VMM's RSS at that moment, then
 * stops it. Prints "ms=<n> rss_kb=<n> overhead_kb=<n>" (benchlib.h says what
 * overhead is). With -l it waits for the rest of PATTERN's line and prints
 * that too (a guest's own results, as key=value). Used by tools/bench.
 *
 *	bootbench [-l] TIMEOUT_S PATTERN -- COMMAND [ARGS...]
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/benchlib.h"

/*
 * PATTERN's line in buf, complete: what follows PATTERN to the end of the
 * line (a serial console ends it with \r\n), or NULL if not all there yet.
 */
static const char *line_after(char *buf, const char *pattern, int whole)
{
	char *p = strstr(buf, pattern), *end;

	if (!p || !whole)
		return p ? "" : NULL;
	p += strlen(pattern);
	end = strchr(p, '\n');
	if (!end)
		return NULL;
	*end = 0;
	p[strcspn(p, "\r")] = 0;
	return p + strspn(p, " ");
}

int main(int argc, char **argv)
{
	char buf[65536];
	size_t used = 0;
	double t0, deadline;
	int out[2], whole;
	pid_t pid;

	whole = argc > 1 && !strcmp(argv[1], "-l");
	argc -= whole;
	argv += whole;
	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: bootbench [-l] TIMEOUT_S PATTERN -- "
			"CMD...\n");
		return 2;
	}
	if (pipe(out))
		return 1;
	t0 = now_ms();
	deadline = t0 + atof(argv[1]) * 1e3;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	close(out[1]);
	for (;;) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		double left = deadline - now_ms();
		const char *rest;
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(out[0], buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			break;
		used += n;
		buf[used] = 0;
		rest = line_after(buf, argv[2], whole);
		if (rest) {
			double ms = now_ms() - t0;

			printf("ms=%.0f rss_kb=%ld overhead_kb=%ld%s%s\n", ms,
			       rss_kb(pid), overhead_kb(pid), *rest ? " " : "",
			       rest);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 0;
		}
		if (used > sizeof(buf) / 2) {	/* keep the tail only */
			memmove(buf, buf + used - 1024, 1024);
			used = 1024;
		}
	}
	fprintf(stderr, "bootbench: no '%s' before the deadline; last output:\n%s\n",
		argv[2], buf);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 1;
}

/*
 * pingbench: the round trip of N control requests on one connection to a
 * running VMM: evmm's GET /api/v1/vmm.ping (HTTP/1.1, kept alive) or QEMU's
 * QMP query-status. Waits up to TIMEOUT_S for SOCKET to accept, then prints
 *
 *	n=N min_us=N p50_us=N p99_us=N max_us=N
 *
 * Used by tools/bench.
 *
 *	pingbench TIMEOUT_S api|qmp SOCKET N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tools/benchlib.h"

#define PING	"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\n\r\n"
#define QMP_CAP	"{\"execute\":\"qmp_capabilities\"}\n"
#define QMP_Q	"{\"execute\":\"query-status\"}\n"

static double deadline;

static void die(const char *what)
{
	fprintf(stderr, "pingbench: %s: %s\n", what, errno ? strerror(errno) :
		"timed out or closed");
	exit(1);
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		die("socket path too long");
	strcpy(a.sun_path, path);
	while (now_ms() < deadline) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
		nanosleep(&nap, NULL);
	}
	errno = 0;
	die(path);
	return -1;
}

static void send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			die("write");
		s += n;
		len -= n;
	}
}

/*
 * Reads until one whole answer: an HTTP response with its Content-Length
 * body, or a QMP line holding "return" (events and the greeting skipped).
 */
static void read_answer(int fd, int qmp)
{
	static char buf[65536];
	static size_t len;
	char *end, *cl;
	size_t need;

	for (;;) {
		buf[len] = 0;
		if (qmp && (end = strchr(buf, '\n'))) {
			int is_return = !!strstr(buf, "\"return\"");

			need = end + 1 - buf;
			memmove(buf, end + 1, len - need);
			len -= need;
			if (is_return)
				return;
			continue;
		}
		if (!qmp && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "Content-Length:");
			need = end + 4 - buf + (cl ? strtoul(cl + 15, NULL, 10) : 0);
			if (len >= need) {
				memmove(buf, buf + need, len - need);
				len -= need;
				return;
			}
		}
		if (len >= sizeof(buf) - 1 || now_ms() > deadline)
			die("answer");
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			die("read");
		len += n;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int qmp, fd, n, i;
	double *us, t;

	if (argc != 5 || (strcmp(argv[2], "api") && strcmp(argv[2], "qmp")) ||
	    (n = atoi(argv[4])) < 1) {
		fprintf(stderr, "usage: pingbench TIMEOUT_S api|qmp SOCKET N\n");
		return 2;
	}
	qmp = !strcmp(argv[2], "qmp");
	deadline = now_ms() + atof(argv[1]) * 1000;
	us = calloc(n, sizeof(*us));
	if (!us)
		die("calloc");
	fd = connect_to(argv[3]);
	if (qmp) {
		send_all(fd, QMP_CAP);
		read_answer(fd, 1);
	}
	for (i = 0; i < n; i++) {
		t = now_ms();
		send_all(fd, qmp ? QMP_Q : PING);
		read_answer(fd, qmp);
		us[i] = (now_ms() - t) * 1000;
	}
	qsort(us, n, sizeof(*us), cmp_double);
	printf("n=%d min_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f\n", n,
	       us[0], us[n / 2], us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
	       us[n - 1]);
	close(fd);
	free(us);
	return 0;
}

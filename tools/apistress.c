/*
 * apistress: a well-behaved client's GET /api/v1/vmm.ping round trip (a new
 * connection each, as evmmctl makes) alone, then while hostile clients
 * keep at it: 300 stalled half-requests, 1,000 connections, slow clients
 * dripping a byte every 100 ms plus garbage senders. Hostile clients that
 * the server drops come back (at most 500 reconnects a second). Prints one
 * line per phase:
 *
 *	phase=NAME n=N failed=N p50_us=N p99_us=N max_us=N server_fds=N ...
 *
 * With --socket it targets a running evmm (--pid PID to count its fds);
 * without, it starts evmm's API server in this process with a stand-in
 * VMM thread, and also prints the server's connection counters.
 *
 *	apistress [--socket PATH [--pid PID]] [--pings N]
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/internal.h"

#define PING		"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n"
#define HALF		"GET /api/v1/vmm.pi"
/* ~110 bytes at a byte per 100 ms: longer than the server's 5 s. */
#define SLOW_REQ	"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\nX-Slow: " \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
			"\r\n\r\n"
#define MAX_HOSTILE	1000
#define RECONNECTS_MS	2	/* one every 2 ms at most */

enum hostile_kind { STALL, IDLE_OR_STALL, SLOW };

static const char *sock_path;
static char own_dir[64], own_path[128];
static pid_t target_pid;
static struct api_server *srv;
static atomic_bool vmm_quit, hostile_quit;
static atomic_int client_fds;	/* held by hostile clients */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static void fail(const char *what)
{
	fprintf(stderr, "apistress: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid ? pid : getpid());
	d = opendir(path);
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

/* --- the in-process server ------------------------------------------------ */

static void handler(void *opaque, const struct api_request *rq,
		    struct api_reply *r)
{
	(void)opaque;
	(void)rq;
	r->status = 200;
	r->body = strdup("{\"version\":\"apistress\"}");
}

static void *vmm_main(void *arg)
{
	struct pollfd p = { .events = POLLIN };

	(void)arg;
	p.fd = api_server_event_fd(srv);
	while (!vmm_quit) {
		if (poll(&p, 1, 20) == 1)
			api_server_dispatch(srv);
	}
	return NULL;
}

static void server_start(pthread_t *t)
{
	char err[256];

	strcpy(own_dir, "/tmp/apistress-XXXXXX");
	if (!mkdtemp(own_dir))
		fail("mkdtemp");
	snprintf(own_path, sizeof(own_path), "%s/api.sock", own_dir);
	if (api_server_start(&srv, own_path, NULL, handler, NULL, err,
			     sizeof(err))) {
		fprintf(stderr, "apistress: %s\n", err);
		exit(1);
	}
	sock_path = own_path;
	if (pthread_create(t, NULL, vmm_main, NULL))
		fail("pthread_create");
}

static void server_stop(pthread_t t)
{
	vmm_quit = true;
	pthread_join(t, NULL);
	api_server_stop(srv);
	rmdir(own_dir);
}

/* --- clients -------------------------------------------------------------- */

static int connect_to(bool nonblock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
			(nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One ping on a new connection: its time in us, or 0 on failure. */
static uint64_t ping(void)
{
	uint64_t t0 = now_us();
	char buf[1024];
	size_t got = 0;
	ssize_t n;
	int fd = connect_to(false);
	bool ok = false;

	if (fd < 0)
		return 0;
	if (send(fd, PING, strlen(PING), MSG_NOSIGNAL) == strlen(PING)) {
		while (got < sizeof(buf) - 1 &&
		       (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
			got += n;
			buf[got] = 0;
			if ((ok = strstr(buf, "\r\n\r\n") && strchr(buf, '}')))
				break;
		}
	}
	close(fd);
	return ok && !strncmp(buf, "HTTP/1.1 200", 12) ? now_us() - t0 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void phase_report(const char *name, int n)
{
	uint64_t *t = calloc(n, sizeof(*t));
	int i, ok = 0, fds;
	struct api_stats st;

	if (!t)
		fail("calloc");
	for (i = 0; i < n; i++) {
		uint64_t us = ping();

		if (us)
			t[ok++] = us;
	}
	qsort(t, ok, sizeof(*t), cmp_u64);
	printf("phase=%s n=%d failed=%d", name, n, n - ok);
	if (ok)
		printf(" p50_us=%llu p99_us=%llu max_us=%llu",
		       (unsigned long long)t[ok / 2],
		       (unsigned long long)t[(ok * 99) / 100 < ok ?
					     (ok * 99) / 100 : ok - 1],
		       (unsigned long long)t[ok - 1]);
	if (srv) {
		fds = count_fds(0) - atomic_load(&client_fds);
		api_server_stats(srv, &st);
		printf(" server_fds=%d conns=%u peak=%u limit=%d evicted=%u "
		       "expired=%u deferred=%u", fds, st.conns, st.peak,
		       API_CONNECTION_LIMIT, st.evicted, st.expired,
		       st.deferred);
	} else if (target_pid) {
		printf(" server_fds=%d", count_fds(target_pid));
	}
	printf(" hostile_fds=%d\n", atomic_load(&client_fds));
	fflush(stdout);
	free(t);
}

/* --- hostile clients ------------------------------------------------------ */

struct hostile {
	enum hostile_kind kind;
	int n;
	int fd[MAX_HOSTILE];
	size_t sent[MAX_HOSTILE];
	bool garbage;
	pthread_t thread;
};

static void hostile_open(struct hostile *h, int i)
{
	h->fd[i] = connect_to(true);
	h->sent[i] = 0;
	if (h->fd[i] < 0)
		return;
	atomic_fetch_add(&client_fds, 1);
	if (h->kind == STALL || (h->kind == IDLE_OR_STALL && i % 2))
		send(h->fd[i], HALF, strlen(HALF), MSG_NOSIGNAL);
}

static void hostile_close(struct hostile *h, int i)
{
	if (h->fd[i] < 0)
		return;
	close(h->fd[i]);
	h->fd[i] = -1;
	atomic_fetch_add(&client_fds, -1);
}

/* A connection that the server closed, or garbage: again, rate-limited. */
static void hostile_turn(struct hostile *h, uint64_t *next_open)
{
	static struct pollfd p[MAX_HOSTILE];
	char buf[256];
	int i;

	for (i = 0; i < h->n; i++)
		p[i] = (struct pollfd){ .fd = h->fd[i], .events = POLLIN };
	poll(p, h->n, 10);
	for (i = 0; i < h->n; i++) {
		if (h->fd[i] >= 0 && (p[i].revents & (POLLIN | POLLHUP)) &&
		    recv(h->fd[i], buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			hostile_close(h, i);
		if (h->kind == SLOW && h->fd[i] >= 0 &&
		    h->sent[i] < strlen(SLOW_REQ) &&
		    send(h->fd[i], SLOW_REQ + h->sent[i], 1, MSG_NOSIGNAL) == 1)
			h->sent[i]++;
		if (h->fd[i] < 0 && now_us() >= *next_open) {
			hostile_open(h, i);
			*next_open = now_us() + RECONNECTS_MS * 1000;
		}
	}
	if (h->garbage && now_us() >= *next_open) {
		int fd = connect_to(true);
		unsigned int j;

		for (j = 0; j < sizeof(buf); j++)
			buf[j] = (char)rand();
		if (fd >= 0) {
			send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
			close(fd);
		}
		*next_open = now_us() + RECONNECTS_MS * 1000;
	}
}

static void *hostile_main(void *arg)
{
	struct hostile *h = arg;
	uint64_t next_open = 0;
	int i;

	for (i = 0; i < h->n; i++)
		hostile_open(h, i);
	while (!hostile_quit) {
		if (h->kind == SLOW)
			usleep(90 * 1000);	/* a byte each 100 ms */
		hostile_turn(h, &next_open);
	}
	for (i = 0; i < h->n; i++)
		hostile_close(h, i);
	return NULL;
}

static struct hostile *hostile_start(enum hostile_kind kind, int n,
				     bool garbage)
{
	struct hostile *h = calloc(1, sizeof(*h));

	if (!h)
		fail("calloc");
	h->kind = kind;
	h->n = n;
	h->garbage = garbage;
	hostile_quit = false;
	if (pthread_create(&h->thread, NULL, hostile_main, h))
		fail("pthread_create");
	usleep(300 * 1000);	/* let them settle in */
	return h;
}

static void hostile_stop(struct hostile *h)
{
	hostile_quit = true;
	pthread_join(h->thread, NULL);
	free(h);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		fail("getrlimit");
	rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fail("setrlimit");
}

int main(int argc, char **argv)
{
	struct hostile *h;
	pthread_t vmm;
	int i, pings = 200;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock_path = argv[++i];
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
			target_pid = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pings") && i + 1 < argc)
			pings = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: apistress [--socket PATH "
				"[--pid PID]] [--pings N]\n");
			return 2;
		}
	}
	raise_nofile();
	if (!sock_path)
		server_start(&vmm);
	phase_report("alone", pings);
	h = hostile_start(STALL, 300, false);
	phase_report("stalled300", pings);
	hostile_stop(h);
	h = hostile_start(IDLE_OR_STALL, 1000, false);
	phase_report("conns1000", pings);
	hostile_stop(h);
	h = hostile_start(SLOW, 20, true);
	phase_report("slow20_garbage", pings);
	hostile_stop(h);
	usleep(500 * 1000);
	phase_report("after", pings);
	if (srv)
		server_stop(vmm);
	return 0;
}

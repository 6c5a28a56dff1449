/*
 * api against hostile clients, on real sockets: stalled and slow clients,
 * a thousand connections, clients that leave mid-body, huge bodies,
 * pipelining, garbage; a well-behaved client gets through every time, the
 * connections stay bounded and every fd comes back. Then the socket file:
 * locked against a second server, unlinked at exit, and only if ours.
 * Every wait has a deadline.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/internal.h"

#define PING		"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n"
#define HALF		"GET /api/v1/vmm.pi"
#define ANSWER_MS	2000	/* a well-behaved client's liveness bound */
#define SETTLE_MS	3000	/* for the server to close what it dropped */

static char dir[64], sock_path[128], lock_path[160];
static struct api_server *srv;
static pthread_t vmm_thread;
static bool vmm_running;
static atomic_bool vmm_quit;
static atomic_int handled, handler_sleep_ms;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	usleep(ms * 1000);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int ping(uint64_t *ms);

/* --- the server and a test VMM thread ------------------------------------ */

static atomic_bool gate_closed;

static void handler(void *opaque, const struct api_request *rq,
		    struct api_reply *r)
{
	uint64_t end = now_ms() + 5000;

	(void)opaque;
	while (gate_closed && now_ms() < end)
		sleep_ms(1);
	if (handler_sleep_ms)
		sleep_ms(handler_sleep_ms);
	handled++;
	switch (rq->op) {
	case API_PING:
		r->status = 200;
		r->body = strdup("{\"version\":\"test\"}");
		break;
	case API_INFO:
		api_reply_error(r, 500, NULL, "no info in tests");
		break;
	default:
		r->status = 204;
		break;
	}
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

static struct api_stats stats(void);

static void server_up(void)
{
	char err[256] = "";
	uint64_t end;

	ck_assert_msg(api_server_start(&srv, sock_path, NULL, handler, NULL,
				       err, sizeof(err)) == 0, "%s", err);
	vmm_quit = false;
	ck_assert_int_eq(pthread_create(&vmm_thread, NULL, vmm_main, NULL), 0);
	vmm_running = true;
	/*
	 * Answered once, the API thread is past its start (glibc opens a
	 * /proc file there): the fds counted next are the baseline.
	 */
	ck_assert_int_eq(ping(NULL), 200);
	handled = 0;
	end = now_ms() + SETTLE_MS;
	while (stats().conns && now_ms() < end)
		sleep_ms(10);
	sleep_ms(50);	/* MHD closes the fd just after it says so */
}

static void server_down(void)
{
	if (vmm_running) {
		vmm_quit = true;
		pthread_join(vmm_thread, NULL);
		vmm_running = false;
	}
	api_server_stop(srv);
	srv = NULL;
}

static void setup(void)
{
	strcpy(dir, "/tmp/evmm-hostile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	snprintf(lock_path, sizeof(lock_path), "%s.lock", sock_path);
	api_reply_timeout_ms = 10000;
	api_request_timeout_ms = 5000;
	handled = handler_sleep_ms = 0;
	gate_closed = false;
}

static void teardown(void)
{
	server_down();
	unlink(sock_path);
	unlink(lock_path);
	rmdir(dir);
}

static struct api_stats stats(void)
{
	struct api_stats st;

	api_server_stats(srv, &st);
	return st;
}

/*
 * Back to the baseline: no connection served, the same fds as before the
 * clients came (the server's included: it runs in this process).
 */
static void ck_settled(int fds)
{
	uint64_t end = now_ms() + SETTLE_MS;

	while ((stats().conns || count_fds() != fds) && now_ms() < end)
		sleep_ms(20);
	ck_assert_msg(!stats().conns, "%u connections left", stats().conns);
	ck_assert_int_eq(count_fds(), fds);
}

/* --- clients -------------------------------------------------------------- */

static void addr_of(struct sockaddr_un *a)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	strcpy(a->sun_path, sock_path);
}

/* Blocking, with 5 s send and receive timeouts; -errno on failure. */
static int client_connect(void)
{
	struct timeval tv = { .tv_sec = 5 };
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	addr_of(&a);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Non-blocking: a hostile client never waits. -errno when refused. */
static int hostile_connect(const char *send_first)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);

	if (fd < 0)
		return -errno;
	addr_of(&a);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -errno;
	}
	if (send_first)
		send(fd, send_first, strlen(send_first), MSG_NOSIGNAL);
	return fd;
}

static int client_send(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

struct resp {
	int status;
	char head[1024];
	char body[1024];
};

/*
 * One response from a stream that may hold more: rest/rest_len carry the
 * bytes past it to the next call. The status, or -1 on EOF or timeout.
 */
static int client_read(int fd, struct resp *r, char *rest, size_t *rest_len)
{
	char buf[4096], *end, *cl;
	size_t got = *rest_len, hlen, blen, total;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	memcpy(buf, rest, got);
	for (;;) {
		buf[got] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			hlen = end + 4 - buf;
			cl = strcasestr(buf, "\r\nContent-Length:");
			blen = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			if (got >= hlen + blen)
				break;
		}
		if (got + 1 >= sizeof(buf))
			return -1;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			return -1;
		got += n;
	}
	total = hlen + blen;
	if (hlen >= sizeof(r->head) || blen >= sizeof(r->body))
		return -1;
	memcpy(r->head, buf, hlen);
	memcpy(r->body, buf + hlen, blen);
	*rest_len = got - total;
	memcpy(rest, buf + total, *rest_len);
	if (sscanf(r->head, "HTTP/1.%*d %d ", &r->status) != 1)
		return -1;
	return r->status;
}

static int client_read_one(int fd, struct resp *r)
{
	char rest[4096];
	size_t n = 0;

	return client_read(fd, r, rest, &n);
}

/* A ping on a new connection: its status, the time it took in *ms. */
static int ping(uint64_t *ms)
{
	uint64_t t0 = now_ms();
	struct resp r;
	int fd = client_connect(), ret = -1;

	if (fd >= 0 && !client_send(fd, PING, strlen(PING)))
		ret = client_read_one(fd, &r);
	if (fd >= 0)
		close(fd);
	if (ms)
		*ms = now_ms() - t0;
	return ret;
}

/* n pings, each answered 200 within ANSWER_MS. */
static void ck_pings(int n, const char *why)
{
	uint64_t ms;
	int i, st;

	for (i = 0; i < n; i++) {
		st = ping(&ms);
		ck_assert_msg(st == 200 && ms < ANSWER_MS, "%s: ping %d: status "
			      "%d after %llu ms", why, i, st,
			      (unsigned long long)ms);
	}
}

/* Waits until the server closes fd (EOF or reset); false at the bound. */
static bool wait_closed(int fd, int ms)
{
	uint64_t end = now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	while (now_ms() < end) {
		if (poll(&p, 1, (int)(end - now_ms())) != 1)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

static void close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* --- stalled clients, a thousand connections, slow clients -------------- */

#define STALLED	300

/*
 * 300 clients send half a request and stop: every one connects, and a
 * well-behaved client gets 50 pings through.
 */
START_TEST(test_stalled_clients)
{
	static int fds[STALLED];
	struct api_stats st;
	int base, i, refused = 0;

	server_up();
	base = count_fds();
	for (i = 0; i < STALLED; i++) {
		fds[i] = hostile_connect(HALF);
		refused += fds[i] < 0;
	}
	ck_assert_msg(!refused, "%d of %d connects refused", refused,
		      STALLED);
	ck_pings(50, "300 stalled clients");
	st = stats();
	ck_assert_uint_le(st.peak, API_CONNECTION_LIMIT);
	ck_assert_uint_ge(st.evicted, 50);
	ck_assert_int_eq(handled, 50);
	close_all(fds, STALLED);
	ck_settled(base);
}
END_TEST

#define THOUSAND	1000

static void raise_nofile(int need)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= (rlim_t)need)
		return;
	ck_assert_msg(rl.rlim_max >= (rlim_t)need, "RLIMIT_NOFILE's hard "
		      "limit %llu is below the %d fds this test needs",
		      (unsigned long long)rl.rlim_max, need);
	rl.rlim_cur = need;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/*
 * A thousand at once, idle or half-sent: the server serves at most
 * API_CONNECTION_LIMIT and holds few more sockets, and pings get through.
 */
START_TEST(test_thousand_connections)
{
	static int fds[THOUSAND];
	int base, i, open = 0, server_fds;

	raise_nofile(THOUSAND + 4 * API_CONNECTION_LIMIT + 64);
	server_up();
	base = count_fds();
	for (i = 0; i < THOUSAND; i++) {
		fds[i] = hostile_connect(i % 2 ? HALF : NULL);
		open += fds[i] >= 0;
		if (i % 100 == 99)
			ck_pings(1, "connecting a thousand");
	}
	ck_pings(20, "a thousand connections");
	/* The server's sockets: what it serves and a few it is closing. */
	server_fds = count_fds() - base - open;
	ck_assert_int_le(server_fds, 2 * API_CONNECTION_LIMIT +
			 API_ACCEPT_BATCH + 1);
	ck_assert_uint_le(stats().peak, API_CONNECTION_LIMIT);
	close_all(fds, THOUSAND);
	ck_settled(base);
}
END_TEST

static void *ping_thread(void *arg)
{
	(void)arg;
	return (void *)(long)ping(NULL);
}

/*
 * Every slot busy with a request for the VMM: a new client is not refused
 * but waits until one is answered.
 */
START_TEST(test_all_busy_waits)
{
	pthread_t t[API_CONNECTION_LIMIT + 1];
	uint64_t end;
	void *st;
	int i;

	server_up();
	gate_closed = true;
	for (i = 0; i < API_CONNECTION_LIMIT; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, ping_thread,
						NULL), 0);
	end = now_ms() + 3000;
	while (stats().conns < API_CONNECTION_LIMIT && now_ms() < end)
		sleep_ms(10);
	ck_assert_uint_eq(stats().conns, API_CONNECTION_LIMIT);
	sleep_ms(100);	/* for every request to be read */
	ck_assert_int_eq(pthread_create(&t[i], NULL, ping_thread, NULL), 0);
	end = now_ms() + 3000;
	while (!stats().deferred && now_ms() < end)
		sleep_ms(10);
	ck_assert_uint_ge(stats().deferred, 1);
	ck_assert_uint_eq(stats().evicted, 0);
	gate_closed = false;
	for (i = 0; i <= API_CONNECTION_LIMIT; i++) {
		pthread_join(t[i], &st);
		ck_assert_int_eq((long)st, 200);
	}
	ck_assert_int_eq(handled, API_CONNECTION_LIMIT + 1);
}
END_TEST

/* One byte at a time, each well within MHD's idle timeout. */
static void drip(int fd, const char *s, int every_ms, int *sent)
{
	for (; *s; s++) {
		if (send(fd, s, 1, MSG_NOSIGNAL) != 1)
			return;
		(*sent)++;
		sleep_ms(every_ms);
	}
}

/* A client sending a byte every 250 ms is dropped at the deadline. */
START_TEST(test_slow_client_dropped)
{
	const char *req = "PUT /api/v1/vm.resize HTTP/1.1\r\nHost: x\r\n"
			  "Content-Length: 20\r\n\r\n{\"desired_vcpus\": 2}";
	int base, fd, sent = 0;
	uint64_t t0;

	api_request_timeout_ms = 1000;
	server_up();
	base = count_fds();
	fd = client_connect();
	ck_assert_int_ge(fd, 0);
	t0 = now_ms();
	drip(fd, req, 250, &sent);
	ck_assert_msg(sent < (int)strlen(req), "all %d bytes were taken",
		      sent);
	ck_assert_msg(wait_closed(fd, 1000), "not closed");
	ck_assert_uint_ge(now_ms() - t0, 900);
	ck_assert_uint_lt(now_ms() - t0, 3000);
	ck_assert_uint_ge(stats().expired, 1);
	ck_assert_int_eq(handled, 0);
	close(fd);
	/* The same once the headers are in: a body dripping in. */
	fd = client_connect();
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_send(fd, req, strlen(req) - 20), 0);
	sent = 0;
	drip(fd, req + strlen(req) - 20, 250, &sent);
	ck_assert_msg(wait_closed(fd, 1000), "not closed mid-body");
	close(fd);
	/* An idle keep-alive connection goes as well. */
	fd = client_connect();
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_send(fd, PING, strlen(PING)), 0);
	ck_assert_int_eq(client_read_one(fd, &(struct resp){ 0 }), 200);
	ck_assert_msg(wait_closed(fd, 2500), "idle connection kept");
	close(fd);
	ck_pings(3, "after slow clients");
	ck_settled(base);
}
END_TEST

/* --- bodies, pipelining, garbage ------------------------------------------ */

/* Clients that leave mid-body, or while the VMM works on their request. */
START_TEST(test_close_mid_body)
{
	const char *head = "PUT /api/v1/vm.resize HTTP/1.1\r\nHost: x\r\n"
			   "Content-Length: 100\r\n\r\n{\"desired_vcpus\":";
	int base, i, fd;

	server_up();
	base = count_fds();
	for (i = 0; i < 20; i++) {
		fd = client_connect();
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(client_send(fd, head, strlen(head)), 0);
		if (i % 2)
			sleep_ms(5);
		close(fd);
	}
	handler_sleep_ms = 100;
	for (i = 0; i < 5; i++) {
		fd = client_connect();
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(client_send(fd, PING, strlen(PING)), 0);
		sleep_ms(20);
		close(fd);
	}
	sleep_ms(200);
	handler_sleep_ms = 0;
	ck_pings(3, "after clients left");
	ck_assert_int_eq(handled, 8);
	ck_settled(base);
}
END_TEST

#define BIG	(2 * 1024 * 1024)

/*
 * Sends head then up to BIG bytes of body without blocking, reading what
 * comes back; returns the status (or -1 if closed without one) and the
 * body bytes the server took in *taken.
 */
static int big_body(const char *head, size_t *taken, struct resp *r)
{
	static char chunk[64 * 1024];
	uint64_t end = now_ms() + 5000;
	int fd = client_connect(), status = -1;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_send(fd, head, strlen(head)), 0);
	memset(chunk, ' ', sizeof(chunk));
	*taken = 0;
	while (*taken < BIG && now_ms() < end) {
		n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			*taken += n;
			continue;
		}
		if (errno != EAGAIN)
			break;	/* EPIPE, ECONNRESET: closed on us */
		if (status < 0 &&
		    poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
			 50) == 1)
			status = client_read_one(fd, r);
		if (status > 0)
			break;
	}
	if (status < 0)
		status = client_read_one(fd, r);
	ck_assert_msg(wait_closed(fd, 2000), "connection kept open");
	close(fd);
	return status;
}

/* 2 MiB bodies: 413 and a closed connection, long before all is sent. */
START_TEST(test_huge_body)
{
	char head[256];
	struct resp r;
	size_t taken;
	int base;

	server_up();
	base = count_fds();
	snprintf(head, sizeof(head), "PUT /api/v1/vm.resize HTTP/1.1\r\n"
		 "Host: x\r\nContent-Length: %d\r\n\r\n", BIG);
	ck_assert_int_eq(big_body(head, &taken, &r), 413);
	ck_assert_ptr_nonnull(strstr(r.body, "body too large"));
	ck_assert_uint_lt(taken, BIG / 2);
	/* Chunked: no length to refuse early; dropped past a bound. */
	snprintf(head, sizeof(head), "PUT /api/v1/vm.resize HTTP/1.1\r\n"
		 "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", BIG);
	big_body(head, &taken, &r);
	ck_assert_uint_lt(taken, BIG / 2);
	ck_assert_int_eq(handled, 0);
	ck_pings(2, "after huge bodies");
	ck_settled(base);
}
END_TEST

/* Reads n responses from fd and checks their statuses in order. */
static void ck_responses(int fd, const int *want, int n)
{
	char rest[4096];
	size_t rest_len = 0;
	struct resp r;
	int i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(client_read(fd, &r, rest, &rest_len), want[i]);
	ck_assert_uint_eq(rest_len, 0);
}

/* Three requests in one write: three responses, in order. */
START_TEST(test_pipelined)
{
	const char *three = PING
		"GET /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *puts = "PUT /api/v1/vm.boot HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 2\r\n\r\n{}" PING
		"PUT /api/v1/vm.resize HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 20\r\n\r\n{\"desired_vcpus\": 3}";
	static const int want3[] = { 200, 404, 500 }, wantp[] = { 204, 200,
								    204 };
	int base, fd, i;

	server_up();
	base = count_fds();
	fd = client_connect();
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_send(fd, three, strlen(three)), 0);
	ck_responses(fd, want3, 3);
	/* Bodies, and a VMM slow enough that the next ones wait. */
	handler_sleep_ms = 50;
	ck_assert_int_eq(client_send(fd, puts, strlen(puts)), 0);
	ck_responses(fd, wantp, 3);
	/* Split anywhere, even while the first is with the VMM. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(client_send(fd, three, 20), 0);
		sleep_ms(10);
		ck_assert_int_eq(client_send(fd, three + 20,
					     strlen(three) - 20), 0);
		ck_responses(fd, want3, 3);
	}
	close(fd);
	ck_assert_int_eq(handled, 2 * 3 + 3 + 2);
	ck_settled(base);
}
END_TEST

/*
 * HTTP/1.0 has no keep-alive unless asked: one answer, Connection: close,
 * as a client expects; asked, all three.
 */
START_TEST(test_pipelined_http10)
{
	const char *p10 = "GET /api/v1/vmm.ping HTTP/1.0\r\n\r\n";
	const char *ka = "GET /api/v1/vmm.ping HTTP/1.0\r\n"
			 "Connection: keep-alive\r\n\r\n";
	static const int want[] = { 200, 200, 200 };
	char buf[512];
	struct resp r;
	int fd;

	server_up();
	fd = client_connect();
	ck_assert_int_ge(fd, 0);
	snprintf(buf, sizeof(buf), "%s%s%s", p10, p10, p10);
	ck_assert_int_eq(client_send(fd, buf, strlen(buf)), 0);
	ck_assert_int_eq(client_read_one(fd, &r), 200);
	ck_assert_ptr_nonnull(strcasestr(r.head, "\r\nConnection: close"));
	ck_assert_msg(wait_closed(fd, 1000), "HTTP/1.0 left open");
	close(fd);
	fd = client_connect();
	ck_assert_int_ge(fd, 0);
	snprintf(buf, sizeof(buf), "%s%s%s", ka, ka, ka);
	ck_assert_int_eq(client_send(fd, buf, strlen(buf)), 0);
	ck_responses(fd, want, 3);
	close(fd);
}
END_TEST

/* Garbage gets a 4xx/5xx or a closed connection, never a hang. */
START_TEST(test_garbage)
{
	static char big_url[40000], big_head[40000];
	static const char bin[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03";
	const char *junk[] = {
		"HELLO\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET /api/v1/vmm.ping HTTP/1.1\r\nHost x\r\n\r\n",
		"PUT /api/v1/vm.resize HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: -5\r\n\r\n",
		"PUT /api/v1/vm.resize HTTP/1.1\r\nHost: x\r\n"
		"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
		"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
		big_url, big_head,
	};
	struct resp r;
	int base, fd, st;
	size_t i;

	memset(big_url, 'a', sizeof(big_url) - 1);
	memcpy(big_url, "GET /", 5);
	memset(big_head, 'b', sizeof(big_head) - 1);
	memcpy(big_head, "GET / HTTP/1.1\r\nX: ", 19);
	server_up();
	base = count_fds();
	for (i = 0; i <= sizeof(junk) / sizeof(junk[0]); i++) {
		fd = client_connect();
		ck_assert_int_ge(fd, 0);
		if (i < sizeof(junk) / sizeof(junk[0]))
			send(fd, junk[i], strlen(junk[i]), MSG_NOSIGNAL);
		else
			send(fd, bin, sizeof(bin) - 1, MSG_NOSIGNAL);
		if (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
			 ANSWER_MS) == 1) {
			st = client_read_one(fd, &r);
			ck_assert_msg(st < 0 || st >= 400, "junk %zu: %d", i,
				      st);
		} else {
			/* Still waiting for the rest: the deadline ends it. */
			ck_assert_msg(i == sizeof(junk) / sizeof(junk[0]) ||
				      i == 6, "junk %zu: no answer", i);
		}
		close(fd);
		ck_pings(1, "after garbage");
	}
	ck_assert_int_eq(handled, 1 + sizeof(junk) / sizeof(junk[0]));
	ck_settled(base);
}
END_TEST

/* --- the socket file ------------------------------------------------------ */

static ino_t ino_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? 0 : st.st_ino;
}

/*
 * Another evmm holds the lock and has bound, not yet listened: its socket
 * refuses connections, yet it is not stale. We must not unlink it.
 */
START_TEST(test_socket_locked)
{
	struct sockaddr_un a;
	char err[256] = "";
	int lk, fd;
	ino_t ino;

	lk = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(lk, 0);
	ck_assert_int_eq(flock(lk, LOCK_EX | LOCK_NB), 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr_of(&a);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ino = ino_of(sock_path);
	ck_assert_int_eq(api_server_start(&srv, sock_path, NULL, handler,
					  NULL, err, sizeof(err)),
			 -EADDRINUSE);
	ck_assert_ptr_null(srv);
	ck_assert_msg(strstr(err, "in use by a running evmm"), "%s", err);
	ck_assert_uint_eq(ino_of(sock_path), ino);
	ck_assert_uint_ne(ino_of(lock_path), 0);
	close(fd);
	/* Its holder gone, the socket is stale and the lock free. */
	close(lk);
	server_up();
	ck_pings(1, "after a stale lock");
}
END_TEST

/* A second server is refused and leaves the first one's files alone. */
START_TEST(test_socket_second_server)
{
	struct api_server *second = NULL;
	char err[256] = "";
	ino_t ino, lino;

	server_up();
	ino = ino_of(sock_path);
	lino = ino_of(lock_path);
	ck_assert_uint_ne(lino, 0);
	ck_assert_int_eq(api_server_start(&second, sock_path, NULL, handler,
					  NULL, err, sizeof(err)),
			 -EADDRINUSE);
	ck_assert_ptr_null(second);
	ck_assert_uint_eq(ino_of(sock_path), ino);
	ck_assert_uint_eq(ino_of(lock_path), lino);
	ck_pings(1, "after a second server");
	server_down();
	ck_assert_uint_eq(ino_of(sock_path), 0);
	ck_assert_uint_eq(ino_of(lock_path), 0);
}
END_TEST

/* exit() with the API up (a die() after it started): no file left. */
START_TEST(test_socket_exit)
{
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		char err[256];

		if (api_server_start(&srv, sock_path, NULL, handler, NULL,
				     err, sizeof(err)) ||
		    !ino_of(sock_path))
			_exit(2);
		exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		      "child status %#x", status);
	ck_assert_msg(!ino_of(sock_path), "%s left behind", sock_path);
	ck_assert_msg(!ino_of(lock_path), "%s left behind", lock_path);
}
END_TEST

/* At stop, a socket file that is no longer ours stays. */
START_TEST(test_socket_not_ours)
{
	struct sockaddr_un a;
	int fd;
	ino_t ino;

	server_up();
	ck_assert_int_eq(unlink(sock_path), 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr_of(&a);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ino = ino_of(sock_path);
	server_down();
	ck_assert_uint_eq(ino_of(sock_path), ino);
	close(fd);
}
END_TEST

Suite *api_hostile_suite(void)
{
	Suite *s = suite_create("api_hostile");
	TCase *tc = tcase_create("clients");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stalled_clients);
	tcase_add_test(tc, test_thousand_connections);
	tcase_add_test(tc, test_all_busy_waits);
	tcase_add_test(tc, test_slow_client_dropped);
	tcase_add_test(tc, test_close_mid_body);
	tcase_add_test(tc, test_huge_body);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_pipelined_http10);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket_file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_socket_locked);
	tcase_add_test(tc, test_socket_second_server);
	tcase_add_test(tc, test_socket_exit);
	tcase_add_test(tc, test_socket_not_ours);
	suite_add_tcase(s, tc);
	return s;
}

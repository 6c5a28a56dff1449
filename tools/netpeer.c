/*
 * netpeer's work (tools/netpeer.h): options, the listening socket, and
 * each direction's transfer, on any connected stream socket (the unit
 * tests use socketpairs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/netpeer.h"

#define NETPEER_CHUNK	(256 << 10)
#define NETPEER_MIB_MAX	(1 << 20)	/* a TiB: far more than a run sends */
#define NETPEER_S_MAX	86400.0

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((format(printf, 4, 5)))
static int say(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* --- Options -------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || !*v || *v > max ? -EINVAL : 0;
}

static int parse_secs(const char *s, double *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	*v = strtod(s, &end);
	return *end || !isfinite(*v) || *v <= 0 || *v > NETPEER_S_MAX ?
	       -EINVAL : 0;
}

/* One "-X VALUE"; i moves past it. */
static int parse_opt(struct netpeer_opts *o, char **argv, int *i, int argc,
		     char *err, size_t errlen)
{
	const char *flag = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	uint64_t mib;
	int ret = -EINVAL;

	if (!val)
		return say(err, errlen, -EINVAL, "%s needs a value", flag);
	if (!strcmp(flag, "-m")) {
		ret = parse_u64(val, NETPEER_MIB_MAX, &mib);
		o->send_bytes = mib << 20;
	} else if (!strcmp(flag, "-d")) {
		ret = parse_secs(val, &o->send_s);
	} else if (!strcmp(flag, "-t")) {
		ret = parse_secs(val, &o->timeout_s);
	} else if (!strcmp(flag, "-p")) {
		ret = parse_secs(val, &o->pause_s);
	} else {
		return say(err, errlen, -EINVAL, "unknown option %s", flag);
	}
	if (ret)
		return say(err, errlen, ret, "%s %s: not a number in range",
			   flag, val);
	*i += 2;
	return 0;
}

int netpeer_parse(struct netpeer_opts *o, int argc, char **argv, char *err,
		  size_t errlen)
{
	uint64_t port;
	int i = 1, ret;

	*o = (struct netpeer_opts){ .send_bytes = 256ULL << 20, .send_s = 10,
				    .timeout_s = 120 };
	while (i < argc && argv[i][0] == '-') {
		ret = parse_opt(o, argv, &i, argc, err, errlen);
		if (ret)
			return ret;
	}
	if (argc - i != 2)
		return say(err, errlen, -EINVAL, "ADDR and PORT expected");
	if (inet_pton(AF_INET, argv[i], &o->addr) != 1)
		return say(err, errlen, -EINVAL, "%s: not an IPv4 address",
			   argv[i]);
	if (parse_u64(argv[i + 1], 65535, &port))
		return say(err, errlen, -EINVAL, "%s: not a port (1-65535)",
			   argv[i + 1]);
	o->port = port;
	return 0;
}

/* --- Sockets ------------------------------------------------------------- */

int netpeer_listen(const struct netpeer_opts *o)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = o->addr,
				 .sin_port = htons(o->port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ret;

	if (s < 0)
		return -errno;
	/* Runs follow each other on the same port. */
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(s, SOL_IP, IP_FREEBIND, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1)) {
		ret = -errno;
		close(s);
		return ret;
	}
	return s;
}

/* Until fd has events or timeout_s passes: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, double timeout_s)
{
	struct pollfd p = { .fd = fd, .events = events };
	double end = now_s() + timeout_s, left;
	int n;

	while ((left = end - now_s()) > 0) {
		n = poll(&p, 1, (int)ceil(left * 1e3));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return -ETIMEDOUT;
}

int netpeer_accept(int lfd, double timeout_s)
{
	int ret = wait_fd(lfd, POLLIN, timeout_s), fd;

	if (ret)
		return ret;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* --- The transfers ------------------------------------------------------ */

/* Guest → host: to the end of the stream. */
static int recv_stream(int fd, const struct netpeer_opts *o,
		       struct netpeer_result *r, char *err, size_t errlen)
{
	static uint8_t buf[NETPEER_CHUNK];
	double first = 0;
	ssize_t n;
	int ret;

	for (;;) {
		ret = wait_fd(fd, POLLIN, o->timeout_s);
		if (ret)
			return say(err, errlen, ret, "guest to host: %s after "
				   "%llu bytes", strerror(-ret),
				   (unsigned long long)r->g2h_bytes);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return say(err, errlen, -errno, "guest to host: %s",
				   strerror(errno));
		if (!n)
			break;
		if (!r->g2h_bytes)
			first = now_s();
		r->g2h_bytes += n;
	}
	r->g2h_s = r->g2h_bytes ? now_s() - first : 0;
	return r->g2h_bytes ? 0 : say(err, errlen, -ENODATA, "guest to host: "
				      "the guest sent nothing");
}

static bool send_done(const struct netpeer_opts *o,
		      const struct netpeer_result *r, double start)
{
	return r->h2g_bytes >= o->send_bytes || now_s() - start >= o->send_s;
}

/* Host → guest: a budget of bytes and of time, then the end of stream. */
static int send_stream(int fd, const struct netpeer_opts *o,
		       struct netpeer_result *r, char *err, size_t errlen)
{
	static uint8_t buf[NETPEER_CHUNK];
	double start = now_s();
	uint64_t left;
	ssize_t n;
	int ret;

	memset(buf, 0x5a, sizeof(buf));
	while (!send_done(o, r, start)) {
		ret = wait_fd(fd, POLLOUT, o->timeout_s);
		if (ret)
			return say(err, errlen, ret, "host to guest: %s after "
				   "%llu bytes", strerror(-ret),
				   (unsigned long long)r->h2g_bytes);
		left = o->send_bytes - r->h2g_bytes;
		n = send(fd, buf, left < sizeof(buf) ? left : sizeof(buf),
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return say(err, errlen, -errno, "host to guest: %s",
				   strerror(errno));
		r->h2g_bytes += n;
	}
	shutdown(fd, SHUT_WR);
	return 0;
}

/* The guest's "got N\n": the bytes it received, or -errno. */
static int read_ack(int fd, const struct netpeer_opts *o, uint64_t *got,
		    char *err, size_t errlen)
{
	char line[NETPEER_ACK_MAX + 1], *end;
	size_t used = 0;
	ssize_t n;
	int ret;

	while (used < NETPEER_ACK_MAX && !memchr(line, '\n', used)) {
		ret = wait_fd(fd, POLLIN, o->timeout_s);
		if (ret)
			return say(err, errlen, ret, "the guest's count: %s",
				   strerror(-ret));
		n = recv(fd, line + used, NETPEER_ACK_MAX - used,
			 MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return say(err, errlen, n ? -errno : -EPIPE,
				   "the guest's count: %s", n ? strerror(errno)
				   : "the guest closed first");
		used += n;
	}
	line[used] = 0;
	errno = 0;
	if (strncmp(line, "got ", 4) ||
	    (*got = strtoull(line + 4, &end, 10), errno) || *end != '\n')
		return say(err, errlen, -EPROTO, "the guest's count: not "
			   "\"got N\": %.*s", (int)strcspn(line, "\n"), line);
	return 0;
}

/*
 * -p: the guest's results wait (it prints them on the count) while
 * tools/bench reads the VMM's state, the transfer over and the VMM alive.
 */
static void pause_before_count(const struct netpeer_opts *o)
{
	struct timespec t = { .tv_sec = (time_t)o->pause_s };

	if (o->pause_s <= 0)
		return;
	fprintf(stderr, "netpeer: guest to host received\n");
	t.tv_nsec = (long)((o->pause_s - t.tv_sec) * 1e9);
	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* Guest → host, then "got N\n" so that the guest knows all arrived. */
int netpeer_g2h(int fd, const struct netpeer_opts *o,
		struct netpeer_result *r, char *err, size_t errlen)
{
	char line[NETPEER_ACK_MAX];
	int len, ret;

	r->g2h_bytes = 0;
	r->g2h_s = 0;
	ret = recv_stream(fd, o, r, err, errlen);
	if (ret)
		return ret;
	pause_before_count(o);
	len = snprintf(line, sizeof(line), "got %llu\n",
		       (unsigned long long)r->g2h_bytes);
	ret = wait_fd(fd, POLLOUT, o->timeout_s);
	if (!ret && send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) != len)
		ret = -errno;
	return ret ? say(err, errlen, ret, "guest to host: the count: %s",
			 strerror(-ret)) : 0;
}

int netpeer_h2g(int fd, const struct netpeer_opts *o,
		struct netpeer_result *r, char *err, size_t errlen)
{
	double start = now_s();
	uint64_t got = 0;
	int ret;

	r->h2g_bytes = 0;
	r->h2g_s = 0;
	ret = send_stream(fd, o, r, err, errlen);
	if (!ret)
		ret = read_ack(fd, o, &got, err, errlen);
	if (ret)
		return ret;
	r->h2g_s = now_s() - start;
	if (got != r->h2g_bytes)
		return say(err, errlen, -EPROTO, "the guest got %llu of %llu "
			   "bytes", (unsigned long long)got,
			   (unsigned long long)r->h2g_bytes);
	return 0;
}

static double mbits(uint64_t bytes, double s)
{
	return s > 0 ? bytes * 8 / s / 1e6 : 0;
}

void netpeer_format(const struct netpeer_result *r, char *buf, size_t len)
{
	snprintf(buf, len, "g2h_mbits=%.1f g2h_mib=%.1f g2h_s=%.2f "
		 "h2g_mbits=%.1f h2g_mib=%.1f h2g_s=%.2f",
		 mbits(r->g2h_bytes, r->g2h_s), r->g2h_bytes / 1048576.0,
		 r->g2h_s, mbits(r->h2g_bytes, r->h2g_s),
		 r->h2g_bytes / 1048576.0, r->h2g_s);
}

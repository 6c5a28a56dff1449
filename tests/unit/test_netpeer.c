/*
 * make bench's net part without a guest: netpeer's options and both of its
 * transfers against a fake netbench on socketpairs (no IP traffic), and
 * netbench's own option string (firmware/bench/netbench_opts.h).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "firmware/bench/netbench_opts.h"
#include "tools/netpeer.h"

static char err[256];

static int parse(struct netpeer_opts *o, const char **args)
{
	int argc = 0;

	while (args[argc])
		argc++;
	err[0] = 0;
	return netpeer_parse(o, argc, (char **)args, err, sizeof(err));
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

START_TEST(peer_parse_defaults_and_options)
{
	struct netpeer_opts o;

	ck_assert_int_eq(parse(&o, (const char *[]){ "netpeer", "10.0.0.1",
						     "5001", NULL }), 0);
	ck_assert_str_eq(inet_ntoa(o.addr), "10.0.0.1");
	ck_assert_int_eq(o.port, 5001);
	ck_assert_uint_eq(o.send_bytes, 256ULL << 20);
	ck_assert(o.send_s == 10 && o.timeout_s == 120 && o.pause_s == 0);
	ck_assert_int_eq(parse(&o, (const char *[]){ "netpeer", "-m", "3",
				     "-d", "2.5", "-t", "30", "-p", "0.5",
				     "192.168.250.1", "65535", NULL }), 0);
	ck_assert_uint_eq(o.send_bytes, 3ULL << 20);
	ck_assert(o.send_s == 2.5 && o.timeout_s == 30 && o.pause_s == 0.5);
	ck_assert_int_eq(o.port, 65535);
}
END_TEST

START_TEST(peer_parse_refuses)
{
	static const char *bad[][6] = {
		{ "netpeer", NULL },
		{ "netpeer", "10.0.0.1", NULL },
		{ "netpeer", "10.0.0.1", "5001", "x", NULL },
		{ "netpeer", "10.0.0", "5001", NULL },
		{ "netpeer", "::1", "5001", NULL },
		{ "netpeer", "10.0.0.1", "0", NULL },
		{ "netpeer", "10.0.0.1", "65536", NULL },
		{ "netpeer", "10.0.0.1", "50x", NULL },
		{ "netpeer", "-m", "0", "10.0.0.1", "1", NULL },
		{ "netpeer", "-m", "-1", "10.0.0.1", "1", NULL },
		{ "netpeer", "-m", "2097152", "10.0.0.1", "1", NULL },
		{ "netpeer", "-d", "nan", "10.0.0.1", "1", NULL },
		{ "netpeer", "-d", "0", "10.0.0.1", "1", NULL },
		{ "netpeer", "-t", "1e9", "10.0.0.1", "1", NULL },
		{ "netpeer", "-p", "x", "10.0.0.1", "1", NULL },
		{ "netpeer", "-x", "1", "10.0.0.1", "1", NULL },
		{ "netpeer", "10.0.0.1", "1", "-t", NULL },
		{ "netpeer", "-t", NULL },
	};
	struct netpeer_opts o;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(&o, bad[i]) == -EINVAL, "case %u", i);
		ck_assert_msg(err[0], "case %u has no message", i);
	}
	parse(&o, bad[17]);
	ck_assert_str_eq(err, "-t needs a value");
	parse(&o, bad[5]);
	ck_assert_str_eq(err, "0: not a port (1-65535)");
}
END_TEST

START_TEST(bench_parse_target)
{
	static const char *bad[] = {
		"", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536",
		"10.0.0.1:80,", "10.0.0.1:80,0", "10.0.0.1:80,1,0",
		"10.0.0.1:80,1,2,3", "10.0.0.1:80,x", "host:80",
		"10.0.0.1:80,1048577", "10.0.0.1:-80",
		"1111111111111111111111111:1",
	};
	struct netbench_opts o;
	unsigned int i;

	ck_assert_int_eq(netbench_parse(&o, "192.168.250.1:47001"), 0);
	ck_assert_str_eq(inet_ntoa(o.addr), "192.168.250.1");
	ck_assert_int_eq(o.port, 47001);
	ck_assert_uint_eq(o.mib, NETBENCH_MIB);
	ck_assert_uint_eq(o.secs, NETBENCH_SECS);
	ck_assert_int_eq(netbench_parse(&o, "10.1.2.3:5,64"), 0);
	ck_assert(o.port == 5 && o.mib == 64 && o.secs == NETBENCH_SECS);
	ck_assert_int_eq(netbench_parse(&o, "10.1.2.3:5,64,3"), 0);
	ck_assert(o.mib == 64 && o.secs == 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(netbench_parse(&o, bad[i]) == -EINVAL, "\"%s\"",
			      bad[i]);
}
END_TEST

/* --- The transfers, against a fake guest -------------------------------- */

struct fake {
	int fd;
	size_t send;		/* guest → host: bytes, then the count */
	const char *ack;	/* host → guest: answer this, or "" for the
				 * true count, or NULL to close unanswered */
	size_t got;
};

static void *fake_sender(void *arg)
{
	struct fake *f = arg;
	static char buf[65536];
	size_t left = f->send, n;
	ssize_t got;

	while (left) {
		n = left < sizeof(buf) ? left : sizeof(buf);
		ck_assert_int_eq(send(f->fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
		left -= n;
	}
	shutdown(f->fd, SHUT_WR);
	got = recv(f->fd, buf, sizeof(buf) - 1, 0);	/* the host's count */
	buf[got > 0 ? got : 0] = 0;
	f->got = strtoull(buf + (got > 4 ? 4 : 0), NULL, 10);
	close(f->fd);
	return NULL;
}

static void *fake_receiver(void *arg)
{
	struct fake *f = arg;
	static char buf[65536];
	char line[64];
	ssize_t n;

	while ((n = recv(f->fd, buf, sizeof(buf), 0)) > 0)
		f->got += n;
	if (f->ack) {
		snprintf(line, sizeof(line), "%s", f->ack);
		if (!*f->ack)
			snprintf(line, sizeof(line), "got %zu\n", f->got);
		send(f->fd, line, strlen(line), MSG_NOSIGNAL);
	}
	close(f->fd);
	return NULL;
}

static const struct netpeer_opts opts = {
	.send_bytes = 2 << 20, .send_s = 30, .timeout_s = 5,
};

/* Runs one direction with the fake guest on a thread; its return. */
static int run(struct fake *f, const struct netpeer_opts *o,
	       struct netpeer_result *r, bool g2h)
{
	pthread_t th;
	int sv[2], ret;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	f->fd = sv[1];
	ck_assert_int_eq(pthread_create(&th, NULL, g2h ? fake_sender :
					fake_receiver, f), 0);
	err[0] = 0;
	ret = g2h ? netpeer_g2h(sv[0], o, r, err, sizeof(err)) :
		    netpeer_h2g(sv[0], o, r, err, sizeof(err));
	close(sv[0]);
	pthread_join(th, NULL);
	return ret;
}

START_TEST(peer_both_directions)
{
	struct netpeer_result r = { 0 };
	struct fake up = { .send = 3 << 20 }, down = { .ack = "" };
	char line[256];

	ck_assert_int_eq(run(&up, &opts, &r, true), 0);
	ck_assert_uint_eq(r.g2h_bytes, 3 << 20);
	ck_assert_uint_eq(up.got, 3 << 20);	/* "got 3145728" */
	ck_assert(r.g2h_s > 0);
	ck_assert_int_eq(run(&down, &opts, &r, false), 0);
	ck_assert_uint_eq(r.h2g_bytes, 2 << 20);
	ck_assert_uint_eq(down.got, 2 << 20);
	ck_assert(r.h2g_s > 0 && r.g2h_bytes == 3 << 20);
	r = (struct netpeer_result){ .g2h_bytes = 3 << 20, .g2h_s = 2,
				     .h2g_bytes = 1 << 20, .h2g_s = 0.5 };
	netpeer_format(&r, line, sizeof(line));
	ck_assert_str_eq(line, "g2h_mbits=12.6 g2h_mib=3.0 g2h_s=2.00 "
			 "h2g_mbits=16.8 h2g_mib=1.0 h2g_s=0.50");
}
END_TEST

/* The host stops sending when its time is up, far short of its bytes. */
/* -p: the count waits, the transfer's figures do not include it. */
START_TEST(peer_pause_before_count)
{
	struct netpeer_opts o = opts;
	struct netpeer_result r;
	struct fake up = { .send = 1 << 20 };
	double t0 = now_s();

	o.pause_s = 0.3;
	ck_assert_int_eq(run(&up, &o, &r, true), 0);
	ck_assert(now_s() - t0 >= 0.3);
	ck_assert(r.g2h_s < 0.3 && up.got == 1 << 20);
}
END_TEST

START_TEST(peer_send_time_bound)
{
	struct netpeer_opts o = opts;
	struct netpeer_result r;
	struct fake down = { .ack = "" };
	double t0 = now_s();

	o.send_bytes = 1ULL << 40;
	o.send_s = 0.2;
	ck_assert_int_eq(run(&down, &o, &r, false), 0);
	ck_assert(now_s() - t0 < 3);
	ck_assert(r.h2g_bytes > 0 && r.h2g_bytes == down.got);
}
END_TEST

START_TEST(peer_guest_failures)
{
	struct netpeer_opts o = opts;
	struct netpeer_result r;
	struct fake wrong = { .ack = "got 5\n" }, none = { .ack = NULL },
		    junk = { .ack = "hello\n" }, empty = { .send = 0 };

	ck_assert_int_eq(run(&wrong, &o, &r, false), -EPROTO);
	ck_assert_str_eq(err, "the guest got 5 of 2097152 bytes");
	ck_assert_int_eq(run(&none, &o, &r, false), -EPIPE);
	ck_assert_int_eq(run(&junk, &o, &r, false), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "hello"));
	ck_assert_int_eq(run(&empty, &o, &r, true), -ENODATA);
}
END_TEST

/* A guest that goes quiet: every wait ends at the timeout. */
START_TEST(peer_timeouts)
{
	struct netpeer_opts o = opts;
	struct netpeer_result r;
	int sv[2], lfd, c;
	double t0;

	o.timeout_s = 0.2;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t0 = now_s();
	ck_assert_int_eq(netpeer_g2h(sv[0], &o, &r, err, sizeof(err)),
			 -ETIMEDOUT);
	ck_assert_int_eq(netpeer_h2g(sv[0], &o, &r, err, sizeof(err)),
			 -ETIMEDOUT);	/* nobody reads, then no count */
	ck_assert(now_s() - t0 < 5);
	close(sv[0]);
	close(sv[1]);
	inet_pton(AF_INET, "127.0.0.1", &o.addr);
	o.port = 0;		/* any free port */
	lfd = netpeer_listen(&o);
	ck_assert_int_ge(lfd, 0);
	c = netpeer_accept(lfd, 0.1);
	ck_assert_int_eq(c, -ETIMEDOUT);
	close(lfd);
}
END_TEST

Suite *netpeer_suite(void)
{
	Suite *s = suite_create("netpeer");
	TCase *tc = tcase_create("netpeer");

	tcase_add_test(tc, peer_parse_defaults_and_options);
	tcase_add_test(tc, peer_parse_refuses);
	tcase_add_test(tc, bench_parse_target);
	tcase_add_test(tc, peer_both_directions);
	tcase_add_test(tc, peer_pause_before_count);
	tcase_add_test(tc, peer_send_time_bound);
	tcase_add_test(tc, peer_guest_failures);
	tcase_add_test(tc, peer_timeouts);
	suite_add_tcase(s, tc);
	return s;
}

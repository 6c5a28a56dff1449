/*
 * netbench: the guest side of make bench's net part. It connects over TCP
 * to the host's netpeer (tools/netpeer.h) twice:
 *
 *   host to guest: receives to the end of the host's stream and answers
 *   "got N\n" with the bytes received; guest to host: sends MIB MiB or for
 *   SECONDS seconds, whichever comes first, shuts its side down and waits
 *   for the host's "got N\n", so that the results below come only once
 *   the host has everything.
 *
 * Both are also timed here, on the guest's CLOCK_MONOTONIC (receiving:
 * first byte to end of stream; sending: first byte to the host's count),
 * with the frames and virtio interrupts the guest counted meanwhile (rx_:
 * while receiving, tx_: while sending; the acks are the frames the other
 * way; irq_in and irq_out: the receive and transmit queues' interrupts);
 * then one line:
 *
 *   EVMM-NETBENCH: tx_mbits=N tx_mib=N tx_s=N rx_mbits=N rx_mib=N rx_s=N
 *       rx_frames=N rx_acks=N rx_irq_in=N rx_irq_out=N tx_frames=N
 *       tx_acks=N tx_irq_in=N tx_irq_out=N features=HEX
 *   EVMM-NETBENCH: error=WHAT:REASON
 *
 * make bench reports the host's figures (the guest's clock jumps under
 * nested virtualization); the guest's are for cross-checks.
 *
 *   netbench [ADDR:PORT[,MIB[,SECONDS]]]
 *
 * Without arguments it takes `evmm.netbench=ADDR:PORT,MIB,SECONDS` from
 * the kernel command line, since init's `evmm.cmd=` runs one word. Every
 * wait is bounded. Static: the guest has no libc.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "netbench_opts.h"

#define TAG		"EVMM-NETBENCH: "
#define CHUNK		(256 << 10)
#define CONNECT_S	90	/* the host may set its address late */
#define IO_WAIT_S	60	/* one send or receive */

struct counts {
	unsigned long long tx_frames, rx_frames;
	unsigned long long irq_in, irq_out;	/* receive, transmit queue */
};

struct result {
	unsigned long long tx, rx;	/* bytes */
	double tx_s, rx_s;
	struct counts c[3];	/* before, between and after the directions */
};

static uint8_t buf[CHUNK];
static char ifname[256];	/* a d_name */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int fail(const char *what, int err)
{
	printf(TAG "error=%s:%s\n", what, strerror(err));
	fflush(stdout);
	return 1;
}

/* evmm.netbench=... from /proc/cmdline; -ENOENT if not there. */
static int opts_from_cmdline(struct netbench_opts *o)
{
	static const char key[] = "evmm.netbench=";
	char line[4096], *w, *save;
	FILE *f = fopen("/proc/cmdline", "re");
	int ret = -ENOENT;

	if (!f)
		return ret;
	if (fgets(line, sizeof(line), f))
		for (w = strtok_r(line, " \n", &save); w;
		     w = strtok_r(NULL, " \n", &save))
			if (!strncmp(w, key, sizeof(key) - 1))
				ret = netbench_parse(o, w + sizeof(key) - 1);
	fclose(f);
	return ret;
}

/* --- What the guest counted ---------------------------------------------- */

/* The first interface but lo, as init's evmm.ip= configures it. */
static void find_ifname(void)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "lo")) {
			snprintf(ifname, sizeof(ifname), "%s", e->d_name);
			break;
		}
	if (d)
		closedir(d);
}

static unsigned long long read_num(const char *fmt, const char *arg)
{
	unsigned long long v = 0;
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), fmt, arg);
	f = fopen(path, "re");
	if (f && fscanf(f, "%llu", &v) != 1)
		v = 0;
	if (f)
		fclose(f);
	return v;
}

/* The interrupts of the virtio lines named with `what`, on every CPU. */
static unsigned long long virtio_irqs(const char *what)
{
	unsigned long long sum = 0, v;
	char line[512], *p, *end;
	FILE *f = fopen("/proc/interrupts", "re");

	while (f && fgets(line, sizeof(line), f)) {
		p = strchr(line, ':');
		if (!p || !strstr(line, "virtio") || !strstr(line, what))
			continue;
		for (p++;; p = end) {
			v = strtoull(p, &end, 10);
			if (end == p)
				break;
			sum += v;
		}
	}
	if (f)
		fclose(f);
	return sum;
}

static void count(struct counts *c)
{
	c->tx_frames = read_num("/sys/class/net/%s/statistics/tx_packets",
				ifname);
	c->rx_frames = read_num("/sys/class/net/%s/statistics/rx_packets",
				ifname);
	c->irq_in = virtio_irqs("-input.");
	c->irq_out = virtio_irqs("-output.");
}

/* The driver's virtio features (sysfs: one character per bit), as hex. */
static unsigned long long features(void)
{
	unsigned long long f = 0;
	char path[320], bits[80] = "";
	FILE *h;
	int i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/features",
		 ifname);
	h = fopen(path, "re");
	if (h && !fgets(bits, sizeof(bits), h))
		bits[0] = 0;
	if (h)
		fclose(h);
	for (i = 0; i < 64 && (bits[i] == '0' || bits[i] == '1'); i++)
		f |= (unsigned long long)(bits[i] == '1') << i;
	return f;
}

/* --- The transfer --------------------------------------------------------- */

static int retryable(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH ||
	       e == ETIMEDOUT || e == EINTR;
}

/* Connected to the peer, retrying while it may not be there yet. */
static int dial(const struct netbench_opts *o)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = o->addr,
				 .sin_port = htons(o->port) };
	struct timeval tv = { .tv_sec = IO_WAIT_S };
	double end = now_s() + CONNECT_S;
	int s, e;

	for (;;) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			return s;
		e = errno;
		close(s);
		if (!retryable(e) || now_s() >= end)
			return -e;
		usleep(500 * 1000);
	}
}

/* The peer's "got N\n": N, or -errno. */
static int read_count(int s, unsigned long long *n)
{
	char line[64], *end;
	size_t used = 0;
	ssize_t got;

	while (used < sizeof(line) - 1 && !memchr(line, '\n', used)) {
		got = recv(s, line + used, sizeof(line) - 1 - used, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got ? -errno : -EPIPE;
		used += got;
	}
	line[used] = 0;
	if (strncmp(line, "got ", 4))
		return -EPROTO;
	*n = strtoull(line + 4, &end, 10);
	return *end == '\n' ? 0 : -EPROTO;
}

static int send_all(int s, const struct netbench_opts *o, struct result *r)
{
	unsigned long long want = (unsigned long long)o->mib << 20, left;
	double t0 = now_s();
	ssize_t n;

	memset(buf, 0xa5, sizeof(buf));
	while (r->tx < want && now_s() - t0 < o->secs) {
		left = want - r->tx;
		n = send(s, buf, left < sizeof(buf) ? left : sizeof(buf),
			 MSG_NOSIGNAL);
		if (n > 0)
			r->tx += n;
		else if (!n || errno != EINTR)
			return n ? -errno : -EPIPE;
	}
	return shutdown(s, SHUT_WR) ? -errno : 0;
}

/* Sends, then waits until the host says it has it all. */
static int send_phase(const struct netbench_opts *o, struct result *r)
{
	unsigned long long got = 0;
	int s = dial(o), ret;
	double t0 = now_s();

	if (s < 0)
		return s;
	ret = send_all(s, o, r);
	if (!ret)
		ret = read_count(s, &got);
	if (!ret && got != r->tx)
		ret = -EPROTO;
	r->tx_s = now_s() - t0;
	close(s);
	return ret;
}

static int recv_all(int s, struct result *r)
{
	double t0 = 0;
	ssize_t n;

	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		if (!r->rx)
			t0 = now_s();
		r->rx += n;
	}
	r->rx_s = r->rx ? now_s() - t0 : 0;
	return 0;
}

/* Receives to the end, then says how much came. */
static int recv_phase(const struct netbench_opts *o, struct result *r)
{
	char line[64];
	int s = dial(o), len, ret;

	if (s < 0)
		return s;
	ret = recv_all(s, r);
	len = snprintf(line, sizeof(line), "got %llu\n", r->rx);
	if (!ret && send(s, line, len, MSG_NOSIGNAL) != len)
		ret = -errno;
	close(s);
	return ret;
}

static double mbits(unsigned long long bytes, double s)
{
	return s > 0 ? bytes * 8 / s / 1e6 : 0;
}

/*
 * Per direction: the frames that carried the data, those the other way
 * (TCP's acks, mostly), and the interrupts of the receive and transmit
 * queues.
 */
static void report(const struct result *r)
{
	const struct counts *c = r->c;

	printf(TAG "tx_mbits=%.1f tx_mib=%.1f tx_s=%.2f rx_mbits=%.1f "
	       "rx_mib=%.1f rx_s=%.2f rx_frames=%llu rx_acks=%llu "
	       "rx_irq_in=%llu rx_irq_out=%llu tx_frames=%llu tx_acks=%llu "
	       "tx_irq_in=%llu tx_irq_out=%llu features=%llx\n",
	       mbits(r->tx, r->tx_s), r->tx / 1048576.0, r->tx_s,
	       mbits(r->rx, r->rx_s), r->rx / 1048576.0, r->rx_s,
	       c[1].rx_frames - c[0].rx_frames,
	       c[1].tx_frames - c[0].tx_frames, c[1].irq_in - c[0].irq_in,
	       c[1].irq_out - c[0].irq_out, c[2].tx_frames - c[1].tx_frames,
	       c[2].rx_frames - c[1].rx_frames, c[2].irq_in - c[1].irq_in,
	       c[2].irq_out - c[1].irq_out, features());
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct netbench_opts o;
	struct result r = { 0 };
	int ret;

	ret = argc > 1 ? netbench_parse(&o, argv[1]) : opts_from_cmdline(&o);
	if (ret || argc > 2) {
		fprintf(stderr, "usage: netbench "
			"[ADDR:PORT[,MIB[,SECONDS]]]\n");
		return fail("usage", ret == -ENOENT ? ENOENT : EINVAL);
	}
	find_ifname();
	count(&r.c[0]);
	ret = recv_phase(&o, &r);
	if (ret)
		return fail("host_to_guest", -ret);
	count(&r.c[1]);
	ret = send_phase(&o, &r);
	if (ret)
		return fail("guest_to_host", -ret);
	count(&r.c[2]);
	report(&r);
	return 0;
}

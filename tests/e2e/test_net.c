/*
 * virtio-net end to end, in a network namespace of the test's own (so the
 * traffic stays between this host and its guest, on one tap, whether the
 * test host is the nested L1 or a machine with /dev/kvm): evmm creates or
 * attaches the tap, the host side is 192.168.249.1/24 and the guest
 * 192.168.249.2/24 (init's evmm.ip=). Pings both ways, TCP both ways with
 * the bytes' CRC-32 compared (busybox nc and crc32 in the guest, the
 * socket and the CRC here), the same after a guest reboot, and the taps
 * evmm cannot have.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

#define HOST_IP		"192.168.249.1"
#define GUEST_IP	"192.168.249.2"
#define MASK		"255.255.255.0"
/* GUEST_CMDLINE without pci=off: the network card is a PCI function. */
#define NET_CMDLINE	"console=ttyS0 quiet panic=-1 evmm.ip=" GUEST_IP "/24"
#define NET_READY	"net=eth0," GUEST_IP "/24"
#define PORT_TO_HOST	5001
#define PORT_TO_GUEST	5002
/* EVMM_NET_MIB: MiB each way (the seccomp audit moves less). */
#define NET_MIB_DEFAULT	64

static struct guest g;
static char net_arg[128], dir[64], sock[128];
static bool with_api;		/* evmm has --api-socket sock */

/* --- The namespace and taps ------------------------------------------------ */

static int ctl_sock(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_msg(s >= 0, "socket: %s", strerror(errno));
	return s;
}

static void link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = ctl_sock();

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_msg(!ioctl(s, SIOCGIFFLAGS, &ifr), "%s: %s", name,
		      strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	ck_assert_msg(!ioctl(s, SIOCSIFFLAGS, &ifr), "%s up: %s", name,
		      strerror(errno));
	close(s);
}

static void set_addr(const char *name, unsigned long req, const char *a)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = ctl_sock();

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin->sin_addr);
	ck_assert_msg(!ioctl(s, req, &ifr), "%s %s: %s", name, a,
		      strerror(errno));
	close(s);
}

/*
 * This test process (Check forks one per test) gets a network namespace
 * of its own, with lo up; evmm, its child, lives in it too.
 */
static void own_netns(void)
{
	ck_assert_msg(!unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET): %s "
		      "(the network tests need root)", strerror(errno));
	link_up("lo");
}

/* A tap named name; persist: it stays when the fd closes. */
static int make_tap(const char *name, bool persist)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_msg(!ioctl(fd, TUNSETIFF, &ifr), "TUNSETIFF %s: %s", name,
		      strerror(errno));
	if (!persist)
		return fd;
	ck_assert_int_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	return -1;
}

static void setup(void)
{
	own_netns();
	snprintf(net_arg, sizeof(net_arg), "ip=" HOST_IP ",mask=" MASK);
	snprintf(dir, sizeof(dir), "/tmp/evmm-net-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
}

static void teardown(void)
{
	char lock[160];

	guest_kill(&g);
	snprintf(lock, sizeof(lock), "%s.lock", sock);
	unlink(sock);
	unlink(lock);
	rmdir(dir);
}

/* --- Host-side traffic ------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* zlib's CRC-32, as busybox crc32 prints it. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c;
	unsigned int i, k;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			for (c = i, k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static uint16_t icmp_sum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return htons(~sum);
}

/* One echo to the guest and its reply (raw ICMP: the test is root). */
static bool host_ping(double timeout_s)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t pkt[64] = { 0 }, buf[256];
	struct icmphdr *h = (struct icmphdr *)pkt;
	double end = now_s() + timeout_s * guest_scale();
	struct pollfd p;
	bool ok = false;
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);

	ck_assert_msg(s >= 0, "raw socket: %s", strerror(errno));
	inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(getpid() & 0xFFFF);
	h->un.echo.sequence = htons(1);
	memcpy(pkt + sizeof(*h), "evmm-net-ping", 13);
	h->checksum = icmp_sum(pkt, sizeof(pkt));
	ck_assert_int_eq(sendto(s, pkt, sizeof(pkt), 0,
				(struct sockaddr *)&to, sizeof(to)),
			 sizeof(pkt));
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	while (!ok && now_s() < end && poll(&p, 1, 200) >= 0) {
		ssize_t n = p.revents ? recv(s, buf, sizeof(buf), 0) : 0;
		struct iphdr *ip = (struct iphdr *)buf;
		struct icmphdr *r = (struct icmphdr *)(buf + 4 * ip->ihl);

		if (n > (ssize_t)sizeof(*ip) && ip->saddr == to.sin_addr.s_addr &&
		    r->type == ICMP_ECHOREPLY && r->un.echo.id == h->un.echo.id)
			ok = true;
	}
	close(s);
	return ok;
}

/* One TCP transfer with the guest, on a thread while the guest runs nc. */
struct xfer {
	int lfd;
	bool to_guest;		/* send data, else receive */
	const uint8_t *data;
	size_t len;
	double timeout_s;
	/* results */
	size_t moved;
	uint32_t crc;
	double secs;
	char err[128];
};

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(s, 0);
	inet_pton(AF_INET, HOST_IP, &a.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(!bind(s, (struct sockaddr *)&a, sizeof(a)) &&
		      !listen(s, 1), "listen on %s:%d: %s", HOST_IP, port,
		      strerror(errno));
	return s;
}

static bool xfer_wait(struct xfer *x, int fd, short ev, double end)
{
	struct pollfd p = { .fd = fd, .events = ev };

	while (now_s() < end)
		if (poll(&p, 1, 200) > 0)
			return true;
	snprintf(x->err, sizeof(x->err), "timed out after %zu bytes",
		 x->moved);
	return false;
}

static void xfer_send(struct xfer *x, int c, double end)
{
	ssize_t n;

	while (x->moved < x->len && xfer_wait(x, c, POLLOUT, end)) {
		n = send(c, x->data + x->moved, x->len - x->moved,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			snprintf(x->err, sizeof(x->err), "send: %s",
				 strerror(errno));
			return;
		}
		x->moved += n > 0 ? n : 0;
	}
	shutdown(c, SHUT_WR);
}

static void xfer_recv(struct xfer *x, int c, double end)
{
	static uint8_t buf[1 << 16];
	ssize_t n = 1;

	while (n > 0 && xfer_wait(x, c, POLLIN, end)) {
		n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			snprintf(x->err, sizeof(x->err), "recv: %s",
				 strerror(errno));
		if (n > 0 && !x->to_guest) {
			x->crc = crc32_update(x->crc, buf, n);
			x->moved += n;
		}
	}
}

static void *xfer_main(void *arg)
{
	struct xfer *x = arg;
	double end = now_s() + x->timeout_s * guest_scale(), start;
	int c;

	if (!xfer_wait(x, x->lfd, POLLIN, end))
		return NULL;
	c = accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		snprintf(x->err, sizeof(x->err), "accept: %s", strerror(errno));
		return NULL;
	}
	start = now_s();
	if (x->to_guest)
		xfer_send(x, c, end);
	xfer_recv(x, c, end);	/* to EOF: the guest has it all */
	x->secs = now_s() - start;
	close(c);
	return NULL;
}

static size_t net_len(void)
{
	const char *mib = getenv("EVMM_NET_MIB");

	return (size_t)(mib ? atoi(mib) : NET_MIB_DEFAULT) << 20;
}

/* The same bytes every run: xorshift64. */
static uint8_t *make_data(size_t len)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	uint8_t *d = malloc(len);
	size_t i;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(d + i, &x, len - i < 8 ? len - i : 8);
	}
	return d;
}

/* Runs cmd in the guest while the thread moves x's bytes. */
static void run_xfer(struct xfer *x, const char *cmd, double timeout_s)
{
	pthread_t th;
	int rc;

	x->timeout_s = timeout_s;
	ck_assert_int_eq(pthread_create(&th, NULL, xfer_main, x), 0);
	rc = guest_cmd(&g, cmd, timeout_s);
	pthread_join(th, NULL);
	close(x->lfd);
	guest_check(&g, !x->err[0], "host side of \"%s\": %s", cmd, x->err);
	guest_check(&g, rc == 0, "\"%s\" failed with rc=%d: %s", cmd, rc,
		    g.output);
}

/* With the API: vm.counters after a transfer, for the frames' sizes. */
static void report_counters(const char *after)
{
	char *body = NULL;

	if (with_api && api_call(sock, "GET", "vm.counters", NULL, &body) ==
	    200)
		fprintf(stderr, "e2e_net: after %s: %s\n", after, body);
	free(body);
}

static double mbit(size_t len, double secs)
{
	return secs > 0 ? len * 8 / secs / 1e6 : 0;
}

/* The guest's file of len random bytes to the host: same CRC both ends. */
static void tcp_to_host(size_t len, double timeout_s)
{
	struct xfer x = { .lfd = listen_on(PORT_TO_HOST) };
	char cmd[160], want[16];

	snprintf(cmd, sizeof(cmd), "dd if=/dev/urandom of=/tmp/tx bs=64k "
		 "count=%zu 2>/dev/null && crc32 /tmp/tx", len >> 16);
	/* "crc FILE": the CRC's 8 digits. */
	snprintf(want, 9, "%s", guest_query(&g, cmd, ""));
	snprintf(cmd, sizeof(cmd), "nc %s %d < /tmp/tx", HOST_IP,
		 PORT_TO_HOST);
	run_xfer(&x, cmd, timeout_s);
	guest_check(&g, x.moved == len, "the host got %zu of %zu bytes",
		    x.moved, len);
	snprintf(cmd, sizeof(cmd), "%08x", x.crc);
	guest_check(&g, !strcmp(cmd, want), "CRC-32 %s here, %s in the guest",
		    cmd, want);
	fprintf(stderr, "e2e_net: guest to host: %zu MiB in %.2f s, "
		"%.0f Mbit/s\n", len >> 20, x.secs, mbit(len, x.secs));
	report_counters("guest to host");
}

/* len bytes from the host into a guest file: same CRC both ends. */
static void tcp_to_guest(size_t len, double timeout_s)
{
	struct xfer x = { .lfd = listen_on(PORT_TO_GUEST), .to_guest = true,
			  .len = len };
	char cmd[160], want[16];
	uint8_t *data = make_data(len);

	x.data = data;
	snprintf(want, sizeof(want), "%08x", crc32_update(0, data, len));
	snprintf(cmd, sizeof(cmd), "nc %s %d < /dev/null > /tmp/rx", HOST_IP,
		 PORT_TO_GUEST);
	run_xfer(&x, cmd, timeout_s);
	free(data);
	guest_check(&g, x.moved == len, "the host sent %zu of %zu bytes",
		    x.moved, len);
	snprintf(cmd, sizeof(cmd), "%s", guest_query(&g, "wc -c < /tmp/rx",
						     ""));
	guest_check(&g, strtoull(cmd, NULL, 10) == len, "the guest got %s "
		    "of %zu bytes", cmd, len);
	snprintf(cmd, 9, "%s", guest_query(&g, "crc32 /tmp/rx", ""));
	guest_check(&g, !strcmp(cmd, want), "CRC-32 %s here, %s in the guest",
		    want, cmd);
	fprintf(stderr, "e2e_net: host to guest: %zu MiB in %.2f s, "
		"%.0f Mbit/s\n", len >> 20, x.secs, mbit(len, x.secs));
	report_counters("host to guest");
	guest_cmd(&g, "rm -f /tmp/rx /tmp/tx", T_CMD);
}

/* --- The tests ------------------------------------------------------------ */

static void expect_net_ready(void)
{
	guest_ready(&g, 2 * T_BOOT, NULL);
	guest_check(&g, strstr(g.line, NET_READY), "booted with \"%s\", "
		    "not " NET_READY, g.line);
}

/*
 * The driver took the offloads and merged buffers (the tap had them): its
 * features in sysfs, one character per bit.
 */
static void expect_offloads(void)
{
	static const int bits[] = { 0, 1, 7, 8, 11, 12, 15, 32 };
	const char *f = guest_query(&g, "cat /sys/class/net/eth0/device/"
				    "features", "");
	unsigned int i;

	fprintf(stderr, "e2e_net: the driver's features: %s\n", f);
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		guest_check(&g, strlen(f) > (size_t)bits[i] &&
			    f[bits[i]] == '1', "feature bit %d not taken: %s",
			    bits[i], f);
}

static void pings(void)
{
	int rc = guest_cmd(&g, "ping -c 3 -W 5 " HOST_IP, 4 * T_CMD);

	guest_check(&g, rc == 0, "the guest's ping failed: %s", g.output);
	guest_check(&g, host_ping(2 * T_CMD), "no echo reply from the guest");
}

static void traffic(size_t len)
{
	double t = 8 * T_CMD + (len >> 20) * 0.25;

	pings();
	tcp_to_host(len, t);
	tcp_to_guest(len, t);
}

/*
 * vm.counters (Cloud Hypervisor's) counted at least the payload each way,
 * dropped nothing; vm.info names the tap evmm created.
 */
static void expect_counters(size_t len)
{
	json_t *root, *c, *info = api_info(&g, sock), *net;
	char *body = NULL;
	long long rx, tx, drops;

	net = json_array_get(json_object_get(json_object_get(info, "config"),
					     "net"), 0);
	guest_check(&g, !strcmp(json_string_value(json_object_get(net, "tap")),
				"vmtap0"), "vm.info's tap is not vmtap0");
	json_decref(info);
	guest_check(&g, api_call(sock, "GET", "vm.counters", NULL, &body) ==
		    200, "vm.counters: %s", body ? body : "no answer");
	root = json_loads(body, 0, NULL);
	c = json_object_get(root, "_net0");
	rx = json_integer_value(json_object_get(c, "rx_bytes"));
	tx = json_integer_value(json_object_get(c, "tx_bytes"));
	drops = json_integer_value(json_object_get(c, "rx_dropped")) +
		json_integer_value(json_object_get(c, "tx_dropped"));
	guest_check(&g, rx >= (long long)len && tx >= (long long)len &&
		    json_integer_value(json_object_get(c, "rx_frames")) > 0 &&
		    json_integer_value(json_object_get(c, "tx_frames")) > 0 &&
		    !drops, "vm.counters: %s", body);
	fprintf(stderr, "e2e_net: vm.counters %s\n", body);
	json_decref(root);
	free(body);
}

static void poweroff(void)
{
	int status;

	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	status = guest_wait_exit(&g, T_EXIT);
	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "evmm ended with wait status %#x", status);
}

/*
 * evmm creates the tap (vmtap0) and sets the host side: pings and TCP
 * both ways; after a guest reboot (a new VM, the device reset, the tap
 * the same) again.
 */
START_TEST(net_created_tap)
{
	size_t len = net_len();

	with_api = true;
	guest_start(&g, "--cmdline", NET_CMDLINE, "--net", net_arg,
		    "--cpus", "boot=2", "--api-socket", sock, NULL);
	expect_net_ready();
	guest_check(&g, if_nametoindex("vmtap0"), "no vmtap0 here");
	expect_offloads();
	traffic(len);
	expect_counters(len);
	guest_send(&g, "reboot");
	guest_expect(&g, "EVMM-INIT: reboot", T_CMD);
	expect_net_ready();
	traffic(len / 4);
	poweroff();
	guest_check(&g, !if_nametoindex("vmtap0"), "vmtap0 outlived evmm");
}
END_TEST

/*
 * A tap that exists (an admin's, with the host address already): evmm
 * attaches, leaves its address, and the guest's given MAC is the card's.
 */
START_TEST(net_named_tap)
{
	make_tap("evmmtap0", true);
	set_addr("evmmtap0", SIOCSIFADDR, HOST_IP);
	set_addr("evmmtap0", SIOCSIFNETMASK, MASK);
	guest_start(&g, "--cmdline", NET_CMDLINE, "--net",
		    "tap=evmmtap0,mac=52:54:00:12:34:56,mtu=1400", NULL);
	expect_net_ready();
	pings();
	guest_check(&g, !strcmp(guest_query(&g, "cat /sys/class/net/eth0/"
					    "address", ""),
				"52:54:00:12:34:56"), "the guest's MAC is %s",
		    g.value);
	guest_check(&g, !strcmp(guest_query(&g, "cat /sys/class/net/eth0/mtu",
					    ""), "1400"),
		    "the guest's MTU is %s", g.value);
	tcp_to_guest(1 << 20, 8 * T_CMD);
	poweroff();
	guest_check(&g, if_nametoindex("evmmtap0"), "evmm removed an "
		    "admin's tap");
}
END_TEST

static void expect_rejected(const char *what)
{
	int status = guest_wait_exit(&g, T_CLI);

	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "evmm ended with wait status %#x, expected a failure",
		    status);
	guest_check(&g, strstr(g.buf, "--net") && strstr(g.buf, what),
		    "\"%s\" does not name --net and say \"%s\"", g.buf, what);
	teardown();
}

/* Taps evmm cannot have: a clear line, before any guest runs. */
START_TEST(net_bad_taps)
{
	int busy = make_tap("evmmbusy0", false);

	guest_start(&g, "--net", "tap=lo", NULL);
	expect_rejected("cannot attach");
	guest_start(&g, "--net", "tap=evmmbusy0", NULL);
	expect_rejected("another process has it open");
	guest_start(&g, "--net", "tap=evmmtap9,num_queues=4", "--cpus",
		    "boot=2", NULL);
	expect_rejected("one RX/TX pair");
	close(busy);
	ck_assert(!if_nametoindex("evmmtap9"));
}
END_TEST

Suite *e2e_net_suite(void)
{
	Suite *s = suite_create("e2e_net");
	double xfer = 2 * (8 * T_CMD + (net_len() >> 20) * 0.25);

	check_set_max_msg_size(GUEST_MSG_MAX);
	guest_add_test(s, "created_tap", net_created_tap,
		       4 * T_BOOT + 24 * T_CMD + 1.5 * xfer + T_EXIT, setup,
		       teardown);
	guest_add_test(s, "named_tap", net_named_tap,
		       2 * T_BOOT + 24 * T_CMD + T_EXIT, setup, teardown);
	guest_add_test(s, "bad_taps", net_bad_taps, 4 * T_CLI, setup,
		       teardown);
	return s;
}

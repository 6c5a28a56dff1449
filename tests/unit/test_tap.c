/*
 * vmm/tap.c on real taps, in a network namespace of the test's own (Check
 * forks each test; the namespace goes with it): creating and attaching,
 * each option, the failures a user meets; then virtio-net on the tap, a
 * fake guest exchanging UDP with this host through it, offloads set from
 * the driver's features. Needs root (CAP_NET_ADMIN in a new namespace);
 * without it the namespaced tests say so and do nothing else.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "vmm/config.h"
#include "vmm/iothread.h"
#include "vmm/tap.h"

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define HOST_IP		"192.168.249.1"
#define GUEST_IP	"192.168.249.2"
#define PORT		7777

static struct config cfg;
static char err[1024];
static struct tap tap;
static bool netns;

static void setup(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s;

	memset(&tap, 0, sizeof(tap));
	tap.fd = -1;
	netns = !unshare(CLONE_NEWNET);
	if (!netns) {
		fprintf(stderr, "test_tap: no network namespace (%s): the tap "
			"tests need root; not run\n", strerror(errno));
		return;
	}
	/* No IPv6 chatter (DAD, MLD) on the taps to come. */
	s = open("/proc/sys/net/ipv6/conf/default/disable_ipv6",
		 O_WRONLY | O_CLOEXEC);
	if (s >= 0 && write(s, "1", 1) != 1)
		fprintf(stderr, "test_tap: IPv6 stays on\n");
	if (s >= 0)
		close(s);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static void stop_device(void);

static void teardown(void)
{
	stop_device();
	tap_close(&tap);
	config_free(&cfg);
}

/* Parses net and opens its tap: the tap_open's result. */
static int open_net(const char *net)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.nnets = 0;
	{
		const char *argv[] = { "evmm", "--kernel", "/bin/sh", "--net",
				       net, NULL };

		ck_assert_msg(config_parse(&cfg, 5, (char **)argv, err,
					   sizeof(err)) == CONFIG_RUN, "%s",
			      err);
	}
	return tap_open(&tap, &cfg.nets[0], err, sizeof(err));
}

static void ifreq_get(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	ck_assert_msg(!ioctl(s, req, ifr), "%s: %s", name, strerror(errno));
	close(s);
}

static const char *addr_of(const char *name, unsigned long req)
{
	static char buf[INET_ADDRSTRLEN];
	struct ifreq ifr;

	ifreq_get(name, req, &ifr);
	return inet_ntop(AF_INET,
			 &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, buf,
			 sizeof(buf));
}

/* --- Offload flags: no namespace needed ----------------------------------- */

START_TEST(offload_flags)
{
	ck_assert_uint_eq(tap_offload_flags(0), 0);
	/* TSO without checksums means nothing to a tap. */
	ck_assert_uint_eq(tap_offload_flags(F(GUEST_TSO4) | F(GUEST_TSO6)), 0);
	ck_assert_uint_eq(tap_offload_flags(F(GUEST_CSUM)), TUN_F_CSUM);
	ck_assert_uint_eq(tap_offload_flags(F(GUEST_CSUM) | F(GUEST_TSO4) |
					    F(GUEST_ECN)),
			  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN);
	ck_assert_uint_eq(tap_offload_flags(F(GUEST_CSUM) | F(GUEST_ECN)),
			  TUN_F_CSUM);
	ck_assert_uint_eq(tap_offload_flags(F(GUEST_CSUM) | F(GUEST_TSO6) |
					    F(GUEST_UFO) | F(CSUM) |
					    F(HOST_TSO4)),
			  TUN_F_CSUM | TUN_F_TSO6 | TUN_F_UFO);
}
END_TEST

/* --- Opening --------------------------------------------------------------- */

/* No tap=: vmtapN, addressed, up, with what the kernel's tun can do. */
START_TEST(created_tap)
{
	struct ifreq ifr;

	if (!netns)
		return;
	ck_assert_msg(!open_net("ip=" HOST_IP ",mask=255.255.255.0,mtu=9000,"
				"host_mac=02:00:00:00:00:0a"), "%s", err);
	ck_assert_int_ge(tap.fd, 0);
	ck_assert_str_eq(tap.name, "vmtap0");
	ck_assert_str_eq(addr_of("vmtap0", SIOCGIFADDR), HOST_IP);
	ck_assert_str_eq(addr_of("vmtap0", SIOCGIFNETMASK), "255.255.255.0");
	ifreq_get("vmtap0", SIOCGIFMTU, &ifr);
	ck_assert_int_eq(ifr.ifr_mtu, 9000);
	ifreq_get("vmtap0", SIOCGIFFLAGS, &ifr);
	ck_assert(ifr.ifr_flags & IFF_UP);
	ck_assert_mem_eq(tap.host_mac, "\x02\0\0\0\0\x0a", 6);
	/* Linux's tun: checksums and TSO at least. */
	ck_assert_uint_eq(tap.offloads & (F(CSUM) | F(GUEST_CSUM) |
					  F(GUEST_TSO4) | F(HOST_TSO4)),
			  F(CSUM) | F(GUEST_CSUM) | F(GUEST_TSO4) |
			  F(HOST_TSO4));
	/* The tap goes with its fd. */
	tap_close(&tap);
	ck_assert(!if_nametoindex("vmtap0"));
}
END_TEST

/* offload_*=off: nothing offered the guest. */
START_TEST(offloads_off)
{
	if (!netns)
		return;
	ck_assert_msg(!open_net("offload_csum=off"), "%s", err);
	ck_assert_uint_eq(tap.offloads, 0);
	tap_close(&tap);
	config_free(&cfg);
	ck_assert_msg(!open_net("offload_tso=off,offload_ufo=off"), "%s", err);
	ck_assert_uint_eq(tap.offloads, F(CSUM) | F(GUEST_CSUM));
}
END_TEST

/* An admin's tap: attached, its address kept, evmm's close keeps it. */
START_TEST(existing_tap)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (!netns)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "evmmtap0");
	ck_assert_int_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	ck_assert_int_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	ck_assert_msg(!open_net("tap=evmmtap0,ip=10.1.2.3,mask=255.0.0.0"),
		      "%s", err);
	ck_assert_str_eq(tap.name, "evmmtap0");
	{
		struct ifreq a;
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memset(&a, 0, sizeof(a));
		snprintf(a.ifr_name, sizeof(a.ifr_name), "evmmtap0");
		ck_assert_int_ne(ioctl(s, SIOCGIFADDR, &a), 0);	/* none */
		close(s);
	}
	tap_close(&tap);
	ck_assert(if_nametoindex("evmmtap0"));
}
END_TEST

/* What a user gets wrong: one line naming --net, the tap and why. */
START_TEST(open_errors)
{
	int busy;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

	if (!netns)
		return;
	ck_assert_int_eq(open_net("tap=lo"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--net: tap \"lo\": cannot attach: "));
	ck_assert_ptr_nonnull(strstr(err, "not a tap"));
	ck_assert_ptr_nonnull(strstr(err, "; accepted form: "));
	ck_assert_int_eq(tap.fd, -1);
	config_free(&cfg);
	busy = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "busy0");
	ck_assert_int_eq(ioctl(busy, TUNSETIFF, &ifr), 0);
	ck_assert_int_eq(open_net("tap=busy0"), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err, "another process has it open"));
	config_free(&cfg);
	close(busy);
	/* A tun (not a tap) of that name. */
	busy = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tun0");
	ck_assert_int_eq(ioctl(busy, TUNSETIFF, &ifr), 0);
	ck_assert_int_eq(ioctl(busy, TUNSETPERSIST, 1), 0);
	close(busy);
	ck_assert_int_eq(open_net("tap=tun0"), -EINVAL);
	config_free(&cfg);
	/* An MTU the device cannot take is the kernel's to refuse. */
	ck_assert_int_eq(open_net("mtu=65521"), 0);
}
END_TEST

/* --- virtio-net on a tap: UDP with this host ------------------------------- */

#define RAM_GPA		0x100000ULL
#define RAM_SIZE	(1ULL << 20)
#define QSIZE		64
#define RX_RING		(RAM_GPA)
#define TX_RING		(RAM_GPA + 0x4000)
#define RX_BUF		(RAM_GPA + 0x10000)
#define TX_BUF		(RAM_GPA + 0x80000)
#define GUEST_MAC	"\x02\x00\x00\x00\x00\x02"

static uint8_t *ram;
static struct gmem *mem;
static struct virtio_net *net;
static struct virtio_pci *vp;
static struct iothread io;
static uint16_t tx_idx, rx_idx;

static void vmm_fire(void *o, unsigned int v)
{
	(void)o;
	(void)v;
}

static int vmm_route(void *o, unsigned int v, uint64_t a, uint32_t d)
{
	(void)o;
	(void)v;
	(void)a;
	(void)d;
	return 0;
}

static int vmm_bell(void *o, int f, uint64_t a, bool add)
{
	(void)o;
	(void)f;
	(void)a;
	(void)add;
	return -ENOSYS;
}

static const struct virtio_pci_ops vmm_ops = {
	.msix = { vmm_fire, vmm_route }, .ioeventfd = vmm_bell,
};

static uint8_t *host(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}

static void wr(uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(vp, off, (uint8_t *)&v, len, true);
}

static uint32_t rd32(uint64_t off)
{
	uint32_t v = 0;

	virtio_pci_bar_io(vp, off, (uint8_t *)&v, 4, false);
	return v;
}

static void queue(unsigned int q, uint64_t base)
{
	wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, base, 8);
	wr(VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x1000, 8);
	wr(VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x2000, 8);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

/* The device on the tap, probed with every feature offered but drop's. */
static void start_device(uint64_t drop)
{
	struct virtio_pci_config c = { .ops = &vmm_ops, .num_queues = 2,
				       .queue_size = QSIZE };
	struct virtio_net_backend be;
	uint64_t f;

	ram = aligned_alloc(4096, RAM_SIZE);
	mem = gmem_new();
	ck_assert(ram && mem && !gmem_add(mem, RAM_GPA, RAM_SIZE, ram));
	memset(ram, 0, RAM_SIZE);
	tap_backend(&tap, &cfg.nets[0], &be);
	ck_assert_int_eq(virtio_net_new(&net, &be), 0);
	c.dev_ops = virtio_net_ops(net);
	c.dev = net;
	c.mem = mem;
	ck_assert_int_eq(virtio_pci_new(&vp, &c), 0);
	iothread_init(&io);
	ck_assert_int_eq(tap_attach(&tap, &io, vp), 0);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = rd32(VIRTIO_PCI_COMMON_DF);
	wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	f = (f | (uint64_t)rd32(VIRTIO_PCI_COMMON_DF) << 32) & ~drop;
	wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wr(VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(VIRTIO_PCI_COMMON_GF, f >> 32, 4);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	queue(0, RX_RING);
	queue(1, TX_RING);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
	/* The device thread, as machine.c starts it: kicks come from us. */
	ck_assert_int_eq(iothread_start(&io, vp, "tap", SECCOMP_OFF), 0);
}

static void stop_device(void)
{
	if (!vp)
		return;
	iothread_stop(&io);
	virtio_pci_free(vp);
	virtio_net_free(net);
	gmem_free(mem);
	free(ram);
	vp = NULL;
}

static void desc(uint64_t ring, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags)
{
	memcpy(host(ring + 16 * i), &addr, 8);
	memcpy(host(ring + 16 * i + 8), &len, 4);
	memcpy(host(ring + 16 * i + 12), &flags, 2);
}

static void avail(uint64_t ring, uint16_t *idx, uint16_t head)
{
	memcpy(host(ring + 0x1000 + 4 + 2 * (*idx % QSIZE)), &head, 2);
	(*idx)++;
	__atomic_store_n((uint16_t *)host(ring + 0x1000 + 2), *idx,
			 __ATOMIC_RELEASE);
}

static uint16_t used_idx(uint64_t ring)
{
	return __atomic_load_n((uint16_t *)host(ring + 0x2000 + 2),
			       __ATOMIC_ACQUIRE);
}

static void kick(unsigned int q)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(virtio_pci_kick_fd(vp, q), &one, 8), 8);
}

static bool wait_used(uint64_t ring, uint16_t n)
{
	int i;

	for (i = 0; i < 2000 && used_idx(ring) < n; i++)
		usleep(1000);
	return used_idx(ring) >= n;
}

/* A UDP datagram from the guest's address to port, as a frame. */
static size_t udp_frame(uint8_t *f, const uint8_t *host_mac, const char *msg)
{
	size_t n = strlen(msg);
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64,
			    .protocol = IPPROTO_UDP,
			    .tot_len = htons(sizeof(ip) + 8 + n) };
	struct udphdr udp = { .source = htons(PORT), .dest = htons(PORT),
			      .len = htons(sizeof(udp) + n) };
	uint16_t words[sizeof(ip) / 2];
	uint32_t sum = 0;
	unsigned int i;

	memcpy(f, host_mac, 6);
	memcpy(f + 6, GUEST_MAC, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	inet_pton(AF_INET, GUEST_IP, &ip.saddr);
	inet_pton(AF_INET, HOST_IP, &ip.daddr);
	memcpy(words, &ip, sizeof(ip));
	for (i = 0; i < sizeof(ip) / 2; i++)
		sum += words[i];
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	ip.check = ~sum;
	memcpy(f + 14, &ip, sizeof(ip));
	memcpy(f + 14 + sizeof(ip), &udp, sizeof(udp));	/* no checksum */
	memcpy(f + 14 + sizeof(ip) + sizeof(udp), msg, n);
	return 14 + sizeof(ip) + sizeof(udp) + n;
}

static int udp_sock(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(PORT) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, HOST_IP, &a.sin_addr);
	ck_assert_msg(!bind(s, (struct sockaddr *)&a, sizeof(a)), "bind: %s",
		      strerror(errno));
	return s;
}

/* The guest's MAC for its address: no ARP exchange to write here. */
static void neighbour(void)
{
	struct arpreq r = { .arp_flags = ATF_PERM | ATF_COM };
	struct sockaddr_in *pa = (struct sockaddr_in *)&r.arp_pa;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	pa->sin_family = AF_INET;
	inet_pton(AF_INET, GUEST_IP, &pa->sin_addr);
	r.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(r.arp_ha.sa_data, GUEST_MAC, 6);
	snprintf(r.arp_dev, sizeof(r.arp_dev), "%s", tap.name);
	ck_assert_msg(!ioctl(s, SIOCSARP, &r), "SIOCSARP: %s", strerror(errno));
	close(s);
}

/* The buffer the datagram to the guest came in, behind the header. */
static uint8_t *udp_received(void)
{
	size_t data = VIRTIO_NET_HDR_LEN + 14 + 20 + 8;
	uint16_t i, id;
	uint8_t *b;

	for (i = 0; wait_used(RX_RING, i + 1); i++) {
		memcpy(&id, host(RX_RING + 0x2000 + 4 + 8 * i), 2);
		b = host(RX_BUF + 2048 * id);
		if (!memcmp(b + data, "to-guest", 8) &&
		    !memcmp(b + VIRTIO_NET_HDR_LEN, GUEST_MAC, 6))
			return b;
	}
	ck_abort_msg("the datagram did not reach the guest (%u frames did)",
		     i);
	return NULL;
}

/*
 * Guest to host: a frame on the TX queue arrives at a socket here. Host to
 * guest: a datagram from here fills an RX buffer, behind the header,
 * which the device returns.
 */
static uint8_t *udp_both_ways(uint64_t drop)
{
	uint8_t frame[128] = { 0 }, got[64];
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(PORT) };
	struct pollfd p;
	unsigned int i;
	size_t n;
	int s;

	ck_assert_msg(!open_net("ip=" HOST_IP ",mask=255.255.255.0"), "%s",
		      err);
	start_device(drop);
	s = udp_sock();
	n = udp_frame(frame + VIRTIO_NET_HDR_LEN, tap.host_mac, "to-host");
	memcpy(host(TX_BUF), frame, n + VIRTIO_NET_HDR_LEN);
	desc(TX_RING, 0, TX_BUF, n + VIRTIO_NET_HDR_LEN, 0);
	avail(TX_RING, &tx_idx, 0);
	kick(1);
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_int_eq(recv(s, got, sizeof(got), 0), 7);
	ck_assert_mem_eq(got, "to-host", 7);
	ck_assert(wait_used(TX_RING, 1));
	/* Host to guest. */
	neighbour();
	for (i = 0; i < 8; i++) {
		desc(RX_RING, i, RX_BUF + 2048 * i, 2048, VRING_DESC_F_WRITE);
		avail(RX_RING, &rx_idx, i);
	}
	kick(0);
	inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
	ck_assert_int_eq(sendto(s, "to-guest", 8, 0, (struct sockaddr *)&to,
				sizeof(to)), 8);
	close(s);
	return udp_received();
}

START_TEST(udp_with_offloads)
{
	uint8_t *b;

	if (!netns)
		return;
	b = udp_both_ways(0);
	/* The driver's offloads went to the tap: the checksum is left to it. */
	ck_assert_uint_eq(b[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(b[10], 1);			/* num_buffers */
}
END_TEST

START_TEST(udp_without_offloads)
{
	uint8_t *b;

	if (!netns)
		return;
	b = udp_both_ways(F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) |
			  F(GUEST_ECN) | F(GUEST_UFO) | F(MRG_RXBUF));
	/* No offloads: a whole checksum, no flags. */
	ck_assert_uint_eq(b[0], 0);
	ck_assert_uint_eq(b[10], 1);
}
END_TEST

Suite *tap_suite(void)
{
	const TTest *const tests[] = {
		offload_flags, created_tap, offloads_off, existing_tap,
		open_errors, udp_with_offloads, udp_without_offloads,
	};
	Suite *s = suite_create("tap");
	TCase *tc = tcase_create("tap");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

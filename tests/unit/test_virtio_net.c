/*
 * virtio-net through the real transport and virtqueues (a driver's probe
 * by BAR0 accesses, no bus), with a seqpacket socket pair standing in for
 * the tap: the device's end takes and gives one frame (with its 12-byte
 * header) per read or write, as a tap does, and the test is the host on
 * the other end. Queues in fake guest RAM, as a driver fills them.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/pci.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define RAM_GPA		0x100000ULL
#define RAM_SIZE	(2ULL << 20)
#define QSIZE		512
#define RXQ		0
#define TXQ		1
#define TX_DATA		(RAM_GPA + 0x10000)
#define RX_DATA		(RAM_GPA + 0x40000)
#define HDR		VIRTIO_NET_HDR_LEN
#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define GUEST_ALL	(F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | \
			 F(GUEST_ECN) | F(GUEST_UFO))
#define OFFLOADS_ALL	(GUEST_ALL | F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | \
			 F(HOST_ECN) | F(HOST_UFO))

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* One queue as the driver sees it. */
struct ring {
	uint64_t desc, avail, used;
	uint16_t next_desc, avail_idx, used_seen;
};

static struct gmem *mem;
static uint8_t *ram;
static struct virtio_net *net;
static struct virtio_pci *vp;
static int sv[2] = { -1, -1 };	/* [0] the device's, [1] the host's */
static struct ring rx, tx;
static struct {
	int offload_calls;
	uint64_t offloads;
	int set_offload_ret;
	bool rx, tx;
	int watch_calls;
	int failed;
	bool failed_rx;
	int failed_err;
} be_seen;

static uint8_t *host(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}

static void put(uint64_t gpa, uint64_t v, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		host(gpa)[i] = v >> (8 * i);
}

static uint64_t get(uint64_t gpa, unsigned int len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | host(gpa)[len];
	return v;
}

/* --- The backend's callbacks and the transport's ------------------------- */

static int be_set_offloads(void *o, uint64_t f)
{
	(void)o;
	be_seen.offload_calls++;
	if (be_seen.set_offload_ret)
		return be_seen.set_offload_ret;
	be_seen.offloads = f;
	return 0;
}

static void be_watch(void *o, bool r, bool t)
{
	(void)o;
	be_seen.watch_calls++;
	be_seen.rx = r;
	be_seen.tx = t;
}

static void be_failed(void *o, bool r, int err)
{
	(void)o;
	be_seen.failed++;
	be_seen.failed_rx = r;
	be_seen.failed_err = err;
}

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

/* --- A driver ------------------------------------------------------------- */

static uint64_t rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	virtio_pci_bar_io(vp, off, (uint8_t *)&v, len, false);
	return v;
}

static void wr(uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(vp, off, (uint8_t *)&v, len, true);
}

static uint64_t features(void)
{
	uint64_t f;

	wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = rd(VIRTIO_PCI_COMMON_DF, 4);
	wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return f | rd(VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void ring_init(struct ring *r, uint64_t base)
{
	*r = (struct ring){ base, base + 0x2000, base + 0x3000, 0, 0, 0 };
}

static void queue_setup(unsigned int q, const struct ring *r)
{
	wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, r->desc, 8);
	wr(VIRTIO_PCI_COMMON_Q_AVAILLO, r->avail, 8);
	wr(VIRTIO_PCI_COMMON_Q_USEDLO, r->used, 8);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

/* A driver's probe with every offered feature but those in drop. */
static void probe(uint64_t drop)
{
	uint64_t f = features() & ~drop;

	memset(ram, 0, RAM_SIZE);
	ring_init(&rx, RAM_GPA);
	ring_init(&tx, RAM_GPA + 0x8000);
	wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wr(VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(VIRTIO_PCI_COMMON_GF, f >> 32, 4);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	queue_setup(RXQ, &rx);
	queue_setup(TXQ, &tx);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
	ck_assert_uint_eq(virtio_pci_status(vp) & VIRTIO_CONFIG_S_DRIVER_OK,
			  VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Makes a chain of n segments available. */
static void post(struct ring *r, const struct seg *s, unsigned int n)
{
	uint16_t head = r->next_desc % QSIZE, d;
	unsigned int i;

	for (i = 0; i < n; i++) {
		d = r->next_desc++ % QSIZE;
		put(r->desc + 16 * d, s[i].gpa, 8);
		put(r->desc + 16 * d + 8, s[i].len, 4);
		put(r->desc + 16 * d + 12, (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
		    (s[i].write ? VRING_DESC_F_WRITE : 0), 2);
		put(r->desc + 16 * d + 14, r->next_desc % QSIZE, 2);
	}
	put(r->avail + 4 + 2 * (r->avail_idx % QSIZE), head, 2);
	put(r->avail + 2, ++r->avail_idx, 2);
}

/* n receive buffers of len bytes each, one descriptor each, from gpa. */
static void post_rx(uint64_t gpa, uint32_t len, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct seg s = { gpa + (uint64_t)i * len, len, true };

		post(&rx, &s, 1);
	}
}

static uint16_t used_idx(const struct ring *r)
{
	return get(r->used + 2, 2);
}

/* The next used element: its head and length. */
static uint32_t next_used(struct ring *r, uint16_t *head)
{
	uint64_t el = r->used + 4 + 8 * (r->used_seen++ % QSIZE);

	ck_assert_uint_ge((uint16_t)(used_idx(r) - r->used_seen + 1), 1);
	if (head)
		*head = get(el, 4);
	return get(el + 4, 4);
}

/* --- Fixtures ------------------------------------------------------------- */

static struct virtio_net_backend backend(void)
{
	struct virtio_net_backend be = {
		.fd = sv[0], .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.offloads = OFFLOADS_ALL, .set_offloads = be_set_offloads,
		.watch = be_watch, .failed = be_failed,
	};

	return be;
}

static void start(const struct virtio_net_backend *be, uint64_t drop)
{
	struct virtio_pci_config c = {
		.ops = &vmm_ops, .mem = mem, .num_queues = 2,
		.queue_size = QSIZE,
	};

	ck_assert_int_eq(virtio_net_new(&net, be), 0);
	c.dev_ops = virtio_net_ops(net);
	c.dev = net;
	ck_assert_int_eq(virtio_pci_new(&vp, &c), 0);
	probe(drop);
}

static void stop(void)
{
	virtio_pci_free(vp);
	virtio_net_free(net);
	vp = NULL;
	net = NULL;
}

static void setup(void)
{
	struct virtio_net_backend be;

	ram = aligned_alloc(4096, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	mem = gmem_new();
	ck_assert_int_eq(gmem_add(mem, RAM_GPA, RAM_SIZE, ram), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
				    SOCK_CLOEXEC, 0, sv), 0);
	memset(&be_seen, 0, sizeof(be_seen));
	be = backend();
	start(&be, 0);
}

static void teardown(void)
{
	stop();
	close(sv[0]);
	close(sv[1]);
	gmem_free(mem);
	free(ram);
}

/* --- The host's end ------------------------------------------------------- */

static void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
	size_t i;

	memset(f, 0, HDR);
	for (i = HDR; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
}

/* A frame of len bytes (header included) from the host, header h. */
static void host_send(const uint8_t *h, size_t len, uint8_t seed)
{
	uint8_t *f = malloc(len);

	ck_assert_ptr_nonnull(f);
	fill_frame(f, len, seed);
	if (h)
		memcpy(f, h, HDR);
	ck_assert_int_eq(send(sv[1], f, len, 0), (ssize_t)len);
	free(f);
}

/* The frame's bytes past the header, as the guest got them at gpa... */
static void expect_payload(uint64_t gpa, size_t from, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		ck_assert_msg(host(gpa)[i] == (uint8_t)((from + i) * 7 + seed),
			      "byte %zu of %zu", from + i, len);
}

static size_t host_recv(uint8_t *buf, size_t len)
{
	ssize_t n = recv(sv[1], buf, len, MSG_DONTWAIT);

	return n < 0 ? 0 : (size_t)n;
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_stats(net, &s);
	return s;
}

/* --- Configuration -------------------------------------------------------- */

START_TEST(config_and_features)
{
	uint64_t f = features();
	struct virtio_net_backend be = backend();

	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF, 4), 0x12005452);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 4, 2), 0x5634);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 6, 2), VIRTIO_NET_S_LINK_UP);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 8, 2), 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	ck_assert_uint_eq(f & (F(MAC) | F(STATUS) | F(MRG_RXBUF) | OFFLOADS_ALL),
			  F(MAC) | F(STATUS) | F(MRG_RXBUF) | OFFLOADS_ALL);
	ck_assert(f & (1ULL << VIRTIO_F_VERSION_1));
	ck_assert(!(f & F(MTU)));
	ck_assert(!(f & F(CTRL_VQ)));
	ck_assert(!(f & F(MQ)));
	ck_assert_uint_eq(virtio_pci_dev(vp)->cfg[0x0B], 0x02);	/* network */
	ck_assert_uint_eq(virtio_pci_dev(vp)->cfg[2], 0x41);	/* 0x1041 */
	/* Read-only. */
	wr(VIRTIO_PCI_DEVICE_OFF, 0, 4);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF, 4), 0x12005452);
	/* An MTU, and a backend without offloads. */
	stop();
	be.mtu = 9000;
	be.offloads = F(CSUM) | F(GUEST_CSUM) | F(GUEST_TSO4);
	start(&be, 0);
	f = features();
	ck_assert(f & F(MTU));
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 10, 2), 9000);
	ck_assert_uint_eq(f & OFFLOADS_ALL,
			  F(CSUM) | F(GUEST_CSUM) | F(GUEST_TSO4));
}
END_TEST

START_TEST(new_errors)
{
	struct virtio_net_backend be = backend();
	struct virtio_net *n = net;

	be.fd = -1;
	ck_assert_int_eq(virtio_net_new(&n, &be), -EINVAL);
	ck_assert_ptr_null(n);
	be = backend();
	be.watch = NULL;
	ck_assert_int_eq(virtio_net_new(&n, &be), -EINVAL);
	be = backend();
	be.set_offloads = NULL;
	ck_assert_int_eq(virtio_net_new(&n, &be), -EINVAL);
	be = backend();
	be.failed = NULL;
	ck_assert_int_eq(virtio_net_new(&n, &be), -EINVAL);
	be = backend();
	be.mtu = VIRTIO_NET_MTU_MIN - 1;
	ck_assert_int_eq(virtio_net_new(&n, &be), -EINVAL);
	be.mtu = VIRTIO_NET_MTU_MIN;
	ck_assert_int_eq(virtio_net_new(&n, &be), 0);
	virtio_net_free(n);
	virtio_net_free(NULL);
}
END_TEST

/* --- Transmit ------------------------------------------------------------- */

START_TEST(tx_frames)
{
	uint8_t got[2048], want[1514 + HDR];
	struct seg one = { TX_DATA, sizeof(want), false };
	struct seg three[3] = {
		{ TX_DATA, HDR, false }, { TX_DATA + 0x1000, 100, false },
		{ TX_DATA + 0x3003, 1414, false },
	};

	fill_frame(want, sizeof(want), 1);
	want[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;	/* passed through as it is */
	memcpy(host(TX_DATA), want, sizeof(want));
	post(&tx, &one, 1);
	virtio_pci_kick(vp, TXQ);
	ck_assert_uint_eq(host_recv(got, sizeof(got)), sizeof(want));
	ck_assert_mem_eq(got, want, sizeof(want));
	ck_assert_uint_eq(used_idx(&tx), 1);
	ck_assert_uint_eq(next_used(&tx, NULL), 0);
	/* Header and frame in three pieces, as Linux sends them. */
	memcpy(host(TX_DATA + 0x1000), want + HDR, 100);
	memcpy(host(TX_DATA + 0x3003), want + HDR + 100, 1414);
	post(&tx, three, 3);
	virtio_pci_kick(vp, TXQ);
	ck_assert_uint_eq(host_recv(got, sizeof(got)), sizeof(want));
	ck_assert_mem_eq(got, want, sizeof(want));
	ck_assert_uint_eq(stats().tx_frames, 2);
	ck_assert_uint_eq(stats().tx_bytes, 2 * 1514);
	ck_assert_uint_eq(stats().tx_dropped, 0);
	ck_assert(!be_seen.tx);
}
END_TEST

/* Chains that cannot be a frame: used, counted, nothing sent. */
START_TEST(tx_bad_chains)
{
	struct seg shorthdr = { TX_DATA, HDR - 1, false };
	struct seg outside = { RAM_GPA + RAM_SIZE - 16, 64, false };
	struct seg writable = { TX_DATA, 100, true };
	struct seg huge = { TX_DATA, VIRTIO_NET_RX_MAX + 1, false };
	struct seg ok = { TX_DATA, 60, false };
	uint8_t got[128];

	post(&tx, &shorthdr, 1);
	post(&tx, &outside, 1);
	post(&tx, &writable, 1);
	post(&tx, &huge, 1);
	post(&tx, &ok, 1);
	virtio_pci_kick(vp, TXQ);
	ck_assert_uint_eq(used_idx(&tx), 5);
	ck_assert_uint_eq(stats().tx_dropped, 4);
	ck_assert_uint_eq(host_recv(got, sizeof(got)), 60);
	ck_assert_uint_eq(host_recv(got, sizeof(got)), 0);
	ck_assert_int_eq(be_seen.failed, 0);
}
END_TEST

/* A full fd: the chain waits (not used, not lost) until it is writable. */
START_TEST(tx_waits_for_room)
{
	struct seg s = { TX_DATA, 60000, false };
	uint8_t *got = malloc(65536);
	unsigned int sent, i, n = 0;

	ck_assert_ptr_nonnull(got);
	for (i = 0; i < 64; i++)
		post(&tx, &s, 1);
	virtio_pci_kick(vp, TXQ);
	sent = used_idx(&tx);
	ck_assert_uint_lt(sent, 64);
	ck_assert(be_seen.tx);
	ck_assert_uint_eq(stats().tx_dropped, 0);
	while (host_recv(got, 65536) == 60000)
		n++;
	ck_assert_uint_eq(n, sent);
	/* Writable again: the thread kicks the queue. */
	while (used_idx(&tx) < 64) {
		virtio_pci_kick(vp, TXQ);
		while (host_recv(got, 65536) == 60000)
			n++;
	}
	ck_assert_uint_eq(n, 64);
	ck_assert(!be_seen.tx);
	ck_assert_uint_eq(stats().tx_frames, 64);
	free(got);
}
END_TEST

/* A flood: at most the budget per kick, then the queue kicks itself. */
START_TEST(tx_budget)
{
	struct seg s = { TX_DATA, 60, false };
	uint8_t got[64];
	unsigned int i;
	uint64_t v;

	for (i = 0; i < 300; i++)
		post(&tx, &s, 1);
	virtio_pci_kick(vp, TXQ);
	ck_assert_uint_eq(used_idx(&tx), 256);
	for (i = 0; i < 256; i++)	/* room in the socket for the rest */
		ck_assert_uint_eq(host_recv(got, sizeof(got)), 60);
	ck_assert_int_eq(read(virtio_pci_kick_fd(vp, TXQ), &v, sizeof(v)), 8);
	virtio_pci_kick(vp, TXQ);
	ck_assert_uint_eq(used_idx(&tx), 300);
	for (i = 0; i < 44; i++)
		ck_assert_uint_eq(host_recv(got, sizeof(got)), 60);
}
END_TEST

/* --- Receive -------------------------------------------------------------- */

/* Without MRG_RXBUF: one frame per buffer, straight into it. */
START_TEST(rx_one_buffer)
{
	uint16_t head;

	stop();
	{
		struct virtio_net_backend be = backend();

		start(&be, F(MRG_RXBUF));
	}
	post_rx(RX_DATA, 1526, 2);
	host_send(NULL, 1000, 3);
	host_send(NULL, 1526, 4);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 2);
	ck_assert_uint_eq(next_used(&rx, &head), 1000);
	ck_assert_uint_eq(head, 0);
	ck_assert_uint_eq(get(RX_DATA + 10, 2), 1);	/* num_buffers */
	expect_payload(RX_DATA + HDR, HDR, 1000 - HDR, 3);
	ck_assert_uint_eq(next_used(&rx, &head), 1526);
	ck_assert_uint_eq(head, 1);
	expect_payload(RX_DATA + 1526 + HDR, HDR, 1526 - HDR, 4);
	ck_assert(!be_seen.rx);		/* no buffer left: not watching */
	ck_assert_uint_eq(stats().rx_frames, 2);
	ck_assert_uint_eq(stats().rx_bytes, 1000 + 1526 - 2 * HDR);
}
END_TEST

/*
 * No buffers: nothing is read, the fd is not watched, kicks are on for the
 * next buffer; the frame waits in the fd and comes with the buffer.
 */
START_TEST(rx_no_buffers)
{
	host_send(NULL, 200, 5);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 0);
	ck_assert(!be_seen.rx);
	ck_assert_uint_eq(get(rx.used, 2), 0);		/* kicks wanted */
	ck_assert_uint_eq(get(rx.used + 4 + 8 * QSIZE, 2), 0);	/* avail_event */
	post_rx(RX_DATA, 2048, 2);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 1);
	ck_assert_uint_eq(next_used(&rx, NULL), 200);
	expect_payload(RX_DATA + HDR, HDR, 200 - HDR, 5);
	ck_assert_uint_eq(stats().rx_dropped, 0);
	/* The fd is empty: the other buffer waits, the fd watched. */
	ck_assert(be_seen.rx);
	host_send(NULL, 300, 6);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 2);
	ck_assert_uint_eq(next_used(&rx, NULL), 300);
}
END_TEST

/* MRG_RXBUF with room for the largest frame: readv into them all. */
START_TEST(rx_merged_direct)
{
	unsigned int i, n = VIRTIO_NET_RX_MAX / 1536 + 1;
	uint16_t head;
	uint32_t len;

	post_rx(RX_DATA, 1536, n);
	host_send(NULL, 4000, 7);
	host_send(NULL, 64, 8);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 4);
	ck_assert_uint_eq(get(RX_DATA + 10, 2), 3);	/* num_buffers */
	for (i = 0; i < 3; i++) {
		len = next_used(&rx, &head);
		ck_assert_uint_eq(head, i);
		ck_assert_uint_eq(len, i < 2 ? 1536 : 4000 - 2 * 1536);
	}
	expect_payload(RX_DATA + HDR, HDR, 4000 - HDR, 7);
	ck_assert_uint_eq(next_used(&rx, &head), 64);
	ck_assert_uint_eq(head, 3);
	ck_assert_uint_eq(get(RX_DATA + 3 * 1536 + 10, 2), 1);
	/* The rest went back to the ring: the next frame takes buffer 4. */
	host_send(NULL, 100, 9);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(next_used(&rx, &head), 100);
	ck_assert_uint_eq(head, 4);
	ck_assert_uint_eq(stats().rx_frames, 3);
}
END_TEST

/* The largest frame, 64 KiB, in buffers of 4 KiB. */
START_TEST(rx_merged_64k)
{
	size_t len = VIRTIO_NET_RX_MAX;
	unsigned int i, n = (len + 4095) / 4096;

	post_rx(RX_DATA, 4096, n + 1);
	host_send(NULL, len, 10);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), n);
	ck_assert_uint_eq(get(RX_DATA + 10, 2), n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(next_used(&rx, NULL),
				  i + 1 < n ? 4096 : len - 4096 * (n - 1));
	expect_payload(RX_DATA + HDR, HDR, len - HDR, 10);
}
END_TEST

/*
 * MRG_RXBUF, fewer buffers than the largest frame: the frame is read
 * aside and copied in if it fits; if not, it waits (fd not watched) for
 * the guest's next buffers, and nothing is lost.
 */
START_TEST(rx_merged_short)
{
	uint16_t head;

	post_rx(RX_DATA, 1024, 2);
	host_send(NULL, 1500, 11);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 2);
	ck_assert_uint_eq(get(RX_DATA + 10, 2), 2);
	ck_assert_uint_eq(next_used(&rx, NULL), 1024);
	ck_assert_uint_eq(next_used(&rx, NULL), 1500 - 1024);
	expect_payload(RX_DATA + HDR, HDR, 1500 - HDR, 11);
	/* 3000 bytes for 2 KiB of buffers: held. */
	post_rx(RX_DATA + 0x10000, 1024, 2);
	host_send(NULL, 3000, 12);
	host_send(NULL, 80, 13);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 2);
	ck_assert(!be_seen.rx);
	ck_assert_uint_eq(get(rx.used + 4 + 8 * QSIZE, 2), 4);	/* next entry */
	post_rx(RX_DATA + 0x20000, 1024, 2);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 6);
	ck_assert_uint_eq(next_used(&rx, &head), 1024);
	ck_assert_uint_eq(head, 2);
	ck_assert_uint_eq(get(RX_DATA + 0x10000 + 10, 2), 3);
	next_used(&rx, NULL);
	ck_assert_uint_eq(next_used(&rx, &head), 3000 - 2048);
	ck_assert_uint_eq(head, 4);
	expect_payload(RX_DATA + 0x10000 + HDR, HDR, 2048 - HDR, 12);
	expect_payload(RX_DATA + 0x20000, 2048, 3000 - 2048, 12);
	/* Then the 80 bytes, in the last buffer. */
	ck_assert_uint_eq(next_used(&rx, &head), 80);
	ck_assert_uint_eq(head, 5);
	ck_assert_uint_eq(stats().rx_frames, 3);
	ck_assert_uint_eq(stats().rx_dropped, 0);
}
END_TEST

/* A frame that can never fit the whole ring is dropped, not held for ever. */
START_TEST(rx_merged_never_fits)
{
	struct virtio_pci_config c = {
		.ops = &vmm_ops, .mem = mem, .num_queues = 2, .queue_size = 2,
	};

	virtio_pci_free(vp);
	c.dev_ops = virtio_net_ops(net);
	c.dev = net;
	ck_assert_int_eq(virtio_pci_new(&vp, &c), 0);
	memset(ram, 0, RAM_SIZE);
	ring_init(&rx, RAM_GPA);
	ring_init(&tx, RAM_GPA + 0x8000);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wr(VIRTIO_PCI_COMMON_GF, (uint32_t)features(), 4);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(VIRTIO_PCI_COMMON_GF, 1, 4);			/* VERSION_1 */
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	for (unsigned int q = 0; q < 2; q++) {
		const struct ring *r = q ? &tx : &rx;

		wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 2);
		wr(VIRTIO_PCI_COMMON_Q_DESCLO, r->desc, 8);
		wr(VIRTIO_PCI_COMMON_Q_AVAILLO, r->avail, 8);
		wr(VIRTIO_PCI_COMMON_Q_USEDLO, r->used, 8);
		wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	}
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
	/* Two buffers of 1 KiB, ring full: a 3000-byte frame is dropped. */
	for (unsigned int i = 0; i < 2; i++) {
		put(rx.desc + 16 * i, RX_DATA + 1024 * i, 8);
		put(rx.desc + 16 * i + 8, 1024, 4);
		put(rx.desc + 16 * i + 12, VRING_DESC_F_WRITE, 2);
		put(rx.avail + 4 + 2 * i, i, 2);
	}
	put(rx.avail + 2, 2, 2);
	host_send(NULL, 3000, 14);
	host_send(NULL, 500, 15);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(stats().rx_dropped, 1);
	ck_assert_uint_eq(get(rx.used + 2, 2), 1);
	ck_assert_uint_eq(get(rx.used + 8, 4), 500);
	expect_payload(RX_DATA + HDR, HDR, 500 - HDR, 15);
}
END_TEST

/* Without MRG_RXBUF a frame larger than the buffer cannot be delivered. */
START_TEST(rx_too_big_for_buffer)
{
	uint8_t big[2000];

	stop();
	{
		struct virtio_net_backend be = backend();

		start(&be, F(MRG_RXBUF));
	}
	post_rx(RX_DATA, 1526, 1);
	fill_frame(big, sizeof(big), 0);
	ck_assert_int_eq(send(sv[1], big, sizeof(big), 0), sizeof(big));
	host_send(NULL, 100, 16);
	virtio_pci_kick(vp, RXQ);
	/* A socket truncates (a tap says how long the frame was). */
	ck_assert_uint_eq(used_idx(&rx), 1);
	ck_assert_uint_eq(next_used(&rx, NULL), 1526);
}
END_TEST

/* Chains that cannot take a frame are used empty, around the frame's. */
START_TEST(rx_bad_chains)
{
	struct seg tiny = { RX_DATA, HDR - 1, true };
	struct seg readable = { RX_DATA, 2048, false };
	struct seg outside = { RAM_GPA + RAM_SIZE - 16, 2048, true };
	uint16_t head;

	post(&rx, &tiny, 1);		/* 0 */
	post_rx(RX_DATA + 0x1000, 1024, 1);	/* 1 */
	post(&rx, &readable, 1);	/* 2 */
	post(&rx, &outside, 1);		/* 3 */
	post_rx(RX_DATA + 0x2000, 1024, 1);	/* 4 */
	host_send(NULL, 1500, 17);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 5);
	ck_assert_uint_eq(next_used(&rx, &head), 0);
	ck_assert_uint_eq(head, 0);		/* nothing before it: at once */
	ck_assert_uint_eq(next_used(&rx, &head), 1024);
	ck_assert_uint_eq(head, 1);
	ck_assert_uint_eq(next_used(&rx, &head), 1500 - 1024);
	ck_assert_uint_eq(head, 4);		/* the frame's two together */
	ck_assert_uint_eq(get(RX_DATA + 0x1000 + 10, 2), 2);
	ck_assert_uint_eq(next_used(&rx, &head), 0);
	ck_assert_uint_eq(head, 2);
	ck_assert_uint_eq(next_used(&rx, &head), 0);
	ck_assert_uint_eq(head, 3);
	expect_payload(RX_DATA + 0x1000 + HDR, HDR, 1024 - HDR, 17);
	expect_payload(RX_DATA + 0x2000, 1024, 1500 - 1024, 17);
}
END_TEST

/* Frames the driver did not ask for (queued before its offloads applied). */
START_TEST(rx_offloads)
{
	uint8_t h[HDR] = { 0 };

	/* Every GUEST_ offload negotiated: set, and headers pass as they are. */
	post_rx(RX_DATA, 2048, 8);
	virtio_pci_kick(vp, RXQ);
	ck_assert_int_eq(be_seen.offload_calls, 1);
	ck_assert_uint_eq(be_seen.offloads, GUEST_ALL);
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[1] = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	h[2] = 66;
	host_send(h, 1000, 18);
	virtio_pci_kick(vp, RXQ);
	ck_assert_int_eq(be_seen.offload_calls, 1);	/* once */
	ck_assert_uint_eq(next_used(&rx, NULL), 1000);
	ck_assert_mem_eq(host(RX_DATA), "\x01\x81\x42", 3);
	/* A driver without offloads: set to none; such frames dropped. */
	stop();
	{
		struct virtio_net_backend be = backend();

		start(&be, GUEST_ALL);
	}
	post_rx(RX_DATA, 2048, 8);
	h[1] = 0;
	host_send(h, 100, 19);		/* NEEDS_CSUM */
	h[0] = 0;
	h[1] = VIRTIO_NET_HDR_GSO_TCPV6;
	host_send(h, 100, 20);
	h[1] = VIRTIO_NET_HDR_GSO_UDP;
	host_send(h, 100, 21);
	h[1] = 0x33;			/* no such type */
	host_send(h, 100, 22);
	h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	h[1] = 0;
	host_send(h, 100, 23);		/* delivered, flags cleared */
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(be_seen.offloads, 0);
	ck_assert_uint_eq(stats().rx_dropped, 4);
	ck_assert_uint_eq(used_idx(&rx), 1);
	ck_assert_uint_eq(next_used(&rx, NULL), 100);
	ck_assert_uint_eq(host(RX_DATA)[0], 0);
	expect_payload(RX_DATA + HDR, HDR, 100 - HDR, 23);
}
END_TEST

/* Offloads the backend refuses are tried again at the next round. */
START_TEST(rx_offloads_retry)
{
	be_seen.set_offload_ret = -EINVAL;
	post_rx(RX_DATA, 2048, 2);
	virtio_pci_kick(vp, RXQ);
	virtio_pci_kick(vp, RXQ);
	ck_assert_int_eq(be_seen.offload_calls, 2);
	be_seen.set_offload_ret = 0;
	virtio_pci_kick(vp, RXQ);
	virtio_pci_kick(vp, RXQ);
	ck_assert_int_eq(be_seen.offload_calls, 3);
}
END_TEST

/*
 * A reset (the driver's, or a reboot's PCI reset) keeps the fd: a frame
 * held is dropped and counted, the next driver gets its offloads set and
 * the frames that come.
 */
START_TEST(rx_reset)
{
	post_rx(RX_DATA, 1024, 1);
	host_send(NULL, 3000, 24);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(used_idx(&rx), 0);	/* held, waiting */
	probe(0);
	ck_assert_uint_eq(stats().rx_dropped, 1);
	ck_assert_uint_eq(virtio_pci_kick(vp, RXQ), true);
	ck_assert_int_eq(be_seen.offload_calls, 2);
	post_rx(RX_DATA, 4096, 1);
	host_send(NULL, 500, 25);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(next_used(&rx, NULL), 500);
	expect_payload(RX_DATA + HDR, HDR, 500 - HDR, 25);
	/* Not live: the kick says so, the fd is not touched. */
	wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	host_send(NULL, 500, 26);
	ck_assert_uint_eq(virtio_pci_kick(vp, RXQ), false);
	{
		uint8_t buf[600];

		ck_assert_uint_eq(host_recv(buf, sizeof(buf)), 0);
		ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), 0), 500);
	}
}
END_TEST

/* The fd fails (a tap gone): said once per round, receiving waits. */
START_TEST(rx_fd_fails)
{
	int p[2];

	stop();
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	{
		struct virtio_net_backend be = backend();

		be.fd = p[1];		/* write-only: reads fail */
		start(&be, 0);
	}
	post_rx(RX_DATA, 2048, 40);
	virtio_pci_kick(vp, RXQ);
	ck_assert_int_eq(be_seen.failed, 1);
	ck_assert(be_seen.failed_rx);
	ck_assert_int_eq(be_seen.failed_err, -EBADF);
	ck_assert(!be_seen.rx);
	ck_assert_uint_eq(used_idx(&rx), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A ring the guest breaks: the device says it needs a reset. */
START_TEST(broken_rings)
{
	put(rx.avail + 2, QSIZE + 5, 2);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_eq(virtio_pci_status(vp) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert(!be_seen.rx);
	probe(0);
	put(tx.avail + 2, QSIZE + 5, 2);
	virtio_pci_kick(vp, TXQ);
	ck_assert_uint_eq(virtio_pci_status(vp) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
}
END_TEST

/* Many small frames: at most the budget per round, the rest next time. */
START_TEST(rx_budget)
{
	unsigned int i;

	post_rx(RX_DATA, 128, QSIZE);
	for (i = 0; i < 260; i++)
		host_send(NULL, 60, (uint8_t)i);
	virtio_pci_kick(vp, RXQ);
	ck_assert_uint_le(used_idx(&rx), 256);
	ck_assert(be_seen.rx);
	for (i = 0; i < 10; i++)
		expect_payload(RX_DATA + 128 * i + HDR, HDR, 60 - HDR,
			       (uint8_t)i);
}
END_TEST

Suite *virtio_net_suite(void)
{
	const TTest *const tests[] = {
		config_and_features, new_errors, tx_frames, tx_bad_chains,
		tx_waits_for_room, tx_budget, rx_one_buffer, rx_no_buffers,
		rx_merged_direct, rx_merged_64k, rx_merged_short,
		rx_merged_never_fits, rx_too_big_for_buffer, rx_bad_chains,
		rx_offloads, rx_offloads_retry, rx_reset, rx_fd_fails,
		broken_rings, rx_budget,
	};
	Suite *s = suite_create("virtio_net");
	TCase *tc = tcase_create("virtio_net");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

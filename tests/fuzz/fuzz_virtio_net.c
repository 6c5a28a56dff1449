/*
 * virtio-net's queue processing against a hostile guest and a hostile
 * peer: both queues' rings, descriptor chains and buffers are the input's
 * bytes in 64 KiB of fake guest RAM, through the real transport and
 * virtqueues; a seqpacket socket pair stands in for the tap, and frames
 * with any header come from the other end. Between kicks the guest
 * rewrites RAM, and resets and probes the device again.
 *
 * Input: flags (1 byte: bit 0 no MRG_RXBUF, bit 1 no EVENT_IDX, bit 2 no
 * GUEST_ offloads, bit 3 a small socket buffer, so that sends fill it),
 * the RX and TX queue sizes (1 byte each, 1 << (n % 9)), up to 15 frames
 * for the peer to send (length 2 bytes, at most 32 KiB, header flags and
 * gso_type 1 byte each), up to 24 actions (op 1 byte: 0 RX kick, 1 TX
 * kick, 2 reset and probe, 3 a 16-bit guest write; offset and value 2
 * bytes each), then the RAM image from offset 0.
 *
 * Invariants: every kick ends (budgets); what reaches the peer is a
 * header and at most the largest frame; the offloads set are ones the
 * driver accepted; no frame is counted twice (delivered + dropped is at
 * most what was sent); the fd never fails; ASan and UBSan watch every
 * buffer.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"
#include "tests/fuzz/fuzz.h"

#define RAM_GPA		0x10000ULL
#define RAM_SIZE	0x10000ULL
#define RX_RINGS	(RAM_GPA)
#define TX_RINGS	(RAM_GPA + 0x2000)
#define MAX_FRAMES	15
#define MAX_FRAME	0x8000
#define MAX_ACTIONS	24
#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define GUEST_ALL	(F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | \
			 F(GUEST_ECN) | F(GUEST_UFO))

enum { ACT_RX, ACT_TX, ACT_RESET, ACT_WRITE, ACT_OPS };

static struct {
	uint64_t acked;		/* the driver's GUEST_ offloads */
} fz;

static void vmm_fire(void *o, unsigned int v)
{
	(void)o;
	fuzz_assert(v <= 2, "vector %u", v);
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

static int be_offloads(void *o, uint64_t f)
{
	(void)o;
	fuzz_assert(!(f & ~fz.acked), "offloads %#llx, driver %#llx",
		    (unsigned long long)f, (unsigned long long)fz.acked);
	return 0;
}

static void be_watch(void *o, bool rx, bool tx)
{
	(void)o;
	(void)rx;
	(void)tx;
}

static void be_failed(void *o, bool rx, int err)
{
	(void)o;
	fuzz_assert(0, "the fd failed (%s): %d", rx ? "rx" : "tx", err);
}

static void wr(struct virtio_pci *t, uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(t, off, (uint8_t *)&v, len, true);
}

static uint32_t rd32(struct virtio_pci *t, uint64_t off)
{
	uint8_t d[4];

	virtio_pci_bar_io(t, off, d, 4, false);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static void queue(struct virtio_pci *t, unsigned int q, uint16_t size,
		  uint64_t base)
{
	wr(t, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	wr(t, VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
	wr(t, VIRTIO_PCI_COMMON_Q_DESCLO, base, 8);
	wr(t, VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x1000, 8);
	wr(t, VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x1400, 8);
	wr(t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

/* As a driver does: every feature offered but those flags drop. */
static void probe(struct virtio_pci *t, unsigned int flags, uint16_t rxs,
		  uint16_t txs)
{
	uint64_t f;

	wr(t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	wr(t, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = rd32(t, VIRTIO_PCI_COMMON_DF);
	wr(t, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	f |= (uint64_t)rd32(t, VIRTIO_PCI_COMMON_DF) << 32;
	if (flags & 1)
		f &= ~F(MRG_RXBUF);
	if (flags & 2)
		f &= ~(1ULL << 29);		/* EVENT_IDX */
	if (flags & 4)
		f &= ~GUEST_ALL;
	fz.acked = f & GUEST_ALL;
	wr(t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wr(t, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	wr(t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(t, VIRTIO_PCI_COMMON_GF, f >> 32, 4);
	wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	queue(t, 0, rxs, RX_RINGS);
	queue(t, 1, txs, TX_RINGS);
	wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
	fuzz_assert(virtio_pci_status(t) & VIRTIO_CONFIG_S_DRIVER_OK,
		    "the probe failed");
}

/* The peer's frames: header flags and gso_type from the input. */
static unsigned int send_frames(struct fuzz_in *in, int fd)
{
	static uint8_t frame[MAX_FRAME];
	unsigned int n = fuzz_take(in, 1) % (MAX_FRAMES + 1), i, sent = 0;
	size_t len;

	for (i = 0; i < n; i++) {
		len = fuzz_take(in, 2) % (MAX_FRAME + 1);
		memset(frame, 0xA5 ^ i, len);
		if (len >= 2) {
			frame[0] = fuzz_take(in, 1);
			frame[1] = fuzz_take(in, 1);
		}
		if (send(fd, frame, len, MSG_DONTWAIT) == (ssize_t)len)
			sent++;
	}
	return sent;
}

/* What the device sent: each a header and at most the largest frame. */
static void check_peer(int fd)
{
	static uint8_t buf[VIRTIO_NET_RX_MAX + 64];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		fuzz_assert(n >= VIRTIO_NET_HDR_LEN && n <= VIRTIO_NET_RX_MAX,
			    "a frame of %zd bytes reached the tap", n);
}

static void act(struct virtio_pci *t, uint8_t *ram, unsigned int op,
		uint16_t off, uint16_t val, const unsigned int *probe_args)
{
	switch (op % ACT_OPS) {
	case ACT_RX:
		virtio_pci_kick(t, 0);
		break;
	case ACT_TX:
		virtio_pci_kick(t, 1);
		break;
	case ACT_RESET:
		probe(t, probe_args[0], probe_args[1], probe_args[2]);
		break;
	case ACT_WRITE:
		memcpy(ram + off % (RAM_SIZE - 1), &val, 2);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtio_net_backend be = {
		.mac = { 2, 0, 0, 0, 0, 1 }, .offloads = ~0ULL,
		.set_offloads = be_offloads, .watch = be_watch,
		.failed = be_failed,
	};
	struct virtio_pci_config c = { .ops = &vmm_ops, .num_queues = 2,
				       .queue_size = 256 };
	uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
	struct gmem *m = gmem_new();
	unsigned int p[3], nact, sent, i, small = 4096;
	struct virtio_net_stats st;
	struct virtio_net *n;
	struct virtio_pci *t;
	uint8_t op[MAX_ACTIONS];
	uint16_t off[MAX_ACTIONS], val[MAX_ACTIONS];
	int sv[2];

	if (!ram || !m || gmem_add(m, RAM_GPA, RAM_SIZE, ram) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv))
		abort();
	p[0] = fuzz_take(&in, 1);
	p[1] = 1 << (fuzz_take(&in, 1) % 9);
	p[2] = 1 << (fuzz_take(&in, 1) % 9);
	if (p[0] & 8)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	sent = send_frames(&in, sv[1]);
	nact = fuzz_take(&in, 1) % (MAX_ACTIONS + 1);
	for (i = 0; i < nact; i++) {
		op[i] = fuzz_take(&in, 1);
		off[i] = fuzz_take(&in, 2);
		val[i] = fuzz_take(&in, 2);
	}
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, in.p, in.left < RAM_SIZE ? in.left : RAM_SIZE);
	be.fd = sv[0];
	if (virtio_net_new(&n, &be))
		abort();
	c.dev_ops = virtio_net_ops(n);
	c.dev = n;
	c.mem = m;
	if (virtio_pci_new(&t, &c))
		abort();
	probe(t, p[0], p[1], p[2]);
	virtio_pci_kick(t, 0);
	for (i = 0; i < nact; i++) {
		act(t, ram, op[i], off[i], val[i], p);
		check_peer(sv[1]);
	}
	virtio_pci_kick(t, 1);
	check_peer(sv[1]);
	virtio_net_stats(n, &st);
	fuzz_assert(st.rx_frames + st.rx_dropped <= sent, "%llu + %llu "
		    "frames of %u", (unsigned long long)st.rx_frames,
		    (unsigned long long)st.rx_dropped, sent);
	virtio_pci_free(t);
	virtio_net_free(n);
	close(sv[0]);
	close(sv[1]);
	gmem_free(m);
	free(ram);
	return 0;
}

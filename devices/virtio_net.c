/*
 * virtio-net's queues. Receive chains are popped into slots before a
 * frame is read, as many as the largest frame needs, and those it did not
 * need are given back (vq_unpop) at the end of each round: no chain
 * outlives the gmem reference of the kick that popped it. Slots are kept
 * in pop order, so what is given back is always the last popped.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define VNET_RXQ		0
#define VNET_TXQ		1
#define VNET_CONFIG_LEN		12	/* mac, status, pairs, mtu */
#define VNET_CFG_STATUS		6
#define VNET_CFG_PAIRS		8
#define VNET_CFG_MTU		10
#define VNET_HDR_FLAGS		0
#define VNET_HDR_GSO		1
#define VNET_HDR_NUM_BUFFERS	10
/* Frames per kick before the thread lets a reset or the other queue in. */
#define VNET_BUDGET		256
/* Receive segments held at once: readv's limit (UIO_MAXIOV). */
#define VNET_RX_IOV		1024
#define VNET_RX_SLOTS		VNET_RX_IOV
#define VNET_UNSET		UINT64_MAX

#define F(bit)			(1ULL << VIRTIO_NET_F_##bit)
#define VNET_GUEST_OFFLOADS	(F(GUEST_CSUM) | F(GUEST_TSO4) | \
				 F(GUEST_TSO6) | F(GUEST_ECN) | F(GUEST_UFO))
#define VNET_OFFLOADS		(VNET_GUEST_OFFLOADS | F(CSUM) | \
				 F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | \
				 F(HOST_UFO))

/* A popped receive chain. */
struct vnet_slot {
	uint16_t head;
	uint16_t niov;		/* its segments, rx_iov[iov..] */
	uint32_t iov;
	uint32_t len;		/* its bytes; 0: unusable, used empty */
};

struct virtio_net {
	struct virtio_net_backend be;
	struct virtio_dev_ops ops;
	uint8_t config[VNET_CONFIG_LEN];
	/* The device thread's, under the queue lock: */
	struct vq_elem elem;
	struct vnet_slot slot[VNET_RX_SLOTS];
	unsigned int first, nslots;	/* held, not used: [first, nslots) */
	struct iovec rx_iov[VNET_RX_IOV];
	unsigned int niov;
	uint64_t cap;			/* bytes of the held slots */
	bool full;			/* no room for another slot */
	uint8_t *bounce;		/* a frame read aside */
	uint32_t pending;		/* its length; 0: none */
	uint64_t applied;		/* offloads set, or VNET_UNSET */
	bool rx_watch, tx_wait;
	struct virtio_net_stats stats;	/* atomic */
};

static void vnet_count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static void vnet_watch(struct virtio_net *n)
{
	n->be.watch(n->be.opaque, n->rx_watch, n->tx_wait);
}

/* --- Receive: slots ------------------------------------------------------ */

static bool vnet_usable(const struct vq_elem *e)
{
	return !e->err && e->in_len >= VIRTIO_NET_HDR_LEN;
}

/* Moves the held slots and their segments to the front. */
static void vnet_compact(struct virtio_net *n)
{
	unsigned int base, i;

	if (!n->first)
		return;
	base = n->first < n->nslots ? n->slot[n->first].iov : n->niov;
	memmove(n->slot, n->slot + n->first,
		(n->nslots - n->first) * sizeof(n->slot[0]));
	n->nslots -= n->first;
	n->first = 0;
	memmove(n->rx_iov, n->rx_iov + base,
		(n->niov - base) * sizeof(n->rx_iov[0]));
	n->niov -= base;
	for (i = 0; i < n->nslots; i++)
		n->slot[i].iov -= base;
	n->full = false;
}

static void vnet_hold(struct virtio_net *n, const struct vq_elem *e)
{
	struct vnet_slot *s = &n->slot[n->nslots++];

	*s = (struct vnet_slot){ .head = e->head, .iov = n->niov };
	if (!vnet_usable(e))
		return;
	memcpy(n->rx_iov + n->niov, e->in, e->nin * sizeof(e->in[0]));
	n->niov += e->nin;
	s->niov = e->nin;
	s->len = e->in_len;
	n->cap += e->in_len;
}

/*
 * Pops receive chains until the held slots have `need` bytes, the ring
 * has no more, or there is no room (n->full); 0 or the queue's error.
 * An unusable chain with nothing held before it is used empty at once.
 */
static int vnet_fill(struct virtio_net *n, struct vq *v, uint64_t need)
{
	struct vq_elem *e = &n->elem;
	int ret;

	while (n->cap < need) {
		if (n->nslots == VNET_RX_SLOTS) {
			n->full = true;
			return 0;
		}
		ret = vq_pop(v, e);
		if (ret <= 0)
			return ret;
		if (!vnet_usable(e) && n->first == n->nslots) {
			ret = vq_push(v, e, 0);
			if (ret)
				return ret;
			continue;
		}
		if (e->nin > VNET_RX_IOV - n->niov) {
			n->full = true;
			return vq_unpop(v, 1);
		}
		vnet_hold(n, e);
	}
	return 0;
}

/* End of a round: the chains not used go back to the ring. */
static int vnet_put_back(struct virtio_net *n, struct vq *v)
{
	int ret = vq_unpop(v, n->nslots - n->first);

	n->first = n->nslots = n->niov = 0;
	n->cap = 0;
	n->full = false;
	return ret;
}

static int vnet_push(struct virtio_net *n, struct vq *v,
		     const struct vnet_slot *s, uint32_t len)
{
	n->elem.head = s->head;
	n->elem.in_len = s->len;
	return vq_push(v, &n->elem, len);
}

/* --- Receive: frames ----------------------------------------------------- */

/* The first usable held slot (there is one when cap > 0). */
static unsigned int vnet_first_usable(const struct virtio_net *n)
{
	unsigned int i = n->first;

	while (i < n->nslots && !n->slot[i].len)
		i++;
	return i;
}

static bool vnet_gso_ok(uint8_t gso, uint64_t f)
{
	if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !(f & F(GUEST_ECN)))
		return false;
	switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return f & F(GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return f & F(GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return f & F(GUEST_UFO);
	}
	return false;
}

/*
 * The header as the driver may see it, num_buffers set; false for a
 * frame with an offload the driver did not accept (one the fd had queued
 * before its offloads changed).
 */
static bool vnet_rx_header(const struct vnet_slot *s, const struct iovec *iov,
			   uint64_t f, unsigned int nbufs)
{
	uint8_t h[VIRTIO_NET_HDR_LEN];

	vq_iov_read(iov + s->iov, s->niov, 0, h, sizeof(h));
	if (!vnet_gso_ok(h[VNET_HDR_GSO], f))
		return false;
	if (!(f & F(GUEST_CSUM))) {
		if (h[VNET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		h[VNET_HDR_FLAGS] = 0;	/* no DATA_VALID either */
	}
	h[VNET_HDR_NUM_BUFFERS] = nbufs;
	h[VNET_HDR_NUM_BUFFERS + 1] = nbufs >> 8;
	vq_iov_write(iov + s->iov, s->niov, 0, h, sizeof(h));
	return true;
}

/* Held slots from first that len bytes fill; *nbufs the usable ones. */
static unsigned int vnet_span(const struct virtio_net *n, uint64_t len,
			      unsigned int *nbufs)
{
	unsigned int i = n->first;

	*nbufs = 0;
	while (len) {
		if (n->slot[i].len) {
			len -= len < n->slot[i].len ? len : n->slot[i].len;
			(*nbufs)++;
		}
		i++;
	}
	return i;
}

/*
 * Uses slots [first, end): the frame's buffers in order (num_buffers of
 * them, one after the other in the used ring), then the unusable ones.
 */
static int vnet_use(struct virtio_net *n, struct vq *v, unsigned int end,
		    uint64_t len)
{
	unsigned int i;
	uint32_t k;
	int ret;

	for (i = n->first; i < end; i++) {
		if (!n->slot[i].len)
			continue;
		k = len < n->slot[i].len ? len : n->slot[i].len;
		ret = vnet_push(n, v, &n->slot[i], k);
		if (ret)
			return ret;
		len -= k;
		n->cap -= n->slot[i].len;
	}
	for (i = n->first; i < end; i++) {
		if (n->slot[i].len)
			continue;
		ret = vnet_push(n, v, &n->slot[i], 0);
		if (ret)
			return ret;
	}
	n->first = end;
	return 0;
}

/* A frame of len bytes (header included) is in the held slots: 1 or error. */
static int vnet_deliver(struct virtio_net *n, struct vq *v, uint64_t f,
			uint64_t len)
{
	unsigned int u = vnet_first_usable(n), end, nbufs;
	uint64_t room = (f & F(MRG_RXBUF)) ? n->cap : n->slot[u].len;
	int ret;

	if (len < VIRTIO_NET_HDR_LEN || len > room) {
		vnet_count(&n->stats.rx_dropped, 1);
		return 1;
	}
	end = vnet_span(n, len, &nbufs);
	if (!vnet_rx_header(&n->slot[u], n->rx_iov, f, nbufs)) {
		vnet_count(&n->stats.rx_dropped, 1);
		return 1;
	}
	ret = vnet_use(n, v, end, len);
	if (ret)
		return ret;
	vnet_count(&n->stats.rx_frames, 1);
	vnet_count(&n->stats.rx_bytes, len - VIRTIO_NET_HDR_LEN);
	return 1;
}

/* Straight into the held buffers: all of them with MRG_RXBUF, else one. */
static ssize_t vnet_readv(struct virtio_net *n, bool mrg)
{
	const struct vnet_slot *s = &n->slot[vnet_first_usable(n)];
	ssize_t got;

	do
		got = readv(n->be.fd, n->rx_iov + s->iov,
			    mrg ? n->niov - s->iov : s->niov);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

static ssize_t vnet_read_aside(struct virtio_net *n)
{
	ssize_t got;

	do
		got = read(n->be.fd, n->bounce, VIRTIO_NET_RX_MAX);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

/* The frame read aside, into the held buffers (there is room). */
static int vnet_deliver_aside(struct virtio_net *n, struct vq *v, uint64_t f)
{
	const struct vnet_slot *s = &n->slot[vnet_first_usable(n)];
	uint32_t len = n->pending;

	vq_iov_write(n->rx_iov + s->iov, n->niov - s->iov, 0, n->bounce, len);
	n->pending = 0;
	return vnet_deliver(n, v, f, len);
}

/*
 * A frame read aside that the guest's buffers cannot take now: wait for
 * more (-ENOBUFS), unless they can never take it (no room for more slots,
 * or every ring entry held), then it is dropped.
 */
static int vnet_short(struct virtio_net *n, struct vq *v)
{
	if (!n->pending || (!n->full && v->inflight < v->size))
		return -ENOBUFS;
	n->pending = 0;
	vnet_count(&n->stats.rx_dropped, 1);
	return 1;
}

/*
 * One frame: 1 (delivered or dropped), 0 (the fd has none), -ENOBUFS (no
 * room in the guest's buffers), -EIO (the fd failed), or the queue's
 * error.
 */
static int vnet_rx_frame(struct virtio_net *n, struct vq *v, uint64_t f)
{
	bool mrg = f & F(MRG_RXBUF);
	uint64_t need = n->pending ? n->pending : mrg ? VIRTIO_NET_RX_MAX : 1;
	ssize_t got;
	int ret;

	vnet_compact(n);
	ret = vnet_fill(n, v, need);
	if (ret < 0)
		return ret;
	if (n->pending)
		return n->cap >= need ? vnet_deliver_aside(n, v, f) :
					vnet_short(n, v);
	if (!n->cap)
		return -ENOBUFS;
	got = n->cap >= need ? vnet_readv(n, mrg) : vnet_read_aside(n);
	if (got == -EAGAIN)
		return 0;
	if (got < 0) {
		n->be.failed(n->be.opaque, true, (int)got);
		return -EIO;
	}
	if (n->cap >= need)
		return vnet_deliver(n, v, f, got);
	n->pending = got;		/* if it does not fit, the next call */
	return n->pending <= n->cap ? vnet_deliver_aside(n, v, f) : 1;
}

/* Deliver the GUEST_ offloads the driver accepted, and no others. */
static void vnet_offloads(struct virtio_net *n, uint64_t f)
{
	uint64_t want = f & VNET_GUEST_OFFLOADS;

	if (want != n->applied && !n->be.set_offloads(n->be.opaque, want))
		n->applied = want;
}

/* After a round: watch the fd, or wait for the guest's buffers. */
static bool vnet_rx_wait(struct virtio_net *n, struct virtio_pci *t,
			 struct vq *v, int ret)
{
	n->rx_watch = ret >= 0;
	if (ret >= 0) {
		vq_suppress_kicks(v);	/* the fd wakes us */
		return false;
	}
	if (ret == -ENOBUFS || ret == -EIO)
		return vq_allow_kicks_new(v);
	virtio_pci_queue_error(t, VNET_RXQ);
	return false;
}

static void vnet_rx(struct virtio_net *n, struct virtio_pci *t)
{
	struct vq *v = virtio_pci_vq(t, VNET_RXQ);
	uint64_t f = virtio_pci_features(t);
	unsigned int budget = VNET_BUDGET;
	int ret, put;

	vnet_offloads(n, f);
	do {
		while ((ret = vnet_rx_frame(n, v, f)) == 1 && --budget)
			;
		put = vnet_put_back(n, v);
		if (put < 0 && ret >= 0)
			ret = put;
	} while (vnet_rx_wait(n, t, v, ret) && ret != -EIO && --budget);
	vnet_watch(n);
	virtio_pci_notify(t, VNET_RXQ);
}

/* --- Transmit ------------------------------------------------------------ */

/* Only a host-side failure is worth a word; the rest a guest can cause. */
static bool vnet_host_error(int err)
{
	return err == EBADFD || err == EBADF || err == ENXIO || err == ENODEV;
}

/* One chain to the fd: 0 (sent or dropped) or -EAGAIN (the fd is full). */
static int vnet_tx_frame(struct virtio_net *n, const struct vq_elem *e)
{
	ssize_t got;

	if (e->err || e->out_len < VIRTIO_NET_HDR_LEN ||
	    e->out_len > VIRTIO_NET_RX_MAX) {
		vnet_count(&n->stats.tx_dropped, 1);
		return 0;
	}
	do
		got = writev(n->be.fd, e->out, e->nout);
	while (got < 0 && errno == EINTR);
	if (got >= 0) {
		vnet_count(&n->stats.tx_frames, 1);
		vnet_count(&n->stats.tx_bytes, e->out_len - VIRTIO_NET_HDR_LEN);
		return 0;
	}
	if (errno == EAGAIN)
		return -EAGAIN;
	vnet_count(&n->stats.tx_dropped, 1);
	if (vnet_host_error(errno))
		n->be.failed(n->be.opaque, false, -errno);
	return 0;
}

static void vnet_rekick(int fd)
{
	uint64_t one = 1;

	/* Fails only with a kick pending already. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

/* Up to the budget; 0, -EAGAIN (wait for the fd) or the queue's error. */
static int vnet_tx_some(struct virtio_net *n, struct vq *v,
			unsigned int *budget)
{
	struct vq_elem *e = &n->elem;
	int ret = 0;

	while (*budget && (ret = vq_pop(v, e)) > 0) {
		(*budget)--;
		if (vnet_tx_frame(n, e) == -EAGAIN) {
			ret = vq_unpop(v, 1);
			return ret ? ret : -EAGAIN;
		}
		ret = vq_push(v, e, 0);
		if (ret)
			return ret;
	}
	return *budget ? ret : 0;
}

static void vnet_tx(struct virtio_net *n, struct virtio_pci *t)
{
	struct vq *v = virtio_pci_vq(t, VNET_TXQ);
	unsigned int budget = VNET_BUDGET;
	int ret;

	n->tx_wait = false;
	do {
		vq_suppress_kicks(v);
		ret = vnet_tx_some(n, v, &budget);
	} while (!ret && budget && vq_allow_kicks(v));
	if (ret == -EAGAIN) {
		n->tx_wait = true;	/* the fd wakes us, kicks stay off */
	} else if (ret < 0) {
		virtio_pci_queue_error(t, VNET_TXQ);
	} else if (!budget) {
		/* More waits: come back after others had their turn. */
		vq_allow_kicks(v);
		vnet_rekick(virtio_pci_kick_fd(t, VNET_TXQ));
	}
	vnet_watch(n);
	virtio_pci_notify(t, VNET_TXQ);
}

/* --- The device type ----------------------------------------------------- */

static void vnet_kick(void *dev, struct virtio_pci *t, unsigned int q)
{
	if (q == VNET_RXQ)
		vnet_rx(dev, t);
	else if (q == VNET_TXQ)
		vnet_tx(dev, t);
}

static void vnet_config_read(void *dev, uint32_t off, uint8_t *data,
			     uint32_t len)
{
	struct virtio_net *n = dev;

	memcpy(data, n->config + off, len);
}

/* Queues are disabled already; the fd stays, its offloads set again. */
static void vnet_reset(void *dev)
{
	struct virtio_net *n = dev;

	if (n->pending)
		vnet_count(&n->stats.rx_dropped, 1);
	n->pending = 0;
	n->applied = VNET_UNSET;
	n->rx_watch = n->tx_wait = false;
}

static void vnet_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void vnet_setup(struct virtio_net *n)
{
	uint64_t f = F(MAC) | F(STATUS) | F(MRG_RXBUF) |
		     (n->be.offloads & VNET_OFFLOADS);

	if (n->be.mtu)
		f |= F(MTU);
	memcpy(n->config, n->be.mac, VIRTIO_NET_MAC_LEN);
	vnet_put16(n->config + VNET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
	vnet_put16(n->config + VNET_CFG_PAIRS, 1);
	vnet_put16(n->config + VNET_CFG_MTU, n->be.mtu);
	n->applied = VNET_UNSET;
	n->ops = (struct virtio_dev_ops){
		.type = VIRTIO_ID_NET, .class_code = 0x020000,
		.features = f, .config_len = VNET_CONFIG_LEN,
		.config_read = vnet_config_read, .kick = vnet_kick,
		.reset = vnet_reset,
	};
}

static bool vnet_backend_ok(const struct virtio_net_backend *be)
{
	return be->fd >= 0 && be->set_offloads && be->watch && be->failed &&
	       (!be->mtu || be->mtu >= VIRTIO_NET_MTU_MIN);
}

int virtio_net_new(struct virtio_net **out, const struct virtio_net_backend *be)
{
	struct virtio_net *n;

	*out = NULL;
	if (!vnet_backend_ok(be))
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->bounce = malloc(VIRTIO_NET_RX_MAX);
	if (!n->bounce) {
		free(n);
		return -ENOMEM;
	}
	n->be = *be;
	vnet_setup(n);
	*out = n;
	return 0;
}

void virtio_net_free(struct virtio_net *n)
{
	if (!n)
		return;
	free(n->bounce);
	free(n);
}

const struct virtio_dev_ops *virtio_net_ops(const struct virtio_net *n)
{
	return &n->ops;
}

void virtio_net_stats(const struct virtio_net *n, struct virtio_net_stats *s)
{
	const struct virtio_net_stats *c = &n->stats;

	s->rx_frames = __atomic_load_n(&c->rx_frames, __ATOMIC_RELAXED);
	s->rx_bytes = __atomic_load_n(&c->rx_bytes, __ATOMIC_RELAXED);
	s->rx_dropped = __atomic_load_n(&c->rx_dropped, __ATOMIC_RELAXED);
	s->tx_frames = __atomic_load_n(&c->tx_frames, __ATOMIC_RELAXED);
	s->tx_bytes = __atomic_load_n(&c->tx_bytes, __ATOMIC_RELAXED);
	s->tx_dropped = __atomic_load_n(&c->tx_dropped, __ATOMIC_RELAXED);
}

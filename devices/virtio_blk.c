/*
 * virtio-blk requests. A request is a chain: the 16-byte header
 * (le32 type, le32 reserved, le64 sector) in the device-readable part,
 * then data (readable for a write, writable for a read), and the status
 * byte last in the writable part. The header is read once into a copy;
 * the data segments are the guest's memory, used only for the one
 * preadv/pwritev.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define VBLK_HDR		16
#define VBLK_CONFIG_LEN		36	/* up to num_queues */
#define VBLK_CFG_CAPACITY	0
#define VBLK_CFG_SIZE_MAX	8
#define VBLK_CFG_SEG_MAX	12
#define VBLK_CFG_BLK_SIZE	20
#define VBLK_CFG_NUM_QUEUES	34

struct virtio_blk {
	struct virtio_blk_backend be;
	struct virtio_dev_ops ops;
	uint8_t config[VBLK_CONFIG_LEN];
	struct vq_elem elem;		/* the device thread's */
	struct iovec iov[VQ_MAX_IOV];	/* the data part of elem */
	uint8_t *bounce;		/* with direct only */
};

struct vblk_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

/* What a kick may still do before it lets a reset or another queue in. */
struct vblk_budget {
	unsigned int requests;
	uint64_t bytes;
};

/* --- Data transfer -------------------------------------------------------- */

/*
 * dst: the [skip, skip + len) bytes of src's segments; returns how many
 * segments that took (len must be there).
 */
static unsigned int vblk_slice(const struct iovec *src, unsigned int n,
			       size_t skip, size_t len, struct iovec *dst)
{
	unsigned int i, k = 0;
	size_t take;

	for (i = 0; i < n && len; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		take = src[i].iov_len - skip;
		if (take > len)
			take = len;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[k++].iov_len = take;
		len -= take;
		skip = 0;
	}
	return k;
}

/* Drops done bytes from the front of iov; returns the segments left. */
static unsigned int vblk_advance(struct iovec *iov, unsigned int n,
				 size_t done)
{
	unsigned int i = 0;

	while (i < n && done >= iov[i].iov_len)
		done -= iov[i++].iov_len;
	if (i < n) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + done;
		iov[i].iov_len -= done;
	}
	memmove(iov, iov + i, (n - i) * sizeof(*iov));
	return n - i;
}

/* All of len bytes at off, or -errno (-EIO: the image ended early). */
static int vblk_rw_all(int fd, struct iovec *iov, unsigned int n,
		       uint64_t off, size_t len, bool write)
{
	ssize_t got;

	while (len) {
		got = write ? pwritev(fd, iov, n, off) : preadv(fd, iov, n, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (!got)
			return -EIO;
		n = vblk_advance(iov, n, got);
		off += got;
		len -= got;
	}
	return 0;
}

/* O_DIRECT wants block-aligned memory: guest buffers may not be. */
static bool vblk_aligned(const struct virtio_blk *b, const struct iovec *iov,
			 unsigned int n)
{
	uintptr_t mask = b->be.block_size - 1;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & mask)
			return false;
	return true;
}

static int vblk_bounce(struct virtio_blk *b, unsigned int n, uint64_t off,
		       size_t len, bool write)
{
	struct iovec one;
	size_t done = 0, k;
	int ret;

	while (done < len) {
		k = len - done < VIRTIO_BLK_BOUNCE ? len - done :
		    VIRTIO_BLK_BOUNCE;
		one = (struct iovec){ b->bounce, k };
		if (write)
			vq_iov_read(b->iov, n, done, b->bounce, k);
		ret = vblk_rw_all(b->be.fd, &one, 1, off + done, k, write);
		if (ret)
			return ret;
		if (!write)
			vq_iov_write(b->iov, n, done, b->bounce, k);
		done += k;
	}
	return 0;
}

/* len bytes of b->iov (n segments) to or from sector. */
static uint8_t vblk_transfer(struct virtio_blk *b, unsigned int n,
			     uint64_t sector, size_t len, bool write)
{
	uint64_t off = sector * VIRTIO_BLK_SECTOR;
	int ret;

	/* Over what drivers were told: it would hold the queue too long. */
	if (len % VIRTIO_BLK_SECTOR || len > VIRTIO_BLK_MAX_DATA ||
	    sector > b->be.sectors ||
	    len / VIRTIO_BLK_SECTOR > b->be.sectors - sector)
		return VIRTIO_BLK_S_IOERR;
	if (write && b->be.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (b->be.direct && !vblk_aligned(b, b->iov, n))
		ret = vblk_bounce(b, n, off, len, write);
	else
		ret = vblk_rw_all(b->be.fd, b->iov, n, off, len, write);
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* --- Requests ------------------------------------------------------------- */

static uint8_t vblk_get_id(struct virtio_blk *b, const struct vq_elem *e,
			   size_t data, uint32_t *written)
{
	uint8_t id[VIRTIO_BLK_SERIAL] = { 0 };
	size_t n = data < sizeof(id) ? data : sizeof(id);

	memcpy(id, b->be.serial, strnlen(b->be.serial, sizeof(id)));
	*written = vq_iov_write(e->in, e->nin, 0, id, n);
	return VIRTIO_BLK_S_OK;
}

/* The request's status; *written: data bytes put in the guest's buffers. */
static uint8_t vblk_do(struct virtio_blk *b, const struct vq_elem *e,
		       const struct vblk_hdr *h, uint32_t *written)
{
	size_t data_in = e->in_len - 1, data_out = e->out_len - VBLK_HDR;
	unsigned int n;
	uint8_t s;

	*written = 0;
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		n = vblk_slice(e->in, e->nin, 0, data_in, b->iov);
		s = vblk_transfer(b, n, h->sector, data_in, false);
		if (s == VIRTIO_BLK_S_OK)
			*written = data_in;
		return s;
	case VIRTIO_BLK_T_OUT:
		n = vblk_slice(e->out, e->nout, VBLK_HDR, data_out, b->iov);
		return vblk_transfer(b, n, h->sector, data_out, true);
	case VIRTIO_BLK_T_FLUSH:
		return fdatasync(b->be.fd) ? VIRTIO_BLK_S_IOERR :
					     VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return vblk_get_id(b, e, data_in, written);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* One chain: done, its status written; returns the used length. */
static uint32_t vblk_request(struct virtio_blk *b, const struct vq_elem *e)
{
	struct vblk_hdr h;
	uint32_t written = 0;
	uint8_t s = VIRTIO_BLK_S_IOERR;

	if (e->err || !e->in_len)
		return 0;	/* nowhere to say so */
	if (vq_iov_read(e->out, e->nout, 0, &h, sizeof(h)) == sizeof(h)) {
		h.type = le32toh(h.type);
		h.sector = le64toh(h.sector);
		s = vblk_do(b, e, &h, &written);
	}
	vq_iov_write(e->in, e->nin, e->in_len - 1, &s, 1);
	return written + 1;
}

static void vblk_rekick(int fd)
{
	uint64_t one = 1;

	/* Fails only with a kick pending already. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static bool vblk_budget_left(const struct vblk_budget *bd)
{
	return bd->requests && bd->bytes < VIRTIO_BLK_BUDGET_BYTES;
}

/* Pops and does requests while the budget lasts; the first error. */
static int vblk_drain(struct virtio_blk *b, struct vq *v,
		      struct vblk_budget *bd)
{
	int ret = 0;

	while (vblk_budget_left(bd) && (ret = vq_pop(v, &b->elem)) > 0) {
		bd->requests--;
		bd->bytes += (uint64_t)b->elem.in_len + b->elem.out_len;
		ret = vq_push(v, &b->elem, vblk_request(b, &b->elem));
		if (ret)
			break;
	}
	return ret;
}

static void vblk_kick(void *dev, struct virtio_pci *t, unsigned int q)
{
	struct vblk_budget bd = { VIRTIO_BLK_BUDGET, 0 };
	struct virtio_blk *b = dev;
	struct vq *v = virtio_pci_vq(t, q);

	do {
		vq_suppress_kicks(v);
		if (vblk_drain(b, v, &bd) < 0) {
			virtio_pci_queue_error(t, q);
			break;
		}
	} while (vblk_budget_left(&bd) && vq_allow_kicks(v));
	if (!vblk_budget_left(&bd)) {
		/* More may wait: come back after others had their turn. */
		vq_allow_kicks(v);
		vblk_rekick(virtio_pci_kick_fd(t, q));
	}
	virtio_pci_notify(t, q);
}

static void vblk_config_read(void *dev, uint32_t off, uint8_t *data,
			     uint32_t len)
{
	struct virtio_blk *b = dev;

	memcpy(data, b->config + off, len);
}

static void vblk_reset(void *dev)
{
	(void)dev;	/* requests are synchronous: none in flight */
}

/* --- Creation ------------------------------------------------------------- */

static void vblk_put(uint8_t *p, uint64_t v, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

static void vblk_setup(struct virtio_blk *b, unsigned int num_queues)
{
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_SIZE_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;

	if (b->be.readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (num_queues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	vblk_put(b->config + VBLK_CFG_CAPACITY, b->be.sectors, 8);
	vblk_put(b->config + VBLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, 4);
	vblk_put(b->config + VBLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX, 4);
	vblk_put(b->config + VBLK_CFG_BLK_SIZE, b->be.block_size, 4);
	vblk_put(b->config + VBLK_CFG_NUM_QUEUES, num_queues, 2);
	b->ops = (struct virtio_dev_ops){
		.type = VIRTIO_ID_BLOCK, .class_code = 0x018000,
		.features = f, .config_len = VBLK_CONFIG_LEN,
		.config_read = vblk_config_read, .kick = vblk_kick,
		.reset = vblk_reset,
	};
}

static bool vblk_backend_ok(const struct virtio_blk_backend *be,
			    unsigned int num_queues)
{
	uint32_t bs = be->block_size;

	return be->fd >= 0 && bs >= VIRTIO_BLK_SECTOR && !(bs & (bs - 1)) &&
	       bs <= VIRTIO_BLK_BOUNCE && num_queues &&
	       num_queues <= VIRTIO_PCI_MAX_QUEUES &&
	       be->sectors <= UINT64_MAX / VIRTIO_BLK_SECTOR;
}

int virtio_blk_new(struct virtio_blk **out, const struct virtio_blk_backend *be,
		   unsigned int num_queues)
{
	struct virtio_blk *b;

	*out = NULL;
	if (!vblk_backend_ok(be, num_queues))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->be = *be;
	b->be.serial[VIRTIO_BLK_SERIAL] = 0;
	if (be->direct &&
	    posix_memalign((void **)&b->bounce, be->block_size,
			   VIRTIO_BLK_BOUNCE)) {
		free(b);
		return -ENOMEM;
	}
	vblk_setup(b, num_queues);
	*out = b;
	return 0;
}

void virtio_blk_free(struct virtio_blk *b)
{
	if (!b)
		return;
	free(b->bounce);
	free(b);
}

const struct virtio_dev_ops *virtio_blk_ops(const struct virtio_blk *b)
{
	return &b->ops;
}

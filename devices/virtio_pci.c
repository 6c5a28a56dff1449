/*
 * virtio-pci, modern. The register state is the transport's, under its
 * register lock; what the device thread also reads (status, ISR, vectors,
 * generation, features) is accessed atomically, and what it uses (the
 * virtqueues, the enabled flags) changes only under the queue lock too.
 *
 * Guest writes are taken only at a field's own offset and width (64-bit
 * addresses also as 32-bit halves), as the spec tells drivers to write
 * them; anything else is dropped. Reads of any size see the fields' bytes.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define VPCI_CAP_ID_VNDR	0x09
#define VPCI_CAP_LEN		16
#define VPCI_CAP_EXTRA		4	/* notify multiplier, pci_cfg_data */
#define VPCI_CFG_BAR		4	/* in the PCI-cfg capability */
#define VPCI_CFG_OFFSET		8
#define VPCI_CFG_LENGTH		12
#define VPCI_CFG_DATA		16
#define VPCI_REGION		0x1000
#define VPCI_ISR_QUEUE		0x1
#define VPCI_STATUS_DRIVER	(VIRTIO_CONFIG_S_ACKNOWLEDGE | \
				 VIRTIO_CONFIG_S_DRIVER | \
				 VIRTIO_CONFIG_S_FEATURES_OK | \
				 VIRTIO_CONFIG_S_DRIVER_OK | \
				 VIRTIO_CONFIG_S_FAILED)
#define VPCI_FEATURES		(1ULL << VIRTIO_F_VERSION_1 | \
				 1ULL << VIRTIO_RING_F_INDIRECT_DESC | \
				 1ULL << VIRTIO_RING_F_EVENT_IDX)

#define VPCI_LOAD(p)		__atomic_load_n(p, __ATOMIC_SEQ_CST)
#define VPCI_STORE(p, v)	__atomic_store_n(p, v, __ATOMIC_SEQ_CST)

struct vpci_queue {
	struct vq vq;		/* the device thread's, under the queue lock */
	uint64_t desc, driver, device;
	uint64_t bell;		/* where its ioeventfd is, or PCI_ADDR_NONE */
	uint16_t size;		/* as the driver wrote it */
	uint16_t vector;	/* atomic */
	bool enabled;
	int kick_fd;
};

struct virtio_pci {
	struct pci_dev pci;
	pthread_mutex_t lock;		/* registers */
	pthread_mutex_t io_lock;	/* queues, against the device thread */
	pthread_mutex_t io_gate;	/* the next to take io_lock holds it */
	const struct virtio_dev_ops *dops;
	void *dev;
	const struct virtio_pci_ops *ops;
	void *opaque;
	struct gmem *mem;
	struct msix *msix;
	unsigned int pcicfg;		/* the PCI-cfg capability's offset */
	unsigned int nq;
	uint16_t max_size;
	uint64_t bar;			/* BAR0 now, or PCI_ADDR_NONE */
	uint64_t offered;
	uint64_t features;		/* atomic: what the driver wrote */
	uint32_t dfselect, gfselect;
	uint16_t qselect;
	uint16_t config_vector;		/* atomic */
	uint8_t status;			/* atomic */
	uint8_t isr;			/* atomic */
	uint8_t generation;		/* atomic */
	struct vpci_queue q[];
};

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/* --- Interrupts and doorbells --------------------------------------------- */

static void vpci_config_irq(struct virtio_pci *t)
{
	uint16_t v = VPCI_LOAD(&t->config_vector);

	__atomic_fetch_or(&t->isr, VIRTIO_PCI_ISR_CONFIG, __ATOMIC_SEQ_CST);
	if (v != VIRTIO_PCI_NO_VECTOR)
		msix_signal(t->msix, v);
}

/* Any thread: the device cannot go on until the driver resets it. */
static void vpci_needs_reset(struct virtio_pci *t)
{
	uint8_t old = __atomic_fetch_or(&t->status,
					VIRTIO_CONFIG_S_NEEDS_RESET,
					__ATOMIC_SEQ_CST);

	if ((old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_NEEDS_RESET))
		vpci_config_irq(t);
}

static void vpci_signal_fd(int fd)
{
	uint64_t one = 1;

	/* EAGAIN only at a counter of 2^64 - 2: a kick is pending anyway. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static void vpci_bell_add(struct virtio_pci *t, unsigned int i)
{
	struct vpci_queue *q = &t->q[i];
	uint64_t addr;

	if (t->bar == PCI_ADDR_NONE || !q->enabled || q->bell != PCI_ADDR_NONE)
		return;
	addr = t->bar + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * i;
	if (!t->ops->ioeventfd(t->opaque, q->kick_fd, addr, true))
		q->bell = addr;
}

static void vpci_bell_drop(struct virtio_pci *t, struct vpci_queue *q)
{
	if (q->bell == PCI_ADDR_NONE)
		return;
	t->ops->ioeventfd(t->opaque, q->kick_fd, q->bell, false);
	q->bell = PCI_ADDR_NONE;
}

/*
 * io_lock through the gate: a reset waiting for a kick to end gets the
 * lock before the device thread's next kick, which waits at the gate.
 * (A plain mutex goes to whoever asks first once it is free: the device
 * thread, back from a kick that ended on its budget, could starve a
 * reset, a reboot or evmm's exit.)
 */
static void vpci_io_lock(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->io_gate);
	pthread_mutex_lock(&t->io_lock);
	pthread_mutex_unlock(&t->io_gate);
}

/* --- Reset and queues (register lock held) -------------------------------- */

static void vpci_queue_reset(struct virtio_pci *t, struct vpci_queue *q)
{
	vpci_bell_drop(t, q);
	vq_reset(&q->vq);
	q->enabled = false;
	q->size = t->max_size;
	q->desc = q->driver = q->device = 0;
	VPCI_STORE(&q->vector, VIRTIO_PCI_NO_VECTOR);
}

/* The driver's reset (status 0) and a PCI reset: waits for the device. */
static void vpci_reset(struct virtio_pci *t)
{
	unsigned int i;

	vpci_io_lock(t);
	for (i = 0; i < t->nq; i++)
		vpci_queue_reset(t, &t->q[i]);
	t->dops->reset(t->dev);
	VPCI_STORE(&t->status, 0);
	VPCI_STORE(&t->features, 0);
	pthread_mutex_unlock(&t->io_lock);
	t->dfselect = t->gfselect = 0;
	t->qselect = 0;
	VPCI_STORE(&t->config_vector, VIRTIO_PCI_NO_VECTOR);
	VPCI_STORE(&t->isr, 0);
}

static void vpci_queue_enable(struct virtio_pci *t, unsigned int i)
{
	struct vpci_queue *q = &t->q[i];
	int ret = -EINVAL;

	vpci_io_lock(t);
	if (q->size <= t->max_size)
		ret = vq_enable(&q->vq, t->mem, q->size, q->desc, q->driver,
				q->device, VPCI_LOAD(&t->features));
	q->enabled = !ret;
	pthread_mutex_unlock(&t->io_lock);
	if (ret) {
		vpci_needs_reset(t);
		return;
	}
	vpci_bell_add(t, i);
}

static bool vpci_features_ok(const struct virtio_pci *t)
{
	uint64_t f = VPCI_LOAD(&t->features);

	return !(f & ~t->offered) && (f & (1ULL << VIRTIO_F_VERSION_1));
}

static void vpci_set_status(struct virtio_pci *t, uint8_t v)
{
	uint8_t cur = VPCI_LOAD(&t->status), add;
	unsigned int i;

	if (!v) {
		vpci_reset(t);
		return;
	}
	add = v & VPCI_STATUS_DRIVER & ~cur;
	if ((add & VIRTIO_CONFIG_S_FEATURES_OK) && !vpci_features_ok(t))
		add &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	if (!((cur | add) & VIRTIO_CONFIG_S_FEATURES_OK))
		add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	__atomic_fetch_or(&t->status, add, __ATOMIC_SEQ_CST);
	/* Buffers made available before DRIVER_OK waited: look now. */
	if (add & VIRTIO_CONFIG_S_DRIVER_OK)
		for (i = 0; i < t->nq; i++)
			if (t->q[i].enabled)
				vpci_signal_fd(t->q[i].kick_fd);
}

/* --- Common configuration ------------------------------------------------- */

static struct vpci_queue *vpci_selected(struct virtio_pci *t)
{
	return t->qselect < t->nq ? &t->q[t->qselect] : NULL;
}

/* Queue setup is the driver's until it enables the queue or the device. */
static struct vpci_queue *vpci_setup_queue(struct virtio_pci *t)
{
	struct vpci_queue *q = vpci_selected(t);

	if (!q || q->enabled ||
	    (VPCI_LOAD(&t->status) & VIRTIO_CONFIG_S_DRIVER_OK))
		return NULL;
	return q;
}

/* A vector the table has, or NO_VECTOR (what the driver then reads). */
static uint16_t vpci_vector(const struct virtio_pci *t, uint16_t v)
{
	return v < msix_vectors(t->msix) ? v : VIRTIO_PCI_NO_VECTOR;
}

static uint64_t vpci_half(uint64_t cur, uint32_t v, bool high)
{
	if (high)
		return (cur & 0xFFFFFFFFULL) | (uint64_t)v << 32;
	return (cur & ~0xFFFFFFFFULL) | v;
}

static void vpci_common_image(struct virtio_pci *t, uint8_t *img)
{
	struct vpci_queue *q = vpci_selected(t);
	uint64_t f = VPCI_LOAD(&t->features);

	memset(img, 0, VIRTIO_PCI_COMMON_LEN);
	put32(img + VIRTIO_PCI_COMMON_DFSELECT, t->dfselect);
	if (t->dfselect < 2)
		put32(img + VIRTIO_PCI_COMMON_DF,
		      t->offered >> (32 * t->dfselect));
	put32(img + VIRTIO_PCI_COMMON_GFSELECT, t->gfselect);
	if (t->gfselect < 2)
		put32(img + VIRTIO_PCI_COMMON_GF, f >> (32 * t->gfselect));
	put16(img + VIRTIO_PCI_COMMON_MSIX, VPCI_LOAD(&t->config_vector));
	put16(img + VIRTIO_PCI_COMMON_NUMQ, t->nq);
	img[VIRTIO_PCI_COMMON_STATUS] = VPCI_LOAD(&t->status);
	img[VIRTIO_PCI_COMMON_CFGGENERATION] = VPCI_LOAD(&t->generation);
	put16(img + VIRTIO_PCI_COMMON_Q_SELECT, t->qselect);
	if (!q)
		return;		/* size 0: no such queue */
	put16(img + VIRTIO_PCI_COMMON_Q_SIZE, q->size);
	put16(img + VIRTIO_PCI_COMMON_Q_MSIX, VPCI_LOAD(&q->vector));
	put16(img + VIRTIO_PCI_COMMON_Q_ENABLE, q->enabled);
	put16(img + VIRTIO_PCI_COMMON_Q_NOFF, t->qselect);
	put64(img + VIRTIO_PCI_COMMON_Q_DESCLO, q->desc);
	put64(img + VIRTIO_PCI_COMMON_Q_AVAILLO, q->driver);
	put64(img + VIRTIO_PCI_COMMON_Q_USEDLO, q->device);
}

static void vpci_write_features(struct virtio_pci *t, uint32_t v)
{
	uint64_t f = VPCI_LOAD(&t->features);

	if (t->gfselect > 1 ||
	    (VPCI_LOAD(&t->status) & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	VPCI_STORE(&t->features, vpci_half(f, v, t->gfselect));
}

/* A ring address: 64 bits at lo, or 32 at lo or lo + 4. */
static void vpci_write_ring(struct virtio_pci *t, uint32_t off,
			    const uint8_t *data, uint32_t len)
{
	struct vpci_queue *q = vpci_setup_queue(t);
	unsigned int field = (off - VIRTIO_PCI_COMMON_Q_DESCLO) / 8;
	bool high = off % 8;
	uint64_t *p;

	if (!q || off % 4 || (len != 4 && (len != 8 || high)))
		return;
	p = field == 0 ? &q->desc : field == 1 ? &q->driver : &q->device;
	if (len == 8)
		*p = get32(data) | (uint64_t)get32(data + 4) << 32;
	else
		*p = vpci_half(*p, get32(data), high);
}

static void vpci_write_queue(struct virtio_pci *t, uint32_t off, uint16_t v)
{
	struct vpci_queue *q;

	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		q = vpci_setup_queue(t);
		if (q)
			q->size = v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		q = vpci_selected(t);
		if (q)
			VPCI_STORE(&q->vector, vpci_vector(t, v));
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		q = vpci_setup_queue(t);
		if (q && v == 1 && (VPCI_LOAD(&t->status) &
				    VIRTIO_CONFIG_S_FEATURES_OK))
			vpci_queue_enable(t, t->qselect);
		break;
	}
}

/* Only whole fields at their width; read-only ones take nothing. */
static void vpci_common_write(struct virtio_pci *t, uint32_t off,
			      const uint8_t *data, uint32_t len)
{
	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO &&
	    off < VIRTIO_PCI_COMMON_LEN) {
		vpci_write_ring(t, off, data, len);
		return;
	}
	if (len == 4 && off == VIRTIO_PCI_COMMON_DFSELECT)
		t->dfselect = get32(data);
	else if (len == 4 && off == VIRTIO_PCI_COMMON_GFSELECT)
		t->gfselect = get32(data);
	else if (len == 4 && off == VIRTIO_PCI_COMMON_GF)
		vpci_write_features(t, get32(data));
	else if (len == 2 && off == VIRTIO_PCI_COMMON_MSIX)
		VPCI_STORE(&t->config_vector, vpci_vector(t, get16(data)));
	else if (len == 1 && off == VIRTIO_PCI_COMMON_STATUS)
		vpci_set_status(t, data[0]);
	else if (len == 2 && off == VIRTIO_PCI_COMMON_Q_SELECT)
		t->qselect = get16(data);
	else if (len == 2)
		vpci_write_queue(t, off, get16(data));
}

static void vpci_common_io(struct virtio_pci *t, uint32_t off, uint8_t *data,
			   uint32_t len, bool is_write)
{
	uint8_t img[VIRTIO_PCI_COMMON_LEN];
	uint32_t i;

	pthread_mutex_lock(&t->lock);
	if (is_write) {
		vpci_common_write(t, off, data, len);
	} else {
		vpci_common_image(t, img);
		for (i = 0; i < len; i++)
			data[i] = off + i < sizeof(img) ? img[off + i] : 0;
	}
	pthread_mutex_unlock(&t->lock);
}

/* --- The other regions ---------------------------------------------------- */

static void vpci_isr_read(struct virtio_pci *t, uint32_t off, uint8_t *data)
{
	if (!off)
		data[0] = __atomic_exchange_n(&t->isr, 0, __ATOMIC_SEQ_CST);
}

static void vpci_device_io(struct virtio_pci *t, uint32_t off, uint8_t *data,
			   uint32_t len, bool is_write)
{
	uint32_t n, clen = t->dops->config_len;

	if (off >= clen)
		return;
	n = len < clen - off ? len : clen - off;
	pthread_mutex_lock(&t->lock);
	if (!is_write)
		t->dops->config_read(t->dev, off, data, n);
	else if (n == len && t->dops->config_write)
		t->dops->config_write(t->dev, off, data, len);
	pthread_mutex_unlock(&t->lock);
}

/* The slow way to a kick: a write KVM's doorbell did not catch. */
static void vpci_notify_write(struct virtio_pci *t, uint32_t off)
{
	unsigned int i = off / VIRTIO_PCI_NOTIFY_MULT;

	if (off % VIRTIO_PCI_NOTIFY_MULT == 0 && i < t->nq)
		vpci_signal_fd(t->q[i].kick_fd);
}

void virtio_pci_bar_io(void *opaque, uint64_t offset, uint8_t *data,
		       uint32_t len, bool is_write)
{
	struct virtio_pci *t = opaque;
	uint32_t off = offset % VPCI_REGION;

	if (!is_write)
		memset(data, 0, len);
	if (len < 1 || len > 8 || offset >= VIRTIO_PCI_BAR_SIZE ||
	    off + len > VPCI_REGION)
		return;
	switch (offset - off) {
	case VIRTIO_PCI_COMMON_OFF:
		vpci_common_io(t, off, data, len, is_write);
		break;
	case VIRTIO_PCI_ISR_OFF:
		if (!is_write)
			vpci_isr_read(t, off, data);
		break;
	case VIRTIO_PCI_DEVICE_OFF:
		vpci_device_io(t, off, data, len, is_write);
		break;
	case VIRTIO_PCI_NOTIFY_OFF:
		if (is_write)
			vpci_notify_write(t, off);
		break;
	case VIRTIO_PCI_MSIX_OFF:
		msix_table_io(t->msix, off, data, len, is_write);
		break;
	case VIRTIO_PCI_PBA_OFF:
		msix_pba_io(t->msix, off, data, len, is_write);
		break;
	}
}

/* --- Configuration space callbacks ---------------------------------------- */

/*
 * The PCI-cfg window: an access of cap.length (1, 2, 4) bytes at
 * cap.offset (aligned to it, inside BAR0) in cap.bar (0), through the
 * capability's pci_cfg_data; other settings do nothing.
 */
static void vpci_cfg_window(struct virtio_pci *t, uint8_t *buf, bool is_write)
{
	const uint8_t *c = t->pci.cfg + t->pcicfg;
	uint32_t off = get32(c + VPCI_CFG_OFFSET);
	uint32_t len = get32(c + VPCI_CFG_LENGTH);

	if (c[VPCI_CFG_BAR] != VIRTIO_PCI_BAR ||
	    (len != 1 && len != 2 && len != 4) || off % len ||
	    off > VIRTIO_PCI_BAR_SIZE - len)
		return;
	virtio_pci_bar_io(t, off, buf, len, is_write);
}

static bool vpci_hits_window(const struct virtio_pci *t, unsigned int off,
			     unsigned int len)
{
	unsigned int data = t->pcicfg + VPCI_CFG_DATA;

	return off < data + 4 && off + len > data;
}

static void vpci_cfg_written(struct pci_dev *d, unsigned int off,
			     unsigned int len)
{
	struct virtio_pci *t = d->opaque;

	msix_cfg_written(t->msix, off, len);
	if (vpci_hits_window(t, off, len))
		vpci_cfg_window(t, d->cfg + t->pcicfg + VPCI_CFG_DATA, true);
}

static void vpci_cfg_read(struct pci_dev *d, unsigned int off, uint8_t *data,
			  unsigned int len)
{
	struct virtio_pci *t = d->opaque;
	unsigned int base = t->pcicfg + VPCI_CFG_DATA, i;
	uint8_t buf[4];

	if (!vpci_hits_window(t, off, len))
		return;
	memcpy(buf, d->cfg + base, sizeof(buf));
	vpci_cfg_window(t, buf, false);
	for (i = 0; i < len; i++)
		if (off + i >= base && off + i < base + sizeof(buf))
			data[i] = buf[off + i - base];
}

static void vpci_bar_moved(struct pci_dev *d, unsigned int bar, uint64_t old,
			   uint64_t new)
{
	struct virtio_pci *t = d->opaque;
	unsigned int i;

	(void)old;
	if (bar != VIRTIO_PCI_BAR)
		return;
	pthread_mutex_lock(&t->lock);
	t->bar = new;
	for (i = 0; i < t->nq; i++) {
		vpci_bell_drop(t, &t->q[i]);
		vpci_bell_add(t, i);
	}
	pthread_mutex_unlock(&t->lock);
}

/* A PCI reset (reboot): the device's reset, and MSI-X's. */
static void vpci_pci_reset(struct pci_dev *d)
{
	struct virtio_pci *t = d->opaque;

	pthread_mutex_lock(&t->lock);
	vpci_reset(t);
	msix_reset(t->msix);
	pthread_mutex_unlock(&t->lock);
}

/* --- The device thread's side --------------------------------------------- */

unsigned int virtio_pci_num_queues(const struct virtio_pci *t)
{
	return t->nq;
}

int virtio_pci_kick_fd(const struct virtio_pci *t, unsigned int q)
{
	return q < t->nq ? t->q[q].kick_fd : -1;
}

bool virtio_pci_kick(struct virtio_pci *t, unsigned int q)
{
	struct gmem_ref ref;
	bool live;

	if (q >= t->nq)
		return false;
	vpci_io_lock(t);
	live = (VPCI_LOAD(&t->status) & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       t->q[q].enabled;
	if (live) {
		ref = gmem_get(t->mem);
		t->dops->kick(t->dev, t, q);
		gmem_put(t->mem, ref);
	}
	pthread_mutex_unlock(&t->io_lock);
	return live;
}

struct vq *virtio_pci_vq(struct virtio_pci *t, unsigned int q)
{
	return q < t->nq ? &t->q[q].vq : NULL;
}

void virtio_pci_notify(struct virtio_pci *t, unsigned int q)
{
	uint16_t v;

	if (q >= t->nq || !vq_need_notify(&t->q[q].vq))
		return;
	/* With MSI-X the driver never reads it: harmless, and INTx's rule. */
	__atomic_fetch_or(&t->isr, VPCI_ISR_QUEUE, __ATOMIC_SEQ_CST);
	v = VPCI_LOAD(&t->q[q].vector);
	if (v != VIRTIO_PCI_NO_VECTOR)
		msix_signal(t->msix, v);
}

void virtio_pci_queue_error(struct virtio_pci *t, unsigned int q)
{
	if (q < t->nq)
		vpci_needs_reset(t);
}

void virtio_pci_config_changed(struct virtio_pci *t)
{
	__atomic_fetch_add(&t->generation, 1, __ATOMIC_SEQ_CST);
	if (VPCI_LOAD(&t->status) & VIRTIO_CONFIG_S_DRIVER_OK)
		vpci_config_irq(t);
}

uint64_t virtio_pci_features(struct virtio_pci *t)
{
	if (!(VPCI_LOAD(&t->status) & VIRTIO_CONFIG_S_FEATURES_OK))
		return 0;
	return VPCI_LOAD(&t->features);
}

uint8_t virtio_pci_status(struct virtio_pci *t)
{
	return VPCI_LOAD(&t->status);
}

/* --- Creation ------------------------------------------------------------- */

static int vpci_add_cap(struct virtio_pci *t, uint8_t type, uint32_t off,
			uint32_t len, bool extra, uint32_t value)
{
	uint8_t cap[VPCI_CAP_LEN + VPCI_CAP_EXTRA] = {
		VPCI_CAP_ID_VNDR, 0, VPCI_CAP_LEN + (extra ? VPCI_CAP_EXTRA : 0),
		type, VIRTIO_PCI_BAR,
	};

	put32(cap + VPCI_CFG_OFFSET, off);
	put32(cap + VPCI_CFG_LENGTH, len);
	put32(cap + VPCI_CFG_DATA, value);
	return pci_dev_add_cap(&t->pci, cap, cap[2]);
}

/* The guest may set the PCI-cfg window's bar, offset, length and data. */
static int vpci_add_window(struct virtio_pci *t)
{
	static const uint8_t wm[VPCI_CAP_LEN + VPCI_CAP_EXTRA - VPCI_CFG_BAR] = {
		0xFF, 0, 0, 0,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF,
	};
	int off = vpci_add_cap(t, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, true, 0);

	if (off < 0)
		return off;
	t->pcicfg = off;
	return pci_dev_set_wmask(&t->pci, off + VPCI_CFG_BAR, wm, sizeof(wm));
}

static int vpci_add_caps(struct virtio_pci *t)
{
	int ret;

	ret = vpci_add_cap(t, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
			   VIRTIO_PCI_COMMON_LEN, false, 0);
	if (ret >= 0)
		ret = vpci_add_cap(t, VIRTIO_PCI_CAP_NOTIFY_CFG,
				   VIRTIO_PCI_NOTIFY_OFF,
				   VIRTIO_PCI_NOTIFY_MULT * t->nq, true,
				   VIRTIO_PCI_NOTIFY_MULT);
	if (ret >= 0)
		ret = vpci_add_cap(t, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF,
				   1, false, 0);
	if (ret >= 0)
		ret = vpci_add_cap(t, VIRTIO_PCI_CAP_DEVICE_CFG,
				   VIRTIO_PCI_DEVICE_OFF, t->dops->config_len,
				   false, 0);
	if (ret >= 0)
		ret = vpci_add_window(t);
	return ret < 0 ? ret : 0;
}

static bool vpci_config_ok(const struct virtio_pci_config *c)
{
	const struct virtio_dev_ops *d = c->dev_ops;
	const struct virtio_pci_ops *o = c->ops;
	unsigned int s = c->queue_size;

	if (!d || !d->config_read || !d->kick || !d->reset ||
	    !d->config_len || d->config_len > VIRTIO_PCI_DEVICE_MAX)
		return false;
	if (!o || !o->ioeventfd || !o->msix.fire || !o->msix.route || !c->mem)
		return false;
	return c->num_queues && c->num_queues <= VIRTIO_PCI_MAX_QUEUES &&
	       s && s <= VQ_MAX_SIZE && !(s & (s - 1));
}

static void vpci_init_queues(struct virtio_pci *t)
{
	unsigned int i;

	for (i = 0; i < t->nq; i++) {
		t->q[i].kick_fd = -1;
		t->q[i].bell = PCI_ADDR_NONE;
		vpci_queue_reset(t, &t->q[i]);
	}
	t->config_vector = VIRTIO_PCI_NO_VECTOR;
	t->bar = PCI_ADDR_NONE;
}

static int vpci_open_fds(struct virtio_pci *t)
{
	unsigned int i;

	for (i = 0; i < t->nq; i++) {
		t->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[i].kick_fd < 0)
			return -errno;
	}
	return 0;
}

static void vpci_set_callbacks(struct virtio_pci *t)
{
	t->pci.opaque = t;
	t->pci.cfg_written = vpci_cfg_written;
	t->pci.cfg_read = vpci_cfg_read;
	t->pci.bar_moved = vpci_bar_moved;
	t->pci.reset = vpci_pci_reset;
}

int virtio_pci_new(struct virtio_pci **out, const struct virtio_pci_config *c)
{
	struct virtio_pci *t;
	int ret;

	*out = NULL;
	if (!vpci_config_ok(c))
		return -EINVAL;
	t = calloc(1, sizeof(*t) + c->num_queues * sizeof(t->q[0]));
	if (!t)
		return -ENOMEM;
	*t = (struct virtio_pci){
		.dops = c->dev_ops, .dev = c->dev, .ops = c->ops,
		.opaque = c->opaque, .mem = c->mem, .nq = c->num_queues,
		.max_size = c->queue_size,
		.offered = c->dev_ops->features | VPCI_FEATURES,
	};
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->io_lock, NULL);
	pthread_mutex_init(&t->io_gate, NULL);
	vpci_init_queues(t);
	pci_dev_init(&t->pci, VIRTIO_PCI_VENDOR,
		     VIRTIO_PCI_DEVICE_BASE + c->dev_ops->type,
		     c->dev_ops->class_code, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS,
		     VIRTIO_PCI_REVISION);
	ret = pci_dev_add_bar(&t->pci, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE,
			      PCI_BAR_MEM64, virtio_pci_bar_io, t);
	if (!ret)
		ret = vpci_add_caps(t);
	if (!ret)
		ret = msix_new(&t->msix, &t->pci, t->nq + 1, VIRTIO_PCI_BAR,
			       VIRTIO_PCI_MSIX_OFF, VIRTIO_PCI_PBA_OFF,
			       &c->ops->msix, c->opaque);
	if (!ret)
		ret = vpci_open_fds(t);
	if (ret) {
		virtio_pci_free(t);
		return ret;
	}
	vpci_set_callbacks(t);
	*out = t;
	return 0;
}

void virtio_pci_free(struct virtio_pci *t)
{
	unsigned int i;

	if (!t)
		return;
	for (i = 0; i < t->nq; i++)
		if (t->q[i].kick_fd >= 0)
			close(t->q[i].kick_fd);
	msix_free(t->msix);
	pthread_mutex_destroy(&t->io_gate);
	pthread_mutex_destroy(&t->io_lock);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct pci_dev *virtio_pci_dev(struct virtio_pci *t)
{
	return &t->pci;
}

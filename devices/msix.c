/*
 * MSI-X capability, table and PBA. The table is kept as the guest sees it
 * (little-endian bytes, reserved bits 0); each vector also remembers the
 * message it was last routed to, so that a guest rewriting an entry with
 * the same values costs no route update.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/msix.h"
#include "devices/pci.h"

#define MSIX_BAR_MASK		0x7u
#define MSIX_CAP_CTRL		2
#define MSIX_CAP_TABLE		4
#define MSIX_CAP_PBA		8

struct msix_vec {
	uint64_t addr;		/* last routed message, if routed */
	uint32_t data;
	bool routed;
};

struct msix {
	pthread_mutex_t lock;
	struct pci_dev *dev;
	unsigned int cap;	/* offset in configuration space */
	unsigned int nvec;
	bool enabled, fmask;	/* message control */
	const struct msix_ops *ops;
	void *opaque;
	uint8_t *table;		/* nvec * MSIX_ENTRY_SIZE, as the guest sees it */
	uint64_t *pba;		/* msix_pba_size(nvec) / 8 */
	struct msix_vec *vec;
};

/* Bits the guest may write in one table entry, by byte. */
static const uint8_t msix_entry_wmask[MSIX_ENTRY_SIZE] = {
	0xFC, 0xFF, 0xFF, 0xFF,		/* address, dword aligned */
	0xFF, 0xFF, 0xFF, 0xFF,		/* upper address */
	0xFF, 0xFF, 0xFF, 0xFF,		/* data */
	MSIX_ENTRY_MASKED, 0, 0, 0,	/* vector control */
};

static uint32_t msix_get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void msix_put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint8_t *msix_entry(const struct msix *m, unsigned int v)
{
	return m->table + (size_t)v * MSIX_ENTRY_SIZE;
}

static bool msix_pending(const struct msix *m, unsigned int v)
{
	return m->pba[v / 64] & (1ULL << (v % 64));
}

static void msix_set_pending(struct msix *m, unsigned int v, bool on)
{
	if (on)
		m->pba[v / 64] |= 1ULL << (v % 64);
	else
		m->pba[v / 64] &= ~(1ULL << (v % 64));
}

static bool msix_masked(const struct msix *m, unsigned int v)
{
	return !m->enabled || m->fmask ||
	       (msix_entry(m, v)[MSIX_ENTRY_CTRL] & MSIX_ENTRY_MASKED);
}

/* Routes v to its entry's message unless it already is; 0 or -errno. */
static int msix_route(struct msix *m, unsigned int v)
{
	const uint8_t *e = msix_entry(m, v);
	struct msix_vec *r = &m->vec[v];
	uint64_t addr = msix_get32(e + MSIX_ENTRY_ADDR_LO) |
			(uint64_t)msix_get32(e + MSIX_ENTRY_ADDR_HI) << 32;
	uint32_t data = msix_get32(e + MSIX_ENTRY_DATA);
	int ret;

	if (r->routed && r->addr == addr && r->data == data)
		return 0;
	r->routed = false;
	ret = m->ops->route(m->opaque, v, addr, data);
	if (ret)
		return ret;
	*r = (struct msix_vec){ addr, data, true };
	return 0;
}

/*
 * After anything about v changed: a vector that can fire gets its route
 * brought up to date (while it is masked the guest may still be writing
 * the entry) and fires if it was pending.
 */
static void msix_refresh(struct msix *m, unsigned int v)
{
	if (msix_masked(m, v) || msix_route(m, v))
		return;
	if (msix_pending(m, v)) {
		msix_set_pending(m, v, false);
		m->ops->fire(m->opaque, v);
	}
}

static void msix_refresh_all(struct msix *m)
{
	unsigned int v;

	for (v = 0; v < m->nvec; v++)
		msix_refresh(m, v);
}

/* [off, off + len) wholly inside a region of size bytes. */
static bool msix_in(uint64_t off, uint32_t len, uint64_t size)
{
	return len >= 1 && len <= 8 && off < size && len <= size - off;
}

static void msix_table_write(struct msix *m, uint32_t off,
			     const uint8_t *data, uint32_t len)
{
	unsigned int first = off / MSIX_ENTRY_SIZE;
	unsigned int last = (off + len - 1) / MSIX_ENTRY_SIZE;
	uint8_t wm;
	uint32_t i;

	for (i = 0; i < len; i++) {
		wm = msix_entry_wmask[(off + i) % MSIX_ENTRY_SIZE];
		m->table[off + i] = (m->table[off + i] & ~wm) | (data[i] & wm);
	}
	msix_refresh(m, first);
	if (last != first)
		msix_refresh(m, last);
}

void msix_table_io(void *opaque, uint64_t offset, uint8_t *data,
		   uint32_t len, bool is_write)
{
	struct msix *m = opaque;

	if (!msix_in(offset, len, msix_table_size(m->nvec))) {
		if (!is_write)
			memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (is_write)
		msix_table_write(m, offset, data, len);
	else
		memcpy(data, m->table + offset, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write)
{
	struct msix *m = opaque;
	uint32_t i, b;

	if (is_write)
		return;
	if (!msix_in(offset, len, msix_pba_size(m->nvec))) {
		memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < len; i++) {
		b = offset + i;
		data[i] = m->pba[b / 8] >> (8 * (b % 8));
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_cfg_written(struct msix *m, unsigned int off, unsigned int len)
{
	unsigned int ctrl = m->cap + MSIX_CAP_CTRL;
	uint16_t v;

	if (off >= ctrl + 2 || off + len <= ctrl)
		return;
	v = m->dev->cfg[ctrl] | m->dev->cfg[ctrl + 1] << 8;
	pthread_mutex_lock(&m->lock);
	m->enabled = v & MSIX_CTRL_ENABLE;
	m->fmask = v & MSIX_CTRL_FMASK;
	msix_refresh_all(m);
	pthread_mutex_unlock(&m->lock);
}

static void msix_clear(struct msix *m)
{
	unsigned int v;

	memset(m->table, 0, msix_table_size(m->nvec));
	memset(m->pba, 0, msix_pba_size(m->nvec));
	memset(m->vec, 0, m->nvec * sizeof(*m->vec));
	for (v = 0; v < m->nvec; v++)
		msix_entry(m, v)[MSIX_ENTRY_CTRL] = MSIX_ENTRY_MASKED;
	m->enabled = m->fmask = false;
}

void msix_reset(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	msix_clear(m);
	pthread_mutex_unlock(&m->lock);
}

int msix_signal(struct msix *m, unsigned int vector)
{
	if (vector >= m->nvec)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (!m->enabled)
		;	/* no INTx to fall back on: the message is lost */
	else if (msix_masked(m, vector) || !m->vec[vector].routed)
		msix_set_pending(m, vector, true);
	else
		m->ops->fire(m->opaque, vector);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

bool msix_enabled(struct msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

unsigned int msix_vectors(const struct msix *m)
{
	return m->nvec;
}

unsigned int msix_cap_offset(const struct msix *m)
{
	return m->cap;
}

/* Table and PBA 8-byte aligned, inside the BAR, not overlapping. */
static bool msix_layout_ok(const struct pci_dev *d, unsigned int nvec,
			   unsigned int bar, uint64_t table_off,
			   uint64_t pba_off)
{
	uint64_t tsize = msix_table_size(nvec), psize = msix_pba_size(nvec);
	uint64_t size;

	if (!nvec || nvec > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS)
		return false;
	size = d->bars[bar].size;
	if ((table_off | pba_off) & MSIX_BAR_MASK)
		return false;
	if (table_off > size || tsize > size - table_off ||
	    pba_off > size || psize > size - pba_off)
		return false;
	return table_off + tsize <= pba_off || pba_off + psize <= table_off;
}

static int msix_add_cap(struct msix *m, unsigned int bar, uint32_t table_off,
			uint32_t pba_off)
{
	static const uint8_t wm[2] = {
		0, (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8,
	};
	uint8_t cap[MSIX_CAP_LEN] = { MSIX_CAP_ID };
	int off;

	cap[MSIX_CAP_CTRL] = (m->nvec - 1) & 0xFF;
	cap[MSIX_CAP_CTRL + 1] = (m->nvec - 1) >> 8;
	msix_put32(cap + MSIX_CAP_TABLE, table_off | bar);
	msix_put32(cap + MSIX_CAP_PBA, pba_off | bar);
	off = pci_dev_add_cap(m->dev, cap, sizeof(cap));
	if (off < 0)
		return off;
	m->cap = off;
	return pci_dev_set_wmask(m->dev, off + MSIX_CAP_CTRL, wm, sizeof(wm));
}

int msix_new(struct msix **out, struct pci_dev *d, unsigned int nvec,
	     unsigned int bar, uint32_t table_off, uint32_t pba_off,
	     const struct msix_ops *ops, void *opaque)
{
	struct msix *m;
	int ret;

	*out = NULL;
	if (!ops || !ops->fire || !ops->route ||
	    !msix_layout_ok(d, nvec, bar, table_off, pba_off))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->table = malloc(msix_table_size(nvec));
	m->pba = malloc(msix_pba_size(nvec));
	m->vec = malloc(nvec * sizeof(*m->vec));
	ret = -ENOMEM;
	if (!m->table || !m->pba || !m->vec)
		goto err;
	m->dev = d;
	m->nvec = nvec;
	m->ops = ops;
	m->opaque = opaque;
	ret = msix_add_cap(m, bar, table_off, pba_off);
	if (ret)
		goto err;
	pthread_mutex_init(&m->lock, NULL);
	msix_clear(m);
	*out = m;
	return 0;
err:
	free(m->vec);
	free(m->pba);
	free(m->table);
	free(m);
	return ret;
}

void msix_free(struct msix *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->vec);
	free(m->pba);
	free(m->table);
	free(m);
}

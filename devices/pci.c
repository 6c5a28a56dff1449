/*
 * PCI configuration space and BAR dispatch. Every write goes through the
 * function's write masks, so read-only fields, BAR sizing and W1C status
 * bits need no code of their own; what changed is looked at afterwards
 * (BAR addresses, memory decoding) under the bus lock that BAR dispatch
 * takes for reading.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/pci.h"

#define PCI_HOST_VENDOR		0x8086
#define PCI_HOST_DEVICE		0x0D57
#define PCI_HOST_CLASS		0x060000
#define PCI_REVISION		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0E
#define PCI_SUBSYS_ID		0x2E
#define PCI_INTERRUPT_LINE	0x3C
#define PCI_CAP_START		0x40
#define PCI_BAR_ADDR_MASK	(~0xFULL)
#define PCI_BAR_TYPE_64		0x4
#define PCI_BAR_PREFETCH_BIT	0x8
#define CF8_ENABLE		0x80000000u

struct pci_window {
	struct pci_bus *bus;
	uint64_t base, size, next;	/* next: pci_bus_add's cursor */
};

struct pci_bus {
	pthread_rwlock_t lock;
	struct pci_dev *slots[PCI_SLOTS];
	struct pci_window win[2];	/* 32-bit, 64-bit */
	uint32_t cf8;			/* the address register */
	struct pci_dev host;
};

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

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint16_t subsys_vendor,
		  uint16_t subsys_id, uint8_t revision)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION] = revision;
	d->cfg[PCI_CLASS_PROG] = class_code;
	put16(d->cfg + PCI_CLASS_PROG + 1, class_code >> 8);
	put16(d->cfg + PCI_SUBSYS_VENDOR, subsys_vendor);
	put16(d->cfg + PCI_SUBSYS_ID, subsys_id);
	/* Command: memory, bus master, parity, SERR, INTx disable. */
	put16(d->wmask + PCI_COMMAND, 0x0546);
	/* Status: parity, target/master aborts, SERR, parity error. */
	put16(d->w1cmask + PCI_STATUS + 0, 0xF900);
	d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
	d->cap_end = PCI_CAP_START;
	d->slot = -1;
	for (i = 0; i < PCI_NUM_BARS; i++)
		d->decoded[i] = PCI_ADDR_NONE;
}

static bool pci_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_dev_add_bar(struct pci_dev *d, unsigned int bar, uint64_t size,
		    unsigned int flags, pci_io_fn fn, void *opaque)
{
	bool is64 = flags & PCI_BAR_MEM64;
	uint64_t mask = ~(size - 1);
	uint8_t *reg = d->cfg + PCI_BAR0 + 4 * bar;
	uint8_t *wm = d->wmask + PCI_BAR0 + 4 * bar;

	if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS) ||
	    !pci_pow2(size) || size < 4096 || (!is64 && size > 1ULL << 31) ||
	    !fn || d->bars[bar].size || (bar && d->bars[bar - 1].size &&
	    (d->bars[bar - 1].flags & PCI_BAR_MEM64)) ||
	    (is64 && d->bars[bar + 1].size))
		return -EINVAL;
	d->bars[bar] = (struct pci_bar){ size, flags, fn, opaque };
	put32(reg, (is64 ? PCI_BAR_TYPE_64 : 0) |
		   (flags & PCI_BAR_PREFETCH ? PCI_BAR_PREFETCH_BIT : 0));
	put32(wm, (uint32_t)mask & PCI_BAR_ADDR_MASK);
	if (is64)
		put32(wm + 4, mask >> 32);
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, const void *cap, unsigned int len)
{
	unsigned int off = d->cap_end;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(d->cfg + off, cap, len);
	d->cfg[off + 1] = 0;
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = off;
	else
		d->cfg[PCI_CAP_PTR] = off;
	put16(d->cfg + PCI_STATUS, get16(d->cfg + PCI_STATUS) |
		PCI_STATUS_CAP_LIST);
	d->cap_last = off;
	d->cap_end = (off + len + 3) & ~3u;
	return off;
}

void pci_dev_set_wmask(struct pci_dev *d, unsigned int off,
		       const uint8_t *mask, unsigned int len)
{
	if (off < PCI_CFG_SIZE && len <= PCI_CFG_SIZE - off)
		memcpy(d->wmask + off, mask, len);
}

/* The address BAR bar's registers hold, decoding or not. */
static uint64_t pci_bar_reg(const struct pci_dev *d, unsigned int bar)
{
	const uint8_t *reg = d->cfg + PCI_BAR0 + 4 * bar;
	uint64_t addr = get32(reg) & PCI_BAR_ADDR_MASK;

	if (d->bars[bar].flags & PCI_BAR_MEM64)
		addr |= (uint64_t)get32(reg + 4) << 32;
	return addr & ~(d->bars[bar].size - 1);
}

static uint64_t pci_bar_decode(const struct pci_dev *d, unsigned int bar)
{
	if (!d->bars[bar].size ||
	    !(get16(d->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return PCI_ADDR_NONE;
	return pci_bar_reg(d, bar);
}

/* After a write or a reset: tell the device which BARs moved. */
static void pci_dev_update_bars(struct pci_dev *d)
{
	unsigned int i;
	uint64_t now, old;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		now = pci_bar_decode(d, i);
		old = d->decoded[i];
		if (now == old)
			continue;
		d->decoded[i] = now;
		if (d->bar_moved)
			d->bar_moved(d, i, old, now);
	}
}

uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned int bar)
{
	return bar < PCI_NUM_BARS ? d->decoded[bar] : PCI_ADDR_NONE;
}

void pci_dev_bdf(const struct pci_dev *d, char *buf, unsigned int len)
{
	snprintf(buf, len, "0000:00:%02x.0", d->slot < 0 ? 0 : d->slot);
}

/* Bytes past the conventional space read 0; the caller holds the lock. */
static void pci_cfg_read(const struct pci_dev *d, unsigned int reg,
			 uint8_t *data, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		data[i] = reg + i < PCI_CFG_SIZE ? d->cfg[reg + i] : 0;
}

static void pci_cfg_write(struct pci_dev *d, unsigned int reg,
			  const uint8_t *data, uint32_t len)
{
	unsigned int n = 0, r;
	uint32_t i;

	for (i = 0; i < len && reg + i < PCI_CFG_SIZE; i++, n++) {
		r = reg + i;
		d->cfg[r] = (d->cfg[r] & ~d->wmask[r]) | (data[i] & d->wmask[r]);
		d->cfg[r] &= ~(data[i] & d->w1cmask[r]);
	}
	if (!n)
		return;
	pci_dev_update_bars(d);
	if (d->cfg_written)
		d->cfg_written(d, reg, n);
}

/* Bus 0, function 0 only: anything else is absent. */
static struct pci_dev *pci_bus_dev(struct pci_bus *b, unsigned int bus,
				   unsigned int slot, unsigned int fn)
{
	if (bus || fn || slot >= PCI_SLOTS)
		return NULL;
	return b->slots[slot];
}

static void pci_config_access(struct pci_bus *b, struct pci_dev *d,
			      unsigned int reg, uint8_t *data, uint32_t len,
			      bool is_write)
{
	if (!d) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write) {
		pthread_rwlock_wrlock(&b->lock);
		pci_cfg_write(d, reg, data, len);
	} else {
		pthread_rwlock_rdlock(&b->lock);
		pci_cfg_read(d, reg, data, len);
	}
	pthread_rwlock_unlock(&b->lock);
}

/*
 * 0xCF8 answers dword accesses only (as on real chipsets); 0xCFC-0xCFF
 * reach the register 0xCF8 selects, at the byte the port offset gives.
 */
void pci_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct pci_bus *b = opaque;
	struct pci_dev *d;
	uint32_t a;

	if (offset < 4) {
		if (offset || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
		} else if (is_write) {
			__atomic_store_n(&b->cf8, get32(data), __ATOMIC_RELAXED);
		} else {
			put32(data, __atomic_load_n(&b->cf8, __ATOMIC_RELAXED));
		}
		return;
	}
	a = __atomic_load_n(&b->cf8, __ATOMIC_RELAXED);
	d = (a & CF8_ENABLE) ? pci_bus_dev(b, (a >> 16) & 0xFF,
					   (a >> 11) & 0x1F, (a >> 8) & 7) : NULL;
	if (offset - 4 + len > 4)
		d = NULL;	/* cannot happen within the 8-byte range */
	pci_config_access(b, d, (a & 0xFC) + (offset - 4), data, len,
			  is_write);
}

void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write)
{
	struct pci_bus *b = opaque;
	struct pci_dev *d = pci_bus_dev(b, offset >> 20, (offset >> 15) & 0x1F,
					(offset >> 12) & 7);

	pci_config_access(b, d, offset & (PCI_ECAM_FN_SIZE - 1), data, len,
			  is_write);
}

/* The decoding BAR that holds [addr, addr + len), or NULL. */
static struct pci_dev *pci_bar_find(struct pci_bus *b, uint64_t addr,
				    uint32_t len, unsigned int *bar)
{
	struct pci_dev *d;
	unsigned int s, i;

	for (s = 0; s < PCI_SLOTS; s++) {
		d = b->slots[s];
		for (i = 0; d && i < PCI_NUM_BARS; i++) {
			if (d->decoded[i] == PCI_ADDR_NONE ||
			    addr < d->decoded[i] ||
			    addr - d->decoded[i] + len > d->bars[i].size)
				continue;
			*bar = i;
			return d;
		}
	}
	return NULL;
}

void pci_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct pci_window *w = opaque;
	struct pci_bus *b = w->bus;
	uint64_t addr = w->base + offset;
	struct pci_dev *d;
	unsigned int bar;

	pthread_rwlock_rdlock(&b->lock);
	d = pci_bar_find(b, addr, len, &bar);
	if (d)
		d->bars[bar].fn(d->bars[bar].opaque, addr - d->decoded[bar],
				data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&b->lock);
}

void *pci_bus_window(struct pci_bus *b, unsigned int i, uint64_t *base,
		     uint64_t *size)
{
	if (i > 1)
		return NULL;
	*base = b->win[i].base;
	*size = b->win[i].size;
	return &b->win[i];
}

static int pci_place_bars(struct pci_bus *b, struct pci_dev *d)
{
	struct pci_window *w;
	uint64_t addr;
	unsigned int i;
	uint8_t *reg;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (!d->bars[i].size)
			continue;
		w = &b->win[d->bars[i].flags & PCI_BAR_MEM64 ? 1 : 0];
		addr = (w->next + d->bars[i].size - 1) &
		       ~(d->bars[i].size - 1);
		if (addr < w->next || addr - w->base > w->size ||
		    d->bars[i].size > w->size - (addr - w->base))
			return -ENOSPC;
		w->next = addr + d->bars[i].size;
		reg = d->cfg + PCI_BAR0 + 4 * i;
		put32(reg, (get32(reg) & 0xF) | (uint32_t)addr);
		if (d->bars[i].flags & PCI_BAR_MEM64)
			put32(reg + 4, addr >> 32);
	}
	return 0;
}

int pci_bus_add(struct pci_bus *b, int slot, struct pci_dev *d)
{
	struct pci_window saved[2];
	int ret;

	if (slot < 0)
		for (slot = 1; slot < PCI_SLOTS && b->slots[slot]; slot++)
			;
	if (slot >= PCI_SLOTS)
		return -ENOSPC;
	if (b->slots[slot])
		return -EBUSY;
	memcpy(saved, b->win, sizeof(saved));
	ret = pci_place_bars(b, d);
	if (ret) {
		memcpy(b->win, saved, sizeof(saved));
		return ret;
	}
	put16(d->cfg + PCI_COMMAND, get16(d->cfg + PCI_COMMAND) |
	      PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	memcpy(d->init, d->cfg, sizeof(d->init));
	d->slot = slot;
	pthread_rwlock_wrlock(&b->lock);
	b->slots[slot] = d;
	pci_dev_update_bars(d);
	pthread_rwlock_unlock(&b->lock);
	return slot;
}

void pci_bus_reset(struct pci_bus *b)
{
	struct pci_dev *d;
	unsigned int s;

	if (!b)
		return;
	pthread_rwlock_wrlock(&b->lock);
	b->cf8 = 0;
	for (s = 0; s < PCI_SLOTS; s++) {
		d = b->slots[s];
		if (!d)
			continue;
		memcpy(d->cfg, d->init, sizeof(d->cfg));
		pci_dev_update_bars(d);
		if (d->reset)
			d->reset(d);
	}
	pthread_rwlock_unlock(&b->lock);
}

struct pci_bus *pci_bus_new(uint64_t win32_base, uint64_t win32_size,
			    uint64_t win64_base, uint64_t win64_size)
{
	struct pci_bus *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	pthread_rwlock_init(&b->lock, NULL);
	b->win[0] = (struct pci_window){ b, win32_base, win32_size,
					 win32_base };
	b->win[1] = (struct pci_window){ b, win64_base, win64_size,
					 win64_base };
	pci_dev_init(&b->host, PCI_HOST_VENDOR, PCI_HOST_DEVICE,
		     PCI_HOST_CLASS, 0, 0, 0);
	pci_bus_add(b, 0, &b->host);
	return b;
}

void pci_bus_free(struct pci_bus *b)
{
	if (!b)
		return;
	pthread_rwlock_destroy(&b->lock);
	free(b);
}

static struct aml *pci_crs(struct aml_ctx *ctx, const struct pci_bus *b)
{
	struct aml *crs = aml_resource_template(ctx);

	aml_append(crs, aml_word_bus_number(ctx, 0, 0));
	aml_append(crs, aml_io(ctx, 0xCF8, 0xCF8, 1, PCI_CF8_LEN));
	aml_append(crs, aml_dword_memory(ctx, b->win[0].base,
					 b->win[0].size));
	if (b->win[1].size)
		aml_append(crs, aml_qword_memory(ctx, b->win[1].base,
						 b->win[1].size));
	return crs;
}

struct aml *pci_aml(struct aml_ctx *ctx, struct pci_bus *b)
{
	struct aml *dev = aml_device(ctx, "\\_SB.PC00"), *slot;
	char name[8];
	unsigned int s;

	aml_append(dev, aml_name_decl(ctx, "_HID", aml_eisaid(ctx, "PNP0A08")));
	aml_append(dev, aml_name_decl(ctx, "_CID", aml_eisaid(ctx, "PNP0A03")));
	aml_append(dev, aml_name_decl(ctx, "_UID", aml_int(ctx, 0)));
	aml_append(dev, aml_name_decl(ctx, "_SEG", aml_int(ctx, 0)));
	aml_append(dev, aml_name_decl(ctx, "_BBN", aml_int(ctx, 0)));
	aml_append(dev, aml_name_decl(ctx, "_CRS", pci_crs(ctx, b)));
	for (s = 1; s < PCI_SLOTS; s++) {
		snprintf(name, sizeof(name), "S%03u", s);
		slot = aml_device(ctx, name);
		aml_append(slot, aml_name_decl(ctx, "_ADR",
					       aml_int(ctx, s << 16)));
		aml_append(slot, aml_name_decl(ctx, "_SUN", aml_int(ctx, s)));
		aml_append(dev, slot);
	}
	return dev;
}

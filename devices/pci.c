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
#define PCI_INTERRUPT_LINE	0x3C
#define PCI_BAR_ADDR_MASK	(~0xFULL)
#define PCI_BAR_TYPE_64		0x4
#define PCI_BAR_PREFETCH_BIT	0x8
/* Memory, bus master, parity, SERR, INTx disable: no I/O space. */
#define PCI_COMMAND_WMASK	0x0546
/* Master parity, target/master aborts, SERR, parity error. */
#define PCI_STATUS_W1C		0xF900
#define CF8_ENABLE		0x80000000u

struct pci_window {
	struct pci_bus *bus;
	uint64_t base, size;
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

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
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
	put16(d->wmask + PCI_COMMAND, PCI_COMMAND_WMASK);
	put16(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
	d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
	d->cap_end = PCI_CAP_START;
	d->slot = -1;
	for (i = 0; i < PCI_NUM_BARS; i++)
		d->assigned[i] = d->decoded[i] = PCI_ADDR_NONE;
}

static bool pci_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static bool pci_bar_ok(const struct pci_dev *d, unsigned int bar,
		       uint64_t size, unsigned int flags)
{
	bool is64 = flags & PCI_BAR_MEM64;

	if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS))
		return false;
	if (!pci_pow2(size) || size < 4096 || (!is64 && size > 1ULL << 31))
		return false;
	/* Taken, or the upper half of a 64-bit BAR below. */
	if (d->bars[bar].size || (is64 && d->bars[bar + 1].size))
		return false;
	return !bar || !(d->bars[bar - 1].flags & PCI_BAR_MEM64);
}

int pci_dev_add_bar(struct pci_dev *d, unsigned int bar, uint64_t size,
		    unsigned int flags, pci_io_fn fn, void *opaque)
{
	uint64_t mask = ~(size - 1);
	uint8_t *reg, *wm;

	if (!fn || !pci_bar_ok(d, bar, size, flags))
		return -EINVAL;
	reg = d->cfg + PCI_BAR0 + 4 * bar;
	wm = d->wmask + PCI_BAR0 + 4 * bar;
	d->bars[bar] = (struct pci_bar){ size, flags, fn, opaque };
	put32(reg, (flags & PCI_BAR_MEM64 ? PCI_BAR_TYPE_64 : 0) |
		   (flags & PCI_BAR_PREFETCH ? PCI_BAR_PREFETCH_BIT : 0));
	put32(wm, (uint32_t)mask & PCI_BAR_ADDR_MASK);
	if (flags & PCI_BAR_MEM64)
		put32(wm + 4, mask >> 32);
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, const void *cap, unsigned int len)
{
	unsigned int off = d->cap_end;

	if (len < 2)
		return -EINVAL;
	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
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

int pci_dev_set_wmask(struct pci_dev *d, unsigned int off,
		      const uint8_t *mask, unsigned int len)
{
	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		return -EINVAL;
	memcpy(d->wmask + off, mask, len);
	return 0;
}

/* The address BAR bar's registers hold, decoding or not. */
static uint64_t pci_bar_reg(const struct pci_dev *d, unsigned int bar)
{
	const uint8_t *reg = d->cfg + PCI_BAR0 + 4 * bar;
	uint64_t addr = get32(reg) & PCI_BAR_ADDR_MASK;

	if (d->bars[bar].flags & PCI_BAR_MEM64)
		addr |= (uint64_t)get32(reg + 4) << 32;
	return addr;
}

static uint64_t pci_bar_decode(const struct pci_dev *d, unsigned int bar)
{
	if (!d->bars[bar].size ||
	    !(get16(d->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return PCI_ADDR_NONE;
	return pci_bar_reg(d, bar);
}

/* With the lock held for writing; others read decoded without it. */
static void pci_dev_set_decoded(struct pci_dev *d, unsigned int bar,
				uint64_t now)
{
	uint64_t old = d->decoded[bar];

	if (now == old)
		return;
	__atomic_store_n(&d->decoded[bar], now, __ATOMIC_RELAXED);
	if (d->bar_moved)
		d->bar_moved(d, bar, old, now);
}

/* After a write or a reset: tell the device which BARs moved. */
static void pci_dev_update_bars(struct pci_dev *d)
{
	unsigned int i;

	for (i = 0; i < PCI_NUM_BARS; i++)
		pci_dev_set_decoded(d, i, pci_bar_decode(d, i));
}

uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned int bar)
{
	if (bar >= PCI_NUM_BARS)
		return PCI_ADDR_NONE;
	return __atomic_load_n(&d->decoded[bar], __ATOMIC_RELAXED);
}

int pci_dev_slot(const struct pci_dev *d)
{
	return d->slot;
}

void pci_dev_bdf(const struct pci_dev *d, char *buf, unsigned int len)
{
	snprintf(buf, len, "0000:00:%02x.0", d->slot < 0 ? 0 : d->slot);
}

/* Bytes past the conventional space read 0; the caller holds the lock. */
static void pci_cfg_read(struct pci_dev *d, unsigned int reg,
			 uint8_t *data, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		data[i] = reg + i < PCI_CFG_SIZE ? d->cfg[reg + i] : 0;
	if (d->cfg_read && reg < PCI_CFG_SIZE)
		d->cfg_read(d, reg, data, len);
}

static void pci_cfg_write(struct pci_dev *d, unsigned int reg,
			  const uint8_t *data, uint32_t len)
{
	unsigned int r;
	uint32_t i;

	if (reg >= PCI_CFG_SIZE)
		return;
	for (i = 0; i < len; i++) {
		r = reg + i;
		d->cfg[r] = (d->cfg[r] & ~d->wmask[r]) | (data[i] & d->wmask[r]);
		d->cfg[r] &= ~(data[i] & d->w1cmask[r]);
	}
	pci_dev_update_bars(d);
	if (d->cfg_written)
		d->cfg_written(d, reg, len);
}

/* Bus 0, function 0 only: anything else is absent. */
static struct pci_dev *pci_bus_dev(struct pci_bus *b, unsigned int bus,
				   unsigned int slot, unsigned int fn)
{
	if (bus || fn || slot >= PCI_SLOTS)
		return NULL;
	return b->slots[slot];
}

/* 1, 2 or 4 bytes inside one dword, as Linux and real chipsets do. */
static bool pci_cfg_size_ok(unsigned int reg, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && (reg & 3) + len <= 4;
}

/* reg below PCI_ECAM_FN_SIZE; slots only change under the write lock. */
static void pci_config_access(struct pci_bus *b, unsigned int bus,
			      unsigned int slot, unsigned int fn,
			      unsigned int reg, uint8_t *data, uint32_t len,
			      bool is_write)
{
	struct pci_dev *d;

	if (is_write)
		pthread_rwlock_wrlock(&b->lock);
	else
		pthread_rwlock_rdlock(&b->lock);
	d = pci_bus_dev(b, bus, slot, fn);
	if (!d || !pci_cfg_size_ok(reg, len)) {
		if (!is_write)
			memset(data, 0xff, len);
	} else if (is_write) {
		pci_cfg_write(d, reg, data, len);
	} else {
		pci_cfg_read(d, reg, data, len);
	}
	pthread_rwlock_unlock(&b->lock);
}

static void pci_cf8_addr(struct pci_bus *b, uint64_t offset, uint8_t *data,
			 uint32_t len, bool is_write)
{
	if (offset || len != 4) {
		if (!is_write)
			memset(data, 0xff, len);
	} else if (is_write) {
		__atomic_store_n(&b->cf8, get32(data), __ATOMIC_RELAXED);
	} else {
		put32(data, __atomic_load_n(&b->cf8, __ATOMIC_RELAXED));
	}
}

void pci_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct pci_bus *b = opaque;
	uint32_t a;

	if (offset < 4) {
		pci_cf8_addr(b, offset, data, len, is_write);
		return;
	}
	a = __atomic_load_n(&b->cf8, __ATOMIC_RELAXED);
	if (!(a & CF8_ENABLE) || offset >= PCI_CF8_LEN) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	/* An access past 0xCFF crosses the dword: refused as such. */
	pci_config_access(b, (a >> 16) & 0xFF, (a >> 11) & 0x1F,
			  (a >> 8) & 7, (a & 0xFC) + (offset - 4), data, len,
			  is_write);
}

void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write)
{
	pci_config_access(opaque, offset >> 20, (offset >> 15) & 0x1F,
			  (offset >> 12) & 7, offset & (PCI_ECAM_FN_SIZE - 1),
			  data, len, is_write);
}

/* The decoding BAR that holds [addr, addr + len), or NULL. */
static struct pci_dev *pci_bar_find(struct pci_bus *b, uint64_t addr,
				    uint32_t len, unsigned int *bar)
{
	struct pci_dev *d;
	unsigned int s, i;
	uint64_t base;

	for (s = 0; s < PCI_SLOTS; s++) {
		d = b->slots[s];
		for (i = 0; d && i < PCI_NUM_BARS; i++) {
			base = d->decoded[i];
			if (base == PCI_ADDR_NONE || addr < base ||
			    len > d->bars[i].size ||
			    addr - base > d->bars[i].size - len)
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
	d = offset < w->size ? pci_bar_find(b, addr, len, &bar) : NULL;
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

/* d's BARs and those of the devices on b: where evmm put them. */
static bool pci_assigned_overlap(const struct pci_bus *b,
				 const struct pci_dev *d, uint64_t addr,
				 uint64_t size, uint64_t *end)
{
	const struct pci_dev *o;
	unsigned int s, i;

	for (s = 0; s <= PCI_SLOTS; s++) {
		o = s < PCI_SLOTS ? b->slots[s] : d;
		for (i = 0; o && i < PCI_NUM_BARS; i++) {
			if (o->assigned[i] == PCI_ADDR_NONE ||
			    o->assigned[i] >= addr + size ||
			    o->assigned[i] + o->bars[i].size <= addr)
				continue;
			*end = o->assigned[i] + o->bars[i].size;
			return true;
		}
	}
	return false;
}

/*
 * The lowest free naturally aligned address in w: every overlap pushes
 * the candidate past a BAR, so this ends after as many BARs at most.
 */
static int pci_window_alloc(const struct pci_bus *b, const struct pci_dev *d,
			    const struct pci_window *w, uint64_t size,
			    uint64_t *out)
{
	uint64_t addr = w->base, end;

	for (;;) {
		if (addr > UINT64_MAX - (size - 1))
			return -ENOSPC;
		addr = (addr + size - 1) & ~(size - 1);
		if (size > w->size || addr - w->base > w->size - size)
			return -ENOSPC;
		if (!pci_assigned_overlap(b, d, addr, size, &end))
			break;
		addr = end;
	}
	*out = addr;
	return 0;
}

static int pci_place_bars(const struct pci_bus *b, struct pci_dev *d)
{
	const struct pci_bar *bar;
	unsigned int i;
	uint8_t *reg;
	uint64_t addr;
	int ret;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		bar = &d->bars[i];
		if (!bar->size)
			continue;
		ret = -ENOSPC;
		if (bar->flags & PCI_BAR_MEM64)
			ret = pci_window_alloc(b, d, &b->win[1], bar->size,
					       &addr);
		if (ret && (bar->size <= 1ULL << 31))
			ret = pci_window_alloc(b, d, &b->win[0], bar->size,
					       &addr);
		if (ret)
			return ret;
		d->assigned[i] = addr;
		reg = d->cfg + PCI_BAR0 + 4 * i;
		put32(reg, (get32(reg) & 0xF) | (uint32_t)addr);
		if (bar->flags & PCI_BAR_MEM64)
			put32(reg + 4, addr >> 32);
	}
	return 0;
}

int pci_bus_add(struct pci_bus *b, int slot, struct pci_dev *d)
{
	unsigned int i;
	int ret;

	if (slot < -1 || d->slot >= 0)
		return -EINVAL;
	if (slot < 0)
		for (slot = 1; slot < PCI_SLOTS && b->slots[slot]; slot++)
			;
	if (slot >= PCI_SLOTS)
		return -ENOSPC;
	if (b->slots[slot])
		return -EBUSY;
	ret = pci_place_bars(b, d);
	if (ret) {
		for (i = 0; i < PCI_NUM_BARS; i++)
			d->assigned[i] = PCI_ADDR_NONE;
		return ret;
	}
	put16(d->cfg + PCI_COMMAND, get16(d->cfg + PCI_COMMAND) |
	      PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	memcpy(d->init, d->cfg, sizeof(d->init));
	pthread_rwlock_wrlock(&b->lock);
	d->slot = slot;
	b->slots[slot] = d;
	pci_dev_update_bars(d);
	pthread_rwlock_unlock(&b->lock);
	return slot;
}

void pci_bus_remove(struct pci_bus *b, struct pci_dev *d)
{
	unsigned int i;

	if (d->slot < 1 || d->slot >= PCI_SLOTS || b->slots[d->slot] != d)
		return;
	pthread_rwlock_wrlock(&b->lock);
	b->slots[d->slot] = NULL;
	d->slot = -1;
	for (i = 0; i < PCI_NUM_BARS; i++) {
		pci_dev_set_decoded(d, i, PCI_ADDR_NONE);
		d->assigned[i] = PCI_ADDR_NONE;
	}
	pthread_rwlock_unlock(&b->lock);
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

/* base + size must not wrap: pci_assigned_overlap adds them. */
static bool pci_window_ok(uint64_t base, uint64_t size)
{
	return size <= UINT64_MAX - base;
}

struct pci_bus *pci_bus_new(uint64_t win32_base, uint64_t win32_size,
			    uint64_t win64_base, uint64_t win64_size)
{
	struct pci_bus *b;

	if (!pci_window_ok(win32_base, win32_size) ||
	    !pci_window_ok(win64_base, win64_size))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	pthread_rwlock_init(&b->lock, NULL);
	b->win[0] = (struct pci_window){ b, win32_base, win32_size };
	b->win[1] = (struct pci_window){ b, win64_base, win64_size };
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
	if (b->win[0].size)
		aml_append(crs, aml_dword_memory(ctx, b->win[0].base,
						 b->win[0].size));
	if (b->win[1].size)
		aml_append(crs, aml_qword_memory(ctx, b->win[1].base,
						 b->win[1].size));
	return crs;
}

struct aml *pci_aml(struct aml_ctx *ctx, const struct pci_bus *b)
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

/*
 * MSI-X against a hostile guest: table and PBA accesses of any size and
 * offset (past the ends too), writes to the capability through ECAM,
 * device signals on any vector, PCI resets, and routes the VMM fails.
 *
 * Input: the vector count (1 byte, 1..256), then operations: a byte (low
 * 3 bits the kind, bits 3-4 the size 1/2/4/8), a 2-byte offset and, for
 * writes, 8 bytes of data.
 *
 * The harness keeps its own copy of the table (the spec's writable bits)
 * and checks the module against it: reads return it; route gets exactly
 * the entry's message of a vector that can fire; fire only for a vector
 * that can fire, routed to its current message; after every operation no
 * vector that can fire (and was routed) is still pending, and the PBA has
 * no bits past the last vector.
 */
#include "devices/msix.h"
#include "devices/pci.h"
#include "tests/fuzz/fuzz.h"

#define WIN32		0xC0000000ULL
#define WIN32_SIZE	0x20000000ULL
#define SLOT		2
#define BAR_SIZE	0x8000
#define TABLE_OFF	0x4000
#define PBA_OFF		0x5000
#define MAX_VEC		256
#define MAX_OPS		2048

struct model {
	unsigned int nvec;
	uint8_t table[MAX_VEC * MSIX_ENTRY_SIZE];
	bool routed[MAX_VEC];
	uint64_t addr[MAX_VEC];
	uint32_t data[MAX_VEC];
	int fail;		/* route's answer while nonzero */
};

static struct pci_dev dev;
static struct msix *mx;
static struct model md;

static const uint8_t entry_wmask[MSIX_ENTRY_SIZE] = {
	0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0, 0, 0,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t entry_addr(unsigned int v)
{
	const uint8_t *e = md.table + v * MSIX_ENTRY_SIZE;

	return get32(e) | (uint64_t)get32(e + 4) << 32;
}

static uint32_t entry_data(unsigned int v)
{
	return get32(md.table + v * MSIX_ENTRY_SIZE + 8);
}

/* Read under the bus lock this thread holds, or with no access running. */
static bool can_fire(unsigned int v)
{
	unsigned int ctrl = msix_cap_offset(mx) + 2;
	uint16_t c = dev.cfg[ctrl] | dev.cfg[ctrl + 1] << 8;

	return (c & MSIX_CTRL_ENABLE) && !(c & MSIX_CTRL_FMASK) &&
	       !(md.table[v * MSIX_ENTRY_SIZE + 12] & 1);
}

static void fake_fire(void *opaque, unsigned int v)
{
	(void)opaque;
	fuzz_assert(v < md.nvec, "fire of vector %u of %u", v, md.nvec);
	fuzz_assert(can_fire(v), "fire of masked vector %u", v);
	fuzz_assert(md.routed[v] && md.addr[v] == entry_addr(v) &&
		    md.data[v] == entry_data(v),
		    "vector %u fired with a stale route", v);
}

static int fake_route(void *opaque, unsigned int v, uint64_t addr,
		      uint32_t data)
{
	(void)opaque;
	fuzz_assert(v < md.nvec, "route of vector %u of %u", v, md.nvec);
	fuzz_assert(can_fire(v), "route of masked vector %u", v);
	fuzz_assert(addr == entry_addr(v) && data == entry_data(v),
		    "vector %u routed to %#llx/%#x, entry has %#llx/%#x", v,
		    (unsigned long long)addr, data,
		    (unsigned long long)entry_addr(v), entry_data(v));
	if (md.fail) {
		md.routed[v] = false;
		return md.fail;
	}
	md.routed[v] = true;
	md.addr[v] = addr;
	md.data[v] = data;
	return 0;
}

static const struct msix_ops ops = { fake_fire, fake_route };

static void bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	(void)opaque;
	if (off >= PBA_OFF)
		msix_pba_io(mx, off - PBA_OFF, data, len, is_write);
	else if (off >= TABLE_OFF)
		msix_table_io(mx, off - TABLE_OFF, data, len, is_write);
	else if (!is_write)
		memset(data, 0, len);
}

static void on_written(struct pci_dev *d, unsigned int off, unsigned int len)
{
	(void)d;
	msix_cfg_written(mx, off, len);
}

static void on_reset(struct pci_dev *d)
{
	(void)d;
	msix_reset(mx);
}

static void model_reset(void)
{
	unsigned int v;

	memset(md.table, 0, sizeof(md.table));
	memset(md.routed, 0, sizeof(md.routed));
	for (v = 0; v < md.nvec; v++)
		md.table[v * MSIX_ENTRY_SIZE + 12] = 1;
}

static void table_access(uint32_t off, uint8_t *buf, uint32_t len,
			 bool is_write)
{
	uint32_t size = msix_table_size(md.nvec), i;
	uint8_t wm, got[8];

	if (is_write && off < size && len <= size - off) {
		for (i = 0; i < len; i++) {
			wm = entry_wmask[(off + i) % MSIX_ENTRY_SIZE];
			md.table[off + i] = (md.table[off + i] & ~wm) |
					    (buf[i] & wm);
		}
	}
	msix_table_io(mx, off, is_write ? buf : got, len, is_write);
	if (is_write)
		return;
	for (i = 0; i < len; i++)
		fuzz_assert(got[i] == (off < size && len <= size - off ?
				       md.table[off + i] : 0xFF),
			    "table byte %#x reads %#x", off + i, got[i]);
}

/* Nothing that can fire is left pending; no bit past the last vector. */
static void check(void)
{
	uint8_t pba[MAX_VEC / 8];
	unsigned int v, n = msix_pba_size(md.nvec), i;
	bool pend;

	for (i = 0; i < n; i += 8)
		msix_pba_io(mx, i, pba + i, 8, false);
	for (v = 0; v < n * 8; v++) {
		pend = pba[v / 8] & (1 << (v % 8));
		fuzz_assert(!pend || v < md.nvec, "PBA bit %u of %u vectors",
			    v, md.nvec);
		fuzz_assert(!pend || !can_fire(v) || !md.routed[v],
			    "vector %u can fire, yet pending", v);
	}
}

static void do_op(struct fuzz_in *in, uint8_t op)
{
	static const uint32_t lens[4] = { 1, 2, 4, 8 };
	uint32_t len = lens[(op >> 3) & 3], off = fuzz_take(in, 2);
	uint64_t val = 0;
	uint8_t buf[8];
	unsigned int cap = msix_cap_offset(mx);

	if ((op & 7) == 0 || (op & 7) == 3)
		val = fuzz_take(in, 8);
	memcpy(buf, &val, sizeof(buf));
	switch (op & 7) {
	case 0:
	case 1:
		table_access(off % (msix_table_size(md.nvec) + 32), buf, len,
			     !(op & 1));
		break;
	case 2:
		bar_io(NULL, PBA_OFF + off % 64, buf, len, op & 0x20);
		break;
	case 3:		/* configuration space around the capability */
		pci_ecam_io(dev.opaque, SLOT << 15 | (cap + off % 16), buf,
			    len > 4 ? 4 : len, true);
		break;
	case 4:
	case 5:
		fuzz_assert(msix_signal(mx, off % (md.nvec + 4)) ==
			    (off % (md.nvec + 4) < md.nvec ? 0 : -22),
			    "signal's return");
		break;
	case 6:
		md.fail = op & 0x80 ? -28 : 0;
		break;
	default:
		model_reset();
		pci_bus_reset(dev.opaque);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct pci_bus *b = pci_bus_new(WIN32, WIN32_SIZE, 0, 0);
	unsigned int n;

	if (!b)
		abort();
	memset(&md, 0, sizeof(md));
	md.nvec = fuzz_take(&in, 1) + 1;
	pci_dev_init(&dev, 0x1AF4, 0x1041, 0x020000, 0x1AF4, 1, 1);
	if (pci_dev_add_bar(&dev, 0, BAR_SIZE, 0, bar_io, NULL) ||
	    msix_new(&mx, &dev, md.nvec, 0, TABLE_OFF, PBA_OFF, &ops, NULL))
		abort();
	dev.cfg_written = on_written;
	dev.reset = on_reset;
	dev.opaque = b;
	model_reset();
	if (pci_bus_add(b, SLOT, &dev) != SLOT)
		abort();
	for (n = 0; n < MAX_OPS && in.left; n++) {
		do_op(&in, fuzz_take(&in, 1));
		check();
	}
	pci_bus_free(b);
	msix_free(mx);
	mx = NULL;
	return 0;
}

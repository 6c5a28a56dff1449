/*
 * PCI configuration space and BAR dispatch on real buses, registered as
 * vmm/machine.c does: 0xCF8-0xCFF, the ECAM window, both BAR windows. The
 * input is a sequence of guest accesses (port or MMIO, any address near
 * the blocks, sizes 1 to 8, reads and writes) and guest reboots (reset).
 *
 * Invariants after each: read-only identity fields keep their values, a
 * decoding BAR is aligned to its size, a BAR handler only ever sees an
 * access that lies inside the BAR, at the address the BAR decodes now;
 * ASan watches every buffer.
 */
#include "devices/pci.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/bus.h"
#include "vmm/layout.h"

#define MAX_OPS		1024
#define WIN64		0x1000000000ULL
#define WIN64_SIZE	(1ULL << 32)

struct fake {
	struct pci_dev dev;
	unsigned int bar;
};

static struct fake devs[2];
static uint8_t ident[2][0x10];
static uint64_t cur_addr;	/* of the MMIO access under way */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct fake *f = opaque;
	uint64_t size = f->dev.bars[f->bar].size;

	fuzz_assert(offset < size && len <= size - offset,
		    "BAR %u of %#llx bytes got offset %#llx len %u", f->bar,
		    (unsigned long long)size, (unsigned long long)offset, len);
	fuzz_assert(pci_dev_bar_addr(&f->dev, f->bar) + offset == cur_addr,
		    "BAR %u at %#llx got offset %#llx for %#llx", f->bar,
		    (unsigned long long)pci_dev_bar_addr(&f->dev, f->bar),
		    (unsigned long long)offset, (unsigned long long)cur_addr);
	if (!is_write)
		memset(data, 0x3C, len);
}

static void fake_add(struct pci_bus *b, unsigned int i)
{
	static const uint8_t cap[12] = { 0x11, 0, 0x03, 0x00, 1, 0, 0, 0 };
	static const uint8_t wm[2] = { 0x00, 0xC0 };
	struct fake *f = &devs[i];

	pci_dev_init(&f->dev, 0x1AF4, 0x1041 + i, 0x020000, 0x1AF4, i, 1);
	f->bar = i ? 2 : 0;
	if (pci_dev_add_bar(&f->dev, f->bar, i ? 0x1000 : 0x8000,
			    i ? 0 : PCI_BAR_MEM64, bar_io, f) ||
	    pci_dev_add_cap(&f->dev, cap, sizeof(cap)) < 0)
		abort();
	pci_dev_set_wmask(&f->dev, 0x42, wm, sizeof(wm));
	if (pci_bus_add(b, i + 1, &f->dev) < 0)
		abort();
	memcpy(ident[i], f->dev.cfg, sizeof(ident[i]));
}

static void check(void)
{
	unsigned int i, j;
	uint64_t a;

	for (i = 0; i < 2; i++) {
		/* IDs, revision and class; command/status may change. */
		fuzz_assert(!memcmp(ident[i], devs[i].dev.cfg, 4) &&
			    !memcmp(ident[i] + 8, devs[i].dev.cfg + 8, 4),
			    "device %u's identity changed", i);
		fuzz_assert(devs[i].dev.cfg[PCI_CAP_PTR] == 0x40,
			    "device %u's capability pointer changed", i);
		for (j = 0; j < PCI_NUM_BARS; j++) {
			a = pci_dev_bar_addr(&devs[i].dev, j);
			fuzz_assert(a == PCI_ADDR_NONE ||
				    !(a & (devs[i].dev.bars[j].size - 1)),
				    "BAR %u at %#llx", j, (unsigned long long)a);
		}
	}
}

/* An address near one of the blocks, by the selector's low bits. */
static uint64_t pick_addr(struct fuzz_in *in, bool *is_pio)
{
	uint32_t off = fuzz_take(in, 3);
	uint8_t sel = fuzz_take(in, 1);

	*is_pio = false;
	switch (sel & 3) {
	case 0:
		*is_pio = true;
		return PORT_PCI_CF8 - 8 + off % 24;
	case 1:
		return LAYOUT_PCI_ECAM + off % (LAYOUT_PCI_ECAM_SIZE + 16);
	case 2:
		return pci_dev_bar_addr(&devs[0].dev, 0) - 8 + off % 0x8010;
	default:
		return LAYOUT_PCI_WIN32 + (off << 4) % LAYOUT_PCI_WIN32_SIZE;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t lens[4] = { 1, 2, 4, 8 };
	struct fuzz_in in = { data, size };
	struct bus pio = { 0 }, mmio = { 0 };
	struct pci_bus *b = pci_bus_new(LAYOUT_PCI_WIN32, LAYOUT_PCI_WIN32_SIZE,
					WIN64, WIN64_SIZE);
	uint64_t base, wsize, addr;
	uint8_t buf[8], op;
	unsigned int i, n;
	bool is_pio;
	void *w;

	if (!b || bus_register(&pio, PORT_PCI_CF8, PCI_CF8_LEN, pci_cf8_io, b) ||
	    bus_register(&mmio, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE,
			 pci_ecam_io, b))
		abort();
	for (i = 0; i < 2; i++) {
		w = pci_bus_window(b, i, &base, &wsize);
		if (bus_register(&mmio, base, wsize, pci_bar_io, w))
			abort();
	}
	fake_add(b, 0);
	fake_add(b, 1);
	for (n = 0; n < MAX_OPS && in.left; n++) {
		op = fuzz_take(&in, 1);
		if (op == 0xFF) {
			pci_bus_reset(b);
			check();
			continue;
		}
		addr = pick_addr(&in, &is_pio);
		memset(buf, 0xAA, sizeof(buf));
		if (op & 4)
			memcpy(buf, (uint64_t[]){ fuzz_take(&in, 8) }, 8);
		cur_addr = addr;
		bus_access(is_pio ? &pio : &mmio, addr, buf, lens[op & 3],
			   op & 4);
		check();
	}
	pci_bus_free(b);
	return 0;
}

/* PCI configuration space, BAR sizing and dispatch: no KVM needed. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/pci.h"
#include "tests/unit/iasl.h"

#define WIN32		0xC0000000ULL
#define WIN32_SIZE	0x20000000ULL
#define WIN64		0x800000000ULL
#define WIN64_SIZE	0x100000000ULL
#define PCI_INTERRUPT_LINE 0x3C

struct rec {
	uint64_t offset;
	uint32_t len;
	int calls;
};

struct moved {
	unsigned int bar;
	uint64_t old, new;
	int calls, resets, writes;
	unsigned int wr_off, wr_len;
};

static struct pci_bus *bus;
static struct pci_dev dev;
static struct rec rec0, rec2;
static struct moved mv;

static void rec_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct rec *r = opaque;

	r->offset = offset;
	r->len = len;
	r->calls++;
	if (!is_write)
		memset(data, 0x5A, len);
}

static void on_moved(struct pci_dev *d, unsigned int bar, uint64_t old,
		     uint64_t new)
{
	(void)d;
	mv.bar = bar;
	mv.old = old;
	mv.new = new;
	mv.calls++;
}

static void on_reset(struct pci_dev *d)
{
	(void)d;
	mv.resets++;
}

static void on_written(struct pci_dev *d, unsigned int off, unsigned int len)
{
	(void)d;
	mv.wr_off = off;
	mv.wr_len = len;
	mv.writes++;
}

/* A device in slot 3: BAR0 64-bit 16 KiB, BAR2 32-bit 4 KiB, one cap. */
static void setup(void)
{
	static const uint8_t cap[8] = { 0x09, 0xAA, 8, 1, 2, 3, 4, 5 };
	static const uint8_t wm[2] = { 0xFF, 0x0F };

	bus = pci_bus_new(WIN32, WIN32_SIZE, WIN64, WIN64_SIZE);
	ck_assert_ptr_nonnull(bus);
	pci_dev_init(&dev, 0x1AF4, 0x1042, 0x018000, 0x1AF4, 2, 1);
	ck_assert_int_eq(pci_dev_add_bar(&dev, 0, 0x4000, PCI_BAR_MEM64,
					 rec_io, &rec0), 0);
	ck_assert_int_eq(pci_dev_add_bar(&dev, 2, 0x1000, 0, rec_io, &rec2), 0);
	ck_assert_int_eq(pci_dev_add_cap(&dev, cap, sizeof(cap)), 0x40);
	pci_dev_set_wmask(&dev, 0x44, wm, sizeof(wm));
	dev.bar_moved = on_moved;
	dev.reset = on_reset;
	dev.cfg_written = on_written;
	memset(&rec0, 0, sizeof(rec0));
	memset(&rec2, 0, sizeof(rec2));
	memset(&mv, 0, sizeof(mv));
	ck_assert_int_eq(pci_bus_add(bus, 3, &dev), 3);
	/* Both BARs started decoding. */
	ck_assert_int_eq(mv.calls, 2);
	ck_assert_uint_eq(mv.old, PCI_ADDR_NONE);
	memset(&mv, 0, sizeof(mv));
}

static void teardown(void)
{
	pci_bus_free(bus);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t ecam_read(unsigned int slot, unsigned int off, uint32_t len)
{
	uint8_t d[4] = { 0 };

	pci_ecam_io(bus, (uint64_t)slot << 15 | off, d, len, false);
	return le32(d);
}

static void ecam_write(unsigned int slot, unsigned int off, uint32_t v,
		       uint32_t len)
{
	uint8_t d[4];

	set32(d, v);
	pci_ecam_io(bus, (uint64_t)slot << 15 | off, d, len, true);
}

static void cf8_write(uint32_t addr, unsigned int port_off, uint32_t v,
		      uint32_t len)
{
	uint8_t d[4];

	set32(d, addr);
	pci_cf8_io(bus, 0, d, 4, true);
	set32(d, v);
	pci_cf8_io(bus, 4 + port_off, d, len, true);
}

static uint32_t cf8_read(uint32_t addr, unsigned int port_off, uint32_t len)
{
	uint8_t d[4] = { 0 };

	set32(d, addr);
	pci_cf8_io(bus, 0, d, 4, true);
	memset(d, 0, sizeof(d));
	pci_cf8_io(bus, 4 + port_off, d, len, false);
	return le32(d);
}

START_TEST(host_bridge_through_both)
{
	ck_assert_uint_eq(cf8_read(0x80000000, 0, 4), 0x0D578086);
	ck_assert_uint_eq(ecam_read(0, 0, 4), 0x0D578086);
	ck_assert_uint_eq(ecam_read(0, 0x08, 4) >> 8, 0x060000);
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11, 0, 4), 0x10421AF4);
}
END_TEST

START_TEST(absent_functions_read_ones)
{
	/* Enable bit off, an empty slot, function 1, bus 1. */
	ck_assert_uint_eq(cf8_read(3 << 11, 0, 4), 0xFFFFFFFF);
	ck_assert_uint_eq(cf8_read(0x80000000 | 7 << 11, 0, 4), 0xFFFFFFFF);
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11 | 1 << 8, 0, 4),
			  0xFFFFFFFF);
	ck_assert_uint_eq(cf8_read(0x80010000, 0, 4), 0xFFFFFFFF);
	ck_assert_uint_eq(ecam_read(9, 0, 4), 0xFFFFFFFF);
	ck_assert_uint_eq(ecam_read(3, 1 << 12, 4), 0xFFFFFFFF);
	/* Extended space of a present function reads 0, ignores writes. */
	ck_assert_uint_eq(ecam_read(3, 0x100, 4), 0);
	ecam_write(3, 0xFFC, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(ecam_read(3, 0xFFC, 4), 0);
}
END_TEST

START_TEST(sub_dword_accesses)
{
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11, 1, 2), 0x421A);
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11, 3, 1), 0x10);
	ck_assert_uint_eq(ecam_read(3, 2, 2), 0x1042);
	ck_assert_uint_eq(ecam_read(3, 1, 1), 0x1A);
	ck_assert_uint_eq(ecam_read(3, 0x0A, 2), 0x0180);
	/* A byte write through 0xCFD lands in Command's upper byte only. */
	cf8_write(0x80000000 | 3 << 11 | PCI_COMMAND, 1, 0xFF, 1);
	ck_assert_uint_eq(ecam_read(3, PCI_COMMAND, 4), 0x00100506);
	ecam_write(3, PCI_INTERRUPT_LINE, 0x0B, 1);
	ecam_write(3, PCI_INTERRUPT_LINE + 1, 0x0C, 1);	/* pin: RO */
	ck_assert_uint_eq(ecam_read(3, PCI_INTERRUPT_LINE, 4), 0x0B);
}
END_TEST

/* Crossing a dword, or not 1/2/4 bytes: all ones, writes dropped. */
START_TEST(straddling_accesses_refused)
{
	uint8_t d[8];

	ck_assert_uint_eq(ecam_read(3, 3, 2), 0xFFFF);
	ck_assert_uint_eq(ecam_read(3, 2, 4), 0xFFFFFFFF);
	ck_assert_uint_eq(ecam_read(3, 0, 3), 0xFFFFFF);
	memset(d, 0, sizeof(d));
	pci_ecam_io(bus, 3 << 15, d, 8, false);
	ck_assert_uint_eq(le32(d) & le32(d + 4), 0xFFFFFFFF);
	ecam_write(3, PCI_INTERRUPT_LINE - 1, 0xFFFF, 2);
	ck_assert_uint_eq(ecam_read(3, PCI_INTERRUPT_LINE, 1), 0);
	memset(d, 0xFF, sizeof(d));
	pci_ecam_io(bus, 3 << 15 | PCI_INTERRUPT_LINE, d, 8, true);
	ck_assert_uint_eq(ecam_read(3, PCI_INTERRUPT_LINE, 1), 0);
	/* inl from 0xCFE: past 0xCFF. */
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11, 2, 4), 0xFFFFFFFF);
	cf8_write(0x80000000 | 3 << 11 | PCI_INTERRUPT_LINE, 3, 0xFFFF, 2);
	ck_assert_uint_eq(ecam_read(3, PCI_INTERRUPT_LINE, 4), 0);
	ck_assert_int_eq(mv.writes, 0);
}
END_TEST

/* 0xCF8: 32 bits as written; narrower accesses miss it. */
START_TEST(cf8_address_register)
{
	uint8_t d[4];

	set32(d, 0x80001234);
	pci_cf8_io(bus, 0, d, 4, true);
	memset(d, 0, sizeof(d));
	pci_cf8_io(bus, 0, d, 4, false);
	ck_assert_uint_eq(le32(d), 0x80001234);
	/* Linux's type 1 probe writes a byte to 0xCFB first. */
	d[0] = 1;
	pci_cf8_io(bus, 3, d, 1, true);
	pci_cf8_io(bus, 0, d, 2, true);
	pci_cf8_io(bus, 1, d, 2, false);
	ck_assert_uint_eq(d[0] & d[1], 0xFF);
	pci_cf8_io(bus, 0, d, 4, false);
	ck_assert_uint_eq(le32(d), 0x80001234);
	/* A reset clears it. */
	pci_bus_reset(bus);
	pci_cf8_io(bus, 0, d, 4, false);
	ck_assert_uint_eq(le32(d), 0);
}
END_TEST

START_TEST(read_only_fields_stay)
{
	ecam_write(3, 0, 0xFFFFFFFF, 4);
	ecam_write(3, 0x08, 0, 4);
	ecam_write(3, 0x2C, 0, 4);
	ecam_write(3, PCI_CAP_PTR, 0x80, 1);
	ck_assert_uint_eq(ecam_read(3, 0, 4), 0x10421AF4);
	ck_assert_uint_eq(ecam_read(3, 0x08, 4), 0x01800001);
	ck_assert_uint_eq(ecam_read(3, 0x2C, 4), 0x00021AF4);
	ck_assert_uint_eq(ecam_read(3, PCI_CAP_PTR, 1), 0x40);
	/* Command: only its writable bits. */
	ecam_write(3, PCI_COMMAND, 0xFFFF, 2);
	ck_assert_uint_eq(ecam_read(3, PCI_COMMAND, 2), 0x0546);
}
END_TEST

START_TEST(status_bits_clear_on_one)
{
	dev.cfg[PCI_STATUS + 1] |= 0x80;	/* detected parity error */
	ecam_write(3, PCI_STATUS, 0, 2);
	ck_assert_uint_eq(ecam_read(3, PCI_STATUS, 2) & 0x8000, 0x8000);
	ecam_write(3, PCI_STATUS, 0x8000 | PCI_STATUS_CAP_LIST, 2);
	ck_assert_uint_eq(ecam_read(3, PCI_STATUS, 2),
			  PCI_STATUS_CAP_LIST);
}
END_TEST

START_TEST(bars_placed_aligned)
{
	uint64_t b0 = pci_dev_bar_addr(&dev, 0), b2 = pci_dev_bar_addr(&dev, 2);

	ck_assert_uint_ge(b0, WIN64);
	ck_assert_uint_eq(b0 & 0x3FFF, 0);
	ck_assert_uint_ge(b2, WIN32);
	ck_assert_uint_lt(b2, WIN32 + WIN32_SIZE);
	ck_assert_uint_eq(ecam_read(3, 0x10, 4), (uint32_t)b0 | 4);
	ck_assert_uint_eq(ecam_read(3, 0x14, 4), b0 >> 32);
	ck_assert_uint_eq(ecam_read(3, 0x18, 4), (uint32_t)b2);
	ck_assert_uint_eq(ecam_read(3, 0x1C, 4), 0);	/* not implemented */
	ck_assert_uint_eq(ecam_read(3, PCI_COMMAND, 2) & 6, 6);
}
END_TEST

START_TEST(bar_sizing)
{
	uint32_t lo = ecam_read(3, 0x10, 4), hi = ecam_read(3, 0x14, 4);

	ecam_write(3, 0x10, 0xFFFFFFFF, 4);
	ecam_write(3, 0x14, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(ecam_read(3, 0x10, 4), 0xFFFFC004);
	ck_assert_uint_eq(ecam_read(3, 0x14, 4), 0xFFFFFFFF);
	ecam_write(3, 0x18, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(ecam_read(3, 0x18, 4), 0xFFFFF000);
	ecam_write(3, 0x1C, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(ecam_read(3, 0x1C, 4), 0);
	ecam_write(3, 0x10, lo, 4);
	ecam_write(3, 0x14, hi, 4);
	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 0),
			  (uint64_t)hi << 32 | (lo & ~0xFu));
}
END_TEST

START_TEST(bar_dispatch_follows_moves)
{
	void *w32;
	uint64_t base, size, b2 = pci_dev_bar_addr(&dev, 2);
	uint8_t d[4];

	w32 = pci_bus_window(bus, 0, &base, &size);
	ck_assert_uint_eq(base, WIN32);
	pci_bar_io(w32, b2 - WIN32 + 0x10, d, 4, false);
	ck_assert_int_eq(rec2.calls, 1);
	ck_assert_uint_eq(rec2.offset, 0x10);
	ck_assert_uint_eq(le32(d), 0x5A5A5A5A);
	/* Straddling the BAR's end: nobody's. */
	pci_bar_io(w32, b2 - WIN32 + 0xFFE, d, 4, false);
	ck_assert_int_eq(rec2.calls, 1);
	ck_assert_uint_eq(le32(d), 0xFFFFFFFF);
	/* The guest moves BAR2 up by 64 KiB. */
	ecam_write(3, 0x18, (uint32_t)b2 + 0x10000, 4);
	ck_assert_int_eq(mv.calls, 1);
	ck_assert_uint_eq(mv.bar, 2);
	ck_assert_uint_eq(mv.old, b2);
	ck_assert_uint_eq(mv.new, b2 + 0x10000);
	pci_bar_io(w32, b2 - WIN32, d, 4, false);
	ck_assert_int_eq(rec2.calls, 1);
	pci_bar_io(w32, b2 + 0x10000 - WIN32 + 4, d, 2, true);
	ck_assert_int_eq(rec2.calls, 2);
	ck_assert_uint_eq(rec2.offset, 4);
	ck_assert_uint_eq(rec2.len, 2);
}
END_TEST

START_TEST(memory_decode_off_stops_bars)
{
	uint64_t base, size, b0 = pci_dev_bar_addr(&dev, 0);
	void *w64 = pci_bus_window(bus, 1, &base, &size);
	uint8_t d[4];

	ecam_write(3, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	ck_assert_int_eq(mv.calls, 2);
	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 0), PCI_ADDR_NONE);
	pci_bar_io(w64, b0 - base, d, 4, false);
	ck_assert_int_eq(rec0.calls, 0);
	ck_assert_uint_eq(le32(d), 0xFFFFFFFF);
	ecam_write(3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	ck_assert_int_eq(mv.calls, 4);
	ck_assert_uint_eq(mv.new, pci_dev_bar_addr(&dev, 2));
	pci_bar_io(w64, b0 - base, d, 4, false);
	ck_assert_int_eq(rec0.calls, 1);
}
END_TEST

START_TEST(capabilities_linked)
{
	static const uint8_t cap2[4] = { 0x11, 0, 0, 0 };
	struct pci_dev d2;

	ck_assert_uint_eq(ecam_read(3, 0x40, 4), 0x01080009);
	/* Only the declared writable bits of the capability. */
	ecam_write(3, 0x44, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(ecam_read(3, 0x44, 4), 0x05040FFF);
	ck_assert_int_eq(mv.writes, 1);
	ck_assert_uint_eq(mv.wr_off, 0x44);
	ck_assert_uint_eq(mv.wr_len, 4);
	/* Read-only bytes too; ECAM's extended space is no write. */
	ecam_write(3, 0x09, 0, 1);
	ck_assert_int_eq(mv.writes, 2);
	ck_assert_uint_eq(mv.wr_off, 0x09);
	ck_assert_uint_eq(mv.wr_len, 1);
	ecam_write(3, 0x100, 0, 4);
	ck_assert_int_eq(mv.writes, 2);
	pci_dev_init(&d2, 1, 2, 0, 0, 0, 0);
	ck_assert_uint_eq(d2.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, 0);
	ck_assert_int_eq(pci_dev_add_cap(&d2, cap2, 4), 0x40);
	ck_assert_int_eq(pci_dev_add_cap(&d2, cap2, 4), 0x44);
	ck_assert_uint_eq(d2.cfg[PCI_CAP_PTR], 0x40);
	ck_assert_uint_eq(d2.cfg[0x41], 0x44);
	ck_assert_uint_eq(d2.cfg[0x45], 0);
	ck_assert_uint_eq(d2.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST,
			  PCI_STATUS_CAP_LIST);
	ck_assert_int_eq(pci_dev_add_cap(&d2, cap2, 250), -ENOSPC);
	ck_assert_int_eq(pci_dev_add_cap(&d2, cap2, 1), -EINVAL);
	ck_assert_int_eq(pci_dev_set_wmask(&d2, 0xFF, cap2, 2), -EINVAL);
	ck_assert_int_eq(pci_dev_set_wmask(&d2, 0x100, cap2, 1), -EINVAL);
	ck_assert_int_eq(pci_dev_set_wmask(&d2, 0xFE, cap2, 2), 0);
}
END_TEST

/* A capability that ends at 0x100 leaves no room: nothing wraps to 0. */
START_TEST(capabilities_fill_space)
{
	static const uint8_t big[0xB8] = { 0x09 };
	static const uint8_t small[4] = { 0x05 };
	struct pci_dev d2;

	pci_dev_init(&d2, 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_cap(&d2, small, 4), 0x40);
	ck_assert_int_eq(pci_dev_add_cap(&d2, big, sizeof(big)), 0x44);
	ck_assert_uint_eq(d2.cfg[0x45], 0);
	ck_assert_int_eq(pci_dev_add_cap(&d2, small, 4), 0xFC);
	ck_assert_uint_eq(d2.cfg[0x45], 0xFC);
	ck_assert_int_eq(pci_dev_add_cap(&d2, small, 2), -ENOSPC);
	ck_assert_uint_eq(d2.cfg[PCI_VENDOR_ID], 1);
	ck_assert_uint_eq(d2.cfg[0xFD], 0);
}
END_TEST

START_TEST(reset_restores)
{
	uint64_t b2 = pci_dev_bar_addr(&dev, 2);

	ecam_write(3, 0x18, (uint32_t)b2 + 0x10000, 4);
	ecam_write(3, 0x44, 0x0, 2);
	pci_bus_reset(bus);
	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 2), b2);
	ck_assert_uint_eq(mv.resets, 1);
	ck_assert_uint_eq(mv.new, b2);
	ck_assert_uint_eq(ecam_read(3, 0x44, 2), 0x0302);
}
END_TEST

START_TEST(add_errors)
{
	struct pci_dev d2, d3;

	pci_dev_init(&d2, 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_bus_add(bus, 3, &d2), -EBUSY);
	ck_assert_int_eq(pci_bus_add(bus, -1, &d2), 1);
	ck_assert_int_eq(d2.slot, 1);
	pci_dev_init(&d3, 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 5, 0x1000, PCI_BAR_MEM64,
					 rec_io, NULL), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 0, 0x1800, 0, rec_io, NULL),
			 -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 0, 0x800, 0, rec_io, NULL),
			 -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 6, 0x1000, 0, rec_io, NULL),
			 -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 0, 0x1000, PCI_BAR_MEM64,
					 rec_io, NULL), 0);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 1, 0x1000, 0, rec_io, NULL),
			 -EINVAL);
	/* A BAR larger than what is left of its window. */
	ck_assert_int_eq(pci_dev_add_bar(&d3, 2, 1ULL << 31, 0, rec_io,
					 NULL), 0);
	ck_assert_int_eq(pci_bus_add(bus, -1, &d3), -ENOSPC);
	ck_assert_int_eq(d3.slot, -1);
	ck_assert_uint_eq(d3.assigned[0], PCI_ADDR_NONE);
	/* More bad arguments: no handler, a 32-bit BAR over 2 GiB, 2 above
	 * a 64-bit one, a 64-bit one over a taken upper half. */
	ck_assert_int_eq(pci_dev_add_bar(&d3, 3, 0x1000, 0, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 3, 1ULL << 32, 0, rec_io,
					 NULL), -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 2, 0x1000, 0, rec_io, NULL),
			 -EINVAL);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 4, 0x1000, 0, rec_io, NULL),
			 0);
	ck_assert_int_eq(pci_dev_add_bar(&d3, 3, 0x1000, PCI_BAR_MEM64,
					 rec_io, NULL), -EINVAL);
	/* Bad slots, and a device already on the bus. */
	ck_assert_int_eq(pci_bus_add(bus, -2, &d3), -EINVAL);
	ck_assert_int_eq(pci_bus_add(bus, PCI_SLOTS, &d3), -ENOSPC);
	ck_assert_int_eq(pci_bus_add(bus, 7, &dev), -EINVAL);
	ck_assert_int_eq(pci_bus_add(bus, 0, &d3), -EBUSY);
	/* Windows that wrap. */
	ck_assert_ptr_null(pci_bus_new(UINT64_MAX - 0xFFF, 0x2000, 0, 0));
	ck_assert_ptr_null(pci_bus_new(0, 0, 1ULL << 63, 1ULL << 63));
}
END_TEST

/* Each BAR in the lowest free aligned place; a removal frees its place. */
START_TEST(placement_and_removal)
{
	uint64_t base, size;
	void *w32 = pci_bus_window(bus, 0, &base, &size);
	struct pci_dev a, c, e;
	uint8_t d[4];

	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 2), WIN32);
	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 0), WIN64);
	pci_dev_init(&a, 1, 2, 0, 0, 0, 0);
	pci_dev_init(&c, 1, 3, 0, 0, 0, 0);
	pci_dev_init(&e, 1, 4, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_bar(&a, 0, 0x2000, 0, rec_io, &rec2), 0);
	ck_assert_int_eq(pci_dev_add_bar(&a, 1, 0x1000, 0, rec_io, &rec2), 0);
	ck_assert_int_eq(pci_dev_add_bar(&c, 0, 0x1000, 0, rec_io, &rec2), 0);
	ck_assert_int_eq(pci_dev_add_bar(&e, 5, 0x2000, 0, rec_io, &rec2), 0);
	a.bar_moved = on_moved;
	ck_assert_int_eq(pci_bus_add(bus, -1, &a), 1);
	ck_assert_uint_eq(pci_dev_bar_addr(&a, 0), WIN32 + 0x2000);
	ck_assert_uint_eq(pci_dev_bar_addr(&a, 1), WIN32 + 0x1000);
	ck_assert_int_eq(pci_bus_add(bus, -1, &c), 2);
	ck_assert_uint_eq(pci_dev_bar_addr(&c, 0), WIN32 + 0x4000);
	memset(&mv, 0, sizeof(mv));
	pci_bus_remove(bus, &a);
	ck_assert_int_eq(pci_dev_slot(&a), -1);
	ck_assert_int_eq(mv.calls, 2);
	ck_assert_uint_eq(mv.new, PCI_ADDR_NONE);
	ck_assert_uint_eq(pci_dev_bar_addr(&a, 0), PCI_ADDR_NONE);
	ck_assert_uint_eq(ecam_read(1, 0, 4), 0xFFFFFFFF);
	pci_bar_io(w32, 0x2000, d, 4, false);
	ck_assert_uint_eq(le32(d), 0xFFFFFFFF);
	ck_assert_int_eq(rec2.calls, 0);
	pci_bus_remove(bus, &a);	/* twice: nothing */
	ck_assert_int_eq(mv.calls, 2);
	ck_assert_int_eq(pci_bus_add(bus, -1, &e), 1);
	ck_assert_uint_eq(pci_dev_bar_addr(&e, 5), WIN32 + 0x2000);
	ck_assert_int_eq(pci_bus_add(bus, 9, &a), 9);
	ck_assert_uint_eq(pci_dev_bar_addr(&a, 0), WIN32 + 0x6000);
	ck_assert_uint_eq(pci_dev_bar_addr(&a, 1), WIN32 + 0x1000);
}
END_TEST

/* No 64-bit window (or no room in it): 64-bit BARs go below 4 GiB. */
START_TEST(bar64_falls_back_to_win32)
{
	struct pci_bus *b = pci_bus_new(WIN32, WIN32_SIZE, 0, 0);
	struct pci_dev a, c;

	ck_assert_ptr_nonnull(b);
	pci_dev_init(&a, 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_bar(&a, 0, 0x4000, PCI_BAR_MEM64,
					 rec_io, &rec0), 0);
	ck_assert_int_eq(pci_bus_add(b, -1, &a), 1);
	ck_assert_uint_eq(pci_dev_bar_addr(&a, 0), WIN32);
	ck_assert_uint_eq(a.cfg[PCI_BAR0] & 0xF, 4);
	pci_dev_init(&c, 1, 2, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_bar(&c, 0, 1ULL << 32, PCI_BAR_MEM64,
					 rec_io, &rec0), 0);
	ck_assert_int_eq(pci_bus_add(b, -1, &c), -ENOSPC);
	pci_bus_free(b);
}
END_TEST

/* The guest writes the upper dword of a 64-bit BAR: it moves. */
START_TEST(bar64_upper_half_moves)
{
	uint64_t base, size, b0 = pci_dev_bar_addr(&dev, 0);
	void *w64 = pci_bus_window(bus, 1, &base, &size);
	uint8_t d[4];

	ecam_write(3, 0x14, (b0 >> 32) + 1, 4);
	ck_assert_int_eq(mv.calls, 1);
	ck_assert_uint_eq(mv.bar, 0);
	ck_assert_uint_eq(mv.old, b0);
	ck_assert_uint_eq(mv.new, b0 + (1ULL << 32));
	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 1), PCI_ADDR_NONE);
	/* Now past the window's end (4 GiB long): unreachable. */
	pci_bar_io(w64, b0 - base, d, 4, false);
	ck_assert_uint_eq(le32(d), 0xFFFFFFFF);
	pci_bar_io(w64, size, d, 4, false);
	ck_assert_uint_eq(le32(d), 0xFFFFFFFF);
	ck_assert_int_eq(rec0.calls, 0);
	/* Its upper half alone sizes too. */
	ecam_write(3, 0x14, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(ecam_read(3, 0x14, 4), 0xFFFFFFFF);
	ck_assert_uint_eq(ecam_read(3, 0x10, 4), (uint32_t)b0 | 4);
}
END_TEST

/*
 * One thread moves BAR2 between two places and toggles memory decoding
 * while another hammers both places: the handler only ever runs for an
 * address its BAR holds at that moment.
 */
static uint64_t race_addr;
static int race_bad, race_hits, race_stop;

static void race_io(void *opaque, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write)
{
	volatile int spin;

	(void)opaque;
	(void)is_write;
	if (pci_dev_bar_addr(&dev, 2) + offset != race_addr ||
	    offset + len > 0x1000)
		race_bad++;
	for (spin = 0; spin < 100; spin++)	/* a window for the mover */
		;
	if (pci_dev_bar_addr(&dev, 2) + offset != race_addr)
		race_bad++;
	race_hits++;
	memset(data, 0, len);
}

static void *race_mover(void *arg)
{
	uint32_t b2 = (uint32_t)pci_dev_bar_addr(&dev, 2);
	int *moves = arg, i;

	for (i = 0; !__atomic_load_n(&race_stop, __ATOMIC_RELAXED); i++) {
		ecam_write(3, 0x18, b2 + (i & 1 ? 0 : 0x10000), 4);
		if (i % 7 == 0)
			ecam_write(3, PCI_COMMAND, i & 8 ? 6 : 4, 2);
		__atomic_store_n(moves, i, __ATOMIC_RELAXED);
	}
	ecam_write(3, 0x18, b2, 4);
	ecam_write(3, PCI_COMMAND, 6, 2);
	return NULL;
}

START_TEST(config_write_races_dispatch)
{
	uint64_t base, size, b2 = pci_dev_bar_addr(&dev, 2);
	void *w32 = pci_bus_window(bus, 0, &base, &size);
	int i, moves = 0;
	pthread_t t;
	uint8_t d[4];

	dev.bars[2].fn = race_io;
	ck_assert_int_eq(pthread_create(&t, NULL, race_mover, &moves), 0);
	for (i = 0; i < 100000 ||
	     __atomic_load_n(&moves, __ATOMIC_RELAXED) < 20000; i++) {
		race_addr = b2 + (i & 1 ? 0x10000 : 0) + 0xFFC;
		pci_bar_io(w32, race_addr - base, d, 4, false);
	}
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	ck_assert_int_eq(race_bad, 0);
	ck_assert_int_gt(race_hits, 0);
}
END_TEST

/* The host bridge: header type 0, no BARs, no capabilities. */
START_TEST(host_bridge_header)
{
	unsigned int off;

	ck_assert_uint_eq(ecam_read(0, PCI_HEADER_TYPE, 1), 0);
	ck_assert_uint_eq(ecam_read(0, PCI_STATUS, 2), 0);
	for (off = PCI_BAR0; off < PCI_BAR0 + 24; off += 4) {
		ecam_write(0, off, 0xFFFFFFFF, 4);
		ck_assert_uint_eq(ecam_read(0, off, 4), 0);
	}
	ecam_write(0, 0, 0, 4);
	ck_assert_uint_eq(cf8_read(0x80000000, 0, 4), 0x0D578086);
}
END_TEST

START_TEST(bdf_format)
{
	char buf[16];

	pci_dev_bdf(&dev, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0000:00:03.0");
}
END_TEST

START_TEST(slots_fill_up)
{
	static struct pci_dev many[PCI_SLOTS];
	int i, n = 0;

	for (i = 0; i < PCI_SLOTS; i++) {
		pci_dev_init(&many[i], 1, 2, 0, 0, 0, 0);
		if (pci_bus_add(bus, -1, &many[i]) > 0)
			n++;
	}
	ck_assert_int_eq(n, PCI_SLOTS - 2);	/* the bridge and dev */
}
END_TEST

/* \_SB.PC00 in a DSDT: iasl takes it and gives the same AML back. */
START_TEST(aml_host_bridge)
{
	static const char *const want[] = {
		"Device (\\_SB.PC00)", "EisaId (\"PNP0A08\")", "EisaId (\"PNP0A03\")",
		"Name (_SEG, Zero)", "Name (_BBN, Zero)",
		"WordBusNumber (ResourceProducer, MinFixed, MaxFixed",
		"0x0CF8,", "DWordMemory (ResourceProducer, PosDecode, MinFixed, "
		"MaxFixed, NonCacheable, ReadWrite", "0xC0000000,", "0xDFFFFFFF,",
		"QWordMemory (ResourceProducer", "0x0000000800000000,",
		"Device (S001)", "Device (S031)", "Name (_ADR, 0x001F0000)",
		"Name (_SUN, 0x1F)",
	};
	struct aml_ctx *ctx = aml_ctx_new();
	struct aml *a = pci_aml(ctx, bus);
	size_t len = aml_size(a), i;
	uint8_t *aml = malloc(len), *t;
	char *dsl;

	ck_assert_ptr_nonnull(aml);
	aml_encode(a, aml);
	t = iasl_make_dsdt(aml, len);
	dsl = iasl_round_trip("pci", t);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(dsl, want[i]))
			fprintf(stderr, "%s\n", dsl);
		ck_assert_msg(strstr(dsl, want[i]), "no \"%s\" in the "
			      "disassembly (on stderr)", want[i]);
	}
	ck_assert_uint_eq(iasl_count(dsl, "Device (S"), PCI_SLOTS - 1);
	free(dsl);
	free(t);
	free(aml);
	aml_ctx_free(ctx);
}
END_TEST

/* Answers reads of 0x44-0x47 itself: byte i reads 0xA0 + offset. */
static void on_read(struct pci_dev *d, unsigned int off, uint8_t *data,
		    unsigned int len)
{
	unsigned int i;

	ck_assert_ptr_eq(d, &dev);
	ck_assert_uint_le(off + len, PCI_CFG_SIZE);
	for (i = 0; i < len; i++)
		if (off + i >= 0x44 && off + i < 0x48)
			data[i] = 0xA0 + off + i;
}

/* cfg_read answers through both mechanisms; the extended space is not it. */
START_TEST(cfg_read_hook)
{
	dev.cfg_read = on_read;
	ck_assert_uint_eq(ecam_read(3, 0x44, 4), 0xE7E6E5E4);
	ck_assert_uint_eq(ecam_read(3, 0x46, 2), 0xE7E6);
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11 | 0x40, 0, 4),
			  0x01080009);
	ck_assert_uint_eq(cf8_read(0x80000000 | 3 << 11 | 0x44, 1, 1), 0xE5);
	ck_assert_uint_eq(ecam_read(3, 0x144, 4), 0);
	/* Refused accesses never reach it. */
	ck_assert_uint_eq(ecam_read(3, 0x43, 2), 0xFFFF);
	/* cfg itself is unchanged. */
	ck_assert_uint_eq(dev.cfg[0x44], 2);
}
END_TEST

Suite *pci_suite(void)
{
	const TTest *const tests[] = {
		host_bridge_through_both, absent_functions_read_ones,
		sub_dword_accesses, read_only_fields_stay,
		status_bits_clear_on_one, bars_placed_aligned, bar_sizing,
		bar_dispatch_follows_moves, memory_decode_off_stops_bars,
		capabilities_linked, reset_restores, add_errors, bdf_format,
		slots_fill_up, straddling_accesses_refused,
		cf8_address_register, capabilities_fill_space,
		placement_and_removal, bar64_falls_back_to_win32,
		bar64_upper_half_moves, host_bridge_header,
		config_write_races_dispatch, cfg_read_hook,
	};
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("pci");
	unsigned int i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	tc = tcase_create("pci_aml");
	tcase_add_unchecked_fixture(tc, iasl_setup, iasl_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, aml_host_bridge);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

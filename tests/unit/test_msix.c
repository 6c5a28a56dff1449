/*
 * MSI-X: the capability through configuration space, the table and PBA
 * through their BAR regions, masking, pending bits and routing, with fake
 * ops in place of the VMM's irqfds. No KVM needed.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/msix.h"
#include "devices/pci.h"

#define WIN32		0xC0000000ULL
#define WIN32_SIZE	0x20000000ULL
#define SLOT		4
#define NVEC		70		/* PBA of two qwords */
#define TABLE_OFF	0x2000
#define PBA_OFF		0x3000
#define CAP		0x40
#define CTRL		(CAP + 2)

struct fake {
	int fired[NVEC];
	int routes;
	unsigned int last_vec;
	uint64_t last_addr;
	uint32_t last_data;
	int fail;		/* route's answer while nonzero */
};

static struct pci_bus *bus;
static struct pci_dev dev;
static struct msix *mx;
static struct fake fk;

static void fake_fire(void *opaque, unsigned int v)
{
	struct fake *f = opaque;

	ck_assert_uint_lt(v, NVEC);
	__atomic_fetch_add(&f->fired[v], 1, __ATOMIC_RELAXED);
}

static int fake_route(void *opaque, unsigned int v, uint64_t addr,
		      uint32_t data)
{
	struct fake *f = opaque;

	if (f->fail)
		return f->fail;
	f->routes++;
	f->last_vec = v;
	f->last_addr = addr;
	f->last_data = data;
	return 0;
}

static const struct msix_ops ops = { fake_fire, fake_route };

static void bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	(void)opaque;
	if (off >= TABLE_OFF && off < PBA_OFF)
		msix_table_io(mx, off - TABLE_OFF, data, len, is_write);
	else if (off >= PBA_OFF)
		msix_pba_io(mx, off - PBA_OFF, data, len, is_write);
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

static void setup(void)
{
	bus = pci_bus_new(WIN32, WIN32_SIZE, 0, 0);
	ck_assert_ptr_nonnull(bus);
	pci_dev_init(&dev, 0x1AF4, 0x1041, 0x020000, 0x1AF4, 1, 1);
	ck_assert_int_eq(pci_dev_add_bar(&dev, 0, 0x4000, 0, bar_io, NULL), 0);
	ck_assert_int_eq(msix_new(&mx, &dev, NVEC, 0, TABLE_OFF, PBA_OFF, &ops,
				  &fk), 0);
	dev.cfg_written = on_written;
	dev.reset = on_reset;
	memset(&fk, 0, sizeof(fk));
	ck_assert_int_eq(pci_bus_add(bus, SLOT, &dev), SLOT);
}

static void teardown(void)
{
	pci_bus_free(bus);
	msix_free(mx);
	mx = NULL;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t cfg_read(unsigned int off, uint32_t len)
{
	uint8_t d[4] = { 0 };

	pci_ecam_io(bus, SLOT << 15 | off, d, len, false);
	return get32(d);
}

static void cfg_write(unsigned int off, uint32_t v, uint32_t len)
{
	uint8_t d[4];

	put32(d, v);
	pci_ecam_io(bus, SLOT << 15 | off, d, len, true);
}

static void ctrl_write(uint16_t v)
{
	cfg_write(CTRL, v, 2);
}

static uint32_t tbl_read(unsigned int v, unsigned int field)
{
	uint8_t d[4];

	msix_table_io(mx, v * MSIX_ENTRY_SIZE + field, d, 4, false);
	return get32(d);
}

static void tbl_write(unsigned int v, unsigned int field, uint32_t val)
{
	uint8_t d[4];

	put32(d, val);
	msix_table_io(mx, v * MSIX_ENTRY_SIZE + field, d, 4, true);
}

/* What Linux writes for a vector: address, data, then unmask. */
static void program(unsigned int v, uint32_t addr, uint32_t data)
{
	tbl_write(v, MSIX_ENTRY_ADDR_LO, addr);
	tbl_write(v, MSIX_ENTRY_ADDR_HI, 0);
	tbl_write(v, MSIX_ENTRY_DATA, data);
	tbl_write(v, MSIX_ENTRY_CTRL, 0);
}

static uint64_t pba_read(unsigned int qword)
{
	uint8_t d[8];

	msix_pba_io(mx, qword * 8, d, 8, false);
	return get32(d) | (uint64_t)get32(d + 4) << 32;
}

START_TEST(capability_layout)
{
	ck_assert_uint_eq(msix_cap_offset(mx), CAP);
	ck_assert_uint_eq(msix_vectors(mx), NVEC);
	ck_assert_uint_eq(cfg_read(PCI_CAP_PTR, 1), CAP);
	ck_assert_uint_eq(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
			  PCI_STATUS_CAP_LIST);
	ck_assert_uint_eq(cfg_read(CAP, 4), (NVEC - 1) << 16 | MSIX_CAP_ID);
	ck_assert_uint_eq(cfg_read(CAP + 4, 4), TABLE_OFF | 0);
	ck_assert_uint_eq(cfg_read(CAP + 8, 4), PBA_OFF | 0);
	ck_assert_uint_eq(msix_table_size(NVEC), NVEC * 16);
	ck_assert_uint_eq(msix_pba_size(NVEC), 16);
	ck_assert_uint_eq(msix_pba_size(64), 8);
}
END_TEST

/* Only enable and function mask are writable; the rest is read-only. */
START_TEST(capability_write_mask)
{
	cfg_write(CAP, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(cfg_read(CAP, 4),
			  (uint32_t)(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK |
				     (NVEC - 1)) << 16 | MSIX_CAP_ID);
	cfg_write(CAP + 4, 0xFFFFFFFF, 4);
	cfg_write(CAP + 8, 0, 4);
	ck_assert_uint_eq(cfg_read(CAP + 4, 4), TABLE_OFF);
	ck_assert_uint_eq(cfg_read(CAP + 8, 4), PBA_OFF);
	ck_assert(msix_enabled(mx));
	ctrl_write(0);
	ck_assert(!msix_enabled(mx));
	/* A byte write of the upper half alone counts too. */
	cfg_write(CTRL + 1, MSIX_CTRL_ENABLE >> 8, 1);
	ck_assert(msix_enabled(mx));
}
END_TEST

START_TEST(reset_state)
{
	unsigned int v;

	for (v = 0; v < NVEC; v++) {
		ck_assert_uint_eq(tbl_read(v, MSIX_ENTRY_ADDR_LO), 0);
		ck_assert_uint_eq(tbl_read(v, MSIX_ENTRY_DATA), 0);
		ck_assert_uint_eq(tbl_read(v, MSIX_ENTRY_CTRL),
				  MSIX_ENTRY_MASKED);
	}
	ck_assert_uint_eq(pba_read(0), 0);
	ck_assert_uint_eq(pba_read(1), 0);
	ck_assert(!msix_enabled(mx));
}
END_TEST

/* Reserved bits stay 0; accesses of any size within the table work. */
START_TEST(table_reserved_bits)
{
	uint8_t d[8];

	tbl_write(3, MSIX_ENTRY_ADDR_LO, 0xFEE01007);
	ck_assert_uint_eq(tbl_read(3, MSIX_ENTRY_ADDR_LO), 0xFEE01004);
	tbl_write(3, MSIX_ENTRY_CTRL, 0xFFFFFFFE);
	ck_assert_uint_eq(tbl_read(3, MSIX_ENTRY_CTRL), 0);
	tbl_write(3, MSIX_ENTRY_CTRL, 0xFFFFFFFF);
	ck_assert_uint_eq(tbl_read(3, MSIX_ENTRY_CTRL), 1);
	/* A qword write of data + control, and of the address pair. */
	put32(d, 0x4041);
	put32(d + 4, 0);
	msix_table_io(mx, 3 * 16 + 8, d, 8, true);
	ck_assert_uint_eq(tbl_read(3, MSIX_ENTRY_DATA), 0x4041);
	ck_assert_uint_eq(tbl_read(3, MSIX_ENTRY_CTRL), 0);
	/* A byte. */
	d[0] = 0x55;
	msix_table_io(mx, 3 * 16 + 9, d, 1, true);
	ck_assert_uint_eq(tbl_read(3, MSIX_ENTRY_DATA), 0x5541);
}
END_TEST

START_TEST(out_of_range_accesses)
{
	uint8_t d[8];

	memset(d, 0, sizeof(d));
	msix_table_io(mx, NVEC * 16 - 4, d, 8, false);
	ck_assert_uint_eq(get32(d) & get32(d + 4), 0xFFFFFFFF);
	memset(d, 0, sizeof(d));
	msix_table_io(mx, NVEC * 16, d, 4, true);
	msix_table_io(mx, UINT64_MAX - 1, d, 4, true);
	msix_table_io(mx, 0, d, 0, true);
	msix_table_io(mx, 0, d, 9, true);
	ck_assert_uint_eq(tbl_read(0, MSIX_ENTRY_CTRL), 1);
	ck_assert_uint_eq(tbl_read(NVEC - 1, MSIX_ENTRY_CTRL), 1);
	memset(d, 0, sizeof(d));
	msix_pba_io(mx, 16, d, 1, false);
	ck_assert_uint_eq(d[0], 0xFF);
	msix_pba_io(mx, 12, d, 8, false);
	ck_assert_uint_eq(d[7], 0xFF);
	ck_assert_int_eq(msix_signal(mx, NVEC), -EINVAL);
	ck_assert_int_eq(msix_signal(mx, UINT32_MAX), -EINVAL);
	ck_assert_int_eq(fk.routes, 0);
}
END_TEST

/* Disabled: nothing fires and nothing is pending (there is no INTx). */
START_TEST(disabled_drops)
{
	program(5, 0xFEE00000, 0x31);
	ck_assert_int_eq(msix_signal(mx, 5), 0);
	ck_assert_int_eq(fk.fired[5], 0);
	ck_assert_uint_eq(pba_read(0), 0);
	ck_assert_int_eq(fk.routes, 0);
	ctrl_write(MSIX_CTRL_ENABLE);
	ck_assert_int_eq(fk.fired[5], 0);
	ck_assert_int_eq(fk.routes, 1);
}
END_TEST

/* Linux's order: enable with the function masked, program, unmask. */
START_TEST(linux_enable_sequence)
{
	ctrl_write(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	program(0, 0xFEE00000, 0x41);
	program(1, 0xFEE01000, 0x42);
	ck_assert_int_eq(fk.routes, 0);
	ck_assert_int_eq(msix_signal(mx, 1), 0);
	ck_assert_int_eq(fk.fired[1], 0);
	ck_assert_uint_eq(pba_read(0), 2);
	ctrl_write(MSIX_CTRL_ENABLE);
	ck_assert_int_eq(fk.routes, 2);
	ck_assert_int_eq(fk.fired[1], 1);
	ck_assert_int_eq(fk.fired[0], 0);
	ck_assert_uint_eq(pba_read(0), 0);
	ck_assert_int_eq(msix_signal(mx, 0), 0);
	ck_assert_int_eq(fk.fired[0], 1);
}
END_TEST

/* A masked vector pends; its unmask routes it, then fires it once. */
START_TEST(vector_mask_pends)
{
	ctrl_write(MSIX_CTRL_ENABLE);
	tbl_write(66, MSIX_ENTRY_ADDR_LO, 0xFEE02000);
	tbl_write(66, MSIX_ENTRY_DATA, 0x51);
	ck_assert_int_eq(msix_signal(mx, 66), 0);
	ck_assert_int_eq(msix_signal(mx, 66), 0);
	ck_assert_uint_eq(pba_read(1), 1ULL << 2);
	ck_assert_int_eq(fk.routes, 0);
	tbl_write(66, MSIX_ENTRY_CTRL, 0);
	ck_assert_int_eq(fk.routes, 1);
	ck_assert_uint_eq(fk.last_vec, 66);
	ck_assert_uint_eq(fk.last_addr, 0xFEE02000);
	ck_assert_uint_eq(fk.last_data, 0x51);
	ck_assert_int_eq(fk.fired[66], 1);
	ck_assert_uint_eq(pba_read(1), 0);
	/* Masked again: pending, no fire; the PBA's bytes say so. */
	tbl_write(66, MSIX_ENTRY_CTRL, 1);
	msix_signal(mx, 66);
	ck_assert_int_eq(fk.fired[66], 1);
	{
		uint8_t b;

		msix_pba_io(mx, 8, &b, 1, false);
		ck_assert_uint_eq(b, 4);
		/* Read-only. */
		b = 0;
		msix_pba_io(mx, 8, &b, 1, true);
		ck_assert_uint_eq(pba_read(1), 4);
	}
}
END_TEST

/* A change while the vector can fire reroutes it; the same one does not. */
START_TEST(reroute_on_change)
{
	ctrl_write(MSIX_CTRL_ENABLE);
	program(2, 0xFEE00000, 0x30);
	ck_assert_int_eq(fk.routes, 1);
	tbl_write(2, MSIX_ENTRY_DATA, 0x30);
	tbl_write(2, MSIX_ENTRY_CTRL, 0);
	ck_assert_int_eq(fk.routes, 1);
	tbl_write(2, MSIX_ENTRY_DATA, 0x31);
	ck_assert_int_eq(fk.routes, 2);
	ck_assert_uint_eq(fk.last_data, 0x31);
	tbl_write(2, MSIX_ENTRY_ADDR_HI, 1);
	ck_assert_int_eq(fk.routes, 3);
	ck_assert_uint_eq(fk.last_addr, 0x1FEE00000ULL);
	/* Masked: no route until the unmask. */
	tbl_write(2, MSIX_ENTRY_CTRL, 1);
	tbl_write(2, MSIX_ENTRY_ADDR_HI, 0);
	tbl_write(2, MSIX_ENTRY_DATA, 0x32);
	ck_assert_int_eq(fk.routes, 3);
	tbl_write(2, MSIX_ENTRY_CTRL, 0);
	ck_assert_int_eq(fk.routes, 4);
	ck_assert_uint_eq(fk.last_addr, 0xFEE00000);
	ck_assert_uint_eq(fk.last_data, 0x32);
	/* The function mask toggling alone routes nothing new. */
	ctrl_write(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	ctrl_write(MSIX_CTRL_ENABLE);
	ck_assert_int_eq(fk.routes, 4);
}
END_TEST

/* A failed route keeps the vector pending; the next change retries. */
START_TEST(route_failure_pends)
{
	ctrl_write(MSIX_CTRL_ENABLE);
	fk.fail = -ENOSPC;
	program(7, 0xFEE00000, 0x60);
	ck_assert_int_eq(msix_signal(mx, 7), 0);
	ck_assert_int_eq(fk.fired[7], 0);
	ck_assert_uint_eq(pba_read(0), 1 << 7);
	fk.fail = 0;
	tbl_write(7, MSIX_ENTRY_DATA, 0x60);
	ck_assert_int_eq(fk.routes, 1);
	ck_assert_int_eq(fk.fired[7], 1);
	ck_assert_uint_eq(pba_read(0), 0);
}
END_TEST

/* A PCI reset: everything masked, nothing routed, the capability off. */
START_TEST(pci_reset_forgets)
{
	ctrl_write(MSIX_CTRL_ENABLE);
	program(1, 0xFEE00000, 0x41);
	tbl_write(2, MSIX_ENTRY_ADDR_LO, 0xFEE00000);
	msix_signal(mx, 2);
	ck_assert_int_eq(fk.routes, 1);
	pci_bus_reset(bus);
	ck_assert(!msix_enabled(mx));
	ck_assert_uint_eq(cfg_read(CTRL, 2), NVEC - 1);
	ck_assert_uint_eq(tbl_read(1, MSIX_ENTRY_CTRL), 1);
	ck_assert_uint_eq(tbl_read(1, MSIX_ENTRY_ADDR_LO), 0);
	ck_assert_uint_eq(pba_read(0), 0);
	/* The same message again is routed again: the new VM has none. */
	ctrl_write(MSIX_CTRL_ENABLE);
	program(1, 0xFEE00000, 0x41);
	ck_assert_int_eq(fk.routes, 2);
	msix_signal(mx, 1);
	ck_assert_int_eq(fk.fired[1], 1);
	ck_assert_int_eq(fk.fired[2], 0);
}
END_TEST

static void dummy_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	(void)opaque;
	(void)off;
	if (!is_write)
		memset(data, 0, len);
}

/* Bad layouts and ops are refused before anything is added. */
START_TEST(new_errors)
{
	static const struct msix_ops no_route = { fake_fire, NULL };
	static const uint8_t filler[0xB8] = { 0x09 };
	struct pci_dev d;
	struct msix *m = (struct msix *)&d;

	pci_dev_init(&d, 0x1AF4, 0x1041, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_bar(&d, 2, 0x1000, 0, dummy_io, NULL), 0);
	/* No such BAR, or BAR index out of range. */
	ck_assert_int_eq(msix_new(&m, &d, 4, 0, 0, 0x800, &ops, NULL), -EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(msix_new(&m, &d, 4, 6, 0, 0x800, &ops, NULL), -EINVAL);
	/* Vector counts. */
	ck_assert_int_eq(msix_new(&m, &d, 0, 2, 0, 0x800, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, MSIX_MAX_VECTORS + 1, 2, 0, 0x800,
				  &ops, NULL), -EINVAL);
	/* Unaligned, past the BAR, overlapping. */
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 4, 0x800, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0, 0x804, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0xFF8, 0, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0, 0x1000, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0, 0x38, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0x40, 0x78, &ops, NULL),
			 -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 257, 2, 0, 0xFF8, &ops, NULL),
			 -EINVAL);
	/* Ops. */
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0, 0x800, NULL, NULL), -EINVAL);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0, 0x800, &no_route, NULL),
			 -EINVAL);
	ck_assert_uint_eq(d.cfg[PCI_CAP_PTR], 0);
	/* No room left for the capability. */
	ck_assert_int_eq(pci_dev_add_cap(&d, filler, sizeof(filler)), 0x40);
	ck_assert_int_eq(msix_new(&m, &d, 4, 2, 0, 0x800, &ops, NULL),
			 -ENOSPC);
	ck_assert_ptr_null(m);
	/* Adjacent table and PBA, the last dword of the BAR. */
	pci_dev_init(&d, 0x1AF4, 0x1041, 0, 0, 0, 0);
	ck_assert_int_eq(pci_dev_add_bar(&d, 2, 0x1000, 0, dummy_io, NULL), 0);
	ck_assert_int_eq(msix_new(&m, &d, 254, 2, 0, 0xFE0, &ops, NULL), 0);
	ck_assert_uint_eq(msix_vectors(m), 254);
	msix_free(m);
	msix_free(NULL);
}
END_TEST

#define SIGNALS		20000

static void *signaller(void *arg)
{
	unsigned int i, v = (uintptr_t)arg;

	for (i = 0; i < SIGNALS; i++)
		msix_signal(mx, v);
	return NULL;
}

/*
 * Signals from two threads while a third masks and unmasks: none is lost
 * (each fires, or is pending and fires at the final unmask).
 */
START_TEST(concurrent_signals)
{
	pthread_t t[2];
	unsigned int i;

	ctrl_write(MSIX_CTRL_ENABLE);
	program(0, 0xFEE00000, 0x40);
	program(1, 0xFEE00000, 0x41);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, signaller,
						(void *)(uintptr_t)i), 0);
	for (i = 0; i < 2000; i++) {
		tbl_write(i & 1, MSIX_ENTRY_CTRL, i & 2 ? 1 : 0);
		ctrl_write(MSIX_CTRL_ENABLE | (i & 4 ? MSIX_CTRL_FMASK : 0));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ctrl_write(MSIX_CTRL_ENABLE);
	tbl_write(0, MSIX_ENTRY_CTRL, 0);
	tbl_write(1, MSIX_ENTRY_CTRL, 0);
	ck_assert_int_ge(fk.fired[0], 1);
	ck_assert_int_le(fk.fired[0], SIGNALS);
	ck_assert_int_ge(fk.fired[1], 1);
	ck_assert_uint_eq(pba_read(0), 0);
	/* Both got at least their last signal's interrupt after the unmask. */
	i = fk.fired[0];
	msix_signal(mx, 0);
	ck_assert_int_eq(fk.fired[0], (int)i + 1);
}
END_TEST

Suite *msix_suite(void)
{
	const TTest *const tests[] = {
		capability_layout, capability_write_mask, reset_state,
		table_reserved_bits, out_of_range_accesses, disabled_drops,
		linux_enable_sequence, vector_mask_pends, reroute_on_change,
		route_failure_pends, pci_reset_forgets, new_errors,
		concurrent_signals,
	};
	Suite *s = suite_create("msix");
	TCase *tc = tcase_create("msix");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

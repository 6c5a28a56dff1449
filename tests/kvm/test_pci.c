/*
 * The PCI bus under real port and MMIO exits: the pci payload probes the
 * host bridge through 0xCF8/0xCFC and ECAM, then sizes, uses and moves
 * the BARs of a device in slot 1.
 */
#include <check.h>
#include <string.h>

#include "devices/pci.h"
#include "tests/kvm/kvm_test.h"
#include "vmm/bus.h"
#include "vmm/layout.h"

_Static_assert(PL_PCI_CF8 == PORT_PCI_CF8, "payload.h: 0xCF8");
_Static_assert(PL_PCI_CFC == PORT_PCI_CF8 + 4, "payload.h: 0xCFC");
_Static_assert(PL_PCI_ECAM == LAYOUT_PCI_ECAM, "payload.h: ECAM");
_Static_assert(PL_PCI_WIN32 == LAYOUT_PCI_WIN32 &&
	       PL_PCI_WIN32 + PL_PCI_WIN32_LEN <= PL_MMIO_TEST,
	       "the test's window: in evmm's, short of the test device");

#define DEV_ID		0x1041
#define WIN64		(4ULL << 30)
#define WIN64_SIZE	(1ULL << 30)
#define BAR0_SIZE	0x2000
#define BAR2_SIZE	0x4000
#define ANSWER		0xB0000000u	/* BAR reads: this + offset */

static struct kt t;
static struct pci_bus *bus;
static struct pci_dev dev;
static struct {
	uint64_t offset, value;
	uint32_t len;
	int writes;
} last;

/* A vCPU thread writes, the test reads after the guest's next report. */
static void bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	uint64_t v = ANSWER + offset;

	(void)opaque;
	if (!is_write) {
		memcpy(data, &v, len);
		return;
	}
	v = 0;
	memcpy(&v, data, len);
	last.offset = offset;
	last.value = v;
	last.len = len;
	__atomic_add_fetch(&last.writes, 1, __ATOMIC_SEQ_CST);
}

/* kt's machine plus the bus, wired as vmm/machine.c does. */
static void pci_setup(void)
{
	uint64_t base, size;
	unsigned int i;
	void *w;

	bus = pci_bus_new(PL_PCI_WIN32, PL_PCI_WIN32_LEN, WIN64, WIN64_SIZE);
	ck_assert_ptr_nonnull(bus);
	pci_dev_init(&dev, 0x1AF4, DEV_ID, 0x020000, 0x1AF4, 1, 1);
	ck_assert_int_eq(pci_dev_add_bar(&dev, 0, BAR0_SIZE, 0, bar_io, NULL),
			 0);
	ck_assert_int_eq(pci_dev_add_bar(&dev, 2, BAR2_SIZE, PCI_BAR_MEM64 |
					 PCI_BAR_PREFETCH, bar_io, NULL), 0);
	ck_assert_int_eq(pci_bus_add(bus, 1, &dev), 1);
	ck_assert_int_eq(bus_register(&t.vm.pio, PORT_PCI_CF8, PCI_CF8_LEN,
				      pci_cf8_io, bus), 0);
	ck_assert_int_eq(bus_register(&t.vm.mmio, LAYOUT_PCI_ECAM,
				      LAYOUT_PCI_ECAM_SIZE, pci_ecam_io, bus),
			 0);
	for (i = 0; i < 2; i++) {
		w = pci_bus_window(bus, i, &base, &size);
		ck_assert_int_eq(bus_register(&t.vm.mmio, base, size,
					      pci_bar_io, w), 0);
	}
}

START_TEST(config_space_from_the_guest)
{
	kt_init(&t, 1);
	pci_setup();
	kt_load(&t, "pci");
	kt_set_real_mode(&t, 0, 0, PL_BASE, 0);
	kt_start(&t);
	ck_assert_uint_eq(kt_report(&t, 0), 0x0D578086);
	ck_assert_uint_eq(kt_report(&t, 1), 0x80000000);
	ck_assert_uint_eq(kt_report(&t, 2), 0x0D57);
	ck_assert_uint_eq(kt_report(&t, 3), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 4) >> 8, 0x060000);
	ck_assert_uint_eq(kt_report(&t, 5), 0x0D578086);
	ck_assert_uint_eq(kt_report(&t, 6), DEV_ID);
	ck_assert_uint_eq(kt_report(&t, 7), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 8), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 9), 0xFFFFFFFF);
	/* BAR0: first in the window; sized; answering; written. */
	ck_assert_uint_eq(kt_report(&t, 10), PL_PCI_WIN32);
	ck_assert_uint_eq(kt_report(&t, 11), (uint32_t)~(BAR0_SIZE - 1));
	ck_assert_uint_eq(kt_report(&t, 12), ANSWER + 0x10);
	/* BAR2: 64-bit and prefetchable, at 4 GiB. */
	ck_assert_uint_eq(kt_report(&t, 13), 0xC);
	ck_assert_int_eq(__atomic_load_n(&last.writes, __ATOMIC_SEQ_CST), 1);
	ck_assert_uint_eq(last.offset, 0x20);
	ck_assert_uint_eq(last.len, 4);
	ck_assert_uint_eq(last.value, 0xC0FFEE);
	ck_assert_uint_eq(kt_report(&t, 14), (uint32_t)~(BAR2_SIZE - 1) | 0xC);
	ck_assert_uint_eq(kt_report(&t, 15), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 16), 1);
	/* BAR0 moved: the old place is nobody's, the new one answers. */
	ck_assert_uint_eq(kt_report(&t, 17), 0xFFFFFFFF);
	ck_assert_uint_eq(kt_report(&t, 18), ANSWER + 0x10);
	ck_assert_uint_eq(kt_report(&t, 19), 0xFFFFFFFF);
	kt_expect_done(&t, 20);
	ck_assert_uint_eq(pci_dev_bar_addr(&dev, 0), PCI_ADDR_NONE);
	ck_assert_uint_eq(dev.cfg[PCI_BAR0 + 2], 0x01);	/* + 64 KiB */
	ck_assert_uint_eq(dev.cfg[PCI_BAR0 + 12], WIN64 >> 32);
	kt_finish(&t);
	pci_bus_free(bus);
}
END_TEST

Suite *kvm_pci_suite(void)
{
	Suite *s = suite_create("kvm_pci");
	TCase *tc = tcase_create("pci");

	tcase_add_test(tc, config_space_from_the_guest);
	tcase_set_timeout(tc, KT_TIMEOUT_S);
	suite_add_tcase(s, tc);
	return s;
}

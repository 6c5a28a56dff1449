/*
 * virtio-pci without KVM: a fake device type and fake VMM ops, guest RAM
 * in gmem, and a driver that probes the function as Linux's
 * virtio_pci_modern does (capabilities, reset, ACKNOWLEDGE, DRIVER,
 * features, FEATURES_OK, MSI-X, queues, DRIVER_OK), through the PCI bus's
 * ECAM and BAR handlers; then every hostile register write we know of.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define WIN32		0xC0000000ULL
#define WIN32_SIZE	0x20000000ULL
#define WIN64		0x800000000ULL
#define WIN64_SIZE	0x100000000ULL
#define SLOT		5
#define RAM_GPA		0x100000ULL
#define RAM_SIZE	0x100000ULL
#define NQ		3
#define QMAX		64
#define QSIZE		8
#define TYPE		42
#define DEV_FEATURE	(1ULL << 5)
#define MAX_BELLS	16

#define S_ACK		VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER	VIRTIO_CONFIG_S_DRIVER
#define S_FOK		VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK		VIRTIO_CONFIG_S_DRIVER_OK
#define S_RESET		VIRTIO_CONFIG_S_NEEDS_RESET
#define F_V1		(1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX	(1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT	(1ULL << VIRTIO_RING_F_INDIRECT_DESC)

/* Where each queue's rings and buffers go: 64 KiB per queue. */
#define Q_BASE(q)	(RAM_GPA + 0x10000 * ((q) + 1))
#define Q_DESC(q)	Q_BASE(q)
#define Q_AVAIL(q)	(Q_BASE(q) + 0x1000)
#define Q_USED(q)	(Q_BASE(q) + 0x2000)
#define Q_OUT(q)	(Q_BASE(q) + 0x3000)
#define Q_IN(q)		(Q_BASE(q) + 0x4000)

struct bell {
	int fd;
	uint64_t addr;
};

static struct {
	int kicks[NQ], popped[NQ], errors, resets;
	unsigned int slow_us;		/* each kick takes this long */
	bool looping;			/* slow_kicker goes on */
	int fired[NQ + 1], routes;
	struct bell bells[MAX_BELLS];
	unsigned int nbells;
	int bell_adds, bell_dels, fail_bells;
	uint8_t config[8];
	uint32_t wr_off, wr_len, writes;
} fk;

static struct pci_bus *bus;
static struct gmem *mem;
static uint8_t *ram;
static struct virtio_pci *vp;
static struct pci_dev *pd;

/* --- The fake device type and VMM ------------------------------------------ */

static void dev_config_read(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len)
{
	ck_assert_ptr_eq(dev, &fk);
	ck_assert_uint_le(off + len, sizeof(fk.config));
	memcpy(data, fk.config + off, len);
}

static void dev_config_write(void *dev, uint32_t off, const uint8_t *data,
			     uint32_t len)
{
	(void)dev;
	ck_assert_uint_le(off + len, sizeof(fk.config));
	memcpy(fk.config + off, data, len);
	fk.wr_off = off;
	fk.wr_len = len;
	fk.writes++;
}

/* Every chain comes back with all of its in bytes written. */
static void dev_kick(void *dev, struct virtio_pci *t, unsigned int q)
{
	static struct vq_elem e;
	struct vq *v = virtio_pci_vq(t, q);
	int ret;

	(void)dev;
	ck_assert_ptr_eq(t, vp);
	ck_assert_uint_lt(q, NQ);
	__atomic_add_fetch(&fk.kicks[q], 1, __ATOMIC_SEQ_CST);
	if (fk.slow_us)
		usleep(fk.slow_us);
	while ((ret = vq_pop(v, &e)) > 0) {
		fk.popped[q]++;
		vq_push(v, &e, e.in_len);
	}
	if (ret < 0) {
		fk.errors++;
		virtio_pci_queue_error(vp, q);
	}
	virtio_pci_notify(vp, q);
}

static void dev_reset(void *dev)
{
	(void)dev;
	fk.resets++;
}

static const struct virtio_dev_ops dev_ops = {
	.type = TYPE, .class_code = 0x018000, .features = DEV_FEATURE,
	.config_len = sizeof(fk.config), .config_read = dev_config_read,
	.config_write = dev_config_write, .kick = dev_kick, .reset = dev_reset,
};

static void vmm_fire(void *opaque, unsigned int v)
{
	(void)opaque;
	ck_assert_uint_le(v, NQ);
	fk.fired[v]++;
}

static int vmm_route(void *opaque, unsigned int v, uint64_t addr,
		     uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	ck_assert_uint_le(v, NQ);
	fk.routes++;
	return 0;
}

static int find_bell(int fd, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < fk.nbells; i++)
		if (fk.bells[i].fd == fd && fk.bells[i].addr == addr)
			return i;
	return -1;
}

/* As KVM would: the same doorbell twice is refused, so is dropping none. */
static int vmm_ioeventfd(void *opaque, int fd, uint64_t addr, bool add)
{
	int i = find_bell(fd, addr);

	(void)opaque;
	if (!add) {
		ck_assert_msg(i >= 0, "dropping a doorbell never added");
		fk.bells[i] = fk.bells[--fk.nbells];
		fk.bell_dels++;
		return 0;
	}
	ck_assert_msg(i < 0, "the same doorbell twice");
	if (fk.fail_bells)
		return -ENOSPC;
	ck_assert_uint_lt(fk.nbells, MAX_BELLS);
	fk.bells[fk.nbells++] = (struct bell){ fd, addr };
	fk.bell_adds++;
	return 0;
}

static const struct virtio_pci_ops vmm_ops = {
	.msix = { vmm_fire, vmm_route },
	.ioeventfd = vmm_ioeventfd,
};

static struct virtio_pci_config good_config(void)
{
	return (struct virtio_pci_config){
		.dev_ops = &dev_ops, .dev = &fk, .ops = &vmm_ops,
		.opaque = &fk, .mem = mem, .num_queues = NQ,
		.queue_size = QMAX,
	};
}

static void setup(void)
{
	struct virtio_pci_config c;

	memset(&fk, 0, sizeof(fk));
	memcpy(fk.config, "evmmcfg!", 8);
	ram = aligned_alloc(4096, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, RAM_SIZE);
	mem = gmem_new();
	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(gmem_add(mem, RAM_GPA, RAM_SIZE, ram), 0);
	bus = pci_bus_new(WIN32, WIN32_SIZE, WIN64, WIN64_SIZE);
	ck_assert_ptr_nonnull(bus);
	c = good_config();
	ck_assert_int_eq(virtio_pci_new(&vp, &c), 0);
	pd = virtio_pci_dev(vp);
	ck_assert_int_eq(pci_bus_add(bus, SLOT, pd), SLOT);
}

static void teardown(void)
{
	pci_bus_remove(bus, pd);
	ck_assert_uint_eq(fk.nbells, 0);
	virtio_pci_free(vp);
	pci_bus_free(bus);
	gmem_free(mem);
	free(ram);
}

/* --- The driver's accesses ------------------------------------------------- */

static uint64_t get_le(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | p[len];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

static uint32_t cfg_rd(unsigned int off, uint32_t len)
{
	uint8_t d[4] = { 0 };

	pci_ecam_io(bus, SLOT << 15 | off, d, len, false);
	return get_le(d, len);
}

static void cfg_wr(unsigned int off, uint32_t v, uint32_t len)
{
	uint8_t d[4];

	put_le(d, v, len);
	pci_ecam_io(bus, SLOT << 15 | off, d, len, true);
}

/* Through the bus: the window that holds BAR0 now. */
static void bar_access(uint64_t off, uint8_t *d, uint32_t len, bool wr)
{
	uint64_t bar = pci_dev_bar_addr(pd, 0), base, size;
	void *w;

	ck_assert_uint_ne(bar, PCI_ADDR_NONE);
	w = pci_bus_window(bus, bar >= WIN64, &base, &size);
	pci_bar_io(w, bar + off - base, d, len, wr);
}

static uint64_t bar_rd(uint64_t off, uint32_t len)
{
	uint8_t d[8] = { 0 };

	bar_access(off, d, len, false);
	return get_le(d, len);
}

static void bar_wr(uint64_t off, uint64_t v, uint32_t len)
{
	uint8_t d[8];

	put_le(d, v, len);
	bar_access(off, d, len, true);
}

static uint8_t status(void)
{
	return bar_rd(VIRTIO_PCI_COMMON_STATUS, 1);
}

static void set_status(uint8_t s)
{
	bar_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
}

static void add_status(uint8_t s)
{
	set_status(status() | s);
}

static void select_queue(unsigned int q)
{
	bar_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
}

static uint64_t device_features(void)
{
	uint64_t f;

	bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = bar_rd(VIRTIO_PCI_COMMON_DF, 4);

	bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return f | bar_rd(VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void driver_features(uint64_t f)
{
	bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	bar_wr(VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar_wr(VIRTIO_PCI_COMMON_GF, f >> 32, 4);
}

/* A capability by walking the list, as a driver does. */
static unsigned int find_cap(uint8_t id, int vendor_type)
{
	unsigned int off = cfg_rd(PCI_CAP_PTR, 1);

	while (off) {
		if (cfg_rd(off, 1) == id &&
		    (vendor_type < 0 || cfg_rd(off + 3, 1) == (uint32_t)vendor_type))
			return off;
		off = cfg_rd(off + 1, 1);
	}
	return 0;
}

static unsigned int msix_cap_offset_of(void)
{
	return find_cap(MSIX_CAP_ID, -1);
}

/* MSI-X on with every vector programmed and unmasked, as Linux does. */
static void enable_msix(void)
{
	unsigned int cap = msix_cap_offset_of(), v;

	cfg_wr(cap + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK, 2);
	for (v = 0; v <= NQ; v++) {
		bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v, 0xFEE00000, 4);
		bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v + 4, 0, 4);
		bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v + 8, 0x40 + v, 4);
		bar_wr(VIRTIO_PCI_MSIX_OFF + 16 * v + 12, 0, 4);
	}
	cfg_wr(cap + 2, MSIX_CTRL_ENABLE, 2);
}

/* Linux's setup_vq: size, vector, the three rings in 32-bit halves. */
static void setup_queue(unsigned int q, uint16_t size)
{
	select_queue(q);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
	bar_wr(VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
	bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), q + 1);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)Q_DESC(q), 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCHI, Q_DESC(q) >> 32, 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)Q_AVAIL(q), 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, Q_AVAIL(q) >> 32, 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)Q_USED(q), 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_USEDHI, Q_USED(q) >> 32, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), q);
}

static void enable_queue(unsigned int q)
{
	select_queue(q);
	bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

static uint64_t kick_count(unsigned int q)
{
	uint64_t n = 0;

	if (read(virtio_pci_kick_fd(vp, q), &n, sizeof(n)) < 0)
		ck_assert_int_eq(errno, EAGAIN);
	return n;
}

/* Reset, ACKNOWLEDGE, DRIVER, features: up to FEATURES_OK. */
static void probe_features(uint64_t f)
{
	set_status(0);
	ck_assert_uint_eq(status(), 0);
	add_status(S_ACK);
	add_status(S_DRIVER);
	driver_features(f);
	add_status(S_FOK);
}

/* The whole probe; every queue up, DRIVER_OK. */
static void probe(void)
{
	unsigned int q;

	probe_features(device_features() & ~DEV_FEATURE);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK);
	enable_msix();
	bar_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);
	for (q = 0; q < NQ; q++) {
		setup_queue(q, QSIZE);
		enable_queue(q);
	}
	add_status(S_DOK);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK | S_DOK);
	/* DRIVER_OK looked at every queue once. */
	for (q = 0; q < NQ; q++)
		ck_assert_uint_eq(kick_count(q), 1);
}

static uint16_t ram16(uint64_t gpa)
{
	return get_le(ram + gpa - RAM_GPA, 2);
}

static void ram_put(uint64_t gpa, uint64_t v, uint32_t len)
{
	put_le(ram + gpa - RAM_GPA, v, len);
}

/* One chain: 16 bytes out, 32 in; made available. */
static void post_chain(unsigned int q)
{
	uint16_t idx = ram16(Q_AVAIL(q) + 2);

	ram_put(Q_DESC(q), Q_OUT(q), 8);
	ram_put(Q_DESC(q) + 8, 16, 4);
	ram_put(Q_DESC(q) + 12, VRING_DESC_F_NEXT, 2);
	ram_put(Q_DESC(q) + 14, 1, 2);
	ram_put(Q_DESC(q) + 16, Q_IN(q), 8);
	ram_put(Q_DESC(q) + 24, 32, 4);
	ram_put(Q_DESC(q) + 28, VRING_DESC_F_WRITE, 2);
	ram_put(Q_AVAIL(q) + 4 + 2 * (idx % QSIZE), 0, 2);
	ram_put(Q_AVAIL(q) + 2, idx + 1, 2);
}


static uint64_t bar_addr(void)
{
	return pci_dev_bar_addr(pd, 0);
}

static uint64_t bell_addr(unsigned int q)
{
	return bar_addr() + VIRTIO_PCI_NOTIFY_OFF + 4 * q;
}

/* --- Tests ------------------------------------------------------------------ */

START_TEST(identity)
{
	ck_assert_uint_eq(cfg_rd(PCI_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	ck_assert_uint_eq(cfg_rd(PCI_DEVICE_ID, 2), 0x1040 + TYPE);
	ck_assert_uint_eq(cfg_rd(0x08, 4), 0x01800001);
	ck_assert_uint_eq(cfg_rd(PCI_SUBSYS_VENDOR, 2), VIRTIO_PCI_VENDOR);
	ck_assert_uint_eq(cfg_rd(PCI_SUBSYS_ID, 2), VIRTIO_PCI_SUBSYS);
	/* BAR0: 64-bit, 32 KiB, in the 64-bit window. */
	ck_assert_uint_eq(cfg_rd(PCI_BAR0, 4) & 0xF, 0x4);
	ck_assert_uint_ge(bar_addr(), WIN64);
	cfg_wr(PCI_BAR0, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(cfg_rd(PCI_BAR0, 4), 0xFFFF8004);
	cfg_wr(PCI_BAR0, (uint32_t)WIN64, 4);
	ck_assert_uint_eq(virtio_pci_num_queues(vp), NQ);
}
END_TEST

/* The five vendor capabilities as Linux reads them, and MSI-X. */
START_TEST(capabilities)
{
	static const struct { int type; uint32_t off, len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, 0x0000, 0x38 },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, 0x3000, 4 * NQ },
		{ VIRTIO_PCI_CAP_ISR_CFG, 0x1000, 1 },
		{ VIRTIO_PCI_CAP_DEVICE_CFG, 0x2000, 8 },
		{ VIRTIO_PCI_CAP_PCI_CFG, 0, 0 },
	};
	unsigned int i, c;

	ck_assert_uint_eq(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
			  PCI_STATUS_CAP_LIST);
	for (i = 0; i < 5; i++) {
		c = find_cap(0x09, want[i].type);
		ck_assert_msg(c, "no capability of type %d", want[i].type);
		ck_assert_uint_eq(cfg_rd(c + 2, 1), i == 1 || i == 4 ? 20 : 16);
		ck_assert_uint_eq(cfg_rd(c + 4, 1), 0);
		ck_assert_uint_eq(cfg_rd(c + 8, 4), want[i].off);
		ck_assert_uint_eq(cfg_rd(c + 12, 4), want[i].len);
	}
	c = find_cap(0x09, VIRTIO_PCI_CAP_NOTIFY_CFG);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 4);
	/* Read-only, except the PCI-cfg window's fields. */
	cfg_wr(c + 8, 0, 4);
	ck_assert_uint_eq(cfg_rd(c + 8, 4), 0x3000);
	c = find_cap(MSIX_CAP_ID, -1);
	ck_assert_uint_eq(cfg_rd(c + 2, 2), NQ);	/* NQ + 1 vectors */
	ck_assert_uint_eq(cfg_rd(c + 4, 4), 0x4000);
	ck_assert_uint_eq(cfg_rd(c + 8, 4), 0x5000);
}
END_TEST

/* Linux's probe end to end: features, vectors, queues, doorbells. */
START_TEST(linux_probe)
{
	unsigned int q;

	ck_assert_uint_eq(device_features(),
			  DEV_FEATURE | F_V1 | F_EVENT_IDX | F_INDIRECT);
	probe();
	ck_assert_uint_eq(virtio_pci_features(vp), F_V1 | F_EVENT_IDX |
			  F_INDIRECT);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	ck_assert_uint_eq(fk.nbells, NQ);
	for (q = 0; q < NQ; q++) {
		select_queue(q);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8),
				  Q_DESC(q));
		ck_assert_int_ge(find_bell(virtio_pci_kick_fd(vp, q),
					   bell_addr(q)), 0);
	}
	ck_assert_int_eq(fk.routes, NQ + 1);
	ck_assert_int_eq(fk.resets, 1);
}
END_TEST

/* A kick the slow way, the device thread's work, and the interrupt. */
START_TEST(kick_round_trip)
{
	probe();
	post_chain(1);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 4, 1, 2);
	ck_assert_uint_eq(kick_count(1), 1);
	virtio_pci_kick(vp, 1);
	ck_assert_int_eq(fk.popped[1], 1);
	ck_assert_uint_eq(ram16(Q_USED(1) + 2), 1);
	ck_assert_uint_eq(get_le(ram + Q_USED(1) + 8 - RAM_GPA, 4), 32);
	ck_assert_int_eq(fk.fired[2], 1);
	ck_assert_int_eq(fk.fired[1] + fk.fired[0] + fk.fired[3], 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 1);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	/* Out of range queues and misaligned notifies kick nothing. */
	virtio_pci_kick(vp, NQ);
	ck_assert_ptr_null(virtio_pci_vq(vp, NQ));
	ck_assert_int_eq(virtio_pci_kick_fd(vp, NQ), -1);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 4 * NQ, 0, 2);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 2, 0, 2);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 0xFFC, 0, 4);
	for (unsigned int q = 0; q < NQ; q++)
		ck_assert_uint_eq(kick_count(q), 0);
	/* A queue with no vector: no interrupt, the ISR bit only. */
	select_queue(2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 3);
	bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_PCI_NO_VECTOR, 2);
	post_chain(2);
	virtio_pci_kick(vp, 2);
	ck_assert_int_eq(fk.popped[2], 1);
	ck_assert_int_eq(fk.fired[3], 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 1);
}
END_TEST

/* Nothing runs before DRIVER_OK; DRIVER_OK looks at every queue. */
START_TEST(nothing_before_driver_ok)
{
	unsigned int q;

	probe_features(F_V1);
	for (q = 0; q < NQ; q++) {
		setup_queue(q, QSIZE);
		enable_queue(q);
	}
	post_chain(0);
	virtio_pci_kick(vp, 0);
	ck_assert_int_eq(fk.kicks[0], 0);
	add_status(S_DOK);
	for (q = 0; q < NQ; q++)
		ck_assert_uint_eq(kick_count(q), 1);
	virtio_pci_kick(vp, 0);
	ck_assert_int_eq(fk.popped[0], 1);
	/* MSI-X off: the interrupt is lost, the ISR says so. */
	ck_assert_int_eq(fk.fired[1], 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 1);
}
END_TEST

/* Status 0: everything back, doorbells gone, the type told. */
START_TEST(driver_reset)
{
	unsigned int q;

	probe();
	bar_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
	set_status(0);
	ck_assert_uint_eq(status(), 0);
	ck_assert_int_eq(fk.resets, 2);
	ck_assert_uint_eq(fk.nbells, 0);
	ck_assert_int_eq(fk.bell_dels, NQ);
	ck_assert_uint_eq(virtio_pci_features(vp), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2),
			  VIRTIO_PCI_NO_VECTOR);
	bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
	for (q = 0; q < NQ; q++) {
		select_queue(q);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2),
				  VIRTIO_PCI_NO_VECTOR);
		ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_USEDLO, 8), 0);
	}
	/* MSI-X is PCI's: a driver reset keeps it. */
	ck_assert_uint_eq(cfg_rd(msix_cap_offset_of() + 2, 2) &
			  MSIX_CTRL_ENABLE, MSIX_CTRL_ENABLE);
	/* And the device comes up again. */
	probe();
	ck_assert_uint_eq(fk.nbells, NQ);
}
END_TEST

START_TEST(feature_negotiation)
{
	/* A bit the device does not offer: FEATURES_OK does not stick. */
	probe_features(F_V1 | 1ULL << 40);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER);
	/* No VERSION_1: legacy drivers are not served. */
	probe_features(DEV_FEATURE);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER);
	/* DRIVER_OK without FEATURES_OK is refused too. */
	add_status(S_DOK);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER);
	/* The driver cannot claim the device needs a reset. */
	add_status(S_RESET);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER);
	/* Selects past 1: features read 0, writes go nowhere. */
	bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 2, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 0xFFFFFFFF);
	bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 7, 4);
	bar_wr(VIRTIO_PCI_COMMON_GF, 0xFFFFFFFF, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
	/* Good features; then they are fixed. */
	probe_features(F_V1 | DEV_FEATURE);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK);
	driver_features(F_V1);
	ck_assert_uint_eq(virtio_pci_features(vp), F_V1 | DEV_FEATURE);
	/* The device's features are read-only. */
	bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	bar_wr(VIRTIO_PCI_COMMON_DF, 0, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_DF, 4), DEV_FEATURE |
			  F_EVENT_IDX | F_INDIRECT);
	/* Bits once set stay set; FAILED is the driver's to set. */
	set_status(S_ACK);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK);
	add_status(VIRTIO_CONFIG_S_FAILED);
	ck_assert_uint_eq(status() & VIRTIO_CONFIG_S_FAILED,
			  VIRTIO_CONFIG_S_FAILED);
}
END_TEST

/* Enabling a queue that cannot work: disabled, DEVICE_NEEDS_RESET. */
static void expect_enable_fails(void)
{
	set_status(0);
	probe_features(F_V1);
	enable_queue(0);
	select_queue(0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	ck_assert_uint_eq(status() & S_RESET, S_RESET);
	ck_assert_uint_eq(fk.nbells, 0);
}

static void setup_queue0(uint16_t size, uint64_t desc, uint64_t avail,
			 uint64_t used)
{
	select_queue(0);
	bar_wr(VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, desc, 8);
	bar_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, avail, 8);
	bar_wr(VIRTIO_PCI_COMMON_Q_USEDLO, used, 8);
}

static void hostile_enable(uint16_t size, uint64_t desc, uint64_t avail,
			   uint64_t used)
{
	set_status(0);
	probe_features(F_V1);
	setup_queue0(size, desc, avail, used);
	enable_queue(0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	ck_assert_uint_eq(status() & S_RESET, S_RESET);
	ck_assert_uint_eq(fk.nbells, 0);
}

START_TEST(hostile_queue_sizes_and_rings)
{
	/* Sizes: not a power of two, 0, over the device's maximum. */
	hostile_enable(6, Q_DESC(0), Q_AVAIL(0), Q_USED(0));
	hostile_enable(0, Q_DESC(0), Q_AVAIL(0), Q_USED(0));
	hostile_enable(QMAX * 2, Q_DESC(0), Q_AVAIL(0), Q_USED(0));
	hostile_enable(0xFFFF, Q_DESC(0), Q_AVAIL(0), Q_USED(0));
	/* Rings outside RAM, across its end, at 2^64, misaligned. */
	hostile_enable(QSIZE, 0, Q_AVAIL(0), Q_USED(0));
	hostile_enable(QSIZE, Q_DESC(0), RAM_GPA + RAM_SIZE - 4, Q_USED(0));
	hostile_enable(QSIZE, Q_DESC(0), Q_AVAIL(0), UINT64_MAX - 3);
	hostile_enable(QSIZE, Q_DESC(0) + 8, Q_AVAIL(0), Q_USED(0));
	hostile_enable(QSIZE, Q_DESC(0), Q_AVAIL(0) + 1, Q_USED(0));
	hostile_enable(QSIZE, Q_DESC(0), Q_AVAIL(0), Q_USED(0) + 2);
	expect_enable_fails();	/* all zero: the reset's addresses */
	/* NEEDS_RESET is cleared by the reset, and a good queue works. */
	set_status(0);
	ck_assert_uint_eq(status(), 0);
	probe();
}
END_TEST

START_TEST(hostile_queue_select)
{
	probe_features(F_V1);
	select_queue(NQ);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), NQ);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	bar_wr(VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, Q_DESC(0), 8);
	bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	select_queue(0xFFFF);
	bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK);
	ck_assert_uint_eq(fk.nbells, 0);
}
END_TEST

/* Queue setup before FEATURES_OK, after enable, after DRIVER_OK. */
START_TEST(hostile_setup_order)
{
	set_status(0);
	add_status(S_ACK | S_DRIVER);
	setup_queue(0, QSIZE);
	enable_queue(0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	ck_assert_uint_eq(fk.nbells, 0);
	probe();
	/* After DRIVER_OK: no new features, no queue changes. */
	driver_features(0);
	ck_assert_uint_eq(virtio_pci_features(vp), F_V1 | F_EVENT_IDX |
			  F_INDIRECT);
	select_queue(0);
	bar_wr(VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, Q_DESC(1), 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_USEDHI, 1, 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 0, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), Q_DESC(0));
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_USEDLO, 8), Q_USED(0));
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	/* Still working. */
	post_chain(0);
	virtio_pci_kick(vp, 0);
	ck_assert_int_eq(fk.popped[0], 1);
	/* A vector may change (Linux does at teardown). */
	bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 3, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 3);
}
END_TEST

/* A vector the table lacks reads back NO_VECTOR, as Linux checks. */
START_TEST(hostile_vectors)
{
	probe_features(F_V1);
	bar_wr(VIRTIO_PCI_COMMON_MSIX, NQ + 1, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2),
			  VIRTIO_PCI_NO_VECTOR);
	bar_wr(VIRTIO_PCI_COMMON_MSIX, NQ, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2), NQ);
	select_queue(1);
	bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 0x8000, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2),
			  VIRTIO_PCI_NO_VECTOR);
	bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 0);
}
END_TEST

/* Writes only at a field's offset and width; reads of any shape. */
START_TEST(odd_accesses)
{
	uint8_t d[8];

	probe_features(F_V1);
	/* 2 bytes into a 4-byte field, 4 bytes at an odd place. */
	bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
	bar_wr(VIRTIO_PCI_COMMON_DFSELECT + 1, 0x0100, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
	/* Status as a word write: dropped. */
	bar_wr(VIRTIO_PCI_COMMON_STATUS, 0, 2);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK);
	/* Ring halves at odd offsets and widths. */
	select_queue(0);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO + 2, 0xFFFF, 4);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 0xFFFF, 8);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x1234, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	bar_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 0xAB, 4);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0xAB00000000ULL);
	/* Reads: a qword of two fields, bytes past the structure. */
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_MSIX, 8) >> 16 & 0xFFFF, NQ);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_LEN, 8), 0);
	ck_assert_uint_eq(bar_rd(0xFFC, 4), 0);
	/* Crossing regions, past the BAR, unused regions: nothing. */
	ck_assert_uint_eq(bar_rd(0xFFC, 8), 0);
	ck_assert_uint_eq(bar_rd(0x6000, 4), 0);
	ck_assert_uint_eq(bar_rd(0x7FF8, 8), 0);
	bar_wr(0x6000, ~0ULL, 8);
	memset(d, 0xAA, sizeof(d));
	virtio_pci_bar_io(vp, VIRTIO_PCI_BAR_SIZE, d, 4, false);
	ck_assert_uint_eq(get_le(d, 4), 0);
	virtio_pci_bar_io(vp, UINT64_MAX, d, 4, false);
	virtio_pci_bar_io(vp, 0, d, 0, false);
	virtio_pci_bar_io(vp, 0, d, 9, true);
	d[0] = S_ACK;
	virtio_pci_bar_io(vp, VIRTIO_PCI_COMMON_STATUS, d, 1, true);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK);
	/* Read-only fields. */
	bar_wr(VIRTIO_PCI_COMMON_NUMQ, 9, 2);
	bar_wr(VIRTIO_PCI_COMMON_CFGGENERATION, 9, 1);
	bar_wr(VIRTIO_PCI_COMMON_Q_NOFF, 9, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	/* ISR: only its first byte, writes ignored. */
	virtio_pci_config_changed(vp);
	bar_wr(VIRTIO_PCI_ISR_OFF, 0, 1);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF + 1, 1), 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 4), 0);
}
END_TEST

START_TEST(device_config)
{
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVICE_OFF, 8), 0x216766636D6D7665ULL);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVICE_OFF + 6, 4), 0x2167);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVICE_OFF + 8, 4), 0);
	bar_wr(VIRTIO_PCI_DEVICE_OFF + 2, 0x4242, 2);
	ck_assert_uint_eq(fk.writes, 1);
	ck_assert_uint_eq(fk.wr_off, 2);
	ck_assert_uint_eq(fk.wr_len, 2);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_DEVICE_OFF + 2, 2), 0x4242);
	/* A write partly past the end: dropped whole. */
	bar_wr(VIRTIO_PCI_DEVICE_OFF + 6, 0, 4);
	bar_wr(VIRTIO_PCI_DEVICE_OFF + 8, 0, 4);
	ck_assert_uint_eq(fk.writes, 1);
	/* A change: the generation moves, an interrupt only with DRIVER_OK. */
	virtio_pci_config_changed(vp);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1);
	ck_assert_int_eq(fk.fired[0], 0);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	probe();
	virtio_pci_config_changed(vp);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 2);
	ck_assert_int_eq(fk.fired[0], 1);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 2);
}
END_TEST

/* A ring the guest breaks: DEVICE_NEEDS_RESET and a config interrupt. */
START_TEST(broken_ring)
{
	probe();
	ram_put(Q_AVAIL(0) + 2, QSIZE + 1, 2);	/* idx jumps past the size */
	virtio_pci_kick(vp, 0);
	ck_assert_int_eq(fk.errors, 1);
	ck_assert_uint_eq(status() & S_RESET, S_RESET);
	ck_assert_int_eq(fk.fired[0], 1);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_ISR_OFF, 1), 2);
	/* Once only; other queues still work. */
	virtio_pci_kick(vp, 0);
	ck_assert_int_eq(fk.fired[0], 1);
	post_chain(1);
	virtio_pci_kick(vp, 1);
	ck_assert_int_eq(fk.popped[1], 1);
	virtio_pci_queue_error(vp, NQ);
	/* The driver's reset brings it back. */
	probe();
	ck_assert_uint_eq(status() & S_RESET, 0);
	ram_put(Q_AVAIL(0) + 2, 0, 2);
	ram_put(Q_USED(0) + 2, 0, 2);
	post_chain(0);
	virtio_pci_kick(vp, 0);
	ck_assert_int_eq(fk.popped[0], 1);
}
END_TEST

/* Doorbells follow BAR0; memory decoding off drops them. */
START_TEST(bar_moves)
{
	uint64_t old, new;
	unsigned int q;

	probe();
	old = bar_addr();
	new = old + 0x100000;
	cfg_wr(PCI_BAR0, (uint32_t)new | 4, 4);
	cfg_wr(PCI_BAR0 + 4, new >> 32, 4);
	ck_assert_uint_eq(bar_addr(), new);
	ck_assert_uint_eq(fk.nbells, NQ);
	for (q = 0; q < NQ; q++)
		ck_assert_int_ge(find_bell(virtio_pci_kick_fd(vp, q),
					   new + 0x3000 + 4 * q), 0);
	/* Into the 32-bit window. */
	cfg_wr(PCI_BAR0 + 4, 0, 4);
	cfg_wr(PCI_BAR0, (uint32_t)WIN32 + 0x8000, 4);
	ck_assert_uint_eq(bar_addr(), WIN32 + 0x8000);
	ck_assert_int_ge(find_bell(virtio_pci_kick_fd(vp, 2),
				   WIN32 + 0xB008), 0);
	ck_assert_uint_eq(status(), S_ACK | S_DRIVER | S_FOK | S_DOK);
	/* Decoding off: no doorbell anywhere; on: back. */
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	ck_assert_uint_eq(fk.nbells, 0);
	cfg_wr(PCI_COMMAND, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 2);
	ck_assert_uint_eq(fk.nbells, NQ);
	/* KVM refusing: the slow way still kicks. */
	fk.fail_bells = 1;
	cfg_wr(PCI_BAR0, (uint32_t)WIN32 + 0x10000, 4);
	ck_assert_uint_eq(fk.nbells, 0);
	bar_wr(VIRTIO_PCI_NOTIFY_OFF + 8, 2, 2);
	ck_assert_uint_eq(kick_count(2), 1);
	/* A queue enabled while KVM refuses has no doorbell to drop later. */
	set_status(0);
	probe();
	ck_assert_uint_eq(fk.nbells, 0);
	fk.fail_bells = 0;
}
END_TEST

/* A reboot's PCI reset: the device, its doorbells and MSI-X, all reset. */
START_TEST(pci_reset)
{
	uint64_t assigned;

	assigned = bar_addr();
	probe();
	cfg_wr(PCI_BAR0, (uint32_t)WIN32, 4);
	cfg_wr(PCI_BAR0 + 4, 0, 4);
	pci_bus_reset(bus);
	ck_assert_uint_eq(bar_addr(), assigned);
	ck_assert_uint_eq(status(), 0);
	ck_assert_uint_eq(fk.nbells, 0);
	ck_assert_int_eq(fk.resets, 2);
	ck_assert_uint_eq(cfg_rd(msix_cap_offset_of() + 2, 2), NQ);
	ck_assert_uint_eq(bar_rd(VIRTIO_PCI_MSIX_OFF + 12, 4), 1);
	/* Up again, routes made again. */
	probe();
	ck_assert_int_eq(fk.routes, 2 * (NQ + 1));
	ck_assert_uint_eq(fk.nbells, NQ);
}
END_TEST

/* The PCI-cfg capability: BAR0 through configuration space. */
START_TEST(pci_cfg_window)
{
	unsigned int c = find_cap(0x09, VIRTIO_PCI_CAP_PCI_CFG);

	ck_assert_uint_ne(c, 0);
	cfg_wr(c + 4, 0, 1);
	cfg_wr(c + 8, VIRTIO_PCI_COMMON_NUMQ, 4);
	cfg_wr(c + 12, 2, 4);
	ck_assert_uint_eq(cfg_rd(c + 16, 4) & 0xFFFF, NQ);
	ck_assert_uint_eq(cfg_rd(c + 16, 2), NQ);
	ck_assert_uint_eq(cfg_rd(c + 17, 1), 0);
	/* Status, one byte. */
	cfg_wr(c + 8, VIRTIO_PCI_COMMON_STATUS, 4);
	cfg_wr(c + 12, 1, 4);
	cfg_wr(c + 16, S_ACK, 1);
	ck_assert_uint_eq(status(), S_ACK);
	ck_assert_uint_eq(cfg_rd(c + 16, 1), S_ACK);
	/* The device configuration, a dword. */
	cfg_wr(c + 8, VIRTIO_PCI_DEVICE_OFF, 4);
	cfg_wr(c + 12, 4, 4);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x6D6D7665);
	/* Bad windows do nothing: the data field reads what was written. */
	cfg_wr(c + 12, 3, 4);
	cfg_wr(c + 16, 0x11223344, 4);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x11223344);
	ck_assert_uint_eq(fk.writes, 0);
	cfg_wr(c + 12, 4, 4);
	cfg_wr(c + 8, VIRTIO_PCI_DEVICE_OFF + 2, 4);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x11223344);
	cfg_wr(c + 8, VIRTIO_PCI_BAR_SIZE, 4);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x11223344);
	cfg_wr(c + 8, 0xFFFFFFFC, 4);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x11223344);
	cfg_wr(c + 8, VIRTIO_PCI_DEVICE_OFF, 4);
	cfg_wr(c + 4, 1, 1);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x11223344);
	/* Read-only parts of the capability stay so. */
	cfg_wr(c + 3, 0, 1);
	cfg_wr(c + 5, 0xFF, 1);
	ck_assert_uint_eq(cfg_rd(c + 3, 1), VIRTIO_PCI_CAP_PCI_CFG);
	ck_assert_uint_eq(cfg_rd(c + 5, 1), 0);
	/* And it works with memory decoding off, its point. */
	ck_assert_uint_eq(fk.writes, 0);
	cfg_wr(c + 4, 0, 1);
	cfg_wr(PCI_COMMAND, 0, 2);
	ck_assert_uint_eq(cfg_rd(c + 16, 4), 0x6D6D7665);
	/* A write through it. */
	cfg_wr(c + 12, 2, 4);
	cfg_wr(c + 16, 0x5A5A, 2);
	ck_assert_uint_eq(fk.writes, 1);
	ck_assert_uint_eq(fk.config[1], 0x5A);
}
END_TEST

START_TEST(new_errors)
{
	static const struct virtio_dev_ops no_kick = {
		.config_len = 4, .config_read = dev_config_read,
		.reset = dev_reset,
	};
	static struct virtio_dev_ops big;
	static const struct virtio_pci_ops no_bell = {
		.msix = { vmm_fire, vmm_route },
	};
	struct virtio_pci_config c;
	struct virtio_pci *t = vp;

	c = good_config();
	c.num_queues = 0;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	ck_assert_ptr_null(t);
	c.num_queues = VIRTIO_PCI_MAX_QUEUES + 1;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c = good_config();
	c.queue_size = 48;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c.queue_size = 0;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c.queue_size = VQ_MAX_SIZE * 2;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c = good_config();
	c.dev_ops = &no_kick;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	big = dev_ops;
	big.config_len = VIRTIO_PCI_DEVICE_MAX + 1;
	c.dev_ops = &big;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	big.config_len = 0;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c = good_config();
	c.ops = &no_bell;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c = good_config();
	c.mem = NULL;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	c.dev_ops = NULL;
	ck_assert_int_eq(virtio_pci_new(&t, &c), -EINVAL);
	/* The largest: 255 queues, 256 vectors, a full device config. */
	c = good_config();
	c.num_queues = VIRTIO_PCI_MAX_QUEUES;
	c.queue_size = VQ_MAX_SIZE;
	big = dev_ops;
	big.config_len = VIRTIO_PCI_DEVICE_MAX;
	c.dev_ops = &big;
	ck_assert_int_eq(virtio_pci_new(&t, &c), 0);
	ck_assert_uint_eq(virtio_pci_num_queues(t), VIRTIO_PCI_MAX_QUEUES);
	virtio_pci_free(t);
	virtio_pci_free(NULL);
}
END_TEST

static void *kicker(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < 20000; i++)
		virtio_pci_kick(vp, i % NQ);
	return NULL;
}

/* The device thread kicking while the driver resets and probes. */
START_TEST(kicks_race_resets)
{
	pthread_t th;
	unsigned int i;

	probe();
	ck_assert_int_eq(pthread_create(&th, NULL, kicker, NULL), 0);
	for (i = 0; i < 50; i++) {
		set_status(0);
		probe();
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(fk.nbells, NQ);
}
END_TEST

static void *slow_kicker(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&fk.looping, __ATOMIC_SEQ_CST))
		virtio_pci_kick(vp, 0);
	return NULL;
}

/*
 * A device thread that kicks again the moment a kick ends (as one that
 * hit its budget does): a reset waiting for the kick gets the queues
 * before the next one, else it could wait for as long as the guest keeps
 * the device busy.
 */
START_TEST(reset_before_next_kick)
{
	pthread_t th;
	int kicks;

	probe();
	fk.slow_us = 200 * 1000;
	fk.looping = true;
	ck_assert_int_eq(pthread_create(&th, NULL, slow_kicker, NULL), 0);
	while (!__atomic_load_n(&fk.kicks[0], __ATOMIC_SEQ_CST))
		usleep(1000);
	set_status(0);
	kicks = __atomic_load_n(&fk.kicks[0], __ATOMIC_SEQ_CST);
	__atomic_store_n(&fk.looping, false, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	ck_assert_int_eq(kicks, 1);
	ck_assert_uint_eq(status(), 0);
}
END_TEST

Suite *virtio_pci_suite(void)
{
	const TTest *const tests[] = {
		identity, capabilities, linux_probe, kick_round_trip,
		nothing_before_driver_ok, driver_reset, feature_negotiation,
		hostile_queue_sizes_and_rings, hostile_queue_select,
		hostile_setup_order, hostile_vectors, odd_accesses,
		device_config, broken_ring, bar_moves, pci_reset,
		pci_cfg_window, new_errors, kicks_race_resets,
		reset_before_next_kick,
	};
	Suite *s = suite_create("virtio_pci");
	TCase *tc = tcase_create("virtio_pci");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

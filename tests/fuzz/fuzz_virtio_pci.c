/*
 * The virtio-pci transport against a hostile guest: BAR0 accesses of any
 * size anywhere in it (through the bus while BAR0 decodes), configuration
 * space writes (BAR moves, memory decoding, MSI-X control, the PCI-cfg
 * window), the device thread's kicks, configuration changes, PCI resets,
 * guest writes to the rings in RAM, and a driver's whole probe as a
 * single operation so that inputs reach DRIVER_OK easily.
 *
 * Input: the queue count (1 byte, 1..4), then operations: a byte (low 3
 * bits the kind, bits 3-4 the size 1/2/4/8, bit 5 write), an offset
 * (2 bytes) and a value (8 bytes) where the kind takes them. 64 KiB of
 * guest RAM (queues of at most 16 entries) start zeroed.
 *
 * Invariants after each operation: the doorbells registered are exactly
 * those of the enabled queues at BAR0's current notify addresses (none
 * while it does not decode, unless KVM refused), never one twice, never a
 * drop of one not there; DRIVER_OK only with FEATURES_OK, and those only
 * with features the device offered, VERSION_1 among them; vectors fired
 * and routed exist; ASan watches the rest.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "devices/gmem.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"
#include "tests/fuzz/fuzz.h"

#define WIN32		0xC0000000ULL
#define WIN32_SIZE	0x20000000ULL
#define WIN64		0x800000000ULL
#define WIN64_SIZE	0x100000000ULL
#define SLOT		3
#define RAM_GPA		0x10000ULL
#define RAM_SIZE	0x10000ULL
#define QMAX		16
#define MAX_Q		4
#define MAX_OPS		1024
#define DEV_FEATURES	(1ULL << 1 | 1ULL << 40)
#define OFFERED		(DEV_FEATURES | 1ULL << VIRTIO_F_VERSION_1 | \
			 1ULL << 28 | 1ULL << 29)

struct bell {
	int fd;
	uint64_t addr;
};

static struct {
	struct bell bells[MAX_Q * 2];
	unsigned int nbells;
	bool fail;			/* KVM refuses doorbells */
	bool refused[MAX_Q];		/* the queue's last doorbell was */
	unsigned int nq;
} st;

static struct pci_bus *bus;
static struct virtio_pci *vp;
static struct pci_dev *pd;
static struct vq_elem elem;
static uint8_t config[12] = "fuzzconfig!";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void dev_config_read(void *dev, uint32_t off, uint8_t *data,
			    uint32_t len)
{
	(void)dev;
	fuzz_assert(off + len <= sizeof(config), "config read %u+%u", off, len);
	memcpy(data, config + off, len);
}

static void dev_config_write(void *dev, uint32_t off, const uint8_t *data,
			     uint32_t len)
{
	(void)dev;
	fuzz_assert(off + len <= sizeof(config), "config write %u+%u", off,
		    len);
	memcpy(config + off, data, len);
}

static void dev_kick(void *dev, struct virtio_pci *t, unsigned int q)
{
	struct vq *v = virtio_pci_vq(t, q);
	unsigned int n = 0;
	int ret;

	(void)dev;
	fuzz_assert(t == vp, "kick of another transport");
	fuzz_assert(q < st.nq, "kick of queue %u", q);
	fuzz_assert(virtio_pci_status(vp) & VIRTIO_CONFIG_S_DRIVER_OK,
		    "kick before DRIVER_OK");
	while (n++ < 2 * QMAX && (ret = vq_pop(v, &elem)) > 0)
		vq_push(v, &elem, elem.in_len);
	if (ret < 0)
		virtio_pci_queue_error(vp, q);
	virtio_pci_notify(vp, q);
}

static void dev_reset(void *dev)
{
	(void)dev;
}

static const struct virtio_dev_ops dev_ops = {
	.type = 2, .class_code = 0x018000, .features = DEV_FEATURES,
	.config_len = sizeof(config), .config_read = dev_config_read,
	.config_write = dev_config_write, .kick = dev_kick, .reset = dev_reset,
};

static void vmm_fire(void *opaque, unsigned int v)
{
	(void)opaque;
	fuzz_assert(v <= st.nq, "fire of vector %u", v);
}

static int vmm_route(void *opaque, unsigned int v, uint64_t addr,
		     uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	fuzz_assert(v <= st.nq, "route of vector %u", v);
	return 0;
}

static int find_bell(int fd, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < st.nbells; i++)
		if (st.bells[i].fd == fd && st.bells[i].addr == addr)
			return i;
	return -1;
}

static unsigned int queue_of(int fd)
{
	unsigned int q;

	for (q = 0; q < st.nq; q++)
		if (virtio_pci_kick_fd(vp, q) == fd)
			return q;
	fuzz_assert(0, "doorbell of fd %d, no queue's", fd);
	return 0;
}

static int vmm_ioeventfd(void *opaque, int fd, uint64_t addr, bool add)
{
	int i = find_bell(fd, addr);
	unsigned int q = queue_of(fd);

	(void)opaque;
	if (!add) {
		fuzz_assert(i >= 0, "drop of doorbell %#llx not added",
			    (unsigned long long)addr);
		st.bells[i] = st.bells[--st.nbells];
		return 0;
	}
	fuzz_assert(i < 0, "doorbell %#llx added twice",
		    (unsigned long long)addr);
	st.refused[q] = st.fail;
	if (st.fail)
		return -28;
	fuzz_assert(st.nbells < MAX_Q, "%u doorbells", st.nbells + 1);
	st.bells[st.nbells++] = (struct bell){ fd, addr };
	return 0;
}

static const struct virtio_pci_ops vmm_ops = {
	.msix = { vmm_fire, vmm_route },
	.ioeventfd = vmm_ioeventfd,
};

/* --- Register accesses --------------------------------------------------- */

static void bar_access(uint64_t off, uint8_t *d, uint32_t len, bool wr)
{
	uint64_t bar = pci_dev_bar_addr(pd, 0), base, size;
	void *w;

	if (bar == PCI_ADDR_NONE) {
		virtio_pci_bar_io(vp, off, d, len, wr);
		return;
	}
	w = pci_bus_window(bus, bar >= WIN64, &base, &size);
	if (bar + off >= base && bar + off - base < size)
		pci_bar_io(w, bar + off - base, d, len, wr);
}

static uint64_t rd(uint64_t off, uint32_t len)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	virtio_pci_bar_io(vp, off, d, len, false);
	memcpy(&v, d, len);
	return v;
}

static void wr(uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(vp, off, (uint8_t *)&v, len, true);
}

static void cfg_wr(unsigned int off, uint32_t v, uint32_t len)
{
	pci_ecam_io(bus, SLOT << 15 | off, (uint8_t *)&v, len, true);
}

/* A driver's probe, compressed: every queue at its place in RAM. */
static void linux_probe(uint64_t v)
{
	unsigned int q, c = 0x40, i;

	wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	for (i = 0; i < 2; i++) {
		wr(VIRTIO_PCI_COMMON_GFSELECT, i, 4);
		wr(VIRTIO_PCI_COMMON_GF, (OFFERED & v) >> (32 * i), 4);
	}
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	/* MSI-X: the capability is the last one, at a fixed place. */
	while (pd->cfg[c + 1])
		c = pd->cfg[c + 1];
	cfg_wr(c + 2, MSIX_CTRL_ENABLE, 2);
	for (i = 0; i <= st.nq; i++) {
		wr(VIRTIO_PCI_MSIX_OFF + 16 * i, 0xFEE00000, 4);
		wr(VIRTIO_PCI_MSIX_OFF + 16 * i + 12, 0, 4);
	}
	wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	for (q = 0; q < st.nq; q++) {
		wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		wr(VIRTIO_PCI_COMMON_Q_SIZE, QMAX >> (v >> 8 & 3), 2);
		wr(VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
		wr(VIRTIO_PCI_COMMON_Q_DESCLO, RAM_GPA + 0x1000 * q, 8);
		wr(VIRTIO_PCI_COMMON_Q_AVAILLO, RAM_GPA + 0x1000 * q + 0x400, 8);
		wr(VIRTIO_PCI_COMMON_Q_USEDLO, RAM_GPA + 0x1000 * q + 0x800, 8);
		wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	}
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* --- Invariants ------------------------------------------------------------ */

static void check_bells(void)
{
	uint64_t bar = pci_dev_bar_addr(pd, 0), sel = rd(
		VIRTIO_PCI_COMMON_Q_SELECT, 2);
	unsigned int q, on = 0;
	int i;

	for (q = 0; q < st.nq; q++) {
		wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		if (!rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2))
			continue;
		i = bar == PCI_ADDR_NONE ? -1 :
		    find_bell(virtio_pci_kick_fd(vp, q),
			      bar + VIRTIO_PCI_NOTIFY_OFF + 4 * q);
		fuzz_assert(i >= 0 || bar == PCI_ADDR_NONE || st.refused[q],
			    "enabled queue %u has no doorbell", q);
		on += i >= 0;
	}
	wr(VIRTIO_PCI_COMMON_Q_SELECT, sel, 2);
	fuzz_assert(on == st.nbells, "%u doorbells for %u queues with one",
		    st.nbells, on);
}

static void check(void)
{
	uint8_t s = virtio_pci_status(vp);
	uint64_t f = virtio_pci_features(vp);

	fuzz_assert(!(s & VIRTIO_CONFIG_S_DRIVER_OK) ||
		    (s & VIRTIO_CONFIG_S_FEATURES_OK), "status %#x", s);
	fuzz_assert(!(s & VIRTIO_CONFIG_S_FEATURES_OK) ||
		    (!(f & ~OFFERED) && (f & 1ULL << VIRTIO_F_VERSION_1)),
		    "features %#llx accepted", (unsigned long long)f);
	check_bells();
}

static void do_op(struct fuzz_in *in, uint8_t *ram, uint8_t op)
{
	static const uint32_t lens[4] = { 1, 2, 4, 8 };
	uint32_t len = lens[op >> 3 & 3], off = fuzz_take(in, 2);
	uint64_t v = fuzz_take(in, 8);
	uint8_t d[8];

	memcpy(d, &v, sizeof(d));
	switch (op & 7) {
	case 0:
	case 1:
		bar_access(off % (VIRTIO_PCI_BAR_SIZE + 16), d, len, op & 0x20);
		break;
	case 2:		/* the common configuration, more often */
		bar_access(off % 0x40, d, len, op & 0x20);
		break;
	case 3:
		pci_ecam_io(bus, SLOT << 15 | (off & 0xFF), d,
			    len > 4 ? 4 : len, true);
		break;
	case 4:
		virtio_pci_kick(vp, off % (st.nq + 1));
		break;
	case 5:		/* the guest writes its rings */
		memcpy(ram + off % (RAM_SIZE - 1), d, 2);
		break;
	case 6:
		linux_probe(v);
		break;
	default:
		if (off & 1)
			virtio_pci_config_changed(vp);
		else if (off & 2)
			st.fail = !st.fail;
		else
			pci_bus_reset(bus);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtio_pci_config c = {
		.dev_ops = &dev_ops, .ops = &vmm_ops, .queue_size = QMAX,
	};
	uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
	struct gmem *m = gmem_new();
	unsigned int n;

	if (!ram || !m || gmem_add(m, RAM_GPA, RAM_SIZE, ram))
		abort();
	memset(ram, 0, RAM_SIZE);
	memset(&st, 0, sizeof(st));
	st.nq = fuzz_take(&in, 1) % MAX_Q + 1;
	c.num_queues = st.nq;
	c.mem = m;
	bus = pci_bus_new(WIN32, WIN32_SIZE, WIN64, WIN64_SIZE);
	if (!bus || virtio_pci_new(&vp, &c))
		abort();
	pd = virtio_pci_dev(vp);
	if (pci_bus_add(bus, SLOT, pd) != SLOT)
		abort();
	for (n = 0; n < MAX_OPS && in.left; n++) {
		do_op(&in, ram, fuzz_take(&in, 1));
		check();
	}
	pci_bus_remove(bus, pd);
	fuzz_assert(!st.nbells, "%u doorbells after removal", st.nbells);
	virtio_pci_free(vp);
	pci_bus_free(bus);
	gmem_free(m);
	free(ram);
	return 0;
}

/*
 * virtio-blk's request processing against a hostile guest: a queue whose
 * rings, descriptor chains, headers and buffers are the input's bytes in
 * 64 KiB of fake guest RAM, on a 64 KiB image in a memfd, through the
 * real transport and virtqueue. Between kicks the guest rewrites RAM
 * (headers, ring indexes, descriptors under the device).
 *
 * Input: flags (1 byte: bit 0 readonly, bit 1 direct with 4 KiB blocks,
 * bit 2 no EVENT_IDX; INDIRECT_DESC is always negotiated),
 * queue size (1 byte, 1 << (n % 9)), a kick count (1 byte, 1..8), up to
 * 16 actions (offset 2 bytes, value 2 bytes: a 16-bit guest write; offset
 * 0xFFFF: the next kick), then the RAM image from offset 0.
 *
 * Invariants: a readonly image never changes; every kick ends (a budget
 * per kick); ASan and UBSan watch every buffer. (Used lengths are capped by
 * the virtqueue and checked in fuzz_virtqueue: here the device's reads may
 * land on the rings themselves, so RAM cannot be trusted to check them.)
 */
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"
#include "tests/fuzz/fuzz.h"

#define RAM_GPA		0x10000ULL
#define RAM_SIZE	0x10000ULL
#define DESC		(RAM_GPA)
#define AVAIL		(RAM_GPA + 0x2000)
#define USED		(RAM_GPA + 0x3000)
#define IMG_SIZE	0x10000
#define MAX_ACTIONS	16
#define KICK		0xFFFF

static uint8_t image0[IMG_SIZE];

static void vmm_fire(void *o, unsigned int v)
{
	(void)o;
	fuzz_assert(v <= 1, "vector %u", v);
}

static int vmm_route(void *o, unsigned int v, uint64_t a, uint32_t d)
{
	(void)o;
	(void)v;
	(void)a;
	(void)d;
	return 0;
}

static int vmm_bell(void *o, int f, uint64_t a, bool add)
{
	(void)o;
	(void)f;
	(void)a;
	(void)add;
	return -38;
}

static const struct virtio_pci_ops vmm_ops = {
	.msix = { vmm_fire, vmm_route }, .ioeventfd = vmm_bell,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned int i;

	(void)argc;
	(void)argv;
	for (i = 0; i < IMG_SIZE; i++)
		image0[i] = i * 13 + (i >> 8);
	return 0;
}

static void wr(struct virtio_pci *t, uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(t, off, (uint8_t *)&v, len, true);
}

static uint32_t rd32(struct virtio_pci *t, uint64_t off)
{
	uint8_t d[4];

	virtio_pci_bar_io(t, off, d, 4, false);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

/* As a driver does: every feature offered but EVENT_IDX if told so. */
static void probe(struct virtio_pci *t, uint16_t qsize, bool no_event_idx)
{
	uint32_t f;
	unsigned int i;

	wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	for (i = 0; i < 2; i++) {
		wr(t, VIRTIO_PCI_COMMON_DFSELECT, i, 4);
		f = rd32(t, VIRTIO_PCI_COMMON_DF);
		if (!i && no_event_idx)
			f &= ~(1u << 29);
		wr(t, VIRTIO_PCI_COMMON_GFSELECT, i, 4);
		wr(t, VIRTIO_PCI_COMMON_GF, f, 4);
	}
	wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	wr(t, VIRTIO_PCI_COMMON_Q_SIZE, qsize, 2);
	wr(t, VIRTIO_PCI_COMMON_Q_DESCLO, DESC, 8);
	wr(t, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL, 8);
	wr(t, VIRTIO_PCI_COMMON_Q_USEDLO, USED, 8);
	wr(t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	wr(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtio_blk_backend be = { .block_size = 512, .serial = "fuzz" };
	struct virtio_pci_config c = { .ops = &vmm_ops, .num_queues = 1 };
	uint16_t off[MAX_ACTIONS], val[MAX_ACTIONS], qsize;
	unsigned int flags, kicks, nact, a = 0, k, i;
	uint8_t *ram = aligned_alloc(4096, RAM_SIZE), img[IMG_SIZE];
	struct gmem *m = gmem_new();
	struct virtio_blk *b;
	struct virtio_pci *t;

	if (!ram || !m || gmem_add(m, RAM_GPA, RAM_SIZE, ram))
		abort();
	flags = fuzz_take(&in, 1);
	qsize = 1 << (fuzz_take(&in, 1) % 9);
	kicks = fuzz_take(&in, 1) % 8 + 1;
	nact = fuzz_take(&in, 1) % (MAX_ACTIONS + 1);
	for (i = 0; i < nact; i++) {
		off[i] = fuzz_take(&in, 2);
		val[i] = fuzz_take(&in, 2);
	}
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, in.p, in.left < RAM_SIZE ? in.left : RAM_SIZE);
	be.fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	if (be.fd < 0 || pwrite(be.fd, image0, IMG_SIZE, 0) != IMG_SIZE)
		abort();
	be.sectors = IMG_SIZE / 512;
	be.readonly = flags & 1;
	if (flags & 2) {
		be.direct = true;
		be.block_size = 4096;
	}
	if (virtio_blk_new(&b, &be, 1))
		abort();
	c.dev_ops = virtio_blk_ops(b);
	c.dev = b;
	c.mem = m;
	c.queue_size = 256;
	if (virtio_pci_new(&t, &c))
		abort();
	probe(t, qsize, flags & 4);
	fuzz_assert(virtio_pci_status(t) & VIRTIO_CONFIG_S_DRIVER_OK,
		    "the probe failed");
	for (k = 0; k < kicks; k++) {
		virtio_pci_kick(t, 0);
		for (; a < nact && off[a] != KICK; a++)
			memcpy(ram + off[a] % (RAM_SIZE - 1), &val[a], 2);
		a++;
	}
	if (be.readonly) {
		fuzz_assert(pread(be.fd, img, IMG_SIZE, 0) == IMG_SIZE &&
			    !memcmp(img, image0, IMG_SIZE),
			    "a readonly image changed");
	}
	virtio_pci_free(t);
	virtio_blk_free(b);
	close(be.fd);
	gmem_free(m);
	free(ram);
	return 0;
}

/*
 * virtio-blk on a temporary image, through the real transport and
 * virtqueues (a driver's probe by BAR0 accesses, no bus), with requests
 * built in fake guest RAM: every request type, every refusal, and the
 * bounce path of direct=on.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/gmem.h"
#include "devices/pci.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "devices/virtqueue.h"

#define RAM_GPA		0x100000ULL
#define RAM_SIZE	(2ULL << 20)
#define QSIZE		512
#define SECTORS		2048		/* a 1 MiB image */
#define DESC		(RAM_GPA)
#define AVAIL		(RAM_GPA + 0x2000)
#define USED		(RAM_GPA + 0x3000)
#define HDR		(RAM_GPA + 0x8000)
#define STATUS		(RAM_GPA + 0x9000)
#define DATA		(RAM_GPA + 0x10000)
#define FILL(i)		((uint8_t)((i) * 7 + ((i) >> 9)))

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static struct gmem *mem;
static uint8_t *ram;
static struct virtio_blk *blk;
static struct virtio_pci *vp;
static char path[] = "/tmp/evmm-test-blk-XXXXXX";
static int fd = -1;
static uint16_t next_desc, avail_idx, used_seen;

static void vmm_fire(void *o, unsigned int v)
{
	(void)o;
	(void)v;
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
	return -ENOSYS;		/* kicks come the slow way */
}

static const struct virtio_pci_ops vmm_ops = {
	.msix = { vmm_fire, vmm_route }, .ioeventfd = vmm_bell,
};

static uint64_t rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	virtio_pci_bar_io(vp, off, (uint8_t *)&v, len, false);
	return v;
}

static void wr(uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci_bar_io(vp, off, (uint8_t *)&v, len, true);
}

static uint64_t features(void)
{
	uint64_t f;

	wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = rd(VIRTIO_PCI_COMMON_DF, 4);
	wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return f | rd(VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* A driver's probe: all features but MQ's, queue 0 of QSIZE, DRIVER_OK. */
static void probe(void)
{
	uint64_t f = features();

	wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER, 1);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wr(VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(VIRTIO_PCI_COMMON_GF, f >> 32, 4);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_FEATURES_OK, 1);
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, DESC, 8);
	wr(VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL, 8);
	wr(VIRTIO_PCI_COMMON_Q_USEDLO, USED, 8);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_DRIVER_OK, 1);
	ck_assert_uint_eq(virtio_pci_status(vp) & VIRTIO_CONFIG_S_DRIVER_OK,
			  VIRTIO_CONFIG_S_DRIVER_OK);
}

static void make_image(void)
{
	uint8_t buf[4096];
	unsigned int i, j;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < SECTORS * 512 / sizeof(buf); i++) {
		for (j = 0; j < sizeof(buf); j++)
			buf[j] = FILL(i * sizeof(buf) + j);
		ck_assert_int_eq(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
}

/* The device on backend be, with nq queues, probed. */
static void start(const struct virtio_blk_backend *be, unsigned int nq)
{
	struct virtio_pci_config c = {
		.ops = &vmm_ops, .mem = mem, .num_queues = nq,
		.queue_size = QSIZE,
	};

	ck_assert_int_eq(virtio_blk_new(&blk, be, nq), 0);
	c.dev_ops = virtio_blk_ops(blk);
	c.dev = blk;
	ck_assert_int_eq(virtio_pci_new(&vp, &c), 0);
	next_desc = avail_idx = used_seen = 0;
	probe();
}

static struct virtio_blk_backend backend(void)
{
	struct virtio_blk_backend be = {
		.fd = fd, .sectors = SECTORS, .block_size = 512,
		.serial = "evmm-serial-0001",
	};

	return be;
}

static void setup(void)
{
	struct virtio_blk_backend be;

	ram = aligned_alloc(4096, RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, RAM_SIZE);
	mem = gmem_new();
	ck_assert_int_eq(gmem_add(mem, RAM_GPA, RAM_SIZE, ram), 0);
	make_image();
	be = backend();
	start(&be, 1);
}

static void stop(void)
{
	virtio_pci_free(vp);
	virtio_blk_free(blk);
	vp = NULL;
	blk = NULL;
}

static void teardown(void)
{
	stop();
	close(fd);
	unlink(path);
	strcpy(path, "/tmp/evmm-test-blk-XXXXXX");
	gmem_free(mem);
	free(ram);
}

static uint8_t *host(uint64_t gpa)
{
	return ram + (gpa - RAM_GPA);
}

static void put(uint64_t gpa, uint64_t v, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		host(gpa)[i] = v >> (8 * i);
}

static uint64_t get(uint64_t gpa, unsigned int len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | host(gpa)[len];
	return v;
}

/* Makes a chain of n segments available. */
static void post(const struct seg *s, unsigned int n)
{
	uint16_t head = next_desc, d;
	unsigned int i;

	for (i = 0; i < n; i++) {
		d = next_desc++ % QSIZE;
		put(DESC + 16 * d, s[i].gpa, 8);
		put(DESC + 16 * d + 8, s[i].len, 4);
		put(DESC + 16 * d + 12, (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
		    (s[i].write ? VRING_DESC_F_WRITE : 0), 2);
		put(DESC + 16 * d + 14, next_desc % QSIZE, 2);
	}
	put(AVAIL + 4 + 2 * (avail_idx % QSIZE), head % QSIZE, 2);
	put(AVAIL + 2, ++avail_idx, 2);
}

static void header(uint32_t type, uint64_t sector)
{
	put(HDR, type, 4);
	put(HDR + 4, 0, 4);
	put(HDR + 8, sector, 8);
}

/* Header, one data segment, status: kicked; returns the used length. */
static uint32_t request(uint32_t type, uint64_t sector, uint64_t data,
			uint32_t len, bool dev_writes)
{
	struct seg s[3] = {
		{ HDR, 16, false }, { data, len, dev_writes }, { STATUS, 1, true },
	};
	uint32_t used;

	header(type, sector);
	put(STATUS, 0xEE, 1);
	post(s, 3);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 2, 2), (uint16_t)(used_seen + 1));
	used = get(USED + 4 + 8 * (used_seen % QSIZE) + 4, 4);
	used_seen++;
	return used;
}

static uint8_t status(void)
{
	return host(STATUS)[0];
}

static void expect_file(uint64_t off, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(pread(fd, got, len, off), (ssize_t)len);
	ck_assert_mem_eq(got, want, len);
	free(got);
}

static void expect_fill(const uint8_t *p, uint64_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		ck_assert_msg(p[i] == FILL(off + i), "byte %zu of %zu", i, len);
}

START_TEST(config_and_features)
{
	uint64_t f = features();

	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF, 8), SECTORS);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 8, 4),
			  VIRTIO_BLK_SIZE_MAX);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 12, 4), VQ_MAX_IOV - 2);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 20, 4), 512);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 34, 2), 1);
	ck_assert(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	ck_assert(f & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	ck_assert(f & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	ck_assert(f & (1ULL << VIRTIO_BLK_F_FLUSH));
	ck_assert(!(f & (1ULL << VIRTIO_BLK_F_RO)));
	ck_assert(!(f & (1ULL << VIRTIO_BLK_F_MQ)));
	/* Read-only configuration. */
	wr(VIRTIO_PCI_DEVICE_OFF, 0, 8);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF, 8), SECTORS);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	ck_assert_uint_eq(virtio_pci_dev(vp)->cfg[2], 0x42);
	ck_assert_uint_eq(virtio_pci_dev(vp)->cfg[0x0B], 0x01);
	/* readonly and 4 queues. */
	{
		struct virtio_blk_backend be = backend();

		stop();
		be.readonly = true;
		start(&be, 4);
		f = features();
		ck_assert(f & (1ULL << VIRTIO_BLK_F_RO));
		ck_assert(f & (1ULL << VIRTIO_BLK_F_MQ));
		ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 34, 2), 4);
		ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 4);
	}
}
END_TEST

START_TEST(read_write_flush)
{
	uint8_t buf[1536];

	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, 3, DATA, 1024, true), 1025);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_fill(host(DATA), 3 * 512, 1024);
	memset(buf, 0x5C, sizeof(buf));
	memcpy(host(DATA + 0x1000), buf, sizeof(buf));
	ck_assert_uint_eq(request(VIRTIO_BLK_T_OUT, 100, DATA + 0x1000,
				  sizeof(buf), false), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_file(100 * 512, buf, sizeof(buf));
	ck_assert_uint_eq(request(VIRTIO_BLK_T_FLUSH, 0, DATA, 0, true), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	/* The last sector; 0 bytes right at the end. */
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, SECTORS - 1, DATA, 512,
				  true), 513);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_fill(host(DATA), (SECTORS - 1) * 512ULL, 512);
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, SECTORS, DATA, 0, true), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
}
END_TEST

/* Data in several segments, as the block layer sends it. */
START_TEST(scattered)
{
	struct seg s[5] = {
		{ HDR, 16, false }, { DATA + 0x3000, 512, true },
		{ DATA + 0x1000, 1024, true }, { DATA + 0x5003, 512, true },
		{ STATUS, 1, true },
	};

	header(VIRTIO_BLK_T_IN, 7);
	post(s, 5);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 8, 4), 2049);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_fill(host(DATA + 0x3000), 7 * 512, 512);
	expect_fill(host(DATA + 0x1000), 8 * 512, 1024);
	expect_fill(host(DATA + 0x5003), 10 * 512, 512);
	/* A write from two segments, the header split too. */
	memset(host(DATA), 0x11, 512);
	memset(host(DATA + 0x800), 0x22, 512);
	{
		struct seg w[5] = {
			{ HDR, 8, false }, { HDR + 8, 8, false },
			{ DATA, 512, false }, { DATA + 0x800, 512, false },
			{ STATUS, 1, true },
		};
		uint8_t want[1024];

		header(VIRTIO_BLK_T_OUT, 20);
		post(w, 5);
		virtio_pci_kick(vp, 0);
		ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
		memset(want, 0x11, 512);
		memset(want + 512, 0x22, 512);
		expect_file(20 * 512, want, sizeof(want));
	}
}
END_TEST

START_TEST(get_id)
{
	ck_assert_uint_eq(request(VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true), 21);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(host(DATA), "evmm-serial-0001\0\0\0\0", 20);
	/* A short buffer gets what fits. */
	memset(host(DATA), 0xAB, 32);
	ck_assert_uint_eq(request(VIRTIO_BLK_T_GET_ID, 0, DATA, 4, true), 5);
	ck_assert_mem_eq(host(DATA), "evmm\xAB", 5);
	/* A long one: 20 bytes, the rest untouched. */
	ck_assert_uint_eq(request(VIRTIO_BLK_T_GET_ID, 0, DATA, 32, true), 21);
	ck_assert_uint_eq(host(DATA)[20], 0xAB);
}
END_TEST

START_TEST(readonly_refuses_writes)
{
	struct virtio_blk_backend be = backend();
	uint8_t want[512];

	stop();
	be.readonly = true;
	start(&be, 1);
	memset(host(DATA), 0x77, 512);
	ck_assert_uint_eq(request(VIRTIO_BLK_T_OUT, 0, DATA, 512, false), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	for (unsigned int i = 0; i < 512; i++)
		want[i] = FILL(i);
	expect_file(0, want, 512);
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, 0, DATA, 512, true), 513);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(request(VIRTIO_BLK_T_FLUSH, 0, DATA, 0, true), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(hostile_requests)
{
	/* Past the end, across it, at 2^64, not whole sectors. */
	request(VIRTIO_BLK_T_IN, SECTORS, DATA, 512, true);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	request(VIRTIO_BLK_T_OUT, SECTORS - 1, DATA, 1024, false);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	request(VIRTIO_BLK_T_IN, UINT64_MAX, DATA, 512, true);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	request(VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, DATA, 512, true);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	request(VIRTIO_BLK_T_IN, 0, DATA, 100, true);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	/* Types it does not do. */
	request(VIRTIO_BLK_T_DISCARD, 0, DATA, 16, false);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_UNSUPP);
	request(VIRTIO_BLK_T_SCSI_CMD, 0, DATA, 16, false);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_UNSUPP);
	/* A read with only readable data: nothing to read into, done. */
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, 0, DATA, 512, false), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	/* A header too short, an empty chain, no status byte. */
	{
		struct seg shortfall[2] = { { HDR, 8, false }, { STATUS, 1, true } };
		struct seg nostatus[2] = { { HDR, 16, false }, { DATA, 512, false } };

		post(shortfall, 2);
		virtio_pci_kick(vp, 0);
		ck_assert_uint_eq(get(USED + 4 + 8 * (used_seen % QSIZE) + 4, 4),
				  1);
		ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
		used_seen++;
		header(VIRTIO_BLK_T_OUT, 0);
		post(nostatus, 2);
		virtio_pci_kick(vp, 0);
		ck_assert_uint_eq(get(USED + 2, 2), used_seen + 1);
		ck_assert_uint_eq(get(USED + 4 + 8 * (used_seen % QSIZE) + 4, 4),
				  0);
		used_seen++;
	}
	/* Data outside RAM: the chain is refused before any I/O. */
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, 0, RAM_GPA + RAM_SIZE, 512,
				  true), 0);
	/* Still working. */
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, 1, DATA, 512, true), 513);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
}
END_TEST

/* The host's I/O error reaches the guest as IOERR. */
START_TEST(host_errors)
{
	struct virtio_blk_backend be = backend();
	int rofd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(rofd, 0);
	stop();
	be.fd = rofd;
	start(&be, 1);
	request(VIRTIO_BLK_T_OUT, 0, DATA, 512, false);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	/* The image shrank under us: the read ends early. */
	ck_assert_int_eq(ftruncate(fd, 512), 0);
	request(VIRTIO_BLK_T_IN, 0, DATA, 1024, true);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	close(rofd);
}
END_TEST

/* direct=on with guest buffers O_DIRECT cannot take: the bounce buffer. */
START_TEST(direct_bounce)
{
	struct virtio_blk_backend be = backend();
	size_t len = VIRTIO_BLK_BOUNCE + 64 * 1024;
	uint8_t *want;

	stop();
	be.direct = true;
	be.block_size = 4096;
	start(&be, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_DEVICE_OFF + 20, 4), 4096);
	ck_assert_uint_eq(request(VIRTIO_BLK_T_IN, 8, DATA + 8, len, true),
			  len + 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_fill(host(DATA + 8), 8 * 512, len);
	want = malloc(len);
	ck_assert_ptr_nonnull(want);
	memset(want, 0x3D, len);
	memcpy(host(DATA + 8), want, len);
	request(VIRTIO_BLK_T_OUT, 16, DATA + 8, len, false);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_file(16 * 512, want, len);
	/* Aligned buffers go straight through. */
	request(VIRTIO_BLK_T_IN, 0, DATA, 4096, true);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	expect_fill(host(DATA), 0, 4096);
	free(want);
}
END_TEST

/* A flood of requests: at most the budget per kick, then a kick again. */
START_TEST(budget_per_kick)
{
	struct seg s = { STATUS, 1, true };
	uint64_t n;
	unsigned int i;

	header(VIRTIO_BLK_T_IN, 0);
	for (i = 0; i < 300; i++) {
		struct seg c[2] = { { HDR, 16, false }, s };

		post(c, 2);
	}
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 2, 2), 256);
	ck_assert_int_eq(read(virtio_pci_kick_fd(vp, 0), &n, sizeof(n)), 8);
	ck_assert_uint_ge(n, 1);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 2, 2), 300);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
}
END_TEST

/* The image grown (sparse) to `sectors`, the device started on it. */
static void big_image(uint64_t sectors)
{
	struct virtio_blk_backend be = backend();

	stop();
	ck_assert_int_eq(ftruncate(fd, sectors * 512), 0);
	be.sectors = sectors;
	start(&be, 1);
}

/*
 * Posts a read of sector 0 whose data is `n` times the same `len` bytes
 * at DATA, then `extra` bytes more.
 */
static void post_big(uint32_t len, unsigned int n, uint32_t extra)
{
	struct seg s[VQ_MAX_IOV + 1];
	unsigned int i = 0;

	s[i++] = (struct seg){ HDR, 16, false };
	while (i <= n)
		s[i++] = (struct seg){ DATA, len, true };
	if (extra)
		s[i++] = (struct seg){ DATA + len, extra, true };
	s[i++] = (struct seg){ STATUS, 1, true };
	header(VIRTIO_BLK_T_IN, 0);
	put(STATUS, 0xEE, 1);
	post(s, i);
}

/*
 * Requests up to seg_max * size_max are served; past it they end with
 * IOERR before any I/O (one could keep the device, and whoever waits for
 * it, busy for as long as the image is big).
 */
START_TEST(size_cap)
{
	big_image(2 * VIRTIO_BLK_MAX_DATA / 512);
	post_big(VIRTIO_BLK_SIZE_MAX, VIRTIO_BLK_SEG_MAX, 0);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 8, 4), VIRTIO_BLK_MAX_DATA + 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
	memset(host(DATA), 0xAB, VIRTIO_BLK_SIZE_MAX + 512);
	post_big(VIRTIO_BLK_SIZE_MAX, VIRTIO_BLK_SEG_MAX, 512);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 2, 2), 2);
	ck_assert_uint_eq(get(USED + 16, 4), 1);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_IOERR);
	for (unsigned int i = 0; i < VIRTIO_BLK_SIZE_MAX + 512; i++)
		ck_assert_uint_eq(host(DATA)[i], 0xAB);
}
END_TEST

/* Big requests (63 MiB): a kick stops once it moved the byte budget. */
START_TEST(budget_bytes)
{
	const uint32_t mib = 1 << 20;
	uint64_t n;

	big_image(2 * VIRTIO_BLK_MAX_DATA / 512);
	post_big(mib, 63, 0);
	post_big(mib, 63, 0);
	post_big(mib, 63, 0);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 2, 2),
			  VIRTIO_BLK_BUDGET_BYTES / (63 * mib) + 1);
	ck_assert_int_eq(read(virtio_pci_kick_fd(vp, 0), &n, sizeof(n)), 8);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(get(USED + 2, 2), 3);
	ck_assert_uint_eq(status(), VIRTIO_BLK_S_OK);
}
END_TEST

/* A ring the guest breaks: the device says it needs a reset. */
START_TEST(broken_ring)
{
	put(AVAIL + 2, QSIZE + 5, 2);
	virtio_pci_kick(vp, 0);
	ck_assert_uint_eq(virtio_pci_status(vp) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  VIRTIO_CONFIG_S_NEEDS_RESET);
}
END_TEST

START_TEST(new_errors)
{
	struct virtio_blk_backend be = backend();
	struct virtio_blk *b = blk;

	be.fd = -1;
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), -EINVAL);
	ck_assert_ptr_null(b);
	be = backend();
	be.block_size = 0;
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), -EINVAL);
	be.block_size = 1000;
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), -EINVAL);
	be.block_size = 256;
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), -EINVAL);
	be.block_size = VIRTIO_BLK_BOUNCE * 2;
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), -EINVAL);
	be = backend();
	ck_assert_int_eq(virtio_blk_new(&b, &be, 0), -EINVAL);
	ck_assert_int_eq(virtio_blk_new(&b, &be, VIRTIO_PCI_MAX_QUEUES + 1),
			 -EINVAL);
	be.sectors = UINT64_MAX;
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), -EINVAL);
	/* A serial of exactly 20 characters has no terminator in get-id. */
	be = backend();
	memset(be.serial, 'S', VIRTIO_BLK_SERIAL);
	be.serial[VIRTIO_BLK_SERIAL] = 'X';
	ck_assert_int_eq(virtio_blk_new(&b, &be, 1), 0);
	virtio_blk_free(b);
	virtio_blk_free(NULL);
}
END_TEST

Suite *virtio_blk_suite(void)
{
	const TTest *const tests[] = {
		config_and_features, read_write_flush, scattered, get_id,
		readonly_refuses_writes, hostile_requests, host_errors,
		direct_bounce, budget_per_kick, size_cap, budget_bytes,
		broken_ring, new_errors,
	};
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("virtio_blk");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(tc, tests[i]);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

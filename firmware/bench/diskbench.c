/*
 * diskbench: the guest side of make bench's disk part. Timed O_DIRECT
 * I/O on a whole disk, so every request reaches the VMM (the guest's page
 * cache is bypassed), on the guest's CLOCK_MONOTONIC, then one line:
 *
 *   EVMM-DISKBENCH: seq_write_mibs=N seq_read_mibs=N rand_read_iops=N
 *       rand_write_iops=N seq_mib=N rand_read_ios=N rand_write_ios=N
 *       bad=0 s=SECONDS
 *   EVMM-DISKBENCH: error=WHAT:REASON
 *
 * In order: SEQ_MIB MiB written in 1 MiB blocks from offset 0 and a
 * flush (fdatasync: a write is done when it is stable), the same read
 * back (bad counts blocks whose stamp is wrong), then 4 KiB reads and 4
 * KiB writes (and a flush) at random aligned offsets over the whole disk,
 * one at a time (queue depth 1), each phase until RAND_IOS requests or
 * RAND_MS milliseconds, whichever comes first. The offsets come from a
 * fixed seed, so every VMM gets the same ones. It overwrites the disk.
 *
 *   diskbench [DEV [SEQ_MIB [RAND_IOS [RAND_MS]]]]
 *
 * Without arguments it takes `evmm.diskbench=SEQ_MIB,RAND_IOS,RAND_MS`
 * from the kernel command line, since init's `evmm.cmd=` runs one word.
 * Defaults: /dev/vda, 128, 4000, 10000 (make bench's). Static: the
 * guest has no libc.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG		"EVMM-DISKBENCH: "
#define SEQ_BLOCK	(1 << 20)
#define RAND_BLOCK	4096
#define WAIT_MS		5000	/* for the disk's node to appear */

struct opts {
	const char *dev;
	unsigned long seq_mib, rand_ios, rand_ms;
};

struct result {
	double seq_write, seq_read, rand_read, rand_write;	/* per s */
	unsigned long seq_mib, rand_read_ios, rand_write_ios, bad;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int fail(const char *what, int err)
{
	printf(TAG "error=%s:%s\n", what, strerror(err));
	fflush(stdout);
	return 1;
}

/* "a,b,c" into up to three numbers; 0 if all were numbers. */
static int parse_triple(const char *s, unsigned long *v[3])
{
	char *end;
	int i;

	for (i = 0; i < 3 && *s; i++) {
		*v[i] = strtoul(s, &end, 10);
		if (end == s || (*end && *end != ','))
			return -EINVAL;
		s = *end ? end + 1 : end;
	}
	return 0;
}

/* evmm.diskbench=... from /proc/cmdline, if there. */
static int opts_from_cmdline(struct opts *o)
{
	static const char key[] = "evmm.diskbench=";
	unsigned long *v[3] = { &o->seq_mib, &o->rand_ios, &o->rand_ms };
	char line[4096], *w, *save;
	FILE *f = fopen("/proc/cmdline", "re");
	int ret = 0;

	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		for (w = strtok_r(line, " \n", &save); w;
		     w = strtok_r(NULL, " \n", &save))
			if (!strncmp(w, key, sizeof(key) - 1))
				ret = parse_triple(w + sizeof(key) - 1, v);
	fclose(f);
	return ret;
}

static int opts_parse(struct opts *o, int argc, char **argv)
{
	unsigned long *v[3] = { &o->seq_mib, &o->rand_ios, &o->rand_ms };
	char *end;
	int i;

	*o = (struct opts){ "/dev/vda", 128, 4000, 10000 };
	if (argc < 2)
		return opts_from_cmdline(o);
	o->dev = argv[1];
	for (i = 2; i < argc && i < 5; i++) {
		*v[i - 2] = strtoul(argv[i], &end, 10);
		if (end == argv[i] || *end)
			return -EINVAL;
	}
	return argc > 5 ? -EINVAL : 0;
}

/* The disk's node, waiting for it a little: the driver may be late. */
static int open_disk(const char *dev)
{
	int waited, fd;

	for (waited = 0;; waited += 100) {
		fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || waited >= WAIT_MS)
			return fd;
		usleep(100 * 1000);
	}
}

/* Each block stamped with its index, so a read-back can be checked. */
static int seq_write(int fd, uint8_t *buf, unsigned long n, double *rate)
{
	double t0 = now_s();
	unsigned long i;

	for (i = 0; i < n; i++) {
		memcpy(buf, &i, sizeof(i));
		if (pwrite(fd, buf, SEQ_BLOCK, (off_t)i * SEQ_BLOCK) !=
		    SEQ_BLOCK)
			return -1;
	}
	if (fdatasync(fd))
		return -1;
	*rate = n / (now_s() - t0);
	return 0;
}

static int seq_read(int fd, uint8_t *buf, unsigned long n, double *rate,
		    unsigned long *bad)
{
	double t0 = now_s();
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (pread(fd, buf, SEQ_BLOCK, (off_t)i * SEQ_BLOCK) !=
		    SEQ_BLOCK)
			return -1;
		*bad += memcmp(buf, &i, sizeof(i)) != 0;
	}
	*rate = n / (now_s() - t0);
	return 0;
}

/* xorshift64: the same offsets under every VMM. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* 4 KiB requests, one at a time; *ios: how many were done. */
static int rand_io(int fd, uint8_t *buf, uint64_t blocks,
		   const struct opts *o, int write, double *rate,
		   unsigned long *ios)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	double t0 = now_s(), end = t0 + o->rand_ms / 1e3, t = t0;
	off_t off;
	ssize_t n;

	for (*ios = 0; *ios < o->rand_ios && t < end; ++*ios) {
		off = (off_t)(next_rand(&seed) % blocks) * RAND_BLOCK;
		n = write ? pwrite(fd, buf, RAND_BLOCK, off) :
			    pread(fd, buf, RAND_BLOCK, off);
		if (n != RAND_BLOCK)
			return -1;
		t = now_s();
	}
	if (write && fdatasync(fd))
		return -1;
	*rate = *ios / (now_s() - t0);
	return 0;
}

/* The phases in order; the failed one's name, or NULL. */
static const char *phases(int fd, uint8_t *buf, uint64_t size,
			  const struct opts *o, struct result *r)
{
	uint64_t blocks = size / RAND_BLOCK;

	if (seq_write(fd, buf, r->seq_mib, &r->seq_write))
		return "seq_write";
	if (seq_read(fd, buf, r->seq_mib, &r->seq_read, &r->bad))
		return "seq_read";
	if (rand_io(fd, buf, blocks, o, 0, &r->rand_read, &r->rand_read_ios))
		return "rand_read";
	if (rand_io(fd, buf, blocks, o, 1, &r->rand_write,
		    &r->rand_write_ios))
		return "rand_write";
	return NULL;
}

static int run(int fd, uint64_t size, const struct opts *o,
	       struct result *r)
{
	const char *failed;
	void *buf;
	int err;

	r->seq_mib = o->seq_mib < size / SEQ_BLOCK ? o->seq_mib :
		     size / SEQ_BLOCK;
	if (!r->seq_mib || !o->rand_ios)
		return fail("size", EINVAL);
	/* Page aligned for O_DIRECT; not zeros, which could be special. */
	if (posix_memalign(&buf, 4096, SEQ_BLOCK))
		return fail("memory", ENOMEM);
	memset(buf, 0xa5, SEQ_BLOCK);
	failed = phases(fd, buf, size, o, r);
	err = errno;
	free(buf);
	return failed ? fail(failed, err) : 0;
}

/* A block device's size, or a regular file's (to try it on a host). */
static int disk_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
		return 0;
	}
	return ioctl(fd, BLKGETSIZE64, size);
}

int main(int argc, char **argv)
{
	struct result r = { 0 };
	struct opts o;
	uint64_t size;
	double t0;
	int fd;

	if (opts_parse(&o, argc, argv)) {
		fprintf(stderr, "usage: diskbench [DEV [SEQ_MIB [RAND_IOS "
			"[RAND_MS]]]]\n");
		return fail("usage", EINVAL);
	}
	fd = open_disk(o.dev);
	if (fd < 0)
		return fail(o.dev, errno);
	if (disk_size(fd, &size))
		return fail("size", errno);
	t0 = now_s();
	if (run(fd, size, &o, &r))
		return 1;
	printf(TAG "seq_write_mibs=%.1f seq_read_mibs=%.1f "
	       "rand_read_iops=%.0f rand_write_iops=%.0f seq_mib=%lu "
	       "rand_read_ios=%lu rand_write_ios=%lu bad=%lu s=%.1f\n",
	       r.seq_write, r.seq_read, r.rand_read, r.rand_write, r.seq_mib,
	       r.rand_read_ios, r.rand_write_ios, r.bad, now_s() - t0);
	fflush(stdout);
	close(fd);
	return r.bad != 0;
}

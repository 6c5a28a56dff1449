/*
 * Raw disk images (--disk): opened, checked and locked before the guest
 * runs; the block device does its I/O on the fd. The image stays open (and
 * locked) across guest reboots, until evmm exits.
 *
 * Locking: an OFD lock (F_OFD_SETLK) over the whole file, a write lock for
 * read-write use and a read lock for readonly=on, so that readers share an
 * image and a writer excludes everyone. An OFD lock belongs to the open
 * file, not the process: it goes with the last close of the fd, and even
 * two opens in one process exclude each other.
 * - Cloud Hypervisor does the same (block/src/io/fcntl.rs: write lock for
 *   read-write, read lock for read-only; by default over [0, size), with
 *   lock_granularity=full over the whole file), so each refuses the other.
 * - QEMU (block/file-posix.c) takes OFD read locks on single bytes: 100 + n
 *   for each permission n it holds (1: write) and 200 + n for each it does
 *   not share (a writer shares no write), after testing for any other lock
 *   on the bytes it needs. QEMU thus refuses an image evmm holds in either
 *   mode, and evmm refuses one a QEMU holds, except that readonly=on does
 *   not see a QEMU writer: a read lock never conflicts with QEMU's.
 */
#ifndef EVMM_DISK_H
#define EVMM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_SECTOR	512

struct config_disk;

struct disk {
	int fd;			/* -1: not open */
	/* 512-byte sectors: the size rounded down to whole logical blocks. */
	uint64_t sectors;
	/*
	 * The logical block size: 512, or with direct=on the alignment
	 * O_DIRECT needs (statx's STATX_DIOALIGN, a block device's
	 * BLKSSZGET), at least 512.
	 */
	uint32_t block_size;
	bool readonly;
	bool direct;
};

/*
 * Opens cfg's image (a regular file or a block device): O_RDWR, or
 * O_RDONLY with readonly=on, O_DIRECT with direct=on, O_CLOEXEC; then
 * locks it. Returns 0, or a negative errno (-EBUSY: locked by another
 * user) with a one-line message naming --disk, the path and the accepted
 * form in err. d->fd is -1 on failure.
 */
int disk_open(struct disk *d, const struct config_disk *cfg, char *err,
	      size_t errlen);
/* Closes the image, which drops its lock; a closed disk is fine too. */
void disk_close(struct disk *d);

#endif

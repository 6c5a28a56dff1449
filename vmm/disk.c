/*
 * Raw disk images: open, check, size and lock (vmm/disk.h says how and
 * why), each failure one line that names --disk and the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/disk.h"
#include "vmm/util.h"

/* "--disk: PATH: message; accepted form: FORM", on one line. */
__attribute__((format(printf, 5, 6)))
static int disk_err(char *err, size_t errlen, const char *path, int ret,
		    const char *fmt, ...)
{
	size_t n = snprintf(err, errlen, "--disk: %s: ", path), i;
	va_list ap;

	va_start(ap, fmt);
	if (n < errlen)
		n += vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	if (n < errlen)
		snprintf(err + n, errlen - n, "; accepted form: "
			 CONFIG_DISK_FORM);
	/* A newline or an escape sequence in the path stays harmless. */
	for (i = 0; i < errlen && err[i]; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
	return ret;
}

static bool disk_type_ok(const struct stat *st)
{
	return S_ISREG(st->st_mode) || S_ISBLK(st->st_mode);
}

/* Checked before the open too: opening a device file can have effects. */
static int disk_check_type(const struct config_disk *cfg,
			   const struct stat *st, char *err, size_t errlen)
{
	if (S_ISDIR(st->st_mode))
		return disk_err(err, errlen, cfg->path, -EISDIR,
				"is a directory, not a raw image");
	if (!disk_type_ok(st))
		return disk_err(err, errlen, cfg->path, -EINVAL,
				"is not a regular file or a block device");
	return 0;
}

static int disk_open_err(const struct config_disk *cfg, int e, char *err,
			 size_t errlen)
{
	if ((e == EACCES || e == EPERM || e == EROFS) && !cfg->readonly)
		return disk_err(err, errlen, cfg->path, -e, "cannot open it "
				"for writing: %s (readonly=on opens it "
				"read-only)", strerror(e));
	if (e == EINVAL && cfg->direct)
		return disk_err(err, errlen, cfg->path, -e, "its filesystem "
				"does not take O_DIRECT (direct=on)");
	if (e == EISDIR)
		return disk_err(err, errlen, cfg->path, -e,
				"is a directory, not a raw image");
	return disk_err(err, errlen, cfg->path, -e, "%s", strerror(e));
}

/* O_NONBLOCK: a FIFO put in the image's place must not hang the open. */
static int disk_open_fd(const struct config_disk *cfg, char *err,
			size_t errlen)
{
	int flags = (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK | (cfg->direct ? O_DIRECT : 0);
	struct stat st;
	int fd, ret;

	if (stat(cfg->path, &st))
		return disk_open_err(cfg, errno, err, errlen);
	ret = disk_check_type(cfg, &st, err, errlen);
	if (ret)
		return ret;
	fd = open(cfg->path, flags);
	if (fd < 0)
		return disk_open_err(cfg, errno, err, errlen);
	if (fcntl(fd, F_SETFL, cfg->direct ? O_DIRECT : 0)) {
		ret = disk_err(err, errlen, cfg->path, -errno, "fcntl: %s",
			       strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static uint32_t disk_block_size(int fd, const struct stat *st, bool direct)
{
	struct statx stx;
	int sector;

	if (!direct)
		return DISK_SECTOR;
	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align)
		return MAX(MAX(stx.stx_dio_offset_align, stx.stx_dio_mem_align),
			   (uint32_t)DISK_SECTOR);
	if (S_ISBLK(st->st_mode) && !ioctl(fd, BLKSSZGET, &sector) &&
	    sector > DISK_SECTOR)
		return sector;
	return DISK_SECTOR;
}

/* Whole logical blocks: O_DIRECT cannot reach a partial last one. */
static int disk_size(struct disk *d, const struct config_disk *cfg,
		     char *err, size_t errlen)
{
	uint64_t bytes = 0;
	struct stat st;

	if (fstat(d->fd, &st))
		return disk_err(err, errlen, cfg->path, -errno, "fstat: %s",
				strerror(errno));
	if (!disk_type_ok(&st))	/* replaced since the stat */
		return disk_check_type(cfg, &st, err, errlen);
	if (S_ISREG(st.st_mode))
		bytes = st.st_size;
	else if (ioctl(d->fd, BLKGETSIZE64, &bytes))
		return disk_err(err, errlen, cfg->path, -errno, "cannot get "
				"the block device's size: %s", strerror(errno));
	d->block_size = disk_block_size(d->fd, &st, cfg->direct);
	d->sectors = bytes / d->block_size * (d->block_size / DISK_SECTOR);
	return 0;
}

static int disk_lock(struct disk *d, const struct config_disk *cfg,
		     char *err, size_t errlen)
{
	short type = cfg->readonly ? F_RDLCK : F_WRLCK;
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	int e;

	if (!fcntl(d->fd, F_OFD_SETLK, &fl))
		return 0;
	e = errno;
	if (e != EAGAIN && e != EACCES)
		return disk_err(err, errlen, cfg->path, -e, "cannot lock it: "
				"%s", strerror(e));
	fl = (struct flock){ .l_type = type, .l_whence = SEEK_SET };
	if (!fcntl(d->fd, F_OFD_GETLK, &fl) && fl.l_type == F_WRLCK)
		return disk_err(err, errlen, cfg->path, -EBUSY, "in use: "
				"another process holds it read-write");
	return disk_err(err, errlen, cfg->path, -EBUSY, "in use: another "
			"process holds a lock on it (readonly=on shares an "
			"image with readers, never with a writer)");
}

int disk_open(struct disk *d, const struct config_disk *cfg, char *err,
	      size_t errlen)
{
	int ret;

	*d = (struct disk){ .fd = -1, .readonly = cfg->readonly,
			    .direct = cfg->direct };
	ret = disk_open_fd(cfg, err, errlen);
	if (ret < 0)
		return ret;
	d->fd = ret;
	ret = disk_size(d, cfg, err, errlen);
	if (!ret)
		ret = disk_lock(d, cfg, err, errlen);
	if (ret)
		disk_close(d);
	return ret;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

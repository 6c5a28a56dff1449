#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/loader.h"
#include "vmm/vm.h"

#define HDR_OFFSET	0x1F1
#define BOOT_FLAG	0xAA55
#define HDR_MAGIC	0x53726448	/* "HdrS" */

int loader_parse_header(struct kernel_image *k, const uint8_t *buf, size_t len,
			char *err, size_t errlen)
{
	struct setup_header *h = &k->hdr;
	unsigned int sects;

	if (len < 1024) {
		snprintf(err, errlen, "too short for a bzImage");
		return -ENOEXEC;
	}
	/* The header's length is given by the jump at 0x200: 0x202 + byte. */
	k->hdr_len = MIN(0x202 + (size_t)buf[0x201] - HDR_OFFSET, sizeof(*h));
	memset(h, 0, sizeof(*h));
	memcpy(h, buf + HDR_OFFSET, k->hdr_len);
	if (h->boot_flag != BOOT_FLAG || h->header != HDR_MAGIC) {
		snprintf(err, errlen, "not a bzImage (no HdrS setup header)");
		return -ENOEXEC;
	}
	if (h->version < LOADER_MIN_PROTOCOL) {
		snprintf(err, errlen, "boot protocol %u.%02u is older than 2.12",
			 h->version >> 8, h->version & 0xFF);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64) || !(h->loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "not a 64-bit kernel (no 64-bit entry point)");
		return -ENOEXEC;
	}
	sects = h->setup_sects ? h->setup_sects : 4;
	k->setup_size = (sects + 1) * 512;
	return 0;
}

static int loader_open_file(const char *path, off_t *size, const char *opt,
			    char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s: %s", opt, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	*size = st.st_size;
	return fd;
}

int loader_open(struct kernel_image *k, const char *kernel,
		const char *initrd, char *err, size_t errlen)
{
	uint8_t buf[4096];
	char why[128];
	ssize_t n;
	int ret;

	memset(k, 0, sizeof(*k));
	k->initrd_fd = -1;
	k->kernel_fd = loader_open_file(kernel, &k->kernel_size, "--kernel",
					err, errlen);
	if (k->kernel_fd < 0)
		return k->kernel_fd;
	n = pread(k->kernel_fd, buf, sizeof(buf), 0);
	ret = loader_parse_header(k, buf, n > 0 ? n : 0, why, sizeof(why));
	if (!ret && (off_t)k->setup_size >= k->kernel_size) {
		snprintf(why, sizeof(why), "truncated bzImage");
		ret = -ENOEXEC;
	}
	if (ret) {
		snprintf(err, errlen, "--kernel: %s: %s; accepted form: a Linux "
			 "x86_64 bzImage (boot protocol 2.12 or later)",
			 kernel, why);
		goto err;
	}
	if (initrd) {
		k->initrd_fd = loader_open_file(initrd, &k->initrd_size,
						"--initramfs", err, errlen);
		if (k->initrd_fd < 0) {
			ret = k->initrd_fd;
			goto err;
		}
	}
	return 0;
err:
	loader_close(k);
	return ret;
}

void loader_close(struct kernel_image *k)
{
	if (k->kernel_fd >= 0)
		close(k->kernel_fd);
	if (k->initrd_fd >= 0)
		close(k->initrd_fd);
	k->kernel_fd = k->initrd_fd = -1;
}

static int loader_read(struct vm *vm, int fd, off_t off, uint64_t gpa,
		       uint64_t len)
{
	uint8_t *dst = vm_gpa_ptr(vm, gpa, len);

	if (!dst)
		return -ENOSPC;
	while (len) {
		ssize_t n = pread(fd, dst, len, off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

int loader_load(struct vm *vm, const struct kernel_image *k,
		struct boot_params *zp, char *err, size_t errlen)
{
	uint64_t ksize = k->kernel_size - k->setup_size;
	uint64_t kend = LAYOUT_KERNEL + MAX(ksize, (uint64_t)k->hdr.init_size);
	uint64_t low_end = vm->regions[0].size;
	uint64_t top, addr;
	int ret;

	if (kend > low_end) {
		snprintf(err, errlen, "--memory: the kernel needs %llu MiB of RAM",
			 (unsigned long long)(kend >> 20) + 1);
		return -ENOSPC;
	}
	memcpy(&zp->hdr, &k->hdr, k->hdr_len);
	ret = loader_read(vm, k->kernel_fd, k->setup_size, LAYOUT_KERNEL, ksize);
	if (ret)
		goto io_err;
	if (k->initrd_fd < 0)
		return 0;
	/* As high as the header allows, page aligned, above the kernel. */
	top = MIN(low_end, (uint64_t)k->hdr.initrd_addr_max + 1);
	addr = (top - k->initrd_size) & ~4095ULL;
	if (top < (uint64_t)k->initrd_size || addr < kend) {
		snprintf(err, errlen, "--memory: too small for the kernel and "
			 "a %llu MiB initramfs",
			 (unsigned long long)k->initrd_size >> 20);
		return -ENOSPC;
	}
	ret = loader_read(vm, k->initrd_fd, 0, addr, k->initrd_size);
	if (ret)
		goto io_err;
	zp->hdr.ramdisk_image = addr;
	zp->hdr.ramdisk_size = k->initrd_size;
	return 0;
io_err:
	snprintf(err, errlen, "loading the kernel or initramfs: %s",
		 strerror(-ret));
	return ret;
}

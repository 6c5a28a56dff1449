/*
 * The kernel loader on the input as a bzImage file, then, when the header
 * is accepted, boot_setup_memory() into 64 MiB of guest RAM (a malloc'd
 * buffer, so ASan sees any write past it). Bytes 0-1 of a bzImage are
 * never read by the loader: here they give how many bytes at the input's
 * end are the initramfs instead.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/loader.h"
#include "vmm/vm.h"

#define RAM_SIZE	(64ULL << 20)
#define CMDLINE		"console=ttyS0"

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vm.ram = malloc(RAM_SIZE);
	if (!vm.ram)
		abort();
	vm.ram_size = RAM_SIZE;
	vm.regions[0] = (struct vm_ram){ 0, RAM_SIZE, vm.ram };
	vm.nregions = 1;
	vm.fd = vm.kvm_fd = -1;
	return 0;
}

static int memfd_with(const char *name, const uint8_t *data, size_t size,
		      char *path, size_t pathlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* The protected-mode part is in RAM at 1 MiB, the initramfs page aligned. */
static void check_loaded(const struct kernel_image *k, const uint8_t *image)
{
	const struct boot_params *zp = (void *)(vm.ram + LAYOUT_ZERO_PAGE);

	fuzz_assert(k->setup_size < (size_t)k->kernel_size, "setup %zu of %lld",
		    k->setup_size, (long long)k->kernel_size);
	fuzz_assert(k->hdr_len <= sizeof(k->hdr), "hdr_len %zu", k->hdr_len);
	fuzz_assert(!memcmp(vm.ram + LAYOUT_KERNEL, image + k->setup_size,
			    k->kernel_size - k->setup_size), "kernel bytes");
	if (k->initrd_fd < 0)
		return;
	fuzz_assert(zp->hdr.ramdisk_size == (uint32_t)k->initrd_size &&
		    zp->hdr.ramdisk_image % 4096 == 0 &&
		    zp->hdr.ramdisk_image + (uint64_t)k->initrd_size <= RAM_SIZE,
		    "initramfs at 0x%x size %u", zp->hdr.ramdisk_image,
		    zp->hdr.ramdisk_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t initrd = size >= 2 ? (data[0] | data[1] << 8) : 0;
	char kpath[64], ipath[64], err[256];
	struct kernel_image k;
	int kfd, ifd = -1, ret;

	initrd = initrd <= size ? initrd : 0;
	kfd = memfd_with("kernel", data, size - initrd, kpath, sizeof(kpath));
	if (initrd)
		ifd = memfd_with("initrd", data + size - initrd, initrd, ipath,
				 sizeof(ipath));
	ret = loader_open(&k, kpath, initrd ? ipath : NULL, err, sizeof(err));
	if (ret) {
		fuzz_assert(ret < 0 && strstr(err, "--kernel"), "%d: %s", ret,
			    err);
		goto out;
	}
	ret = boot_setup_memory(&vm, &k, CMDLINE, LAYOUT_ACPI, err,
				sizeof(err));
	fuzz_assert(ret <= 0 && (!ret || err[0]), "%d: no message", ret);
	/* Refused only if it really is longer than the kernel takes. */
	fuzz_assert(ret != -E2BIG || sizeof(CMDLINE) - 1 > k.hdr.cmdline_size,
		    "a %zu-byte command line refused: %s", sizeof(CMDLINE) - 1,
		    err);
	if (!ret)
		check_loaded(&k, data);
	loader_close(&k);
out:
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	return 0;
}

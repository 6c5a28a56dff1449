/*
 * The Linux x86 boot protocol's image side: checks a bzImage's setup header
 * and loads the kernel and the initramfs into guest RAM. The files stay open
 * so that a guest reboot reloads them without keeping copies in memory.
 */
#ifndef EVMM_LOADER_H
#define EVMM_LOADER_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vm;

#define LOADER_MIN_PROTOCOL	0x020C	/* 2.12: xloadflags, 64-bit entry */

struct kernel_image {
	int kernel_fd;
	off_t kernel_size;
	int initrd_fd;		/* -1: none */
	off_t initrd_size;
	struct setup_header hdr;	/* as read from the image */
	size_t hdr_len;		/* bytes of it the image defines */
	size_t setup_size;	/* real-mode part, skipped when loading */
};

/*
 * Validates a bzImage's first bytes (at least 1 KiB); fills hdr, hdr_len,
 * setup_size. On error, err says why (for the --kernel message).
 */
int loader_parse_header(struct kernel_image *k, const uint8_t *buf, size_t len,
			char *err, size_t errlen);
/* Opens and validates both files. Messages name --kernel/--initramfs. */
int loader_open(struct kernel_image *k, const char *kernel,
		const char *initrd, char *err, size_t errlen);
void loader_close(struct kernel_image *k);
/*
 * Copies the kernel to LAYOUT_KERNEL and the initramfs high in low RAM,
 * recording both in the zero page's header.
 */
int loader_load(struct vm *vm, const struct kernel_image *k,
		struct boot_params *zp, char *err, size_t errlen);

#endif

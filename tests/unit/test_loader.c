/* bzImage setup header checks (the --kernel errors) on synthetic images. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/loader.h"
#include "vmm/vm.h"

static uint8_t img[4096];

static void make_bzimage(uint16_t version, uint16_t xloadflags)
{
	memset(img, 0, sizeof(img));
	img[0x1F1] = 27;			/* setup_sects */
	img[0x1FE] = 0x55;
	img[0x1FF] = 0xAA;
	img[0x201] = 0x6A;			/* jump: header up to 0x26C */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = version & 0xFF;
	img[0x207] = version >> 8;
	img[0x211] = LOADED_HIGH;
	img[0x236] = xloadflags & 0xFF;
	img[0x237] = xloadflags >> 8;
	img[0x238] = 0xFF;			/* cmdline_size 2047 */
	img[0x239] = 0x07;
}

START_TEST(loader_accepts_64bit_bzimage)
{
	struct kernel_image k;
	char err[128] = "";

	make_bzimage(0x020F, XLF_KERNEL_64);
	ck_assert_int_eq(loader_parse_header(&k, img, sizeof(img), err,
					     sizeof(err)), 0);
	ck_assert_uint_eq(k.setup_size, 28 * 512);
	ck_assert_uint_eq(k.hdr.cmdline_size, 2047);
	ck_assert_uint_eq(k.hdr_len, 0x26C - 0x1F1);
}
END_TEST

START_TEST(loader_rejects_non_bzimages)
{
	struct kernel_image k;
	char err[128];

	memset(img, 0x7F, sizeof(img));		/* e.g. an ELF or a cpio */
	ck_assert_int_eq(loader_parse_header(&k, img, sizeof(img), err,
					     sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "not a bzImage"));
	ck_assert_int_eq(loader_parse_header(&k, img, 100, err, sizeof(err)),
			 -ENOEXEC);
	make_bzimage(0x020A, XLF_KERNEL_64);
	ck_assert_int_eq(loader_parse_header(&k, img, sizeof(img), err,
					     sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "2.10"));
	make_bzimage(0x020F, 0);
	ck_assert_int_eq(loader_parse_header(&k, img, sizeof(img), err,
					     sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "64-bit"));
}
END_TEST

START_TEST(loader_open_names_the_option)
{
	char path[] = "/tmp/evmm-loader-XXXXXX";
	struct kernel_image k;
	char err[256];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	memset(img, 0, sizeof(img));
	ck_assert_int_eq(write(fd, img, sizeof(img)), sizeof(img));
	close(fd);
	ck_assert_int_lt(loader_open(&k, path, NULL, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "--kernel"));
	ck_assert_ptr_nonnull(strstr(err, "accepted form"));
	/* A valid header but nothing after the setup sectors: truncated. */
	make_bzimage(0x020F, XLF_KERNEL_64);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, img, sizeof(img)), sizeof(img));
	close(fd);
	ck_assert_int_lt(loader_open(&k, path, NULL, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_lt(loader_open(&k, "/nonexistent/bz", NULL, err,
				     sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "--kernel"));
	unlink(path);
}
END_TEST

/* Found by fuzz_loader: cmdline_size 0xFFFFFFFF refused every command line. */
START_TEST(loader_cmdline_size_max)
{
	char path[] = "/tmp/evmm-loader-XXXXXX", err[256] = "";
	struct vm vm = { .fd = -1, .kvm_fd = -1 };
	struct kernel_image k;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	make_bzimage(0x020F, XLF_KERNEL_64);
	img[0x1F1] = 3;				/* setup: 2 KiB of the 4 */
	memset(img + 0x238, 0xFF, 4);		/* cmdline_size */
	ck_assert_int_eq(write(fd, img, sizeof(img)), sizeof(img));
	close(fd);
	ck_assert_int_eq(loader_open(&k, path, NULL, err, sizeof(err)), 0);
	vm.ram = calloc(1, 64 << 20);
	ck_assert_ptr_nonnull(vm.ram);
	vm.regions[0] = (struct vm_ram){ 0, 64 << 20, vm.ram };
	vm.nregions = 1;
	ck_assert_msg(!boot_setup_memory(&vm, &k, "console=ttyS0", LAYOUT_ACPI,
					 err, sizeof(err)), "%s", err);
	loader_close(&k);
	free(vm.ram);
	unlink(path);
}
END_TEST

Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, loader_accepts_64bit_bzimage);
	tcase_add_test(tc, loader_rejects_non_bzimages);
	tcase_add_test(tc, loader_open_names_the_option);
	tcase_add_test(tc, loader_cmdline_size_max);
	suite_add_tcase(s, tc);
	return s;
}

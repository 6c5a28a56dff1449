/*
 * disk: opening a raw image (modes, size, O_DIRECT's block size), every
 * refusal with its message, and the OFD lock: two opens in one process
 * lock independently, so one test shows who excludes whom.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/disk.h"
#include "vmm/util.h"

#define IMAGE_SIZE	(MiB + 100)	/* not a whole number of sectors */

static char dir[64], image[96];
static char err[1024];
static struct disk a, b;

static void make_file(const char *path, off_t size, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/var/tmp/evmm-test-disk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* Searchable by anyone: some tests drop to nobody. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(image, sizeof(image), "%s/image.raw", dir);
	make_file(image, IMAGE_SIZE, 0644);
	a.fd = b.fd = -1;
}

static void teardown(void)
{
	static const char *const files[] = { "image.raw", "small", "tiny",
					     "fifo", "link" };
	char path[128];
	size_t i;

	disk_close(&a);
	disk_close(&b);
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

static struct config_disk disk_cfg(const char *path, bool readonly,
				   bool direct)
{
	return (struct config_disk){ .path = (char *)path,
		.readonly = readonly, .direct = direct, .num_queues = 1,
		.queue_size = 128 };
}

static int open_disk(struct disk *d, const char *path, bool readonly,
		     bool direct)
{
	struct config_disk c = disk_cfg(path, readonly, direct);

	memset(err, 0, sizeof(err));
	return disk_open(d, &c, err, sizeof(err));
}

/* One line naming --disk, the path and the accepted form. */
#define ck_assert_refused(ret, expect, path, what) do {			\
	ck_assert_int_eq(ret, expect);					\
	ck_assert_msg(!strncmp(err, "--disk: ", 8), "\"%s\"", err);	\
	ck_assert_msg(strstr(err, path), "\"%s\" lacks %s", err, path);	\
	ck_assert_msg(strstr(err, what), "\"%s\" lacks %s", err, what);	\
	ck_assert_msg(strstr(err, "; accepted form: " CONFIG_DISK_FORM), \
		      "\"%s\": no form", err);				\
	ck_assert_msg(!strchr(err, '\n'), "\"%s\" is not one line", err); \
} while (0)

/* Runs as nobody when root, so that permission bits count. */
static int open_as_nobody(struct disk *d, const char *path, bool readonly)
{
	int ret;

	if (geteuid() == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	ret = open_disk(d, path, readonly, false);
	if (getuid() == 0)
		ck_assert_int_eq(seteuid(0), 0);
	return ret;
}

START_TEST(disk_open_rw)
{
	int fl;

	ck_assert_int_eq(open_disk(&a, image, false, false), 0);
	ck_assert_int_ge(a.fd, 0);
	fl = fcntl(a.fd, F_GETFL);
	ck_assert_int_eq(fl & O_ACCMODE, O_RDWR);
	ck_assert(!(fl & (O_DIRECT | O_NONBLOCK)));
	ck_assert_int_eq(fcntl(a.fd, F_GETFD), FD_CLOEXEC);
	ck_assert(!a.readonly && !a.direct);
	/* Rounded down to whole sectors, as QEMU and CH do. */
	ck_assert_uint_eq(a.sectors, MiB / DISK_SECTOR);
	ck_assert_uint_eq(a.block_size, DISK_SECTOR);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(disk_open_ro)
{
	ck_assert_int_eq(open_disk(&a, image, true, false), 0);
	ck_assert_int_eq(fcntl(a.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(a.readonly);
	ck_assert_uint_eq(a.sectors, MiB / DISK_SECTOR);
}
END_TEST

START_TEST(disk_open_small)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/small", dir);
	make_file(path, 511, 0644);
	ck_assert_int_eq(open_disk(&a, path, false, false), 0);
	ck_assert_uint_eq(a.sectors, 0);
	disk_close(&a);
	make_file(path, 0, 0644);
	ck_assert_int_eq(open_disk(&a, path, false, false), 0);
	ck_assert_uint_eq(a.sectors, 0);
}
END_TEST

/*
 * O_DIRECT, and the block size it implies: a power of two of at least 512,
 * the size in whole blocks. A filesystem without O_DIRECT says so.
 */
START_TEST(disk_open_direct)
{
	int ret = open_disk(&a, image, false, true);

	if (ret == -EINVAL) {
		ck_assert_refused(ret, -EINVAL, image, "O_DIRECT");
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert(fcntl(a.fd, F_GETFL) & O_DIRECT);
	ck_assert(a.direct);
	ck_assert_uint_ge(a.block_size, DISK_SECTOR);
	ck_assert_uint_eq(a.block_size & (a.block_size - 1), 0);
	ck_assert_uint_eq(a.sectors * DISK_SECTOR % a.block_size, 0);
	ck_assert_uint_eq(a.sectors * DISK_SECTOR,
			  MiB / a.block_size * a.block_size);
}
END_TEST

START_TEST(disk_missing)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_refused(open_disk(&a, path, false, false), -ENOENT, path,
			  "No such file");
	ck_assert_int_eq(a.fd, -1);
	ck_assert_refused(open_disk(&a, path, true, false), -ENOENT, path,
			  "No such file");
}
END_TEST

START_TEST(disk_directory)
{
	ck_assert_refused(open_disk(&a, dir, false, false), -EISDIR, dir,
			  "is a directory");
	ck_assert_refused(open_disk(&a, dir, true, false), -EISDIR, dir,
			  "is a directory");
}
END_TEST

/* Devices other than disks, and a FIFO that must not hang the open. */
START_TEST(disk_not_regular)
{
	char fifo[128];

	ck_assert_refused(open_disk(&a, "/dev/null", true, false), -EINVAL,
			  "/dev/null", "not a regular file or a block device");
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	ck_assert_refused(open_disk(&a, fifo, true, false), -EINVAL, fifo,
			  "not a regular file");
	ck_assert_refused(open_disk(&a, fifo, false, false), -EINVAL, fifo,
			  "not a regular file");
}
END_TEST

START_TEST(disk_unwritable)
{
	ck_assert_int_eq(chmod(image, 0444), 0);
	ck_assert_refused(open_as_nobody(&a, image, false), -EACCES, image,
			  "cannot open it for writing: Permission denied "
			  "(readonly=on opens it read-only)");
	ck_assert_int_eq(open_as_nobody(&a, image, true), 0);
	ck_assert_int_ge(a.fd, 0);
}
END_TEST

START_TEST(disk_unreadable)
{
	ck_assert_int_eq(chmod(image, 0), 0);
	ck_assert_refused(open_as_nobody(&a, image, true), -EACCES, image,
			  "Permission denied");
}
END_TEST

/* A path with a newline or an escape stays one harmless line. */
START_TEST(disk_message_one_line)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/no\nsuch\x1b[2J", dir);
	ck_assert_int_eq(open_disk(&a, path, false, false), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no?such?[2J"));
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_ptr_null(strchr(err, '\x1b'));
}
END_TEST

/* Readers share an image. */
START_TEST(disk_lock_ro_ro)
{
	ck_assert_int_eq(open_disk(&a, image, true, false), 0);
	ck_assert_int_eq(open_disk(&b, image, true, false), 0);
}
END_TEST

/* A writer excludes a reader, and the message says who holds it. */
START_TEST(disk_lock_rw_ro)
{
	ck_assert_int_eq(open_disk(&a, image, false, false), 0);
	ck_assert_refused(open_disk(&b, image, true, false), -EBUSY, image,
			  "in use: another process holds it read-write");
	ck_assert_int_eq(b.fd, -1);
}
END_TEST

START_TEST(disk_lock_ro_rw)
{
	ck_assert_int_eq(open_disk(&a, image, true, false), 0);
	ck_assert_refused(open_disk(&b, image, false, false), -EBUSY, image,
			  "in use: another process holds a lock on it "
			  "(readonly=on shares an image with readers, never "
			  "with a writer)");
}
END_TEST

START_TEST(disk_lock_rw_rw)
{
	ck_assert_int_eq(open_disk(&a, image, false, false), 0);
	ck_assert_refused(open_disk(&b, image, false, false), -EBUSY, image,
			  "read-write");
}
END_TEST

/* By another name: the lock is the file's, not the path's. */
START_TEST(disk_lock_other_name)
{
	char link[128];

	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(image, link), 0);
	ck_assert_int_eq(open_disk(&a, image, false, false), 0);
	ck_assert_refused(open_disk(&b, link, true, false), -EBUSY, link,
			  "in use");
}
END_TEST

/* Closing the holder releases the lock; a refused open holds none. */
START_TEST(disk_lock_released)
{
	ck_assert_int_eq(open_disk(&a, image, false, false), 0);
	ck_assert_int_eq(open_disk(&b, image, false, false), -EBUSY);
	disk_close(&a);
	ck_assert_int_eq(a.fd, -1);
	ck_assert_int_eq(open_disk(&b, image, false, false), 0);
	disk_close(&b);
	ck_assert_int_eq(open_disk(&a, image, true, false), 0);
	ck_assert_int_eq(open_disk(&b, image, false, false), -EBUSY);
	disk_close(&a);
	ck_assert_int_eq(open_disk(&b, image, false, false), 0);
	disk_close(&b);
	disk_close(&b);		/* twice is fine */
}
END_TEST

/* The lock spans the whole file, also past its end (QEMU's bytes 100+). */
START_TEST(disk_lock_whole_file)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = 201, .l_len = 1 };
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/tiny", dir);
	make_file(path, 0, 0644);
	ck_assert_int_eq(open_disk(&a, path, false, false), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), -1);
	ck_assert(errno == EAGAIN || errno == EACCES);
	close(fd);
}
END_TEST

Suite *disk_suite(void)
{
	const TTest *const tests[] = {
		disk_open_rw, disk_open_ro, disk_open_small, disk_open_direct,
		disk_missing, disk_directory, disk_not_regular,
		disk_unwritable, disk_unreadable, disk_message_one_line,
		disk_lock_ro_ro, disk_lock_rw_ro, disk_lock_ro_rw,
		disk_lock_rw_rw, disk_lock_other_name, disk_lock_released,
		disk_lock_whole_file,
	};
	Suite *s = suite_create("disk");
	TCase *tc = tcase_create("disk");
	size_t i;

	tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

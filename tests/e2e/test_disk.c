/*
 * virtio-blk end to end: the guest's root on a copy of
 * build/guest/rootfs.img (root=/dev/vda rw) and a second, readonly disk.
 * What the guest writes and syncs is in the image when evmm has exited,
 * and a new evmm boots from it; a guest reboot (a new KVM VM, every PCI
 * function reset, nothing replayed) finds its disk again.
 */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

#define ROOTFS		"build/guest/rootfs.img"
#define DATA_MAGIC	"EVMM-DATA-DISK"
#define DATA_SIZE	(4 << 20)
/* GUEST_CMDLINE without pci=off: the disks are PCI functions. */
#define DISK_CMDLINE	"console=ttyS0 quiet panic=-1 root=/dev/vda rw"
#define MiB		(1024LL * 1024)
#define RAM_BOOT	(512 * MiB)
#define RAM_UP		(RAM_BOOT + 512 * MiB)
#define T_HOTPLUG	3.0	/* the guest takes or gives back a resource */
/* 32 MiB of random data, written and synced through the page cache. */
#define WRITE_32M	"dd if=/dev/urandom of=/data.bin bs=1M count=32 " \
			"2>/dev/null && sync"

static struct guest g;
static char dir[64], root_img[128], data_img[128];
static char root_arg[256], data_arg[256], sock[108];

static void copy_file(const char *from, const char *to)
{
	static char buf[1 << 20];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	ck_assert_msg(in >= 0, "%s: run make guest", from);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

static void make_data(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, DATA_SIZE), 0);
	ck_assert_int_eq(pwrite(fd, DATA_MAGIC, strlen(DATA_MAGIC), 0),
			 (ssize_t)strlen(DATA_MAGIC));
	close(fd);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/evmm-disk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(root_img, sizeof(root_img), "%s/root.img", dir);
	snprintf(data_img, sizeof(data_img), "%s/data.img", dir);
	copy_file(ROOTFS, root_img);
	make_data(data_img);
	snprintf(root_arg, sizeof(root_arg), "path=%s,serial=evmm-root",
		 root_img);
	snprintf(data_arg, sizeof(data_arg), "path=%s,readonly=on", data_img);
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
}

static void teardown(void)
{
	guest_kill(&g);
	unlink(root_img);
	unlink(data_img);
	unlink(sock);
	rmdir(dir);
}

static void expect_value(const char *cmd, const char *key, const char *want)
{
	const char *v = guest_query(&g, cmd, key);

	guest_check(&g, !strcmp(v, want), "\"%s\" gave %s\"%s\", expected "
		    "\"%s\"", cmd, key, v, want);
}

/* init's ready line: the root it switched to. */
static void expect_disk_root(void)
{
	guest_ready(&g, 2 * T_BOOT, NULL);
	guest_check(&g, strstr(g.line, "root=/dev/vda,rw"),
		    "booted with \"%s\", not on /dev/vda", g.line);
}

static void poweroff(void)
{
	int status;

	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	status = guest_wait_exit(&g, T_EXIT);
	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "evmm ended with wait status %#x", status);
}

/*
 * Root on vda, a readonly vdb: get-id, reads, a refused write; 32 MiB
 * written and synced; power off; a new evmm boots the same image, finds
 * the file intact, and again after a guest reboot.
 */
START_TEST(disk_root_and_readonly)
{
	char sum[64];

	guest_start(&g, "--cmdline", DISK_CMDLINE, "--disk", root_arg,
		    "--disk", data_arg, NULL);
	expect_disk_root();
	expect_value("echo id=$(cat /sys/block/vda/serial)", "id=",
		     "evmm-root");
	expect_value("echo id=$(cat /sys/block/vdb/serial)", "id=", "_disk1");
	expect_value("echo ro=$(cat /sys/block/vdb/ro)", "ro=", "1");
	expect_value("echo n=$(cat /sys/block/vdb/size)", "n=", "8192");
	expect_value("echo m=$(head -c 14 /dev/vdb)", "m=", DATA_MAGIC);
	guest_check(&g, guest_cmd(&g, "dd if=/dev/zero of=/dev/vdb bs=512 "
				  "count=1 conv=fsync", T_CMD) != 0,
		    "a write to the readonly disk succeeded: %s", g.output);
	guest_check(&g, guest_cmd(&g, WRITE_32M, 8 * T_CMD) == 0,
		    "writing 32 MiB failed: %s", g.output);
	snprintf(sum, sizeof(sum), "%s",
		 guest_query(&g, "md5sum /data.bin", ""));
	poweroff();

	guest_kill(&g);
	guest_start(&g, "--cmdline", DISK_CMDLINE, "--disk", root_arg, NULL);
	expect_disk_root();
	expect_value("md5sum /data.bin", "", sum);
	guest_send(&g, "reboot");
	guest_expect(&g, "EVMM-INIT: reboot", T_CMD);
	expect_disk_root();
	expect_value("md5sum /data.bin", "", sum);
	poweroff();
}
END_TEST

static void resize(int vcpus, long long ram)
{
	char body[96], *resp = NULL;
	int code;

	snprintf(body, sizeof(body), "{\"desired_vcpus\":%d,"
		 "\"desired_ram\":%lld}", vcpus, ram);
	code = api_call(sock, "PUT", "vm.resize", body, &resp);
	guest_check(&g, code == 204, "vm.resize %s: HTTP %d \"%s\"", body,
		    code, resp ? resp : "");
	free(resp);
}

/* Polls the guest until it shows these CPUs and about this MemTotal. */
static void wait_guest(const char *online, long mem_kb)
{
	double limit = T_HOTPLUG * guest_scale();
	struct guest_state st = { 0 };

	for (double t = 0; t < limit; t += 0.2) {
		guest_status(&g, &st);
		if (!strcmp(st.online, online) &&
		    labs(st.memtotal_kb - mem_kb) < 1024)
			return;
		usleep(200000);
	}
	guest_fail(&g, "the guest shows CPUs %s online, MemTotal %ld kB; "
		   "expected %s, %ld kB", st.online, st.memtotal_kb, online,
		   mem_kb);
}

/* vm.info still lists both disks at their PCI addresses. */
static void expect_disks_listed(void)
{
	json_t *info = api_info(&g, sock);
	json_t *disks = json_object_get(json_object_get(info, "config"),
					"disks");

	guest_check(&g, json_array_size(disks) == 2, "vm.info lists %zu "
		    "disks, not 2", json_array_size(disks));
	json_decref(info);
}

/*
 * CPU and memory hotplug with the disks present: up, 32 MiB written on
 * the extra CPUs, down, read back from the disk (caches dropped); then
 * SIGKILL after the guest's sync, and a new evmm finds the file intact.
 */
START_TEST(disk_resize_and_kill)
{
	struct guest_state st = { 0 };
	char sum[64];
	long m0;
	int status;

	guest_start(&g, "--cmdline", DISK_CMDLINE
		    " memhp_default_state=online_movable", "--cpus",
		    "boot=1,max=4", "--memory", "size=512M,hotplug_size=1G",
		    "--api-socket", sock, "--disk", root_arg, "--disk",
		    data_arg, NULL);
	guest_ready(&g, 2 * T_BOOT, &st);
	guest_check(&g, strstr(g.line, "root=/dev/vda,rw"),
		    "booted with \"%s\", not on /dev/vda", g.line);
	m0 = st.memtotal_kb;
	resize(4, RAM_UP);
	guest_check(&g, guest_cmd(&g, "sleep 1; for c in 1 2 3; do echo 1 > "
				  "/sys/devices/system/cpu/cpu$c/online || "
				  "exit 1; done", 2 * T_HOTPLUG) == 0,
		    "onlining CPUs 1-3 failed: %s", g.output);
	wait_guest("0-3", m0 + RAM_UP / 1024 - RAM_BOOT / 1024);
	expect_disks_listed();
	guest_check(&g, guest_cmd(&g, WRITE_32M, 8 * T_CMD) == 0,
		    "writing 32 MiB with 4 CPUs failed: %s", g.output);
	snprintf(sum, sizeof(sum), "%s",
		 guest_query(&g, "md5sum /data.bin", ""));
	resize(1, RAM_BOOT);
	wait_guest("0", m0);
	expect_value("echo 3 > /proc/sys/vm/drop_caches; md5sum /data.bin",
		     "", sum);
	expect_value("echo m=$(head -c 14 /dev/vdb)", "m=", DATA_MAGIC);

	guest_signal(&g, SIGKILL);
	status = guest_wait_exit(&g, T_EXIT);
	guest_check(&g, WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "evmm's wait status %#x after SIGKILL", status);
	guest_kill(&g);
	guest_start(&g, "--cmdline", DISK_CMDLINE, "--disk", root_arg, NULL);
	expect_disk_root();
	expect_value("md5sum /data.bin", "", sum);
	poweroff();
}
END_TEST

/* A second evmm cannot take the image the first one writes. */
START_TEST(disk_locked)
{
	struct guest g2 = { 0 };
	int status;

	guest_start(&g, "--cmdline", DISK_CMDLINE, "--disk", root_arg, NULL);
	expect_disk_root();
	guest_start(&g2, "--disk", root_arg, NULL);
	status = guest_wait_exit(&g2, T_CLI);
	guest_check(&g2, WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		    strstr(g2.buf, "--disk"), "a second evmm on a locked "
		    "image: wait status %#x", status);
	guest_kill(&g2);
	poweroff();
}
END_TEST

Suite *e2e_disk_suite(void)
{
	Suite *s = suite_create("e2e_disk");

	check_set_max_msg_size(GUEST_MSG_MAX);
	guest_add_test(s, "root_and_readonly", disk_root_and_readonly,
		       6 * T_BOOT + 20 * T_CMD + 2 * T_EXIT, setup, teardown);
	guest_add_test(s, "resize_and_kill", disk_resize_and_kill,
		       3 * T_BOOT + 4 * T_HOTPLUG + 20 * T_CMD + 2 * T_EXIT,
		       setup, teardown);
	guest_add_test(s, "locked", disk_locked,
		       2 * T_BOOT + T_CLI + T_CMD + T_EXIT, setup, teardown);
	return s;
}

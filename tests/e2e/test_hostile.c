/*
 * Hostile guests under the real evmm. hostile_guest: the fake bzImage
 * firmware/payloads/hostile64.S writes random values of every size to
 * every port and MMIO range evmm decodes, straddles their ends, storms
 * ejects on every CPU (boot ones too) and RAM slot and selects slots that
 * do not exist. Meanwhile the test pings, reads vm.info and resizes vCPUs
 * and RAM up and down: evmm must answer every call within the API's bound,
 * with no 5xx, keep vm.info consistent (boot vCPUs and boot RAM never
 * removed, counts within bounds), keep the guest running (no reset: one
 * "start"), and exit cleanly on SIGTERM.
 *
 * hostile_virtio: firmware/payloads/hostile_virtio64.S against two disks
 * (the second readonly) on evmm built with ASan and UBSan: garbage to
 * configuration space, BARs, the virtio registers and MSI-X, hostile
 * descriptor chains, a valid read checked after each. Meanwhile pings and
 * vm.info. The payload's own checks must all pass (a device that stopped
 * serving fails them) and the device threads must still be there; then
 * a reboot through the API with requests in flight, garbage vectors and
 * BAR0 at the top of the address space, and the same again. No sanitizer
 * report, no reset but that one, a clean SIGTERM; the readonly image is
 * unchanged and the other holds exactly what the guest wrote to it.
 */
#include <check.h>
#include <dirent.h>
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

#define MiB		(1024LL * 1024)
#define BOOT_VCPUS	2
#define MAX_VCPUS	8
#define BOOT_RAM	(256 * MiB)
#define HOTPLUG_RAM	(1024 * MiB)
#define MAX_CYCLES	100	/* API cycles while the payload storms */
#define AFTER_CYCLES	3	/* and once it is done */
#define T_HOSTILE	6.0	/* its passes, before scaling */
#define T_TICK		1.5
#define T_VIRTIO	8.0	/* hostile_virtio64's run, before scaling */
#define BIG_DISK	(1LL << 30)	/* the first disk, sparse */
#define DISK_SIZE	(1 << 20)	/* the second one */
#define SECTOR		512
#define NDISKS		2
#define ASAN_VIRTIO	"detect_leaks=0:halt_on_error=1"
#define UBSAN_VIRTIO	"halt_on_error=1:print_stacktrace=1"

static struct guest g;
static char sock[108];
static char dir[64], img[NDISKS][128], disk_arg[NDISKS][160];

static const char *payload(void)
{
	const char *v = getenv("EVMM_HOSTILE");

	return v && *v ? v : "build/firmware/hostile64.bin";
}

static void setup(void)
{
	snprintf(sock, sizeof(sock), "/tmp/evmm-e2e-%d.sock", getpid());
	unlink(sock);
}

static void teardown(void)
{
	guest_kill(&g);
	unlink(sock);
}

static json_t *jget(json_t *j, const char *path)
{
	char key[64];
	const char *dot;

	while (j && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		j = json_object_get(j, key);
		path = dot + 1;
	}
	return j ? json_object_get(j, path) : NULL;
}

static long long jint(json_t *info, const char *path)
{
	json_t *v = jget(info, path);

	guest_check(&g, json_is_integer(v), "vm.info has no integer %s", path);
	return json_integer_value(v);
}

static void expect_range(json_t *info, const char *path, long long lo,
			 long long hi)
{
	long long v = jint(info, path);

	guest_check(&g, v >= lo && v <= hi, "vm.info %s = %lld, outside "
		    "%lld..%lld", path, v, lo, hi);
}

/* What must hold whatever the guest wrote. */
static void check_info(void)
{
	json_t *info = api_info(&g, sock), *vcpus, *st;
	unsigned int i;

	st = jget(info, "state");
	guest_check(&g, json_is_string(st) &&
		    !strcmp(json_string_value(st), "Running"),
		    "the VM is not running");
	guest_check(&g, jint(info, "hotplug.cpus.boot") == BOOT_VCPUS &&
		    jint(info, "hotplug.cpus.max") == MAX_VCPUS,
		    "boot or max vCPUs changed");
	expect_range(info, "hotplug.cpus.current", BOOT_VCPUS, MAX_VCPUS);
	expect_range(info, "hotplug.cpus.requested", BOOT_VCPUS, MAX_VCPUS);
	vcpus = jget(info, "hotplug.cpus.vcpus");
	guest_check(&g, json_array_size(vcpus) == MAX_VCPUS,
		    "vm.info lists %zu vCPUs", json_array_size(vcpus));
	for (i = 0; i < BOOT_VCPUS; i++) {
		const char *s = json_string_value(json_object_get(
					json_array_get(vcpus, i), "state"));

		guest_check(&g, s && strcmp(s, "absent") &&
			    strcmp(s, "removing"), "boot vCPU %u is %s", i,
			    s ? s : "(none)");
	}
	guest_check(&g, jint(info, "hotplug.memory.boot") == BOOT_RAM &&
		    jint(info, "hotplug.memory.max") == BOOT_RAM + HOTPLUG_RAM,
		    "boot or max RAM changed");
	expect_range(info, "hotplug.memory.current", BOOT_RAM,
		     BOOT_RAM + HOTPLUG_RAM);
	expect_range(info, "hotplug.memory.requested", BOOT_RAM,
		     BOOT_RAM + HOTPLUG_RAM);
	guest_check(&g, jint(info, "memory_actual_size") ==
		    jint(info, "hotplug.memory.current"),
		    "memory_actual_size is not hotplug.memory.current");
	json_decref(info);
}

/* Answered, and not with a 5xx: 400 and 429 are a busy guest's lot. */
static void resize(const char *field, long long v)
{
	char body[96], *resp;
	int code;

	snprintf(body, sizeof(body), "{\"%s\": %lld}", field, v);
	code = api_call(sock, "PUT", "vm.resize", body, &resp);
	guest_check(&g, code == 204 || code == 400 || code == 429,
		    "resize %s: HTTP %d \"%s\"", body, code, resp);
	free(resp);
}

static void cycle(unsigned int n)
{
	static const int vcpus[] = { 4, 8, 2, 6, 3, 8, 2 };
	static const int ram_mib[] = { 384, 1280, 256, 768, 512, 256, 1024 };
	char *resp;
	int code;

	code = api_call(sock, "GET", "vmm.ping", NULL, &resp);
	guest_check(&g, code == 200, "vmm.ping: HTTP %d \"%s\"", code, resp);
	free(resp);
	check_info();
	resize("desired_vcpus", vcpus[n % 7]);
	check_info();
	resize("desired_ram", ram_mib[n % 7] * MiB);
	check_info();
}

/* evmm's log lines (info) in what it printed. */
static unsigned int count(const char *s)
{
	const char *p = g.buf;
	unsigned int n = 0;

	while (p && (p = strstr(p, s))) {
		n++;
		p += strlen(s);
	}
	return n;
}

static bool payload_done(void)
{
	guest_drain(&g);
	return g.buf && strstr(g.buf, "HOSTILE: done");
}

START_TEST(hostile_guest)
{
	const char *argv[] = {
		"evmm", "--kernel", payload(), "--cmdline", "hostile",
		"--cpus", "boot=2,max=8", "--memory", "size=256M,hotplug_size=1G",
		"--api-socket", sock, "--log-level", "info", NULL,
	};
	unsigned int n, during;
	const char *p;
	int status;

	guest_spawn(&g, argv);
	guest_expect(&g, "HOSTILE: start", T_BOOT);
	for (n = 0; n < MAX_CYCLES && !payload_done(); n++)
		cycle(n);
	during = n;
	fprintf(stderr, "e2e: %u API cycles while the payload ran, %.1f s; "
		"the guest's storms ejected %u vCPUs and %u RAM ranges\n",
		during, guest_elapsed(&g), count("ejected by the guest, parked"),
		count("ejected by the guest, unmapped"));
	guest_expect(&g, "HOSTILE: done", T_HOSTILE);
	for (; n < during + AFTER_CYCLES; n++)
		cycle(n);
	/* Still running now, and never reset. */
	guest_drain(&g);
	g.cursor = g.len;
	guest_expect(&g, "HOSTILE: tick", T_TICK);
	p = strstr(g.buf, "HOSTILE: start");
	guest_check(&g, p && !strstr(p + 1, "HOSTILE: start"),
		    "the guest was reset");
	guest_check(&g, during >= 1, "the payload ended before any API call");
	guest_signal(&g, SIGTERM);
	status = guest_wait_exit(&g, T_EXIT);
	guest_check(&g, WIFEXITED(status) && !WEXITSTATUS(status),
		    "evmm ended with wait status %#x after SIGTERM", status);
}
END_TEST

/* --- hostile_virtio ------------------------------------------------------ */

#define VIRTIO_CHECKS	100	/* valid requests checked, at least */
/* What the test sets for its evmm, restored after (CK_FORK=no). */
static const char *const env_names[] = {
	"EVMM_BIN", "ASAN_OPTIONS", "UBSAN_OPTIONS",
};
static char *env_saved[3];

static const char *virtio_payload(void)
{
	const char *v = getenv("EVMM_HOSTILE_VIRTIO");

	return v && *v ? v : "build/firmware/hostile_virtio64.bin";
}

/* Sector 0 of disk i: what the payload must read there. */
static void virtio_magic(unsigned int i, char *buf)
{
	snprintf(buf, 17, "HOSTVIRT-MAGIC-%u", i);
}

static void virtio_image(unsigned int i)
{
	char magic[17];
	int fd;

	snprintf(img[i], sizeof(img[i]), "%s/disk%u.img", dir, i);
	fd = open(img[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, i ? DISK_SIZE : BIG_DISK), 0);
	virtio_magic(i, magic);
	ck_assert_int_eq(pwrite(fd, magic, 16, 0), 16);
	close(fd);
	snprintf(disk_arg[i], sizeof(disk_arg[i]), "path=%s%s", img[i],
		 i ? ",readonly=on" : "");
}

static void virtio_setup(void)
{
	unsigned int i;
	const char *v;

	setup();
	snprintf(dir, sizeof(dir), "/tmp/evmm-hostvirt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < NDISKS; i++)
		virtio_image(i);
	for (i = 0; i < 3; i++) {
		v = getenv(env_names[i]);
		env_saved[i] = v ? strdup(v) : NULL;
	}
}

static void virtio_teardown(void)
{
	unsigned int i;

	teardown();
	for (i = 0; i < NDISKS; i++)
		unlink(img[i]);
	rmdir(dir);
	for (i = 0; i < 3; i++) {
		if (env_saved[i])
			setenv(env_names[i], env_saved[i], 1);
		else
			unsetenv(env_names[i]);
		free(env_saved[i]);
		env_saved[i] = NULL;
	}
}

/*
 * evmm under ASan and UBSan (a use after free or an overflow a hostile
 * guest causes shows up as a report), unless the seccomp audit runs:
 * it is about the filters of the binary users run.
 */
static void virtio_env(void)
{
	const char *bin = getenv("EVMM_HOSTILE_BIN");

	if (bin && *bin)
		setenv("EVMM_BIN", bin, 1);
	else if (!getenv("EVMM_E2E_SECCOMP"))
		setenv("EVMM_BIN", "build/evmm-asan", 1);
	setenv("ASAN_OPTIONS", ASAN_VIRTIO, 1);
	setenv("UBSAN_OPTIONS", UBSAN_VIRTIO, 1);
}

/* Fails on a sanitizer or seccomp report in anything evmm printed. */
static void virtio_reports(void)
{
	static const char *const marks[] = {
		"Sanitizer", "runtime error:", "seccomp blocked",
	};
	const char *hit;
	size_t i;

	for (i = 0; g.buf && i < sizeof(marks) / sizeof(marks[0]); i++) {
		hit = strstr(g.buf, marks[i]);
		if (hit)
			guest_fail(&g, "evmm reported \"%.300s\"", hit);
	}
}

/* Both disks in vm.info, in their slots, readonly where asked. */
static void virtio_info(void)
{
	json_t *info = api_info(&g, sock), *disks, *d;
	char bdf[16];
	unsigned int i;

	guest_check(&g, !strcmp(json_string_value(jget(info, "state")) ?: "",
				"Running"), "the VM is not running");
	disks = jget(info, "config.disks");
	guest_check(&g, json_array_size(disks) == NDISKS,
		    "vm.info lists %zu disks", json_array_size(disks));
	for (i = 0; i < NDISKS; i++) {
		d = json_array_get(disks, i);
		snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", i + 1);
		guest_check(&g, json_is_true(json_object_get(d, "readonly")) ==
			    (i == 1) && !strcmp(json_string_value(
				json_object_get(d, "bdf")) ?: "", bdf),
			    "vm.info disk %u changed", i);
	}
	json_decref(info);
}

static void virtio_cycle(void)
{
	char *resp;
	int code;

	code = api_call(sock, "GET", "vmm.ping", NULL, &resp);
	guest_check(&g, code == 200, "vmm.ping: HTTP %d \"%s\"", code, resp);
	free(resp);
	virtio_info();
}

/* The payload's run that started at g.buf + from is done. */
static bool virtio_done(size_t from)
{
	guest_drain(&g);
	virtio_reports();
	return g.buf && strstr(g.buf + from, "HOSTVIRT: done");
}

/* evmm's device threads ("io-<id>") that are alive. */
static unsigned int io_threads(void)
{
	char path[320], comm[32], st[256];
	unsigned int n = 0;
	struct dirent *d;
	const char *s;
	DIR *dir_;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", g.pid);
	dir_ = opendir(path);
	guest_check(&g, dir_, "no %s", path);
	while ((d = readdir(dir_))) {
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", g.pid,
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f) || strncmp(comm, "io-", 3)) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", g.pid,
			 d->d_name);
		f = fopen(path, "r");
		s = f && fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
		if (s && s[1] == ' ' && s[2] != 'Z' && s[2] != 'X')
			n++;
		if (f)
			fclose(f);
	}
	closedir(dir_);
	return n;
}

/* The run's last line: every check passed, and enough of them ran. */
static void virtio_verdict(size_t from)
{
	const char *line = guest_expect(&g, "HOSTVIRT: done", T_VIRTIO);
	char want[64];
	int checks, failures;
	unsigned int i;

	fprintf(stderr, "e2e: hostile_virtio: \"%s\" after %.1f s\n", line,
		guest_elapsed(&g));
	guest_check(&g, sscanf(strstr(line, "HOSTVIRT: done"),
			       "HOSTVIRT: done checks=%d failures=%d", &checks,
			       &failures) == 2 && !failures &&
		    checks >= VIRTIO_CHECKS, "the payload says \"%s\"", line);
	for (i = 0; i < NDISKS; i++) {
		snprintf(want, sizeof(want), "HOSTVIRT: check slot %u ro=%u "
			 "PASS", i + 1, i == 1);
		guest_check(&g, strstr(g.buf + from, want), "no \"%s\"", want);
	}
}

/* The readonly image as made; the other with sector 1 the guest's. */
static void virtio_images(void)
{
	char buf[2 * SECTOR], magic[17];
	unsigned int i, j;
	int fd;

	for (i = 0; i < NDISKS; i++) {
		fd = open(img[i], O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
		close(fd);
		virtio_magic(i, magic);
		ck_assert_msg(!memcmp(buf, magic, 16), "disk %u lost its magic",
			      i);
		for (j = 16; j < SECTOR; j++)
			ck_assert_msg(!buf[j], "disk %u: byte %u changed", i,
				      j);
		for (j = 0; j < SECTOR; j++)
			ck_assert_msg(buf[SECTOR + j] == (i ? 0 :
				      "HOSTVIRT-WROTE-1"[j % 16]),
				      "disk %u: sector 1 byte %u is %#x", i, j,
				      (unsigned char)buf[SECTOR + j]);
	}
}

/*
 * One run of the payload, from its start line, with API cycles meanwhile
 * and `after` more once it is done.
 */
static void virtio_run(unsigned int after)
{
	const char *line;
	size_t from;
	unsigned int n;

	guest_expect(&g, "HOSTVIRT: start", T_BOOT);
	from = g.cursor;
	line = guest_expect(&g, "HOSTVIRT: bus ", T_BOOT);
	guest_check(&g, strstr(line, "virtio-blk=2"), "the payload found "
		    "\"%s\"", line);
	for (n = 0; n < MAX_CYCLES && !virtio_done(from); n++)
		virtio_cycle();
	guest_check(&g, n >= 1, "the payload ended before any API call");
	virtio_verdict(from);
	guest_check(&g, io_threads() == NDISKS, "%u device threads left",
		    io_threads());
	for (n = 0; n < after; n++)
		virtio_cycle();
}

/* How many times the payload started. */
static unsigned int virtio_starts(void)
{
	const char *p = g.buf;
	unsigned int n = 0;

	guest_drain(&g);
	while (p && (p = strstr(p, "HOSTVIRT: start"))) {
		n++;
		p++;
	}
	return n;
}

START_TEST(hostile_virtio)
{
	const char *argv[] = {
		"evmm", "--kernel", virtio_payload(), "--cmdline", "hostile",
		"--memory", "size=256M", "--disk", disk_arg[0],
		"--disk", disk_arg[1], "--api-socket", sock, NULL,
	};
	char *resp;
	int status, code;

	virtio_env();
	guest_spawn(&g, argv);
	virtio_run(0);
	guest_check(&g, virtio_starts() == 1, "the guest was reset");
	/*
	 * The reboot waits for the device thread: however big the reads the
	 * guest left in flight, vm.info must not time out (a 503) behind it.
	 */
	code = api_call(sock, "PUT", "vm.reboot", NULL, &resp);
	guest_check(&g, code == 204, "vm.reboot: HTTP %d \"%s\"", code, resp);
	free(resp);
	clock_gettime(CLOCK_MONOTONIC, &g.mark);
	virtio_info();
	fprintf(stderr, "e2e: hostile_virtio: vm.info answered %.1f s after "
		"vm.reboot\n", guest_elapsed(&g));
	virtio_run(AFTER_CYCLES);
	guest_drain(&g);
	g.cursor = g.len;
	guest_expect(&g, "HOSTVIRT: tick", T_TICK);
	guest_check(&g, virtio_starts() == 2, "the guest was reset");
	virtio_reports();
	guest_signal(&g, SIGTERM);
	status = guest_wait_exit(&g, T_EXIT);
	fprintf(stderr, "e2e: hostile_virtio: SIGTERM exit in %.1f s\n",
		guest_elapsed(&g));
	virtio_reports();
	guest_check(&g, WIFEXITED(status) && !WEXITSTATUS(status),
		    "evmm ended with wait status %#x after SIGTERM", status);
	virtio_images();
}
END_TEST

Suite *e2e_hostile_suite(void)
{
	Suite *s = suite_create("e2e_hostile");

	check_set_max_msg_size(GUEST_MSG_MAX);
	guest_add_test(s, "hostile_guest", hostile_guest,
		       T_BOOT + T_HOSTILE + T_TICK + T_EXIT +
		       (20 + AFTER_CYCLES) * 7 * T_API, setup, teardown);
	/* Cycles stop when the payload is done: its time bounds them. */
	guest_add_test(s, "hostile_virtio", hostile_virtio,
		       2 * (2 * T_BOOT + T_VIRTIO +
			    (2 + AFTER_CYCLES) * 12 * T_API) +
		       T_TICK + T_EXIT, virtio_setup, virtio_teardown);
	return s;
}

/*
 * Memory hotplug through the API with a Linux guest that onlines new
 * blocks as movable: growing in steps, a pattern in hotplugged RAM, giving
 * RAM back (MemTotal and evmm's RSS drop), a reboot keeping the size,
 * evmmctl --wait, CPU and RAM in one request, bad input that changes
 * nothing, a guest that refuses an eject, one that cannot offline the
 * RAM because it onlined it as kernel memory, and one that ejects only the
 * older of two ranges.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

#define T_HOTPLUG	3.0	/* the guest sees or ejects a range */
#define T_MEMTEST	1.5	/* 128 MiB: a nested fault per page */
#define MiB		(1LL << 20)
#define GiB		(1LL << 30)
#define CMDLINE		GUEST_CMDLINE " memhp_default_state=online_movable"

static struct guest g;
static char sock[108];

static void setup(void)
{
	snprintf(sock, sizeof(sock), "/tmp/evmm-e2e-mem-%d.sock", getpid());
	unlink(sock);
}

static void teardown(void)
{
	guest_kill(&g);
	unlink(sock);
}

static void expect_api(const char *body, int want, const char *names)
{
	char *resp;
	int code = api_call(sock, "PUT", "vm.resize", body, &resp);

	guest_check(&g, code == want, "vm.resize %s: HTTP %d \"%s\", "
		    "expected %d", body, code, resp, want);
	guest_check(&g, !names || strstr(resp, names),
		    "the error \"%s\" does not name %s", resp, names);
	free(resp);
}

static void resize_ram(long long bytes)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"desired_ram\":%lld}", bytes);
	expect_api(body, 204, NULL);
}

static json_t *info(void)
{
	return api_info(&g, sock);
}

static json_t *info_get(json_t *j, const char *part, const char *key)
{
	json_t *v = json_object_get(json_object_get(json_object_get(j,
				    "hotplug"), part), key);

	guest_check(&g, v, "vm.info has no hotplug.%s.%s", part, key);
	return v;
}

static long long info_mem(json_t *j, const char *key)
{
	return api_info_hotplug(&g, j, "memory", key);
}

/* Slot i's field, or -1 / NULL when vm.info lists fewer slots. */
static long long slot_int(json_t *j, unsigned int i, const char *key)
{
	json_t *s = json_array_get(info_get(j, "memory", "slots"), i);

	return s ? json_integer_value(json_object_get(s, key)) : -1;
}

static const char *slot_state(json_t *j, unsigned int i)
{
	json_t *s = json_array_get(info_get(j, "memory", "slots"), i);

	return s ? json_string_value(json_object_get(s, "state")) : "none";
}

/* Polls vm.info until the guest finished the change to `bytes`. */
static void wait_ram(long long bytes)
{
	double limit = T_HOTPLUG * guest_scale();
	json_t *j = NULL;

	for (double t = 0; t < limit; t += 0.1) {
		json_decref(j);
		j = info();
		if (info_mem(j, "current") == bytes && !info_mem(j, "pending"))
			break;
		usleep(100000);
	}
	guest_check(&g, info_mem(j, "current") == bytes &&
		    !info_mem(j, "pending"), "vm.info: RAM current %lld "
		    "pending %lld after %.0f s, expected %lld done",
		    info_mem(j, "current"), info_mem(j, "pending"), limit,
		    bytes);
	json_decref(j);
}

/*
 * Polls the guest's MemTotal until it is want_kb, give or take 1 MiB (the
 * per-CPU areas of a vCPU plugged before a reboot); a block is 128 MiB.
 */
static void wait_memtotal(long want_kb)
{
	double limit = T_HOTPLUG * guest_scale();
	struct guest_state st;

	for (double t = 0; t < limit; t += 0.5) {
		guest_status(&g, &st);
		if (labs(st.memtotal_kb - want_kb) < 1024)
			return;
		usleep(500000);
	}
	guest_check(&g, labs(st.memtotal_kb - want_kb) < 1024, "MemTotal "
		    "%ld kB, expected %ld kB", st.memtotal_kb, want_kb);
}

/* Hotplugged blocks of 128 MiB are named by their physical address. */
static void set_blocks(long long base, long long size, const char *state)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "for i in $(seq %lld %lld); do echo %s > "
		 "/sys/devices/system/memory/memory$i/state || exit 1; done",
		 base / (128 * MiB), (base + size) / (128 * MiB) - 1, state);
	guest_check(&g, guest_cmd(&g, cmd, T_CMD) == 0, "%s failed", cmd);
}

/* 128 MiB of pattern in fresh pages; returns how many sit above 4 GiB. */
static long memtest(void)
{
	const char *line;
	long pages, high, bad;

	guest_send(&g, "memtest 128");
	line = guest_expect(&g, "EVMM-INIT: memtest ", T_MEMTEST);
	guest_check(&g, sscanf(strstr(line, "pages="), "pages=%ld high=%ld "
			       "bad=%ld", &pages, &high, &bad) == 3,
		    "cannot parse \"%s\"", line);
	guest_check(&g, pages == 32768 && bad == 0, "memtest: %ld of %ld "
		    "pages lost their pattern", bad, pages);
	guest_expect(&g, "EVMM-INIT: done rc=0", T_CMD);
	return high;
}

static long evmm_rss_kb(void)
{
	char path[64], line[128];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)g.pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * One walk of evmm's /proc/PID/maps. Guest RAM mappings (128 MiB or more)
 * must start 2 MiB aligned, so KVM can map the guest's huge pages whole (a
 * 4 KiB aligned one costs a nested page fault per 4 KiB touched). A glibc
 * per-thread malloc arena is a 64 MiB aligned, 64 MiB anonymous reservation:
 * its used head read-write, the rest PROT_NONE; evmm keeps one arena.
 */
static void evmm_maps(int *ram, int *arenas)
{
	unsigned long lo, hi, rw_lo = 1, rw_hi = 0;
	char path[64], line[512], perm[8];
	int len;
	FILE *f;

	*ram = *arenas = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)g.pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		len = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perm,
			   &len) != 3)
			continue;
		if (hi - lo >= 128 * MiB) {
			guest_check(&g, lo % (2 * MiB) == 0, "guest RAM at %lx "
				    "is not 2 MiB aligned", lo);
			(*ram)++;
		}
		if (!len || line[len])
			continue;	/* not anonymous */
		if (!strcmp(perm, "---p") && lo == rw_hi &&
		    hi - rw_lo == 64 * MiB)
			(*arenas)++;
		if (!strcmp(perm, "rw-p") && lo % (64 * MiB) == 0)
			rw_lo = lo, rw_hi = hi;
	}
	fclose(f);
}

static void poweroff(void)
{
	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	guest_check(&g, guest_wait_exit(&g, T_EXIT) == 0,
		    "evmm did not exit 0");
}

START_TEST(memhp_grow_shrink_reboot)
{
	struct guest_state st;
	long m0, rss, high;
	char *out;
	json_t *j;
	int n, arenas;

	guest_start(&g, "--memory", "size=1G,hotplug_size=3G", "--cmdline",
		    CMDLINE, "--api-socket", sock, NULL);
	guest_ready(&g, T_BOOT, &st);
	m0 = st.memtotal_kb;

	/* 1G → 2G → 3G: one range per request, stacked from 4 GiB. */
	resize_ram(2 * GiB);
	guest_expect(&g, "uevent add /devices/system/memory/memory32",
		     T_HOTPLUG);
	wait_ram(2 * GiB);
	wait_memtotal(m0 + 1024 * 1024);
	resize_ram(3 * GiB);
	guest_expect(&g, "uevent add /devices/system/memory/memory40",
		     T_HOTPLUG);
	wait_ram(3 * GiB);
	wait_memtotal(m0 + 2048 * 1024);
	j = info();
	guest_check(&g, slot_int(j, 0, "base") == 4 * GiB &&
		    slot_int(j, 0, "size") == GiB &&
		    slot_int(j, 1, "base") == 5 * GiB &&
		    slot_int(j, 1, "size") == GiB &&
		    !strcmp(slot_state(j, 1), "acknowledged") &&
		    info_mem(j, "boot") == GiB && info_mem(j, "max") == 4 * GiB &&
		    json_integer_value(json_object_get(j,
				"memory_actual_size")) == 3 * GiB,
		    "vm.info's memory is not two 1 GiB ranges at 4 and 5 GiB");
	json_decref(j);
	evmm_maps(&n, &arenas);
	guest_check(&g, n == 3, "%d guest RAM mappings, expected 3", n);
	guest_check(&g, arenas == 0, "evmm has %d malloc arenas of its "
		    "threads' own", arenas);

	/* The pattern lands in the newest range: the older one is offline. */
	set_blocks(4 * GiB, GiB, "offline");
	high = memtest();
	guest_check(&g, high == 32768, "only %ld of 32768 pages were "
		    "hotplugged RAM", high);
	set_blocks(4 * GiB, GiB, "online_movable");

	/* 3G → 2G: the guest ejects the newest range, evmm unmaps it. */
	rss = evmm_rss_kb();
	resize_ram(2 * GiB);
	guest_expect(&g, "uevent remove /devices/system/memory/memory4",
		     T_HOTPLUG);
	wait_ram(2 * GiB);
	wait_memtotal(m0 + 1024 * 1024);
	guest_check(&g, evmm_rss_kb() < rss - 100 * 1024, "evmm's RSS went "
		    "from %ld kB to only %ld kB", rss, evmm_rss_kb());
	j = info();
	guest_check(&g, slot_int(j, 1, "base") == -1, "range 1 is still "
		    "listed");
	json_decref(j);

	/* A reboot keeps the plugged range: the guest finds it at boot. */
	guest_send(&g, "reboot");
	guest_ready(&g, T_BOOT, &st);
	guest_check(&g, st.memtotal_kb == m0 + 1024 * 1024, "MemTotal after "
		    "the reboot: %ld kB, expected %ld", st.memtotal_kb,
		    m0 + 1024 * 1024);
	wait_ram(2 * GiB);

	/* evmmctl takes sizes with units and waits for the guest. */
	ck_assert_int_eq(run_capture((const char *[]){ api_evmmctl(),
		"--api-socket", sock, "resize", "--memory", "3072M",
		"--wait=60", NULL }, T_HOTPLUG + 2 * T_API, &out), 0);
	free(out);
	wait_memtotal(m0 + 2048 * 1024);
	poweroff();
}
END_TEST

/* Nothing changed: RAM and vCPUs as they were. */
static void expect_unchanged(long long ram, long long vcpus)
{
	json_t *j = info();

	guest_check(&g, info_mem(j, "current") == ram &&
		    info_mem(j, "requested") == ram &&
		    json_array_size(info_get(j, "memory", "slots")) ==
		    (size_t)(ram > GiB) &&
		    json_integer_value(info_get(j, "cpus", "requested")) ==
		    vcpus, "a refused request changed the VM");
	json_decref(j);
}

/* The guest's _OST status for range i, or -1 while it has none. */
static long slot_ost(json_t *j, unsigned int i)
{
	json_t *s = json_array_get(info_get(j, "memory", "slots"), i);
	json_t *ost = json_object_get(s, "ost");

	return ost ? json_integer_value(json_object_get(ost, "status")) : -1;
}

/*
 * A guest that refuses the eject: the removal stays pending with its
 * _OST, the guest and its data are intact, and a reboot settles it.
 */
static void refused_eject(long m0)
{
	struct guest_state st;
	json_t *j = NULL;

	guest_check(&g, guest_cmd(&g, "echo 0 > /sys/firmware/acpi/hotplug/"
				  "memory/enabled", T_CMD) == 0,
		    "cannot disable the guest's memory ejects");
	resize_ram(GiB);
	for (double t = 0; t < T_HOTPLUG * guest_scale(); t += 0.1) {
		json_decref(j);
		j = info();
		if (slot_ost(j, 0) >= 0)
			break;
		usleep(100000);
	}
	guest_check(&g, slot_ost(j, 0) == 0x80 &&
		    !strcmp(slot_state(j, 0), "removing") &&
		    info_mem(j, "pending") && info_mem(j, "current") == 2 * GiB,
		    "vm.info does not show the refused removal (ost %ld)",
		    slot_ost(j, 0));
	json_decref(j);
	expect_api("{\"desired_ram\":1610612736}", 429, "desired_ram");
	memtest();
	wait_memtotal(m0 + 1024 * 1024);
	guest_send(&g, "reboot");
	guest_ready(&g, T_BOOT, &st);
	/* Give or take the per-CPU areas of the vCPU plugged meanwhile. */
	guest_check(&g, labs(st.memtotal_kb - m0) < 1024, "MemTotal after "
		    "the reboot: %ld kB, expected %ld", st.memtotal_kb, m0);
	wait_ram(GiB);
}

START_TEST(memhp_combined_bad_input)
{
	struct guest_state st;
	long m0;

	guest_start(&g, "--cpus", "boot=1,max=2", "--memory",
		    "size=1G,hotplug_size=1G", "--cmdline", CMDLINE,
		    "--api-socket", sock, NULL);
	guest_ready(&g, T_BOOT, &st);
	m0 = st.memtotal_kb;

	expect_api("{\"desired_ram\":2281701376}", 400, "desired_ram");
	expect_api("{\"desired_ram\":536870912}", 400, "desired_ram");
	expect_api("{\"desired_ram\":1073741825}", 400, "desired_ram");
	expect_api("{\"desired_ram\":1207959552.5}", 400, "desired_ram");
	expect_api("{\"desired_ram\":\"2G\"}", 400, "desired_ram");
	expect_api("{\"desired_ram\":0}", 400, "desired_ram");
	expect_api("{\"desired_ram\":-134217728}", 400, "desired_ram");
	/* One bad part refuses the whole request. */
	expect_api("{\"desired_vcpus\":2,\"desired_ram\":1073741825}", 400,
		   "desired_ram");
	expect_api("{\"desired_vcpus\":3,\"desired_ram\":2147483648}", 400,
		   "desired_vcpus");
	expect_unchanged(GiB, 1);
	guest_status(&g, &st);
	guest_check(&g, st.memtotal_kb == m0 && !strcmp(st.present, "0"),
		    "the guest saw a refused request");

	/* Both at once. */
	expect_api("{\"desired_vcpus\":2,\"desired_ram\":2147483648}", 204,
		   NULL);
	guest_expect(&g, "uevent add /devices/system/memory/memory32",
		     T_HOTPLUG);
	wait_ram(2 * GiB);
	wait_memtotal(m0 + 1024 * 1024);
	guest_status(&g, &st);
	guest_check(&g, !strcmp(st.present, "0-1"), "cpus_present=%s, "
		    "expected 0-1", st.present);
	/* Ranges go whole: 1.5 GiB is inside the one range. */
	expect_api("{\"desired_ram\":1610612736}", 400, "desired_ram");
	expect_api("{\"desired_ram\":2147483648}", 204, NULL);

	refused_eject(m0);
	expect_api("{\"desired_ram\":2147483648}", 204, NULL);
	wait_ram(2 * GiB);
	wait_memtotal(m0 + 1024 * 1024);
	poweroff();
}
END_TEST

/* The guest's _OST for range i once it has one, polled; -1 if none came. */
static long wait_slot_ost(unsigned int i)
{
	json_t *j = NULL;
	long ost = -1;

	for (double t = 0; t < T_HOTPLUG * guest_scale() && ost < 0; t += 0.1) {
		json_decref(j);
		j = info();
		ost = slot_ost(j, i);
		if (ost < 0)
			usleep(100000);
	}
	guest_check(&g, ost >= 0 && !strcmp(slot_state(j, i), "removing") &&
		    info_mem(j, "pending") && info_mem(j, "current") == 2 * GiB,
		    "vm.info does not show a pending removal (ost %ld)", ost);
	json_decref(j);
	return ost;
}

/*
 * Onlined as kernel memory (ZONE_NORMAL, where a 1 GiB guest's kernel
 * allocations now go first), the range cannot be offlined: the removal
 * stays pending with the guest's failure _OST, and the guest, its data and
 * its MemTotal are intact.
 */
START_TEST(memhp_kernel_memory)
{
	struct guest_state st;
	long m0, ost;

	guest_start(&g, "--memory", "size=1G,hotplug_size=1G", "--api-socket",
		    sock, NULL);
	guest_ready(&g, T_BOOT, &st);
	m0 = st.memtotal_kb;
	resize_ram(2 * GiB);
	guest_expect(&g, "uevent add /devices/system/memory/memory39",
		     T_HOTPLUG);
	set_blocks(4 * GiB, GiB, "online_kernel");
	wait_memtotal(m0 + 1024 * 1024);
	/* Kernel objects (kernfs nodes, page tables) land in the range. */
	guest_check(&g, guest_cmd(&g, "ls -R /sys >/dev/null 2>&1; true",
				  T_CMD * 4) == 0, "ls -R /sys failed");
	memtest();

	resize_ram(GiB);
	ost = wait_slot_ost(0);
	guest_check(&g, ost != 0, "the guest offlined kernel memory (_OST 0)");
	expect_api("{\"desired_ram\":1610612736}", 429, "desired_ram");
	memtest();
	wait_memtotal(m0 + 1024 * 1024);

	/* Stopped, the user asks for 2 GiB again: the next boot has it. */
	guest_check(&g, api_call(sock, "PUT", "vm.shutdown", NULL, NULL) ==
		    204, "vm.shutdown failed");
	resize_ram(2 * GiB);
	guest_check(&g, api_call(sock, "PUT", "vm.boot", NULL, NULL) == 204,
		    "vm.boot failed");
	guest_ready(&g, T_BOOT, &st);
	wait_ram(2 * GiB);
	guest_check(&g, guest_cmd(&g, "test -e /sys/devices/system/memory/"
				  "memory39", T_CMD) == 0, "the guest did not "
		    "find the range at boot");
	poweroff();
}
END_TEST

/* Every range in vm.info inside [base, end), total bytes in all. */
static void expect_in_region(long long base, long long end, long long total)
{
	json_t *j = info(), *s;
	long long b, n, sum = 0;
	size_t i;

	json_array_foreach(info_get(j, "memory", "slots"), i, s) {
		b = json_integer_value(json_object_get(s, "base"));
		n = json_integer_value(json_object_get(s, "size"));
		guest_check(&g, b >= base && n > 0 && b + n <= end, "range "
			    "%zu at %#llx..%#llx, outside the region "
			    "%#llx..%#llx", i, b, b + n, base, end);
		sum += n;
	}
	guest_check(&g, sum == total, "ranges of %lld MiB, expected %lld",
		    sum / MiB, total / MiB);
	json_decref(j);
}

/*
 * The guest ejects the older of two ranges and not the newer (kernel
 * memory): a hole below the newer. Stopped, the largest size must still
 * fit in the region, [4 GiB, 7 GiB) here (it was mapped up to 8 GiB), and
 * the next boot finds it all.
 */
START_TEST(memhp_hole_then_grow)
{
	struct guest_state st;
	json_t *j = NULL;

	guest_start(&g, "--memory", "size=1G,hotplug_size=3G", "--api-socket",
		    sock, NULL);
	guest_ready(&g, T_BOOT, &st);
	resize_ram(2 * GiB);
	guest_expect(&g, "uevent add /devices/system/memory/memory39",
		     T_HOTPLUG);
	set_blocks(4 * GiB, GiB, "online_movable");
	resize_ram(2 * GiB + 384 * MiB);
	guest_expect(&g, "uevent add /devices/system/memory/memory42",
		     T_HOTPLUG);
	set_blocks(5 * GiB, 384 * MiB, "online_kernel");
	guest_check(&g, guest_cmd(&g, "ls -R /sys >/dev/null 2>&1; true",
				  T_CMD * 4) == 0, "ls -R /sys failed");

	/* Range 0 goes; range 1 stays, with the guest's failure _OST. */
	resize_ram(GiB);
	for (double t = 0; t < T_HOTPLUG * guest_scale(); t += 0.1) {
		json_decref(j);
		j = info();
		if (info_mem(j, "current") == GiB + 384 * MiB &&
		    slot_ost(j, 0) >= 0)
			break;
		usleep(100000);
	}
	guest_check(&g, info_mem(j, "current") == GiB + 384 * MiB &&
		    slot_int(j, 0, "base") == 5 * GiB && slot_ost(j, 0) > 0,
		    "vm.info: current %lld, range at %#llx (_OST %ld), expected "
		    "only the newer range left, refused",
		    info_mem(j, "current"), slot_int(j, 0, "base"),
		    slot_ost(j, 0));
	json_decref(j);

	guest_check(&g, api_call(sock, "PUT", "vm.shutdown", NULL, NULL) ==
		    204, "vm.shutdown failed");
	resize_ram(4 * GiB);
	expect_in_region(4 * GiB, 7 * GiB, 3 * GiB);
	guest_check(&g, api_call(sock, "PUT", "vm.boot", NULL, NULL) == 204,
		    "vm.boot failed");
	guest_ready(&g, T_BOOT, &st);
	wait_ram(4 * GiB);
	expect_in_region(4 * GiB, 7 * GiB, 3 * GiB);
	guest_check(&g, guest_cmd(&g, "test -e /sys/devices/system/memory/"
				  "memory55 && ! test -e /sys/devices/system/"
				  "memory/memory56", T_CMD) == 0, "the guest's "
		    "memory blocks are not 4 GiB to 7 GiB");
	poweroff();
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, double secs)
{
	guest_add_test(s, name, t, secs, setup, teardown);
}

Suite *e2e_memhp_suite(void)
{
	Suite *s = suite_create("e2e_memhp");

	check_set_max_msg_size(GUEST_MSG_MAX);
	add(s, "grow_shrink_reboot", memhp_grow_shrink_reboot,
	    2 * T_BOOT + 6 * T_HOTPLUG + T_MEMTEST + 24 * T_CMD +
	    20 * T_API + T_EXIT);
	add(s, "kernel_memory", memhp_kernel_memory,
	    2 * T_BOOT + 4 * T_HOTPLUG + 2 * T_MEMTEST + 16 * T_CMD + 30 * T_API +
	    T_EXIT);
	add(s, "hole_then_grow", memhp_hole_then_grow,
	    2 * T_BOOT + 4 * T_HOTPLUG + 16 * T_CMD + 20 * T_API + T_EXIT);
	add(s, "combined_bad_input", memhp_combined_bad_input,
	    2 * T_BOOT + 5 * T_HOTPLUG + T_MEMTEST + 16 * T_CMD +
	    30 * T_API + T_EXIT);
	return s;
}

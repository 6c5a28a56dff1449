/*
 * The soak: EVMM_SOAK_CYCLES resize cycles (vCPUs and RAM together, up
 * and down) against a guest that onlines the new CPUs through sysfs, takes
 * the RAM as movable memory, and offlines and ejects both when asked, on
 * evmm built with ASan and UBSan (build/evmm-asan, or EVMM_SOAK_BIN).
 * Under evmm's default seccomp filters: no sanitizer report, and evmm's
 * fds, threads and guest RAM mappings end as they were after a warm-up.
 * The same cycles on the plain build/evmm compare its memory too (ASan's
 * allocator and its records of exited threads, three per cycle, grow by
 * design). A shorter run without seccomp has LeakSanitizer check evmm's
 * exit (its stop-the-world needs ptrace, which the filters forbid).
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

#define T_HOTPLUG	3.0	/* the guest takes or gives back a resource */
#define MiB		(1LL << 20)
#define RAM_BOOT	(512 * MiB)
#define RAM_UP		(RAM_BOOT + 1024 * MiB)
#define CPUS_MAX	4
#define CMDLINE		GUEST_CMDLINE " memhp_default_state=online_movable"
/* Every wait of one cycle, before scaling: the tcase's limit per cycle. */
#define T_CYCLE		(4 * T_HOTPLUG + 4 * T_CMD + 12 * T_API)
#define CYCLES_CHECK	5	/* make check: the soak's code, every time */

/* A small quarantine: ASan's memory stays near the plain build's. */
#define ASAN_SOAK	"halt_on_error=1:quarantine_size_mb=4:" \
			"thread_local_quarantine_size_kb=64"
/*
 * The plain build's growth after the warm-up: malloc's arenas and page
 * granularity (500 cycles grew it by 40 kB on 2026-12-06).
 */
#define MEM_SLACK_KB	512
#define PLAIN_BIN	"build/evmm"
#define ASAN_BIN	"build/evmm-asan"
#define UBSAN_SOAK	"halt_on_error=1:print_stacktrace=1"

/* ASan's shadow on x86_64: huge mappings that are evmm's, not the guest's. */
#define SHADOW_LO	0x7fff7000UL
#define SHADOW_HI	0x10007fff8000UL
#define GUEST_RAM_MIN	(128UL << 20)	/* the bench's rule (tools/benchlib) */

static struct guest g;
static char sock[108];
static size_t scanned;		/* console bytes checked for reports */
/* What the tests set, restored for the suites after (CK_FORK=no). */
static const char *const env_names[] = {
	"EVMM_BIN", "ASAN_OPTIONS", "UBSAN_OPTIONS",
};
static char *env_saved[3];

/* What evmm holds, from /proc. */
struct usage {
	int fds;
	int threads;
	int ram_maps;		/* guest RAM mappings */
	long mem_kb;		/* RSS minus guest RAM */
};

static void setup(void)
{
	const char *v;
	int i;

	snprintf(sock, sizeof(sock), "/tmp/evmm-e2e-soak-%d.sock", getpid());
	unlink(sock);
	scanned = 0;
	for (i = 0; i < 3; i++) {
		v = getenv(env_names[i]);
		env_saved[i] = v ? strdup(v) : NULL;
	}
}

static void teardown(void)
{
	int i;

	guest_kill(&g);
	unlink(sock);
	for (i = 0; i < 3; i++) {
		if (env_saved[i])
			setenv(env_names[i], env_saved[i], 1);
		else
			unsetenv(env_names[i]);
		free(env_saved[i]);
		env_saved[i] = NULL;
	}
}

/* The count, or -1 for a bad one (the test fails on it; the suite's
 * construction, outside any test, must not). */
static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return !*end && n > 0 ? n : -1;
}

static long soak_cycles(void)
{
	return env_long("EVMM_SOAK_CYCLES", CYCLES_CHECK);
}

/* The leak run: a twenty-fifth of the soak, 2 to 20 cycles. */
static long leak_cycles(void)
{
	long n = soak_cycles() / 25;

	return env_long("EVMM_SOAK_LEAK_CYCLES", n < 2 ? 2 : n > 20 ? 20 : n);
}

/* Sanitizer options first, so that the caller's own ones win. */
static void soak_env(const char *name, const char *ours)
{
	const char *theirs = getenv(name);
	char *v;

	ck_assert(asprintf(&v, "%s%s%s", ours, theirs ? ":" : "",
			   theirs ? theirs : "") > 0);
	setenv(name, v, 1);
	free(v);
}

/*
 * Each test runs in its own process (Check forks), so the environment
 * set here is that test's evmm's alone.
 */
static void soak_start(const char *bin, bool leaks)
{
	setenv("EVMM_BIN", bin, 1);
	soak_env("ASAN_OPTIONS", leaks ? "detect_leaks=1:" ASAN_SOAK :
		 "detect_leaks=0:" ASAN_SOAK);
	soak_env("UBSAN_OPTIONS", UBSAN_SOAK);
	guest_start(&g, "--cpus", "boot=1,max=4", "--memory",
		    "size=512M,hotplug_size=1G", "--cmdline", CMDLINE,
		    "--api-socket", sock, "--seccomp", leaks ? "false" : "true",
		    NULL);
}

/* Fails on any sanitizer or seccomp report evmm printed since the last. */
static void check_reports(void)
{
	static const char *const marks[] = {
		"Sanitizer", "runtime error:", "seccomp blocked",
	};
	const char *hit;
	size_t i;

	for (i = 0; g.buf && i < sizeof(marks) / sizeof(marks[0]); i++) {
		hit = memmem(g.buf + scanned, g.len - scanned, marks[i],
			     strlen(marks[i]));
		if (hit)
			guest_fail(&g, "evmm reported \"%.200s\"", hit);
	}
	/* A mark may be cut at the end: look at its start again next time. */
	scanned = g.len > 32 ? g.len - 32 : 0;
}

/*
 * A request; without an answer, evmm may have died of a report still in
 * the pipe: read it, so the failure shows it.
 */
static int soak_api(const char *method, const char *path, const char *body,
		    char **resp)
{
	int code = api_call(sock, method, path, body, resp);

	if (!code) {
		guest_drain_until(&g, T_EXIT);
		check_reports();
	}
	return code;
}

static void resize(int vcpus, long long ram)
{
	char body[96], *resp;
	int code;

	snprintf(body, sizeof(body), "{\"desired_vcpus\":%d,"
		 "\"desired_ram\":%lld}", vcpus, ram);
	code = soak_api("PUT", "vm.resize", body, &resp);
	guest_check(&g, code == 204, "vm.resize %s: HTTP %d \"%s\"", body,
		    code, resp);
	free(resp);
}

static json_t *info(void)
{
	char *resp;
	int code = soak_api("GET", "vm.info", NULL, &resp);
	json_t *j = json_loads(resp, 0, NULL);

	guest_check(&g, code == 200 && j, "vm.info: HTTP %d \"%s\"", code,
		    resp);
	free(resp);
	return j;
}

/* Polls vm.info until both changes are done: nothing pending. */
static void settle(int vcpus, long long ram)
{
	double limit = T_HOTPLUG * guest_scale();
	long long cpus = -1, cpus_pending = -1, mem = -1, mem_pending = -1;
	json_t *j;

	for (double t = 0; t < limit; t += 0.1) {
		j = info();
		cpus = api_info_hotplug(&g, j, "cpus", "current");
		cpus_pending = api_info_hotplug(&g, j, "cpus", "pending");
		mem = api_info_hotplug(&g, j, "memory", "current");
		mem_pending = api_info_hotplug(&g, j, "memory", "pending");
		json_decref(j);
		if (cpus == vcpus && !cpus_pending && mem == ram &&
		    !mem_pending)
			return;
		usleep(100000);
	}
	guest_fail(&g, "vm.info after %.0f s: vCPUs %lld (pending %lld), RAM "
		   "%lld (pending %lld); expected %d and %lld settled", limit,
		   cpus, cpus_pending, mem, mem_pending, vcpus, ram);
}

/*
 * Polls the guest until it shows the CPUs and MemTotal (give or take
 * 1 MiB: the memory map of a range comes from the guest's other RAM).
 */
static void wait_guest(const char *present, const char *online, long mem_kb,
		       struct guest_state *st)
{
	double limit = T_HOTPLUG * guest_scale();

	for (double t = 0; t < limit; t += 0.2) {
		guest_status(&g, st);
		if (!strcmp(st->present, present) &&
		    !strcmp(st->online, online) &&
		    labs(st->memtotal_kb - mem_kb) < 1024)
			return;
		usleep(200000);
	}
	guest_fail(&g, "the guest shows CPUs %s online %s, MemTotal %ld kB; "
		   "expected %s, %s, %ld kB", st->present, st->online,
		   st->memtotal_kb, present, online, mem_kb);
}

static int count_dir(const char *fmt)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), fmt, (int)g.pid);
	d = opendir(path);
	guest_check(&g, d, "cannot read %s", path);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * evmm's fds and threads, and its memory as the bench counts it: the RSS
 * of every mapping but guest RAM (those of 128 MiB or more). ASan's are
 * huge too, and evmm's: its shadow, and its allocator's reservations
 * (PROT_NONE, until it maps pieces of them).
 */
static void usage_read(struct usage *u)
{
	unsigned long lo, hi;
	char path[64], line[8192], perm[8];
	bool ram = false;
	long kb;
	FILE *f;

	u->fds = count_dir("/proc/%d/fd");
	u->threads = count_dir("/proc/%d/task");
	u->ram_maps = 0;
	u->mem_kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)g.pid);
	f = fopen(path, "re");
	guest_check(&g, f, "cannot read %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s ", &lo, &hi, perm) == 3) {
			ram = hi - lo >= GUEST_RAM_MIN && perm[0] == 'r' &&
			      !(lo >= SHADOW_LO && hi <= SHADOW_HI);
			u->ram_maps += ram;
		} else if (!ram && sscanf(line, "Rss: %ld kB", &kb) == 1) {
			u->mem_kb += kb;
		}
	}
	fclose(f);
}

static void usage_print(const char *when, long cycle, const struct usage *u,
			const struct guest_state *st)
{
	fprintf(stderr, "soak: %-8s cycle %4ld: fds %d threads %d guest RAM "
		"mappings %d memory %ld kB; guest CPUs %s online %s MemTotal "
		"%ld kB\n", when, cycle, u->fds, u->threads, u->ram_maps,
		u->mem_kb, st->present, st->online, st->memtotal_kb);
}

/* One cycle: all up, the guest onlines; all down, the guest ejects. */
static void cycle(long m0)
{
	struct guest_state st;

	resize(CPUS_MAX, RAM_UP);
	settle(CPUS_MAX, RAM_UP);
	wait_guest("0-3", "0", m0 + 1024 * 1024, &st);
	guest_check(&g, guest_cmd(&g, "for c in 1 2 3; do echo 1 > "
				  "/sys/devices/system/cpu/cpu$c/online || "
				  "exit 1; done", T_CMD) == 0,
		    "onlining CPUs 1-3 failed: %s", g.output);
	wait_guest("0-3", "0-3", m0 + 1024 * 1024, &st);
	resize(1, RAM_BOOT);
	settle(1, RAM_BOOT);
	wait_guest("0", "0", m0, &st);
	check_reports();
}

/* n cycles, with a progress line every tenth of them. */
static void cycles(long from, long to, long total, long m0)
{
	struct timespec t0, t1;
	struct usage u;
	long i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = from; i < to; i++) {
		cycle(m0);
		if ((i + 1) % (total >= 10 ? total / 10 : 1))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		usage_read(&u);
		fprintf(stderr, "soak: %ld of %ld cycles, %.2f s a cycle; fds "
			"%d threads %d memory %ld kB\n", i + 1, total,
			(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) /
			 1e9) / (i + 1 - from), u.fds, u.threads, u.mem_kb);
	}
}

/* The soak on bin; memory: compare its memory too. */
static void soak_run(const char *bin, bool memory)
{
	long n = soak_cycles(), warm = n >= 50 ? n / 50 : 1;
	struct usage u0, u1, u2;
	struct guest_state s0, st;
	long m0;

	ck_assert_msg(n > 0, "EVMM_SOAK_CYCLES=%s: expected a positive count",
		      getenv("EVMM_SOAK_CYCLES"));
	soak_start(bin, false);
	guest_ready(&g, T_BOOT, &s0);
	m0 = s0.memtotal_kb;
	settle(1, RAM_BOOT);
	usage_read(&u0);
	usage_print("start", 0, &u0, &s0);

	/* The first grow creates the vCPUs that later ones find parked. */
	cycles(0, warm, n, m0);
	usage_read(&u1);
	guest_status(&g, &st);
	usage_print("warm-up", warm, &u1, &st);
	cycles(warm, n, n, m0);
	usage_read(&u2);
	guest_status(&g, &st);
	usage_print("end", n, &u2, &st);
	check_reports();

	guest_check(&g, u2.fds == u1.fds && u2.threads == u1.threads &&
		    u2.threads == u0.threads && u2.ram_maps == u0.ram_maps,
		    "after %ld cycles evmm has %d fds, %d threads, %d guest RAM "
		    "mappings; after %ld: %d, %d, %d", n, u2.fds, u2.threads,
		    u2.ram_maps, warm, u1.fds, u1.threads, u1.ram_maps);
	guest_check(&g, !memory || u2.mem_kb <= u1.mem_kb + MEM_SLACK_KB,
		    "evmm's memory grew from %ld kB after %ld cycles to %ld kB "
		    "after %ld", u1.mem_kb, warm, u2.mem_kb, n);
	guest_check(&g, !strcmp(st.online, s0.online) &&
		    labs(st.memtotal_kb - m0) < 1024, "the guest ends with "
		    "CPUs %s online, MemTotal %ld kB; it started with %s, "
		    "%ld kB", st.online, st.memtotal_kb, s0.online, m0);

	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	guest_check(&g, guest_wait_exit(&g, T_EXIT) == 0,
		    "evmm did not exit 0");
	check_reports();
}

/* Sanitizer reports, fds, threads and mappings, on the ASan build. */
START_TEST(soak_resize_cycles)
{
	const char *bin = getenv("EVMM_SOAK_BIN");

	soak_run(bin && *bin ? bin : ASAN_BIN, false);
}
END_TEST

/* The same on the plain build, whose memory must not grow. */
START_TEST(soak_memory)
{
	soak_run(PLAIN_BIN, true);
}
END_TEST

/*
 * Without seccomp, LeakSanitizer checks evmm's exit after the cycles; its
 * report and exit status 23 fail the test.
 */
START_TEST(soak_leaks)
{
	long n = leak_cycles();
	struct guest_state st;
	int status;

	ck_assert_msg(n > 0, "EVMM_SOAK_CYCLES or EVMM_SOAK_LEAK_CYCLES: "
		      "expected a positive count");
	soak_start(ASAN_BIN, true);
	guest_ready(&g, T_BOOT, &st);
	settle(1, RAM_BOOT);
	cycles(0, n, n, st.memtotal_kb);
	guest_check(&g, soak_api("PUT", "vmm.shutdown", NULL, NULL) == 204,
		    "vmm.shutdown failed");
	status = guest_wait_exit(&g, T_EXIT * 4);
	check_reports();
	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "evmm's exit status after %ld cycles: %#x", n, status);
}
END_TEST

Suite *e2e_soak_suite(void)
{
	Suite *s = suite_create("e2e_soak");

	check_set_max_msg_size(GUEST_MSG_MAX);
	guest_add_test(s, "resize_cycles", soak_resize_cycles,
		       T_BOOT + labs(soak_cycles()) * T_CYCLE + 4 * T_CMD +
		       2 * T_API + T_EXIT, setup, teardown);
	guest_add_test(s, "memory", soak_memory,
		       T_BOOT + labs(soak_cycles()) * T_CYCLE + 4 * T_CMD +
		       2 * T_API + T_EXIT, setup, teardown);
	guest_add_test(s, "leaks", soak_leaks, T_BOOT + labs(leak_cycles()) *
		       T_CYCLE + 2 * T_API + 4 * T_EXIT, setup, teardown);
	return s;
}

/*
 * A hostile guest under the real evmm: the fake bzImage
 * firmware/payloads/hostile64.S writes random values of every size to
 * every port and MMIO range evmm decodes, straddles their ends, storms
 * ejects on every CPU (boot ones too) and RAM slot and selects slots that
 * do not exist. Meanwhile the test pings, reads vm.info and resizes vCPUs
 * and RAM up and down: evmm must answer every call within the API's bound,
 * with no 5xx, keep vm.info consistent (boot vCPUs and boot RAM never
 * removed, counts within bounds), keep the guest running (no reset: one
 * "start"), and exit cleanly on SIGTERM.
 */
#include <check.h>
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

static struct guest g;
static char sock[108];

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

Suite *e2e_hostile_suite(void)
{
	Suite *s = suite_create("e2e_hostile");

	guest_add_test(s, "hostile_guest", hostile_guest,
		       T_BOOT + T_HOSTILE + T_TICK + T_EXIT +
		       (20 + AFTER_CYCLES) * 7 * T_API, setup, teardown);
	return s;
}

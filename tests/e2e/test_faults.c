/*
 * Fault injection on the resize paths: evmm runs under the LD_PRELOAD
 * shim (tests/shim/fault.c) with seccomp on, and the test arms one failure
 * of mmap (guest RAM or a vCPU's kvm_run), KVM_CREATE_VCPU,
 * KVM_SET_USER_MEMORY_REGION or pthread_create before a vm.resize. The resize must fail with a 500 and
 * a JSON error, leave vm.info as it was and the guest running, and the
 * same resize must then succeed. The guest is the calm fake bzImage
 * (firmware/payloads/hostile64.S): it boots in milliseconds, then prints
 * a tick a second, which is how the test sees it still runs.
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
#include "tests/shim/fault.h"

#define T_TICK		1.5	/* the payload ticks once a second */
#define MiB		(1024LL * 1024)
#define BOOT_RAM	(256 * MiB)

struct fault_case {
	const char *name;
	enum fault_target target;
	int skip;		/* matching calls that succeed first */
	int vcpus;		/* desired_vcpus, or -1 */
	long long ram;		/* desired_ram, or -1 */
};

static const struct fault_case cases[] = {
	{ "mmap", FAULT_MMAP, 0, -1, BOOT_RAM + 128 * MiB },
	{ "set_memory", FAULT_SET_MEMORY, 0, -1, BOOT_RAM + 256 * MiB },
	{ "create_vcpu", FAULT_CREATE_VCPU, 0, 5, -1 },
	/* The second of three: the first one's started thread is undone. */
	{ "create_vcpu", FAULT_CREATE_VCPU, 1, 5, -1 },
	{ "pthread_create", FAULT_PTHREAD_CREATE, 0, 5, -1 },
	{ "pthread_create", FAULT_PTHREAD_CREATE, 2, 5, -1 },
	/* KVM_CREATE_VCPU done, the setup after it fails: a retry works. */
	{ "mmap_run", FAULT_MMAP_RUN, 1, 5, -1 },
	/* Both parts: the RAM mapped for it is unmapped again. */
	{ "pthread_create", FAULT_PTHREAD_CREATE, 1, 4, BOOT_RAM + 384 * MiB },
	{ "create_vcpu", FAULT_CREATE_VCPU, 0, 8, BOOT_RAM + 1024 * MiB },
};

static struct guest g;
static char sock[108];

static const char *shim(void)
{
	const char *v = getenv("EVMM_FAULT_SHIM");

	return v && *v ? v : "build/tests/libevmm-fault.so";
}

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

/* evmm on the calm payload under the shim; back once it ticks. */
static void start_calm(void)
{
	const char *argv[] = {
		"evmm", "--kernel", payload(), "--cmdline", "calm",
		"--cpus", "boot=2,max=8", "--memory", "size=256M,hotplug_size=1G",
		"--api-socket", sock, NULL,
	};

	ck_assert_msg(!access(shim(), R_OK), "no %s (make %s)", shim(), shim());
	setenv("LD_PRELOAD", shim(), 1);
	guest_spawn(&g, argv);
	unsetenv("LD_PRELOAD");
	guest_expect(&g, "HOSTILE: done", T_BOOT);
	guest_expect(&g, "HOSTILE: tick", T_TICK);
}

static void arm(enum fault_target t, int skip)
{
	union sigval v = { .sival_int = FAULT_ARG(t, skip) };

	guest_check(&g, !sigqueue(g.pid, SIGUSR2, v), "sigqueue failed");
	guest_expect(&g, "evmm-fault: armed", T_CMD);
}

static char *resize_body(const struct fault_case *c)
{
	json_t *j = json_object();
	char *s;

	if (c->vcpus >= 0)
		json_object_set_new(j, "desired_vcpus", json_integer(c->vcpus));
	if (c->ram >= 0)
		json_object_set_new(j, "desired_ram", json_integer(c->ram));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void expect_same(json_t *before, json_t *after)
{
	char *a, *b;

	if (json_equal(before, after))
		return;
	a = json_dumps(before, JSON_COMPACT);
	b = json_dumps(after, JSON_COMPACT);
	guest_fail(&g, "vm.info changed after a failed resize:\nbefore %s\n"
		   "after  %s", a, b);
}

/* The guest still runs: a tick printed after this point. */
static void expect_ticking(void)
{
	guest_drain(&g);
	g.cursor = g.len;
	guest_expect(&g, "HOSTILE: tick", T_TICK);
}

START_TEST(fault_resize)
{
	const struct fault_case *c = &cases[_i];
	char *body = resize_body(c), *resp = NULL;
	json_t *before, *after, *err;
	int code;

	fprintf(stderr, "e2e: fault %s after %d, resize %s\n", c->name,
		c->skip, body);
	start_calm();
	before = api_info(&g, sock);
	arm(c->target, c->skip);
	code = api_call(sock, "PUT", "vm.resize", body, &resp);
	err = json_loads(resp, 0, NULL);
	guest_check(&g, code == 500 && json_is_string(json_object_get(err,
		    "error")), "resize %s with %s failing: HTTP %d \"%s\", "
		    "expected 500 with a JSON error", body, c->name, code, resp);
	guest_expect(&g, "evmm-fault: failing", T_CMD);
	json_decref(err);
	free(resp);

	after = api_info(&g, sock);
	expect_same(before, after);
	json_decref(after);
	expect_ticking();

	code = api_call(sock, "PUT", "vm.resize", body, &resp);
	guest_check(&g, code == 204, "resize %s again: HTTP %d \"%s\"", body,
		    code, resp);
	free(resp);
	after = api_info(&g, sock);
	if (c->vcpus >= 0)
		guest_check(&g, api_info_hotplug(&g, after, "cpus", "current")
			    == c->vcpus, "the vCPUs were not added");
	if (c->ram >= 0)
		guest_check(&g, api_info_hotplug(&g, after, "memory",
			    "current") == c->ram, "the RAM was not added");
	json_decref(after);
	json_decref(before);
	expect_ticking();
	guest_signal(&g, SIGTERM);
	code = guest_wait_exit(&g, T_EXIT);
	guest_check(&g, WIFEXITED(code) && !WEXITSTATUS(code),
		    "evmm ended with wait status %#x after SIGTERM", code);
	free(body);
}
END_TEST

Suite *e2e_faults_suite(void)
{
	Suite *s = suite_create("e2e_faults");
	TCase *tc = tcase_create("fault_resize");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, T_BOOT + 2 * T_TICK + 3 * T_CMD + 8 * T_API +
			  T_EXIT);
	tcase_add_loop_test(tc, fault_resize, 0,
			    sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

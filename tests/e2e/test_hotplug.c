/*
 * vCPU hotplug through the API with a Linux guest: Cloud Hypervisor's
 * resize request with curl, onlining through sysfs, removal, reuse of a
 * parked vCPU, reboot keeping the count, evmmctl --wait, bad input while
 * the guest runs, and the VM life-cycle endpoints.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

#define T_HOTPLUG	3.0	/* the guest sees or ejects a vCPU */
#define NCLIENTS	50

static struct guest g;
static char sock[108];

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

static void expect_state(const struct guest_state *st, const char *present,
			 const char *online)
{
	guest_check(&g, !strcmp(st->present, present),
		    "cpus_present=%s, expected %s", st->present, present);
	guest_check(&g, !strcmp(st->online, online),
		    "cpus_online=%s, expected %s", st->online, online);
}

static void expect_status(const char *present, const char *online)
{
	struct guest_state st;

	guest_status(&g, &st);
	expect_state(&st, present, online);
}

/* The request fails the test unless evmm answers with want. */
static void expect_api(const char *method, const char *path, const char *body,
		       int want)
{
	char *resp;
	int code = api_call(sock, method, path, body, &resp);

	guest_check(&g, code == want, "%s %s %s: HTTP %d \"%s\", expected %d",
		    method, path, body ? body : "", code, resp, want);
	free(resp);
}

static void resize(unsigned int n)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"desired_vcpus\":%u}", n);
	expect_api("PUT", "vm.resize", body, 204);
}

static json_t *info(void)
{
	return api_info(&g, sock);
}

static json_int_t info_cpus(json_t *j, const char *key)
{
	return api_info_hotplug(&g, j, "cpus", key);
}

static const char *info_vcpu_state(json_t *j, unsigned int i)
{
	json_t *vcpus = json_object_get(json_object_get(json_object_get(j,
					"hotplug"), "cpus"), "vcpus");

	return json_string_value(json_object_get(json_array_get(vcpus, i),
						 "state"));
}

/* Polls vm.info until the guest finished the change to n vCPUs. */
static void wait_cpus(unsigned int n)
{
	double limit = T_HOTPLUG * guest_scale();
	json_t *j = NULL;

	for (double t = 0; t < limit; t += 0.1) {
		json_decref(j);
		j = info();
		if (info_cpus(j, "current") == n && !info_cpus(j, "pending"))
			break;
		usleep(100000);
	}
	guest_check(&g, info_cpus(j, "current") == n &&
		    !info_cpus(j, "pending"), "vm.info: current %lld pending "
		    "%lld after %.0f s, expected %u done",
		    (long long)info_cpus(j, "current"),
		    (long long)info_cpus(j, "pending"), limit, n);
	json_decref(j);
}

static void online(const char *cpus)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "for c in %s; do echo 1 > "
		 "/sys/devices/system/cpu/cpu$c/online || exit 1; done", cpus);
	guest_check(&g, guest_cmd(&g, cmd, T_CMD) == 0, "onlining %s failed",
		    cpus);
}

static void expect_uevents(const char *action, const int *cpus, int n)
{
	char s[96];
	int i;

	/* The guest's scan goes up the slots; its order is not ours to set. */
	for (i = 0; i < n; i++) {
		size_t cursor = g.cursor;

		snprintf(s, sizeof(s), "uevent %s /devices/system/cpu/cpu%d",
			 action, cpus[i]);
		guest_expect(&g, s, T_HOTPLUG);
		g.cursor = cursor;
	}
}

START_TEST(hotplug_grow_shrink_reboot)
{
	struct guest_state st;
	struct stat sb;
	char *out;
	json_t *j;

	guest_start(&g, "--cpus", "boot=2,max=4", "--memory", "size=512M",
		    "--api-socket", sock, NULL);
	guest_ready(&g, T_BOOT, &st);
	expect_state(&st, "0-1", "0-1");
	guest_check(&g, !stat(sock, &sb) && (sb.st_mode & 0777) == 0600,
		    "the API socket's mode is %o, expected 600",
		    sb.st_mode & 0777);

	/* Cloud Hypervisor's documented request, then sysfs onlining. */
	resize(4);
	expect_uevents("add", (int[]){ 2, 3 }, 2);
	wait_cpus(4);
	expect_status("0-3", "0-1");
	online("2 3");
	expect_status("0-3", "0-3");
	j = info();
	guest_check(&g, !strcmp(info_vcpu_state(j, 3), "started"),
		    "vCPU 3 is %s, expected started", info_vcpu_state(j, 3));
	json_decref(j);

	/* The guest offlines and ejects by itself. */
	resize(2);
	expect_uevents("remove", (int[]){ 2, 3 }, 2);
	wait_cpus(2);
	expect_status("0-1", "0-1");

	/* vCPU 2 was parked: it comes back. */
	resize(3);
	expect_uevents("add", (int[]){ 2 }, 1);
	wait_cpus(3);
	online("2");
	expect_status("0-2", "0-2");

	guest_send(&g, "reboot");
	guest_ready(&g, T_BOOT, &st);
	expect_state(&st, "0-2", "0-2");

	/* evmmctl waits for the guest's acknowledgement. */
	ck_assert_int_eq(run_capture((const char *[]){ api_evmmctl(),
		"--api-socket", sock, "resize", "--cpus", "4", "--wait=60",
		NULL }, T_HOTPLUG + 2 * T_API, &out), 0);
	free(out);
	/*
	 * --wait ends when the guest's firmware took the insert; its kernel
	 * adds the CPU after that, on a work queue.
	 */
	expect_uevents("add", (int[]){ 3 }, 1);
	expect_status("0-3", "0-2");
	guest_send(&g, "poweroff");
	guest_expect(&g, "EVMM-INIT: poweroff", T_CMD);
	guest_check(&g, guest_wait_exit(&g, T_EXIT) == 0,
		    "evmm did not exit 0");
	guest_check(&g, access(sock, F_OK), "the socket was not removed");
}
END_TEST

static void expect_bad(const char *body, int want, const char *names)
{
	char *resp;
	int code = api_call(sock, "PUT", "vm.resize", body, &resp);
	json_t *j = json_loads(resp, 0, NULL);

	guest_check(&g, code == want, "vm.resize %.40s: HTTP %d \"%s\", "
		    "expected %d", body ? body : "(none)", code, resp, want);
	guest_check(&g, j && json_is_string(json_object_get(j, "error")),
		    "the error body \"%s\" is not {\"error\": ...}", resp);
	guest_check(&g, !names || strstr(resp, names),
		    "the error \"%s\" does not name %s", resp, names);
	json_decref(j);
	free(resp);
}

/* NCLIENTS curl processes at once; each must get its 200. */
static void expect_concurrent_pings(void)
{
	pid_t pids[NCLIENTS];
	int i, status, ok = 0;
	char maxtime[16];

	snprintf(maxtime, sizeof(maxtime), "%.0f", 10 * T_API * guest_scale());
	for (i = 0; i < NCLIENTS; i++) {
		pids[i] = fork();
		ck_assert(pids[i] >= 0);
		if (!pids[i]) {
			execlp("curl", "curl", "-sf", "-o", "/dev/null",
			       "--max-time", maxtime, "--unix-socket", sock,
			       "http://localhost/api/v1/vmm.ping", (char *)NULL);
			_exit(127);
		}
	}
	for (i = 0; i < NCLIENTS; i++) {
		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	guest_check(&g, ok == NCLIENTS, "%d of %d concurrent pings answered",
		    ok, NCLIENTS);
}

/* Half a request, then gone: evmm must not wait for the rest. */
static void disconnect_mid_request(void)
{
	const char req[] = "PUT /api/v1/vm.resize HTTP/1.1\r\nHost: x\r\n"
			   "Content-Length: 100\r\n\r\n{\"desired_";
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, sock);
	ck_assert(fd >= 0);
	guest_check(&g, !connect(fd, (struct sockaddr *)&a, sizeof(a)),
		    "connect %s failed", sock);
	ck_assert(write(fd, req, sizeof(req) - 1) > 0);
	close(fd);
}

/* The guest's _OST for vCPU i, or -1 while it has none. */
static long info_ost_status(json_t *j, unsigned int i)
{
	json_t *vcpus = json_object_get(json_object_get(json_object_get(j,
					"hotplug"), "cpus"), "vcpus");
	json_t *ost = json_object_get(json_array_get(vcpus, i), "ost");

	return ost ? json_integer_value(json_object_get(ost, "status")) : -1;
}

/*
 * A guest that refuses to eject: the removal stays pending and says why
 * (_OST 0x80, not supported), other counts get 429, and a reboot settles it.
 */
static void refused_eject(void)
{
	struct guest_state st;
	double t;
	json_t *j = NULL;

	resize(3);
	expect_uevents("add", (int[]){ 2 }, 1);
	wait_cpus(3);
	guest_check(&g, guest_cmd(&g, "echo 0 > /sys/firmware/acpi/hotplug/"
				  "processor/enabled", T_CMD) == 0,
		    "cannot disable the guest's CPU ejects");
	resize(2);
	for (t = 0; t < T_HOTPLUG * guest_scale(); t += 0.1) {
		json_decref(j);
		j = info();
		if (info_ost_status(j, 2) >= 0)
			break;
		usleep(100000);
	}
	guest_check(&g, info_ost_status(j, 2) == 0x80 &&
		    !strcmp(info_vcpu_state(j, 2), "removing") &&
		    info_cpus(j, "pending") && info_cpus(j, "current") == 3 &&
		    info_cpus(j, "requested") == 2, "vm.info does not show the "
		    "refused removal (ost status %ld)", info_ost_status(j, 2));
	json_decref(j);
	expect_api("PUT", "vm.resize", "{\"desired_vcpus\":4}", 429);
	resize(2);
	expect_status("0-2", "0-1");
	guest_send(&g, "reboot");
	guest_ready(&g, T_BOOT, &st);
	expect_state(&st, "0-1", "0-1");
	wait_cpus(2);
}

START_TEST(hotplug_bad_input)
{
	char big[5000 + 32];
	json_t *j;

	guest_start(&g, "--cpus", "boot=2,max=4", "--memory", "size=512M",
		    "--api-socket", sock, NULL);
	guest_ready(&g, T_BOOT, NULL);
	expect_bad("{\"desired_vcpus\":", 400, NULL);
	expect_bad("{\"foo\":1}", 400, "foo");
	expect_bad("{\"desired_vcpus\":\"4\"}", 400, "desired_vcpus");
	expect_bad("{\"desired_vcpus\":-1}", 400, "desired_vcpus");
	expect_bad("{\"desired_vcpus\":0}", 400, "desired_vcpus");
	expect_bad("{\"desired_vcpus\":5}", 400, "desired_vcpus");
	expect_bad("{\"desired_vcpus\":1}", 400, "desired_vcpus");
	expect_bad("{\"desired_vcpus\":99999999999999999999}", 400, NULL);
	expect_bad("{\"desired_vcpus\":2.5}", 400, "desired_vcpus");
	expect_bad("", 400, NULL);
	expect_bad(NULL, 400, NULL);
	expect_bad("{\"desired_ram\":1073741824}", 400, "desired_ram");
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "{\"desired_vcpus\":3", 18);
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = 0;
	expect_bad(big, 413, NULL);
	expect_api("GET", "vm.nothing", NULL, 404);
	expect_api("GET", "vm.resize", NULL, 405);
	expect_api("POST", "vmm.ping", NULL, 405);
	expect_concurrent_pings();
	disconnect_mid_request();
	expect_api("GET", "vmm.ping", NULL, 200);

	/* Nothing changed, and the guest still runs. */
	j = info();
	guest_check(&g, info_cpus(j, "current") == 2 &&
		    info_cpus(j, "requested") == 2, "the bad requests "
		    "changed the vCPUs");
	json_decref(j);
	expect_status("0-1", "0-1");

	refused_eject();

	/* The ACPI power button: the guest's init powers off. */
	expect_api("PUT", "vm.power-button", NULL, 204);
	guest_expect(&g, "EVMM-INIT: power-button", T_HOTPLUG);
	guest_check(&g, guest_wait_exit(&g, T_EXIT) == 0,
		    "evmm did not exit 0 after the power button");
}
END_TEST

START_TEST(hotplug_odd_counts_lifecycle)
{
	struct guest g2 = { 0 };
	struct guest_state st;
	const char *ids;
	int status;
	json_t *j;

	guest_start(&g, "--cpus", "boot=3,max=5", "--memory", "size=512M",
		    "--api-socket", sock, NULL);
	guest_ready(&g, T_BOOT, &st);
	expect_state(&st, "0-2", "0-2");

	/* A second evmm cannot take a live socket. */
	guest_start(&g2, "--api-socket", sock, NULL);
	status = guest_wait_exit(&g2, T_CLI * 4);
	guest_check(&g, WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
		    strstr(g2.buf, "--api-socket"), "a second evmm on the "
		    "socket: status %#x, \"%s\"", status, g2.buf);
	guest_kill(&g2);

	/* MADT, _MAT and CPUID agree on every APIC ID. */
	resize(5);
	expect_uevents("add", (int[]){ 3, 4 }, 2);
	online("3 4");
	ids = guest_query(&g, "echo ids=$(awk '/^apicid|^initial apicid/ "
			  "{printf \"%s,\", $NF}' /proc/cpuinfo)", "ids=");
	guest_check(&g, !strcmp(ids, "0,0,1,1,2,2,3,3,4,4,"),
		    "APIC IDs (apicid, initial apicid) per CPU: %s", ids);

	expect_api("PUT", "vm.reboot", NULL, 204);
	guest_ready(&g, T_BOOT, &st);
	expect_state(&st, "0-4", "0-4");

	expect_api("PUT", "vm.shutdown", NULL, 204);
	j = info();
	guest_check(&g, !strcmp(json_string_value(json_object_get(j, "state")),
				"Shutdown"), "state is not Shutdown");
	json_decref(j);
	expect_api("PUT", "vm.shutdown", NULL, 409);
	resize(4);
	expect_api("PUT", "vm.boot", NULL, 204);
	guest_ready(&g, T_BOOT, &st);
	expect_state(&st, "0-3", "0-3");
	j = info();
	guest_check(&g, json_integer_value(json_object_get(json_object_get(
		json_object_get(j, "config"), "cpus"), "boot_vcpus")) == 4,
		"config.cpus.boot_vcpus is not the resized count");
	json_decref(j);

	expect_api("PUT", "vmm.shutdown", NULL, 204);
	guest_check(&g, guest_wait_exit(&g, T_EXIT) == 0,
		    "evmm did not exit 0 after vmm.shutdown");
	guest_check(&g, access(sock, F_OK), "the socket was not removed");
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, double secs)
{
	guest_add_test(s, name, t, secs, setup, teardown);
}

Suite *e2e_hotplug_suite(void)
{
	Suite *s = suite_create("e2e_hotplug");

	check_set_max_msg_size(GUEST_MSG_MAX);
	add(s, "grow_shrink_reboot", hotplug_grow_shrink_reboot,
	    2 * T_BOOT + 6 * T_HOTPLUG + 12 * T_CMD + 20 * T_API + T_EXIT);
	add(s, "bad_input", hotplug_bad_input,
	    2 * T_BOOT + 4 * T_HOTPLUG + 5 * T_CMD + 50 * T_API + T_EXIT);
	add(s, "odd_counts_lifecycle", hotplug_odd_counts_lifecycle,
	    3 * T_BOOT + 2 * T_HOTPLUG + 4 * T_CMD + 12 * T_API + 2 * T_EXIT);
	return s;
}

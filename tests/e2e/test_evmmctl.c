/*
 * evmmctl end to end: the real binary (EVMMCTL_BIN, or evmmctl next to
 * EVMM_BIN, or build/evmmctl) against a fake evmm: a thread answering
 * canned HTTP on an AF_UNIX socket, recording each request. No KVM needed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/guest.h"

#define T_CTL		5.0	/* one evmmctl run, scaled like the others */
#define MAX_REQS	512
#define MAX_ARGS	16

struct fake_req {
	char method[8];
	char path[64];
	char body[256];
};

static struct fake {
	char dir[64];
	char sock[128];
	int lfd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	int status;		/* for PUTs */
	const char *body;	/* for PUTs; NULL: none */
	int pending_polls;	/* vm.info says pending this often; -1: ever */
	const char *info_body;	/* vm.info's answer; NULL: fake_info's */
	int nreq;
	struct fake_req req[MAX_REQS];
} f;

struct ctl_run {
	int status;		/* evmmctl's exit code */
	double secs;
	char out[16384];
	char err[16384];
};

static const char *ctl_bin(void)
{
	static char bin[4096];
	const char *v = getenv("EVMMCTL_BIN"), *evmm = getenv("EVMM_BIN");
	const char *slash = evmm ? strrchr(evmm, '/') : NULL;

	if (v)
		return v;
	if (slash)
		snprintf(bin, sizeof(bin), "%.*s/evmmctl", (int)(slash - evmm), evmm);
	else
		snprintf(bin, sizeof(bin), "build/evmmctl");
	return bin;
}

/* The body for vm.info: 2 → 4 vCPUs, done after pending_polls answers. */
static void fake_info(char *buf, size_t size)
{
	bool pending = f.pending_polls != 0;

	if (f.info_body) {
		snprintf(buf, size, "%s", f.info_body);
		return;
	}
	if (f.pending_polls > 0)
		f.pending_polls--;
	snprintf(buf, size, "{\"config\":{\"cpus\":{\"boot_vcpus\":2,"
		 "\"max_vcpus\":8}},\"state\":\"Running\",\"hotplug\":{\"cpus\":"
		 "{\"boot\":2,\"current\":%d,\"requested\":4,\"max\":8,"
		 "\"pending\":%s,\"vcpus\":[]}}}", pending ? 2 : 4,
		 pending ? "true" : "false");
}

static void fake_reply(int fd, const struct fake_req *rq)
{
	char out[4096], body[2048] = "";
	int status = 200, n;

	pthread_mutex_lock(&f.lock);
	if (!strcmp(rq->path, "/api/v1/vm.info"))
		fake_info(body, sizeof(body));
	else if (!strcmp(rq->path, "/api/v1/vmm.ping"))
		snprintf(body, sizeof(body), "{\"version\":\"fake\"}");
	else if ((status = f.status) && f.body)
		snprintf(body, sizeof(body), "%s", f.body);
	pthread_mutex_unlock(&f.lock);
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d Whatever\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", status, strlen(body), body);
	if (write(fd, out, n) != n)
		return;
}

/* Reads one request (bounded in time), records it, answers, closes. */
static void fake_serve(int fd)
{
	char buf[8192], *hdr_end = NULL, *cl;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct fake_req rq = { 0 };
	size_t len = 0, want = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && poll(&p, 1, 2000) == 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
		if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "\r\ncontent-length:");
			want = hdr_end + 4 - buf + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (hdr_end && len >= want)
			break;
	}
	if (!hdr_end) {
		close(fd);
		return;
	}
	sscanf(buf, "%7s %63s", rq.method, rq.path);
	snprintf(rq.body, sizeof(rq.body), "%s", hdr_end + 4);
	pthread_mutex_lock(&f.lock);
	if (f.nreq < MAX_REQS)
		f.req[f.nreq] = rq;
	f.nreq++;
	pthread_mutex_unlock(&f.lock);
	fake_reply(fd, &rq);
	close(fd);
}

static void *fake_thread(void *arg)
{
	struct pollfd p = { .fd = f.lfd, .events = POLLIN };
	int fd;

	(void)arg;
	while (!atomic_load(&f.stop)) {
		if (poll(&p, 1, 50) != 1)
			continue;
		fd = accept(f.lfd, NULL, NULL);
		if (fd >= 0)
			fake_serve(fd);
	}
	return NULL;
}

/* Binds path; listens unless the test wants a refused connection. */
static int unix_bind(const char *path, bool do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_msg(!bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
		      "bind %s: %s", path, strerror(errno));
	if (do_listen)
		ck_assert(!listen(fd, 16));
	return fd;
}

static void setup(void)
{
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.lock, NULL);
	f.status = 204;
	snprintf(f.dir, sizeof(f.dir), "/tmp/evmmctl-test-XXXXXX");
	ck_assert(mkdtemp(f.dir));
	snprintf(f.sock, sizeof(f.sock), "%s/api.sock", f.dir);
	f.lfd = unix_bind(f.sock, true);
	ck_assert(!pthread_create(&f.thread, NULL, fake_thread, NULL));
}

static void teardown(void)
{
	char path[192];

	atomic_store(&f.stop, true);
	pthread_join(f.thread, NULL);
	close(f.lfd);
	unlink(f.sock);
	snprintf(path, sizeof(path), "%s/dead.sock", f.dir);
	unlink(path);
	rmdir(f.dir);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drains both pipes until EOF or the deadline. */
static void ctl_collect(struct ctl_run *r, int out, int err, double deadline)
{
	struct pollfd p[2] = { { .fd = out, .events = POLLIN },
			       { .fd = err, .events = POLLIN } };
	char *buf[2] = { r->out, r->err };
	size_t len[2] = { 0, 0 }, cap = sizeof(r->out) - 1;
	ssize_t n;
	int i;

	while ((p[0].fd >= 0 || p[1].fd >= 0) && now() < deadline) {
		if (poll(p, 2, (int)((deadline - now()) * 1000) + 1) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf[i] + len[i], cap - len[i]);
			if (n > 0) {
				len[i] += n;
				buf[i][len[i]] = '\0';
			} else {
				p[i].fd = -1;
			}
		}
	}
}

/* Waits for pid until the deadline; SIGKILLs it and fails past it. */
static int ctl_reap(pid_t pid, double deadline)
{
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("evmmctl still running after %.1f s",
				     T_CTL * guest_scale());
		}
		usleep(5000);
	}
	ck_assert_msg(WIFEXITED(status), "evmmctl died: wait status %#x",
		      status);
	return WEXITSTATUS(status);
}

/* Runs evmmctl with args; "@S" stands for the fake's socket. */
static void ctl_run(struct ctl_run *r, const char *const *args)
{
	const char *argv[MAX_ARGS + 1] = { ctl_bin() };
	int out[2], err[2], i;
	double deadline;
	pid_t pid;

	ck_assert_msg(!access(argv[0], X_OK), "no %s (make %s)", argv[0],
		      argv[0]);
	for (i = 0; args[i] && i < MAX_ARGS - 1; i++)
		argv[i + 1] = strcmp(args[i], "@S") ? args[i] : f.sock;
	memset(r, 0, sizeof(*r));
	ck_assert(!pipe2(out, O_CLOEXEC) && !pipe2(err, O_CLOEXEC));
	r->secs = now();
	deadline = r->secs + T_CTL * guest_scale();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	ctl_collect(r, out[0], err[0], deadline);
	close(out[0]);
	close(err[0]);
	r->status = ctl_reap(pid, deadline);
	r->secs = now() - r->secs;
}

#define ctl(r, ...) ctl_run(r, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_exit(const struct ctl_run *r, int code, const char *err)
{
	ck_assert_msg(r->status == code, "exit %d, expected %d; stderr: %s",
		      r->status, code, r->err);
	if (err)
		ck_assert_msg(strstr(r->err, err), "stderr \"%s\" lacks \"%s\"",
			      r->err, err);
}

static int nreq(void)
{
	int n;

	pthread_mutex_lock(&f.lock);
	n = f.nreq;
	pthread_mutex_unlock(&f.lock);
	return n;
}

static const struct {
	const char *args[8];
	const char *named;	/* the option or word the message names */
} bad_usage[] = {
	{ { "ping" }, "--api-socket PATH" },
	{ { "--api-socket" }, "--api-socket PATH" },
	{ { "--api-socket", "@S" }, "no command" },
	{ { "--api-socket", "@S", "frobnicate" }, "frobnicate" },
	{ { "--api-socket", "@S", "ping", "extra" }, "extra" },
	{ { "--api-socket", "@S", "info", "--bogus" }, "--bogus" },
	{ { "--api-socket", "@S", "info", "--devices", "x" }, "info [--devices]" },
	{ { "--api-socket", "@S", "resize" }, "--cpus N" },
	{ { "--api-socket", "@S", "resize", "--cpus", "two" }, "--cpus N" },
	{ { "--api-socket", "@S", "resize", "--cpus", "0" }, "--cpus N" },
	{ { "--api-socket", "@S", "resize", "--cpus" }, "--cpus N" },
	{ { "--api-socket", "@S", "resize", "--memory", "3X" }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory=-1G" }, "--memory" },
	/* Digits, one suffix, the end: a blank is not a suffix (was 2 PiB). */
	{ { "--api-socket", "@S", "resize", "--memory", "2 " }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory", "1G " }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory", "1 G" }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory", "1GB" }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory", " 1G" }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory", "1.5G" }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory", "16777216T" },
	  "--memory" },
	{ { "--api-socket", "@S", "resize", "--memory",
	    "18446744073709551616" }, "--memory" },
	{ { "--api-socket", "@S", "resize", "--cpus", "2 " }, "--cpus N" },
	{ { "--api-socket", "@S", "resize", "--cpus", "2K" }, "--cpus N" },
	{ { "--api-socket", "@S", "resize", "--cpus=2", "--wait=soon" },
	  "--wait=SECONDS" },
	{ { "--api-socket", "@S", "resize", "--cpus=2", "--fast" }, "--fast" },
};

START_TEST(ctl_usage_errors)
{
	struct ctl_run r;

	ctl_run(&r, bad_usage[_i].args);
	expect_exit(&r, 2, bad_usage[_i].named);
	ck_assert_int_eq(nreq(), 0);
}
END_TEST

START_TEST(ctl_socket_missing)
{
	char path[192];
	struct ctl_run r;

	snprintf(path, sizeof(path), "%s/none.sock", f.dir);
	ctl(&r, "--api-socket", path, "ping");
	expect_exit(&r, 3, path);
}
END_TEST

START_TEST(ctl_socket_refused)
{
	char path[192];
	struct ctl_run r;
	int fd;

	snprintf(path, sizeof(path), "%s/dead.sock", f.dir);
	fd = unix_bind(path, false);
	ctl(&r, "--api-socket=", "info");	/* an empty path is a usage error */
	expect_exit(&r, 2, "--api-socket");
	ctl(&r, "--api-socket", path, "info");
	close(fd);
	expect_exit(&r, 3, path);
}
END_TEST

START_TEST(ctl_refused_429)
{
	struct ctl_run r;

	f.status = 429;
	f.body = "{\"error\":\"a resize is in progress\","
		 "\"field\":\"desired_vcpus\"}";
	ctl(&r, "--api-socket", "@S", "resize", "--cpus", "4");
	expect_exit(&r, 1, "evmmctl: resize: HTTP 429: a resize is in progress");
}
END_TEST

static const struct {
	const char *args[4];
	const char *body;
} resizes[] = {
	{ { "--cpus", "4" }, "{\"desired_vcpus\":4}" },
	{ { "--memory", "3G" }, "{\"desired_ram\":3221225472}" },
	{ { "--memory=3072M" }, "{\"desired_ram\":3221225472}" },
	{ { "--memory", "3g" }, "{\"desired_ram\":3221225472}" },
	{ { "--memory", "4T" }, "{\"desired_ram\":4398046511104}" },
	{ { "--cpus=2", "--memory", "1073741824" },
	  "{\"desired_vcpus\":2,\"desired_ram\":1073741824}" },
};

START_TEST(ctl_resize_body)
{
	const char *args[8] = { "--api-socket", "@S", "resize" };
	struct ctl_run r;
	int i;

	for (i = 0; resizes[_i].args[i]; i++)
		args[3 + i] = resizes[_i].args[i];
	ctl_run(&r, args);
	expect_exit(&r, 0, NULL);
	ck_assert_int_eq(nreq(), 1);
	ck_assert_str_eq(f.req[0].method, "PUT");
	ck_assert_str_eq(f.req[0].path, "/api/v1/vm.resize");
	ck_assert_str_eq(f.req[0].body, resizes[_i].body);
}
END_TEST

static const char *const actions[][2] = {
	{ "boot", "/api/v1/vm.boot" },
	{ "shutdown", "/api/v1/vm.shutdown" },
	{ "reboot", "/api/v1/vm.reboot" },
	{ "power-button", "/api/v1/vm.power-button" },
	{ "shutdown-vmm", "/api/v1/vmm.shutdown" },
};

START_TEST(ctl_actions)
{
	struct ctl_run r;

	ctl(&r, "--api-socket", "@S", actions[_i][0]);
	expect_exit(&r, 0, NULL);
	ck_assert_int_eq(nreq(), 1);
	ck_assert_str_eq(f.req[0].method, "PUT");
	ck_assert_str_eq(f.req[0].path, actions[_i][1]);
}
END_TEST

START_TEST(ctl_ping_info)
{
	char opt[192];
	struct ctl_run r;

	ctl(&r, "--api-socket", "@S", "ping");
	expect_exit(&r, 0, NULL);
	ck_assert_str_eq(r.out, "{\"version\":\"fake\"}\n");
	f.pending_polls = 0;
	snprintf(opt, sizeof(opt), "--api-socket=%s", f.sock);
	ctl(&r, opt, "info");
	expect_exit(&r, 0, NULL);
	ck_assert_msg(strstr(r.out, "\n  \"state\": \"Running\""),
		      "not pretty: %s", r.out);
	ck_assert_str_eq(f.req[0].method, "GET");
	ck_assert_str_eq(f.req[1].path, "/api/v1/vm.info");
}
END_TEST

/* One line per device: disks, then nets; evmm's strings kept harmless. */
START_TEST(ctl_info_devices)
{
	struct ctl_run r;

	f.info_body = "{\"config\":{\"disks\":[{\"path\":\"/img/root.img\","
		"\"readonly\":false,\"direct\":false,\"num_queues\":1,"
		"\"queue_size\":128,\"id\":\"_disk0\",\"bdf\":\"0000:00:01.0\"},"
		"{\"path\":\"/img/d\\u001b[2J.img\",\"readonly\":true,"
		"\"direct\":true,\"num_queues\":2,\"queue_size\":256,"
		"\"id\":\"data\",\"serial\":\"SN-1\",\"bdf\":\"0000:00:02.0\"}],"
		"\"net\":[{\"tap\":\"evmmtap0\",\"mac\":\"fe:f5:54:9a:e1:a8\","
		"\"num_queues\":2,\"queue_size\":256,\"id\":\"_net2\","
		"\"bdf\":\"0000:00:03.0\"},{\"tap\":\"tap1\",\"ip\":"
		"\"192.168.249.1\",\"mask\":\"255.255.255.0\",\"mac\":"
		"\"52:54:00:12:34:56\",\"num_queues\":4,\"queue_size\":1024,"
		"\"id\":\"eth1\",\"bdf\":\"0000:00:1f.0\"}]}}";
	ctl(&r, "--api-socket", "@S", "info", "--devices");
	expect_exit(&r, 0, NULL);
	ck_assert_str_eq(r.out,
		"disk _disk0 (0000:00:01.0): /img/root.img, read-write, "
		"1 queue x 128\n"
		"disk data (0000:00:02.0): /img/d?[2J.img, read-only, direct, "
		"2 queues x 256, serial SN-1\n"
		"net _net2 (0000:00:03.0): tap evmmtap0, mac fe:f5:54:9a:e1:a8, "
		"2 queues x 256\n"
		"net eth1 (0000:00:1f.0): tap tap1, mac 52:54:00:12:34:56, "
		"4 queues x 1024, host 192.168.249.1/255.255.255.0\n");
	ck_assert_str_eq(f.req[0].method, "GET");
	ck_assert_str_eq(f.req[0].path, "/api/v1/vm.info");
}
END_TEST

/* No disks or nets: vm.info has neither key, as Cloud Hypervisor's. */
START_TEST(ctl_info_no_devices)
{
	struct ctl_run r;

	f.pending_polls = 0;
	ctl(&r, "--api-socket", "@S", "info", "--devices");
	expect_exit(&r, 0, NULL);
	ck_assert_str_eq(r.out, "no devices\n");
	f.info_body = "[]";
	ctl(&r, "--api-socket", "@S", "info", "--devices");
	expect_exit(&r, 1, "vm.info has no config object");
}
END_TEST

START_TEST(ctl_wait_timeout)
{
	struct ctl_run r;

	f.pending_polls = -1;
	ctl(&r, "--api-socket", "@S", "resize", "--cpus", "4", "--wait=1");
	expect_exit(&r, 4, "pending");
	ck_assert_msg(strstr(r.err, "cpus: 2 (boot 2, max 8), requested 4"),
		      "stderr: %s", r.err);
	ck_assert_msg(r.secs >= 1.0, "gave up after %.2f s", r.secs);
	ck_assert_msg(nreq() > 3, "only %d polls in a second", nreq() - 1);
}
END_TEST

START_TEST(ctl_wait_done)
{
	struct ctl_run r;

	f.pending_polls = 3;
	ctl(&r, "--api-socket", "@S", "resize", "--cpus", "4", "--wait");
	expect_exit(&r, 0, NULL);
	ck_assert_str_eq(r.out, "cpus: 4 (boot 2, max 8)\n");
	ck_assert_str_eq(r.err, "");
	ck_assert_int_eq(nreq(), 5);
}
END_TEST

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *evmmctl_suite(void)
{
	Suite *s = suite_create("evmmctl");
	TCase *tc = tcase_create("fake_evmm");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 3 * T_CTL);
	tcase_add_loop_test(tc, ctl_usage_errors, 0, NELEM(bad_usage));
	tcase_add_test(tc, ctl_socket_missing);
	tcase_add_test(tc, ctl_socket_refused);
	tcase_add_test(tc, ctl_refused_429);
	tcase_add_loop_test(tc, ctl_resize_body, 0, NELEM(resizes));
	tcase_add_loop_test(tc, ctl_actions, 0, NELEM(actions));
	tcase_add_test(tc, ctl_ping_info);
	tcase_add_test(tc, ctl_info_devices);
	tcase_add_test(tc, ctl_info_no_devices);
	tcase_add_test(tc, ctl_wait_timeout);
	tcase_add_test(tc, ctl_wait_done);
	suite_add_tcase(s, tc);
	return s;
}

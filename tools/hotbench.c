/*
 * hotbench: times a CPU or memory hotplug on a running VMM, from the host's
 * side. Boots COMMAND with its console on pipes, waits for the guest init's
 * ready line, then sends the plug request on SOCKET (evmm's PUT
 * /api/v1/vm.resize over HTTP, or QEMU's QMP) and times, on the host's
 * monotonic clock, the request → the guest's "uevent add" of the new device
 * (visible) → "done rc=0" of the sysfs online command sent at once then
 * (online).
 *
 * CPU (the default): evmm {"desired_vcpus":3}, QEMU device_add of cpu2.
 * Prints one line:
 *
 *	visible_ms=N online_ms=N online_cmd_ms=N reply_ms=N rss_kb=N
 *	overhead_kb=N
 *
 * Memory (-m BOOT_MIB+PLUG_MIB, PLUG a multiple of 128): evmm
 * {"desired_ram":(BOOT+PLUG) MiB}; QEMU object-add memory-backend-ram then
 * device_add pc-dimm of PLUG MiB, timed from the first of the two, since
 * evmm's one request also allocates the backing. Visible is the add of the
 * last of the PLUG/128 memory blocks, online the end of one console command
 * writing online_movable to each block's state. Then `status` checks that
 * MemTotal grew, and with -t MIB the guest writes MIB MiB into its tmpfs
 * (movable page cache: the new ZONE_MOVABLE block serves it first), to see
 * that the VMM's RSS grows with what the guest touches and no more. Prints:
 *
 *	visible_ms=N online_ms=N online_cmd_ms=N reply_ms=N rss_before_kb=N
 *	rss_kb=N rss_grow_kb=N thp_grow_kb=N memtotal_grow_kb=N [touch_mib=N
 *	rss_touch_grow_kb=N thp_touch_grow_kb=N] overhead_before_kb=N
 *	overhead_kb=N blocks=A[,B...]
 *
 * (one line), rss_before_kb just before the request, rss_kb after onlining;
 * overhead_* (benchlib.h) before the request and at the end;
 * thp_* is the growth of the VMM's AnonHugePages (smaps_rollup): how much
 * of the RSS growth came in transparent huge pages.
 * Then it powers the guest off. Exit 3: evmm answered the resize with 400
 * or 404 (no such hotplug there yet). Used by tools/bench.
 *
 *	hotbench [-v] [-m BOOT_MIB+PLUG_MIB [-t MIB]] TIMEOUT_S api|qmp SOCKET
 *		-- COMMAND [ARGS...]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/benchlib.h"

#define READY	"EVMM-INIT: ready"
#define STATUS	"EVMM-INIT: status "
#define MEMTOTAL " memtotal_kb="
#define VISIBLE	"EVMM-INIT: uevent add /devices/system/cpu/cpu2"
#define MEMADD	"EVMM-INIT: uevent add /devices/system/memory/memory"
#define DONE	"EVMM-INIT: done rc="
#define ONLINE	"echo 1 > /sys/devices/system/cpu/cpu2/online\n"
#define RESIZE	"{\"desired_vcpus\":3}"
#define PLUG	"{\"execute\":\"device_add\",\"arguments\":{\"driver\":" \
		"\"host-x86_64-cpu\",\"id\":\"cpu2\",\"socket-id\":0," \
		"\"core-id\":2,\"thread-id\":0}}\n"
#define MEM_OBJ	"{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":" \
		"\"memory-backend-ram\",\"id\":\"mem1\",\"size\":%llu}}\n"
#define MEM_DEV	"{\"execute\":\"device_add\",\"arguments\":{\"driver\":" \
		"\"pc-dimm\",\"id\":\"dimm1\",\"memdev\":\"mem1\"}}\n"
#define BLOCK_MIB 128	/* Linux's x86_64 memory block */
#define MAX_BLOCKS 64	/* one console line of online commands */
#define NLAST	24

static struct {
	pid_t pid;
	int in, out;		/* the VMM's stdin and stdout+stderr */
	int ctl;		/* API or QMP socket; -1 when closed */
	int qmp, verbose;
	double timeout;		/* ms, for each wait */
	char con[16384];	/* console bytes not yet split in lines */
	size_t clen;
	char line[4096];	/* the line that matched */
	double t_line;		/* when it was read */
	char last[NLAST][160];	/* the console's tail, for failures */
	int nlast;
	char reply[4096];	/* control socket bytes */
	size_t rlen;
	int status;		/* HTTP status, or 200 for a QMP return */
	double t_reply;
} h = { .ctl = -1 };

static void stop_vmm(void)
{
	if (h.pid > 0) {
		kill(h.pid, SIGKILL);
		waitpid(h.pid, NULL, 0);
		h.pid = 0;
	}
}

/* Says why, shows the console's tail, kills the VMM, exits 1. */
static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	int i;

	fprintf(stderr, "hotbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; last console lines:\n");
	for (i = h.nlast > NLAST ? h.nlast - NLAST : 0; i < h.nlast; i++)
		fprintf(stderr, "  | %s\n", h.last[i % NLAST]);
	stop_vmm();
	exit(1);
}

static void send_all(int fd, const char *s, const char *what)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len) {
		n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("writing %s: %s", what, strerror(errno));
		s += n;
		len -= n;
	}
}

static void spawn(char **argv)
{
	int in[2], out[2];

	if (pipe(in) || pipe(out))
		fail("pipe: %s", strerror(errno));
	h.pid = fork();
	if (h.pid < 0)
		fail("fork: %s", strerror(errno));
	if (h.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	h.in = in[1];
	h.out = out[0];
}

static void ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	h.ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h.ctl < 0 || connect(h.ctl, (struct sockaddr *)&sa, sizeof(sa)))
		fail("connecting to %s: %s", path, strerror(errno));
}

/* A QMP line: the greeting or a return ends a wait, an error fails. */
static void qmp_line(char *l)
{
	if (h.verbose)
		fprintf(stderr, "qmp: %s\n", l);
	if (!strncmp(l, "{\"error\"", 8))
		fail("QMP error: %s", l);
	if (!strncmp(l, "{\"QMP\"", 6) || !strncmp(l, "{\"return\"", 9)) {
		h.status = 200;
		h.t_reply = now_ms();
	}
}

static void ctl_read(void)
{
	char *nl;
	ssize_t n = read(h.ctl, h.reply + h.rlen, sizeof(h.reply) - 1 - h.rlen);

	if (n <= 0) {
		close(h.ctl);
		h.ctl = -1;
		return;
	}
	h.rlen += n;
	h.reply[h.rlen] = 0;
	if (!h.qmp) {
		if (!h.status && strchr(h.reply, '\n') &&
		    sscanf(h.reply, "HTTP/1.%*d %d", &h.status) == 1)
			h.t_reply = now_ms();
		if (h.rlen == sizeof(h.reply) - 1)
			h.rlen = 0;	/* the body does not matter past here */
		return;
	}
	while ((nl = strchr(h.reply, '\n'))) {
		*nl = 0;
		qmp_line(h.reply);
		h.rlen -= nl + 1 - h.reply;
		memmove(h.reply, nl + 1, h.rlen + 1);
	}
	if (h.rlen == sizeof(h.reply) - 1)
		fail("QMP line too long");
}

/* One complete console line out of the buffer into h.line; 0: none. */
static int next_line(void)
{
	char *nl = memchr(h.con, '\n', h.clen);
	size_t n;

	if (!nl)
		return 0;
	n = nl - h.con;
	if (n >= sizeof(h.line))
		n = sizeof(h.line) - 1;
	memcpy(h.line, h.con, n);
	h.line[n] = 0;
	h.line[strcspn(h.line, "\r")] = 0;
	h.clen -= nl + 1 - h.con;
	memmove(h.con, nl + 1, h.clen);
	snprintf(h.last[h.nlast++ % NLAST], sizeof(h.last[0]), "%.159s",
		 h.line);
	if (h.verbose)
		fprintf(stderr, "console: %s\n", h.line);
	return 1;
}

/* Reads what the console and the control socket have, within deadline. */
static void step(double deadline, const char *what)
{
	struct pollfd p[2] = {
		{ .fd = h.out, .events = POLLIN },
		{ .fd = h.ctl, .events = POLLIN },
	};
	double left = deadline - now_ms();
	ssize_t n;

	if (left <= 0)
		fail("no %s within %.0f s", what, h.timeout / 1e3);
	if (poll(p, 2, (int)left + 1) < 0 && errno != EINTR)
		fail("poll: %s", strerror(errno));
	if (p[1].revents)
		ctl_read();
	if (!p[0].revents)
		return;
	n = read(h.out, h.con + h.clen, sizeof(h.con) - h.clen);
	if (n <= 0)
		fail("the VMM closed its console before %s", what);
	h.t_line = now_ms();
	h.clen += n;
	if (h.clen == sizeof(h.con))
		h.clen = 0;	/* a 16 KiB line: drop it */
}

static void poweroff(void);

/* An HTTP error ends the run: 400 or 404 with exit status 3. */
static void check_reply(void)
{
	char *body;

	if (h.qmp || !h.status || h.status / 100 == 2)
		return;
	if (h.status != 400 && h.status != 404)
		fail("vm.resize answered %d: %s", h.status, h.reply);
	body = strstr(h.reply, "\r\n\r\n");
	fprintf(stderr, "hotbench: evmm hotplug not available: vm.resize "
		"answered %d: %s\n", h.status, body ? body + 4 : "");
	poweroff();
	exit(3);
}

/* Waits for a console line containing pat (ending with it if whole). */
static double wait_line(const char *pat, int whole)
{
	double deadline = now_ms() + h.timeout;
	char *p;

	for (;;) {
		while (next_line()) {
			p = strstr(h.line, pat);
			if (p && (!whole || !p[strlen(pat)]))
				return h.t_line;
		}
		step(deadline, pat);
		check_reply();
	}
}

static void wait_reply(const char *what)
{
	double deadline = now_ms() + h.timeout;

	while (!h.status) {
		if (h.ctl < 0)
			fail("the control socket closed before %s", what);
		step(deadline, what);
	}
}

static void qmp_command(const char *cmd, const char *what)
{
	h.status = 0;
	if (cmd)
		send_all(h.ctl, cmd, what);
	wait_reply(what);
}

/* Powers the guest off; the VMM must exit within the timeout. */
static void poweroff(void)
{
	double deadline = now_ms() + h.timeout;
	struct pollfd p = { .fd = h.out, .events = POLLIN };
	int status;

	send_all(h.in, "poweroff\n", "the console");
	while (waitpid(h.pid, &status, WNOHANG) != h.pid) {
		if (now_ms() > deadline)
			fail("the VMM still runs %.0f s after poweroff",
			     h.timeout / 1e3);
		/* Drain the console, so that the VMM never blocks on it. */
		if (poll(&p, 1, 10) > 0 && read(h.out, h.con, sizeof(h.con)) <= 0)
			p.fd = -1;
	}
	h.pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "hotbench: the VMM exited with status %#x "
			"after poweroff\n", status);
}

static void http_resize(const char *body)
{
	char req[512];

	snprintf(req, sizeof(req),
		 "PUT /api/v1/vm.resize HTTP/1.1\r\nHost: localhost\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s", strlen(body), body);
	send_all(h.ctl, req, "the resize request");
}

/* Sends a console command and returns when its "done" line arrives. */
static double console_command(const char *cmd, const char *what)
{
	double t;
	int rc;

	send_all(h.in, cmd, "the console");
	t = wait_line(DONE, 0);
	rc = atoi(strstr(h.line, DONE) + strlen(DONE));
	if (rc)
		fail("%s failed: rc=%d", what, rc);
	return t;
}

/* The memtotal_kb of the init's ready or status line in h.line. */
static long line_memtotal(void)
{
	char *p = strstr(h.line, MEMTOTAL);

	if (!p)
		fail("no memtotal_kb in \"%s\"", h.line);
	return atol(p + strlen(MEMTOTAL));
}

static void cpu_plug(void)
{
	double t0, t_vis, t_cmd, t_on;
	long rss, ov;
	int rc;

	t0 = now_ms();
	if (h.qmp)
		send_all(h.ctl, PLUG, "device_add");
	else
		http_resize(RESIZE);
	t_vis = wait_line(VISIBLE, 1);
	t_cmd = now_ms();
	send_all(h.in, ONLINE, "the console");
	t_on = wait_line(DONE, 0);
	rc = atoi(strstr(h.line, DONE) + strlen(DONE));
	wait_reply("the plug request's reply");
	check_reply();
	if (rc)
		fail("onlining cpu2 failed: rc=%d", rc);
	rss = rss_kb(h.pid);
	ov = overhead_kb(h.pid);
	poweroff();
	printf("visible_ms=%.1f online_ms=%.1f online_cmd_ms=%.1f "
	       "reply_ms=%.1f rss_kb=%ld overhead_kb=%ld\n", t_vis - t0,
	       t_on - t0, t_on - t_cmd, h.t_reply - t0, rss, ov);
}

/* The memory block number that ends a MEMADD line. */
static int line_block(void)
{
	char *p = strstr(h.line, MEMADD) + strlen(MEMADD), *end;
	long n = strtol(p, &end, 10);

	if (end == p || *end || n < 0)
		fail("no memory block number in \"%s\"", h.line);
	return (int)n;
}

/* mt0: MemTotal (kB) in the ready line. */
static void mem_plug(int boot_mib, int plug_mib, int touch_mib, long mt0)
{
	unsigned long long plug = (unsigned long long)plug_mib << 20;
	int nblk = plug_mib / BLOCK_MIB, blk[MAX_BLOCKS], i;
	char req[256], cmd[MAX_BLOCKS * 64], blocks[MAX_BLOCKS * 8];
	double t0, t_vis = 0, t_cmd, t_on;
	long mt1, rss0, rss1, rss2 = 0, thp0, thp1, thp2 = 0, ov0, ov;
	size_t c = 0, b = 0;

	rss0 = rss_kb(h.pid);
	thp0 = rollup_kb(h.pid, "AnonHugePages");
	ov0 = overhead_kb(h.pid);
	t0 = now_ms();
	if (h.qmp) {
		snprintf(req, sizeof(req), MEM_OBJ, plug);
		qmp_command(req, "object-add");
		h.status = 0;
		send_all(h.ctl, MEM_DEV, "device_add");
	} else {
		snprintf(req, sizeof(req), "{\"desired_ram\":%llu}",
			 ((unsigned long long)boot_mib << 20) + plug);
		http_resize(req);
	}
	/* Visible: all the new blocks, offline (no memhp_default_state). */
	for (i = 0; i < nblk; i++) {
		t_vis = wait_line(MEMADD, 0);
		blk[i] = line_block();
	}
	for (i = 0; i < nblk; i++) {
		c += snprintf(cmd + c, sizeof(cmd) - c, "%secho online_movable > "
			      "/sys/devices/system/memory/memory%d/state",
			      i ? " && " : "", blk[i]);
		b += snprintf(blocks + b, sizeof(blocks) - b, "%s%d",
			      i ? "," : "", blk[i]);
	}
	snprintf(cmd + c, sizeof(cmd) - c, "\n");
	t_cmd = now_ms();
	t_on = console_command(cmd, "onlining the new memory");
	wait_reply("the plug request's reply");
	check_reply();
	rss1 = rss_kb(h.pid);
	thp1 = rollup_kb(h.pid, "AnonHugePages");
	send_all(h.in, "status\n", "the console");
	wait_line(STATUS, 0);
	mt1 = line_memtotal();
	if (mt1 <= mt0)
		fail("MemTotal did not grow: %ld kB before, %ld kB after", mt0,
		     mt1);
	if (touch_mib) {
		snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=/tmp/hotbench "
			 "bs=1M count=%d 2>/dev/null\n", touch_mib);
		console_command(cmd, "writing into the guest's tmpfs");
		rss2 = rss_kb(h.pid);
		thp2 = rollup_kb(h.pid, "AnonHugePages");
	}
	ov = overhead_kb(h.pid);
	poweroff();
	printf("visible_ms=%.1f online_ms=%.1f online_cmd_ms=%.1f "
	       "reply_ms=%.1f rss_before_kb=%ld rss_kb=%ld rss_grow_kb=%ld "
	       "thp_grow_kb=%ld memtotal_grow_kb=%ld", t_vis - t0, t_on - t0,
	       t_on - t_cmd, h.t_reply - t0, rss0, rss1, rss1 - rss0,
	       thp1 - thp0, mt1 - mt0);
	if (touch_mib)
		printf(" touch_mib=%d rss_touch_grow_kb=%ld thp_touch_grow_kb=%ld",
		       touch_mib, rss2 - rss1, thp2 - thp1);
	printf(" overhead_before_kb=%ld overhead_kb=%ld blocks=%s\n", ov0, ov,
	       blocks);
}

static void usage(void)
{
	fprintf(stderr, "usage: hotbench [-v] [-m BOOT_MIB+PLUG_MIB [-t MIB]] "
		"TIMEOUT_S api|qmp SOCKET -- COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int boot_mib = 0, plug_mib = 0, touch_mib = 0, opt;
	long mt0;
	char plus;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "+vm:t:")) != -1) {
		switch (opt) {
		case 'v':
			h.verbose = 1;
			break;
		case 'm':
			if (sscanf(optarg, "%d%c%d", &boot_mib, &plus,
				   &plug_mib) != 3 || plus != '+' ||
			    boot_mib <= 0 || plug_mib <= 0 ||
			    plug_mib % BLOCK_MIB ||
			    plug_mib / BLOCK_MIB > MAX_BLOCKS)
				usage();
			break;
		case 't':
			touch_mib = atoi(optarg);
			if (touch_mib <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc < 6 || strcmp(argv[4], "--") || (touch_mib && !plug_mib))
		usage();
	h.timeout = atof(argv[1]) * 1e3;
	h.qmp = !strcmp(argv[2], "qmp");
	if (!h.qmp && strcmp(argv[2], "api"))
		usage();
	spawn(argv + 5);
	wait_line(READY, 0);
	mt0 = line_memtotal();
	ctl_connect(argv[3]);
	if (h.qmp) {
		qmp_command(NULL, "the QMP greeting");
		qmp_command("{\"execute\":\"qmp_capabilities\"}\n",
			    "qmp_capabilities");
		if (h.verbose && !plug_mib)
			qmp_command("{\"execute\":\"query-hotpluggable-cpus\"}\n",
				    "query-hotpluggable-cpus");
		h.status = 0;
	}
	if (plug_mib)
		mem_plug(boot_mib, plug_mib, touch_mib, mt0);
	else
		cpu_plug();
	return 0;
}

/*
 * The e2e harness: evmm as a child process, its serial console on two
 * pipes, and bounded waits for what the guest's init prints.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/guest.h"

#define MAX_ARGS	64
#define READY		"EVMM-INIT: ready "
#define DONE		"EVMM-INIT: done rc="
#define STATUS		"EVMM-INIT: status "

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *guest_kernel(void)
{
	return env_or("EVMM_KERNEL", "build/guest/vmlinuz");
}

const char *guest_initramfs(void)
{
	return env_or("EVMM_INITRAMFS", "build/guest/initramfs.cpio.gz");
}

double guest_scale(void)
{
	const char *s = getenv("CK_TIMEOUT_MULTIPLIER");
	char *end;
	double m;

	if (!s)
		return 1;
	m = strtod(s, &end);
	return end != s && !*end && m > 0 ? m : 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double guest_elapsed(const struct guest *g)
{
	return now() - (g->mark.tv_sec + g->mark.tv_nsec / 1e9);
}

static void guest_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", status);
}

/* The console's last lines, control characters made visible. */
static char *guest_tail(const struct guest *g)
{
	const char *buf = g->buf ? g->buf : "", *p = buf + g->len;
	int lines = 0;
	char *out, *o;

	if (p > buf && p[-1] == '\n')
		p--;
	for (; p > buf; p--)
		if (p[-1] == '\n' && ++lines == GUEST_TAIL_LINES)
			break;
	o = out = malloc(strlen(p) + 1);
	if (!out)
		return NULL;
	for (; *p; p++)
		if (*p == '\n' || *p == '\t' || (unsigned char)*p >= ' ')
			*o++ = *p;
	*o = '\0';
	return out;
}

/* One line per thread of a live evmm: where a hang sits. */
void guest_dump_threads(const struct guest *g)
{
	char path[320], comm[32], wchan[64], sys[64], st[512];
	const char *files[] = { "comm", "wchan", "syscall", "stat" };
	char *vals[] = { comm, wchan, sys, st };
	size_t lens[] = { sizeof(comm), sizeof(wchan), sizeof(sys), sizeof(st) };
	struct dirent *d;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", g->pid);
	dir = g->pid > 0 ? opendir(path) : NULL;
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/%s",
				 g->pid, d->d_name, files[i]);
			vals[i][0] = '\0';
			f = fopen(path, "r");
			if (f && fgets(vals[i], lens[i], f))
				vals[i][strcspn(vals[i], "\n")] = '\0';
			if (f)
				fclose(f);
		}
		/* stat's third field, after "(comm)", is the state. */
		fprintf(stderr, "e2e: evmm thread %s %s state %.1s wchan %s "
			"syscall %.24s\n", d->d_name, comm,
			strrchr(st, ')') ? strrchr(st, ')') + 2 : "?", wchan,
			sys);
	}
	closedir(dir);
}

void guest_fail(struct guest *g, const char *fmt, ...)
{
	char *what = NULL, *tail = guest_tail(g);
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	guest_dump_threads(g);
	guest_kill(g);
	ck_abort_msg("%s\n----- last %d lines of the guest console -----\n%s"
		     "----- end of console -----", what ? what : fmt,
		     GUEST_TAIL_LINES, tail && *tail ? tail : "(empty)\n");
}

static bool guest_reap(struct guest *g)
{
	if (g->pid > 0 && waitpid(g->pid, &g->status, WNOHANG) == g->pid)
		g->pid = 0;
	return g->pid == 0;
}

static void guest_append(struct guest *g, const char *data, size_t n)
{
	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->buf = realloc(g->buf, g->cap);
		ck_assert_msg(g->buf, "out of memory for the console");
	}
	memcpy(g->buf + g->len, data, n);
	g->len += n;
	g->buf[g->len] = '\0';
}

/* Reads what evmm printed, waiting at most timeout_ms for it. */
static void guest_read(struct guest *g, int timeout_ms)
{
	struct pollfd p = { .fd = g->out, .events = POLLIN };
	char data[4096];
	ssize_t n;

	if (g->out < 0) {
		usleep(timeout_ms * 1000);
		return;
	}
	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	n = read(g->out, data, sizeof(data));
	if (n > 0) {
		guest_append(g, data, n);
		if (getenv("EVMM_E2E_VERBOSE") &&
		    write(STDERR_FILENO, data, n) < 0)
			return;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(g->out);
		g->out = -1;
	}
}

void guest_drain(struct guest *g)
{
	size_t len;

	do {
		len = g->len;
		guest_read(g, 0);
	} while (g->out >= 0 && g->len > len);
}

static void guest_child(int in, int out, const char *bin,
			const char *const *argv, pid_t parent)
{
	/* Never outlive the test, whichever way it ends. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(127);
	execv(bin, (char *const *)argv);
	dprintf(STDERR_FILENO, "e2e: cannot run %s: %s\n", bin,
		strerror(errno));
	_exit(127);
}

/*
 * EVMM_E2E_SECCOMP=log (make check's audit pass): every evmm runs with
 * --seccomp log unless the test chose a mode; tests/seccomp_audit.c then
 * fails the run on any call the kernel logged.
 */
static int guest_seccomp_arg(const char **args, int n)
{
	const char *mode = getenv("EVMM_E2E_SECCOMP");
	int i;

	if (!mode || !*mode)
		return n;
	for (i = 1; i < n; i++)
		if (!strcmp(args[i], "--seccomp"))
			return n;
	args[n++] = "--seccomp";
	args[n++] = mode;
	return n;
}

void guest_spawn(struct guest *g, const char *const *argv)
{
	const char *bin = env_or("EVMM_BIN", "build/evmm");
	const char *args[MAX_ARGS + 8];
	int in[2], out[2], i;
	pid_t parent = getpid();

	guest_kill(g);
	memset(g, 0, sizeof(*g));
	g->in = g->out = -1;
	/* A write to a dead evmm must fail the test, not kill it. */
	signal(SIGPIPE, SIG_IGN);
	args[0] = bin;
	for (i = 1; argv[0] && argv[i] && i < MAX_ARGS + 5; i++)
		args[i] = argv[i];
	i = guest_seccomp_arg(args, i);
	args[i] = NULL;
	ck_assert_msg(!pipe2(in, O_CLOEXEC) && !pipe2(out, O_CLOEXEC),
		      "pipe: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &g->mark);
	g->pid = fork();
	ck_assert_msg(g->pid >= 0, "fork: %s", strerror(errno));
	if (!g->pid)
		guest_child(in[0], out[1], bin, args, parent);
	close(in[0]);
	close(out[1]);
	g->in = in[1];
	g->out = out[0];
	g->started = true;
}

void guest_start(struct guest *g, ...)
{
	const char *extra[MAX_ARGS], *argv[MAX_ARGS + 8];
	const char *defaults[][2] = {
		{ "--kernel", guest_kernel() },
		{ "--initramfs", guest_initramfs() },
		{ "--cmdline", env_or("EVMM_CMDLINE", GUEST_CMDLINE) },
	};
	int n = 0, argc = 0, i, j;
	va_list ap;

	va_start(ap, g);
	while (n < MAX_ARGS && (extra[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[argc++] = "evmm";
	for (i = 0; i < 3; i++) {
		for (j = 0; j < n && strcmp(extra[j], defaults[i][0]); j++)
			;
		if (j == n) {
			argv[argc++] = defaults[i][0];
			argv[argc++] = defaults[i][1];
		}
	}
	for (i = 0; i < n; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	guest_spawn(g, argv);
}

/* Copies the line around buf[off], without its CRs, into *dst. */
static const char *guest_copy_line(struct guest *g, size_t off, char **dst)
{
	size_t start = off, end = off, i, n = 0;

	while (start > 0 && g->buf[start - 1] != '\n')
		start--;
	while (end < g->len && g->buf[end] != '\n')
		end++;
	free(*dst);
	*dst = malloc(end - start + 1);
	ck_assert_msg(*dst, "out of memory");
	for (i = start; i < end; i++)
		if (g->buf[i] != '\r')
			(*dst)[n++] = g->buf[i];
	(*dst)[n] = '\0';
	g->cursor = end < g->len ? end + 1 : end;
	return *dst;
}

static void guest_gone(struct guest *g, const char *s)
{
	char how[64];
	double deadline = now() + 2;

	while (!guest_reap(g) && now() < deadline)
		usleep(10000);
	if (g->pid)
		guest_fail(g, "evmm closed its output while we waited for "
			   "\"%s\"", s);
	guest_describe(g->status, how, sizeof(how));
	guest_fail(g, "evmm ended (%s) while we waited for \"%s\"", how, s);
}

/* Finds s after the cursor within the deadline; returns its offset. */
static size_t guest_find(struct guest *g, const char *s, double timeout_s)
{
	double limit = timeout_s * guest_scale(), deadline = now() + limit;
	size_t slen = strlen(s);
	char *hit;

	for (;;) {
		hit = g->buf ? memmem(g->buf + g->cursor, g->len - g->cursor,
				      s, slen) : NULL;
		/* The whole line, unless it never ends. */
		if (hit && (memchr(hit, '\n', g->buf + g->len - hit) ||
			    g->out < 0 || now() >= deadline))
			return hit - g->buf;
		if (g->out < 0)
			guest_gone(g, s);
		if (now() >= deadline)
			guest_fail(g, "no \"%s\" on the console within %.1f s",
				   s, limit);
		guest_read(g, 100);
	}
}

const char *guest_expect(struct guest *g, const char *s, double timeout_s)
{
	return guest_copy_line(g, guest_find(g, s, timeout_s), &g->line);
}

static void guest_parse_state(struct guest *g, const char *line,
			      const char *tag, struct guest_state *st)
{
	const char *p = strstr(line, tag);
	char fmt[128];

	snprintf(fmt, sizeof(fmt), "%scpus_present=%%63s cpus_online=%%63s "
		 "memtotal_kb=%%ld", tag);
	if (!p || sscanf(p, fmt, st->present, st->online,
			 &st->memtotal_kb) != 3)
		guest_fail(g, "cannot parse the line \"%s\"", line);
}

void guest_ready(struct guest *g, double timeout_s, struct guest_state *st)
{
	const char *line = guest_expect(g, READY, timeout_s);
	struct guest_state tmp;

	g->boots++;
	fprintf(stderr, "e2e: boot %d of evmm %d: ready %.3f s after %s\n",
		g->boots, g->pid, guest_elapsed(g),
		g->boots == 1 ? "launch" : "the last console input");
	guest_parse_state(g, line, READY, st ? st : &tmp);
}

void guest_status(struct guest *g, struct guest_state *st)
{
	guest_send(g, "status");
	guest_parse_state(g, guest_expect(g, STATUS, T_CMD), STATUS, st);
}

void guest_send(struct guest *g, const char *line)
{
	size_t len = strlen(line), done = 0;
	char *msg;
	ssize_t n;

	if (asprintf(&msg, "%s\n", line) < 0)
		guest_fail(g, "out of memory");
	while (done <= len) {
		n = write(g->in, msg + done, len + 1 - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(msg);
			guest_fail(g, "sending \"%s\" to evmm: %s", line,
				   strerror(errno));
		}
		done += n;
	}
	free(msg);
	clock_gettime(CLOCK_MONOTONIC, &g->mark);
}

int guest_cmd(struct guest *g, const char *cmd, double timeout_s)
{
	size_t start = g->len, hit, i, n = 0;

	guest_send(g, cmd);
	hit = guest_find(g, DONE, timeout_s);
	if (hit < start)
		guest_fail(g, "a result came before \"%s\" was sent", cmd);
	free(g->output);
	g->output = malloc(hit - start + 1);
	ck_assert_msg(g->output, "out of memory");
	for (i = start; i < hit; i++)
		if (g->buf[i] != '\r')
			g->output[n++] = g->buf[i];
	g->output[n] = '\0';
	guest_copy_line(g, hit, &g->line);
	return atoi(g->buf + hit + strlen(DONE));
}

const char *guest_value(struct guest *g, const char *key)
{
	const char *p = g->output ? strstr(g->output, key) : NULL;
	size_t n;

	if (!p)
		guest_fail(g, "no \"%s\" in the output \"%s\"", key,
			   g->output ? g->output : "");
	p += strlen(key);
	n = strcspn(p, "\n");
	free(g->value);
	g->value = strndup(p, n);
	ck_assert_msg(g->value, "out of memory");
	return g->value;
}

const char *guest_query(struct guest *g, const char *cmd, const char *key)
{
	int rc = guest_cmd(g, cmd, T_CMD);

	if (rc)
		guest_fail(g, "\"%s\" failed with rc=%d, output \"%s\"", cmd,
			   rc, g->output);
	return guest_value(g, key);
}

void guest_drain_until(struct guest *g, double timeout_s)
{
	double deadline = now() + timeout_s * guest_scale();

	while (g->out >= 0 && now() < deadline)
		guest_read(g, 100);
}

int guest_wait_exit(struct guest *g, double timeout_s)
{
	double limit = timeout_s * guest_scale(), deadline = now() + limit;

	while (!guest_reap(g)) {
		if (now() >= deadline)
			guest_fail(g, "evmm still runs %.1f s later", limit);
		guest_read(g, 20);
	}
	/* Keep what it printed last, for the assertions that follow. */
	deadline = now() + 1;
	while (g->out >= 0 && now() < deadline)
		guest_read(g, 100);
	return g->status;
}

void guest_signal(struct guest *g, int sig)
{
	if (g->pid <= 0 || kill(g->pid, sig))
		guest_fail(g, "cannot send signal %d to evmm: %s", sig,
			   g->pid > 0 ? strerror(errno) : "not running");
	clock_gettime(CLOCK_MONOTONIC, &g->mark);
}

void guest_kill(struct guest *g)
{
	if (!g->started)
		return;
	g->started = false;
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, &g->status, 0);
		g->pid = 0;
	}
	if (g->in >= 0)
		close(g->in);
	if (g->out >= 0)
		close(g->out);
	g->in = g->out = -1;
	free(g->buf);
	free(g->line);
	free(g->output);
	free(g->value);
	g->buf = g->line = g->output = g->value = NULL;
	g->len = g->cap = g->cursor = 0;
}

void guest_add_test(Suite *s, const char *name, const TTest *test,
		    double secs, SFun setup, SFun teardown)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, secs);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

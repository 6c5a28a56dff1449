/*
 * Reads the kernel log (/dev/kmsg) after a test run for calls the seccomp
 * filters logged. A probe child logs one call of its own at the end, so
 * the audit knows the kernel does log (actions_logged, audit not off) and
 * that the records before it are out (kauditd writes them in order).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/seccomp_audit.h"

#define AUDIT_PROBE	"evmm-audit"	/* the probe child's thread name */
#define AUDIT_WAIT_S	10
#define AUDIT_MAX	64

struct audit_hit {
	char comm[32];
	char exe[PATH_MAX];
	long nr;
	unsigned int count;
};

static int audit_fd = -1;

static bool audit_on(void)
{
	const char *m = getenv("EVMM_E2E_SECCOMP");

	return m && !strcmp(m, "log");
}

static int audit_check_sysctl(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/kernel/seccomp/actions_logged", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	if (strstr(buf, "log"))
		return 0;
	fprintf(stderr, "seccomp audit: kernel.seccomp.actions_logged lacks "
		"\"log\" (%s): logged calls would not reach the kernel log\n",
		buf);
	return -1;
}

int seccomp_audit_begin(void)
{
	if (!audit_on())
		return 0;
	if (audit_check_sysctl())
		return -1;
	audit_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (audit_fd < 0 || lseek(audit_fd, 0, SEEK_END) < 0) {
		fprintf(stderr, "seccomp audit: /dev/kmsg: %s (the audit reads "
			"the kernel log: root, or kernel.dmesg_restrict=0)\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* A child whose filter logs getppid, named so the audit can tell it. */
static int audit_probe(void)
{
	scmp_filter_ctx ctx;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		prctl(PR_SET_NAME, AUDIT_PROBE);
		ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_LOG,
					     SCMP_SYS(getppid), 0) ||
		    seccomp_load(ctx))
			_exit(1);
		syscall(SYS_getppid);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -EIO;
	return 0;
}

/* Copies the value of key="..." or key=... in msg; false if absent. */
static bool audit_field(const char *msg, const char *key, char *out,
			size_t len)
{
	const char *p = strstr(msg, key);
	size_t n;

	if (!p)
		return false;
	p += strlen(key);
	if (*p == '"')
		n = strcspn(++p, "\"");
	else
		n = strcspn(p, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

/* A logged call of this run's binaries: evmm, or this runner itself. */
static bool audit_ours(const char *exe)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *base = strrchr(exe, '/');

	if (n > 0) {
		self[n] = 0;
		if (!strcmp(exe, self))
			return true;
	}
	return base && !strcmp(base, "/evmm");
}

static void audit_add(struct audit_hit *hits, int *n, const char *comm,
		      const char *exe, long nr)
{
	int i;

	for (i = 0; i < *n; i++) {
		if (hits[i].nr == nr && !strcmp(hits[i].comm, comm) &&
		    !strcmp(hits[i].exe, exe)) {
			hits[i].count++;
			return;
		}
	}
	if (*n == AUDIT_MAX)
		return;
	snprintf(hits[*n].comm, sizeof(hits[*n].comm), "%s", comm);
	snprintf(hits[*n].exe, sizeof(hits[*n].exe), "%s", exe);
	hits[*n].nr = nr;
	hits[(*n)++].count = 1;
}

/* One record; true when it is the probe's. */
static bool audit_record(const char *rec, struct audit_hit *hits, int *n,
			 bool *dropped)
{
	char comm[32], exe[PATH_MAX], nr[24], code[24];
	const char *msg = strchr(rec, ';');

	if (!msg)
		return false;
	if (strstr(msg, "callbacks suppressed") || strstr(msg, "audit_lost"))
		*dropped = true;
	if (!strstr(msg, "type=1326") || !audit_field(msg, "comm=", comm,
						      sizeof(comm)) ||
	    !audit_field(msg, "syscall=", nr, sizeof(nr)) ||
	    !audit_field(msg, "code=", code, sizeof(code)))
		return false;
	if (!strcmp(comm, AUDIT_PROBE))
		return true;
	if (!audit_field(msg, "exe=", exe, sizeof(exe)))
		snprintf(exe, sizeof(exe), "?");
	/* SECCOMP_RET_LOG only: a trap or a kill is a test's own business. */
	if (strtoul(code, NULL, 0) == 0x7ffc0000 && audit_ours(exe))
		audit_add(hits, n, comm, exe, strtol(nr, NULL, 10));
	return false;
}

static void audit_report(const struct audit_hit *hits, int n, bool dropped)
{
	char *name;
	int i;

	for (i = 0; i < n; i++) {
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
							hits[i].nr);
		fprintf(stderr, "seccomp audit: thread \"%s\" of %s made %s "
			"(syscall %ld), outside its filter, %u time(s)\n",
			hits[i].comm, hits[i].exe, name ? name : "?",
			hits[i].nr, hits[i].count);
		free(name);
	}
	if (dropped)
		fprintf(stderr, "seccomp audit: the kernel dropped some log "
			"records (rate limit): there may be more\n");
}

int seccomp_audit_end(void)
{
	struct audit_hit *hits;
	struct pollfd p;
	time_t end = time(NULL) + AUDIT_WAIT_S;
	bool probe = false, dropped = false;
	char rec[8192];
	int n = 0;
	ssize_t len;

	if (!audit_on())
		return 0;
	if (audit_fd < 0)
		return -1;
	hits = calloc(AUDIT_MAX, sizeof(*hits));
	if (!hits || audit_probe()) {
		fprintf(stderr, "seccomp audit: cannot run the probe\n");
		free(hits);
		return -1;
	}
	while (!probe && time(NULL) < end) {
		len = read(audit_fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EAGAIN) {
			p = (struct pollfd){ .fd = audit_fd, .events = POLLIN };
			poll(&p, 1, 200);
			continue;
		}
		if (len < 0 && errno == EPIPE) {	/* overwritten: go on */
			dropped = true;
			continue;
		}
		if (len <= 0)
			break;
		rec[len] = 0;
		probe = audit_record(rec, hits, &n, &dropped);
	}
	if (n) {
		audit_report(hits, n, dropped || !probe);
	} else if (!probe) {
		/* Or a flood of records before it hit printk's rate limit. */
		fprintf(stderr, "seccomp audit: the probe's logged call never "
			"reached the kernel log in %d s (audit=0 on the kernel "
			"command line?): the audit is blind\n", AUDIT_WAIT_S);
		n = -1;
	} else {
		printf("seccomp audit: no call outside the filters\n");
	}
	free(hits);
	close(audit_fd);
	audit_fd = -1;
	return n;
}

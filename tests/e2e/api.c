/* Child processes for API requests: curl and evmmctl, always bounded. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/e2e/api.h"
#include "tests/e2e/guest.h"

static double api_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_child(const char *const *argv, int out, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
		_exit(127);
	execvp(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

/* Reads the child's output until EOF or the deadline. */
static size_t run_read(int fd, char **buf, size_t *cap, size_t len,
		       double deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (api_now() < deadline) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (len + 4096 + 1 > *cap) {
			*cap = (len + 4096 + 1) * 2;
			*buf = realloc(*buf, *cap);
			ck_assert(*buf);
		}
		n = read(fd, *buf + len, 4096);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		len += n > 0 ? n : 0;
	}
	return len;
}

int run_capture(const char *const *argv, double timeout_s, char **out)
{
	double deadline = api_now() + timeout_s * guest_scale();
	size_t cap = 0, len;
	char *buf = NULL;
	int pipefd[2], status = 0;
	pid_t pid, parent = getpid();

	ck_assert_msg(!pipe2(pipefd, O_CLOEXEC), "pipe: %s", strerror(errno));
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		run_child(argv, pipefd[1], parent);
	close(pipefd[1]);
	len = run_read(pipefd[0], &buf, &cap, 0, deadline);
	close(pipefd[0]);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (api_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("%s did not finish in %.1f s", argv[0],
				     timeout_s * guest_scale());
		}
		usleep(10000);
	}
	if (!buf)
		buf = calloc(1, 1);
	buf[len] = 0;
	if (out)
		*out = buf;
	else
		free(buf);
	return status;
}

int api_call(const char *sock, const char *method, const char *path,
	     const char *body, char **resp)
{
	char url[256], maxtime[16];
	const char *argv[20];
	char *out, *nl;
	int n = 0, code = 0;

	snprintf(url, sizeof(url), "http://localhost/api/v1/%s", path);
	snprintf(maxtime, sizeof(maxtime), "%.0f", T_API * 5 * guest_scale());
	argv[n++] = "curl";
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = maxtime;
	argv[n++] = "--unix-socket";
	argv[n++] = sock;
	argv[n++] = "-X";
	argv[n++] = method;
	argv[n++] = "-w";
	argv[n++] = "\n%{http_code}";
	if (body) {
		argv[n++] = "-H";
		argv[n++] = "Content-Type: application/json";
		argv[n++] = "--data-binary";
		argv[n++] = body;
	}
	argv[n++] = url;
	argv[n] = NULL;
	run_capture(argv, T_API * 6, &out);
	/* The last line is the status curl printed after the body. */
	nl = strrchr(out, '\n');
	if (nl) {
		code = atoi(nl + 1);
		*nl = 0;
	}
	if (resp)
		*resp = out;
	else
		free(out);
	return code;
}

const char *api_evmmctl(void)
{
	const char *v = getenv("EVMM_CTL");

	return v && *v ? v : "build/evmmctl";
}

json_t *api_info(struct guest *g, const char *sock)
{
	char *resp;
	int code = api_call(sock, "GET", "vm.info", NULL, &resp);
	json_t *j = json_loads(resp, 0, NULL);

	guest_check(g, code == 200 && j, "vm.info: HTTP %d \"%s\"", code,
		    resp);
	free(resp);
	return j;
}

long long api_info_hotplug(struct guest *g, json_t *info, const char *part,
			   const char *key)
{
	json_t *v = json_object_get(json_object_get(json_object_get(info,
				    "hotplug"), part), key);

	guest_check(g, v, "vm.info has no hotplug.%s.%s", part, key);
	return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
}

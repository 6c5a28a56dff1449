#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

enum log_level log_threshold = LOG_WARN;

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warning",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static int log_fd = STDERR_FILENO;
static atomic_uint log_lost;

/*
 * A log line must never block a vCPU or the VMM thread on a stderr nobody
 * reads (the console's stall, issue 13): write through a non-blocking open
 * of the same pipe or terminal, so flags others share stay as they are.
 */
void log_nonblocking(void)
{
	int fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_NOCTTY |
		      O_CLOEXEC);

	if (fd < 0)
		return;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
}

/* Async-signal-safe: the SIGSYS reporter's line, never blocking either. */
void log_raw(const char *msg, size_t len)
{
	if (write(log_fd, msg, len) != (ssize_t)len)
		atomic_fetch_add(&log_lost, 1);
}

unsigned int log_dropped(void)
{
	return atomic_load(&log_lost);
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "evmm: %s: ", level_names[level]);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	n = strlen(line);
	line[n++] = '\n';
	/* One write per line, so lines of different threads never interleave. */
	if (write(log_fd, line, n) != n)
		atomic_fetch_add(&log_lost, 1);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

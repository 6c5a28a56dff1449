#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/log.h"

enum log_level log_threshold = LOG_WARN;

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warning",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];

	/* One write per line, so lines of different threads never interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "evmm: %s: %s\n", level_names[level], line);
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

/* Logging: one line per message on stderr, prefixed with "evmm: ". */
#ifndef EVMM_LOG_H
#define EVMM_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Log lines go through a non-blocking stderr from now on (before any seccomp
 * filter: it opens); a line the reader has no room for is dropped, counted.
 */
void log_nonblocking(void);
/* A whole line as it is, async-signal-safe (the SIGSYS reporter). */
void log_raw(const char *msg, size_t len);
unsigned int log_dropped(void);
/* Only before the guest first runs: print and exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_err(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

/*
 * The HTTP API: Cloud Hypervisor's paths and JSON on a Unix socket.
 *
 * The API thread accepts connections (libmicrohttpd driven by its own
 * epoll), routes and validates each request (bad input never leaves this
 * module), then posts it on a queue and wakes the VMM thread through an
 * eventfd. The VMM thread runs api_server_dispatch(), which calls the
 * handler for each queued request and hands the reply back. This module
 * knows nothing of KVM.
 */
#ifndef EVMM_API_H
#define EVMM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_server;

#define API_MAX_BODY	4096	/* larger bodies get 413 */

enum api_op {
	API_PING,		/* GET  /api/v1/vmm.ping */
	API_INFO,		/* GET  /api/v1/vm.info */
	API_COUNTERS,		/* GET  /api/v1/vm.counters */
	API_RESIZE,		/* PUT  /api/v1/vm.resize */
	API_BOOT,		/* PUT  /api/v1/vm.boot */
	API_REBOOT,		/* PUT  /api/v1/vm.reboot */
	API_SHUTDOWN,		/* PUT  /api/v1/vm.shutdown */
	API_POWER_BUTTON,	/* PUT  /api/v1/vm.power-button */
	API_VMM_SHUTDOWN,	/* PUT  /api/v1/vmm.shutdown */
};

/* A validated request: fields absent from the body are -1. */
struct api_request {
	enum api_op op;
	int64_t desired_vcpus;	/* ≥ 1 when present */
	int64_t desired_ram;	/* bytes, ≥ 1 when present */
};

/* HTTP status and a JSON body (malloc'd; NULL for no body, e.g. 204). */
struct api_reply {
	int status;
	char *body;
};

/* Runs on the VMM thread: act on req, fill reply. */
typedef void (*api_handler_fn)(void *opaque, const struct api_request *req,
			       struct api_reply *reply);
/* Runs first on the API thread (e.g. to install its seccomp filter). */
typedef int (*api_thread_init_fn)(void);

/*
 * Takes path for this process (a flock on path.lock: another evmm's path is
 * refused, -EADDRINUSE, and left alone), binds the socket there (mode 0600;
 * a stale socket file is replaced, one that a live process answers on is
 * refused) and starts the API thread. Until api_server_stop, an exit()
 * removes the socket file and the lock file. 0 or a negative errno with a
 * message in err.
 */
int api_server_start(struct api_server **out, const char *path,
		     api_thread_init_fn init, api_handler_fn handler,
		     void *opaque, char *err, size_t errlen);
/* The eventfd that becomes readable when requests are queued. */
int api_server_event_fd(const struct api_server *s);
/* VMM thread: handles every queued request. */
void api_server_dispatch(struct api_server *s);
/*
 * Lets replies already handed back reach their clients (bounded), stops the
 * API thread, closes the socket and unlinks it (if the file is still ours)
 * and its lock. NULL is fine.
 */
void api_server_stop(struct api_server *s);

/*
 * Routing and validation, no I/O (unit-tested): 0 and req filled, or -1 and
 * reply filled with the error (4xx, JSON body naming the problem).
 */
int api_route(const char *method, const char *url, const char *body,
	      size_t len, struct api_request *req, struct api_reply *reply);

/* Error reply: {"error": "<message>", "field": "<field>"} (field optional). */
void api_reply_error(struct api_reply *r, int status, const char *field,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void api_reply_free(struct api_reply *r);

#endif

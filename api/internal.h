/* The API module's private interface, shared by its files and unit tests. */
#ifndef EVMM_API_INTERNAL_H
#define EVMM_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define API_MAX_VCPUS		65535	/* sanity cap; the VMM knows the max */
/*
 * Connections served at once. A new one past the limit takes the place of
 * the oldest one still sending its request (or idle); when all are busy
 * with a request, new ones wait in the backlog.
 */
#define API_CONNECTION_LIMIT	64
#define API_ACCEPT_BATCH	16	/* per turn; below the limit */
#define API_BACKLOG		1024	/* the kernel caps it at somaxconn */
#define API_ACCEPT_PAUSE_MS	100	/* after EMFILE and the like */
#define API_CONN_MEMORY		(16 * 1024)	/* MHD's per-connection pool */
#define API_BODY_DISCARD	(64 * 1024)	/* chunked, past the limit */
#define API_IDLE_TIMEOUT_S	10	/* MHD's own, a backstop */
#define API_DRAIN_MS		500	/* at stop, for replies already given */

/* How long a request waits for the VMM thread before a 503. */
extern unsigned int api_reply_timeout_ms;
/*
 * How long a connection has to send a whole request (from its accept or
 * its previous response) and to take each response: a slow client is
 * dropped after it.
 */
extern unsigned int api_request_timeout_ms;

/* Only our own uid, or root, may drive the VMM. */
bool api_peer_allowed(uid_t peer, uid_t self);
/* The method a known path accepts ("GET", "PUT"), or NULL. */
const char *api_route_allow(const char *url);

/* The listening socket, and the lock (PATH.lock) that makes PATH ours. */
struct api_socket {
	int fd;			/* listening, or -1 */
	int lock_fd;		/* flock'd for the server's life, or -1 */
	char *path, *lock_path;
	bool bound;		/* the file below is ours to unlink */
	dev_t dev;
	ino_t ino;
};

/* Locks, clears a stale socket, binds (mode 0600), listens. */
int api_socket_open(struct api_socket *sk, const char *path, char *err,
		    size_t errlen);
/* Unlinks the socket file (if still ours) and the lock file; fds stay. */
void api_socket_unlink(struct api_socket *sk);
/* Unlinks, closes, frees; then sk is empty. */
void api_socket_close(struct api_socket *sk);

struct api_server;

/* Connection counters, for tests and tools. */
struct api_stats {
	unsigned int conns;	/* served now */
	unsigned int peak;	/* most served at once */
	unsigned int accepted;
	unsigned int evicted;	/* made room for a new one */
	unsigned int expired;	/* too slow: api_request_timeout_ms */
	unsigned int deferred;	/* times accepting waited for room */
};

void api_server_stats(const struct api_server *s, struct api_stats *st);

#endif

/* The API module's private interface, shared by its files and unit tests. */
#ifndef EVMM_API_INTERNAL_H
#define EVMM_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define API_MAX_VCPUS		65535	/* sanity cap; the VMM knows the max */
#define API_CONNECTION_LIMIT	64
#define API_IDLE_TIMEOUT_S	10	/* an idle or slow client is dropped */
#define API_DRAIN_MS		500	/* at stop, for replies already given */

/* How long a request waits for the VMM thread before a 503. */
extern unsigned int api_reply_timeout_ms;

/* Only our own uid, or root, may drive the VMM. */
bool api_peer_allowed(uid_t peer, uid_t self);
/* The method a known path accepts ("GET", "PUT"), or NULL. */
const char *api_route_allow(const char *url);
/* A listening AF_UNIX socket at path (mode 0600), or a negative errno. */
int api_socket_open(const char *path, char *err, size_t errlen);

#endif

/*
 * netpeer: the host side of make bench's net part. It listens on the
 * tap's host address, takes two connections from the guest's netbench
 * (firmware/bench/netbench.c), one per direction, and times both on the
 * host's monotonic clock:
 *
 *   host → guest  on the first, the host sends up to MIB MiB or for
 *                 SECONDS seconds, whichever comes first, shuts its side
 *                 down and waits for the guest's "got N\n" (N: the bytes
 *                 it received); timed from the first byte sent to that
 *                 line;
 *   guest → host  on the second, the guest sends until it shuts its side
 *                 down; timed from the first byte received to that end of
 *                 stream; then the host answers "got N\n" and closes.
 *
 * Guest → host comes last so that the guest prints its results only once
 * the host has everything (its "got N"): the bench stops the VMM on them.
 * With -p the host says on stderr when guest → host is over and waits
 * PAUSE_S before answering (tools/bench reads the VMM's state then).
 * Every wait is bounded by the timeout. One line on success:
 *
 *   g2h_mbits=N g2h_mib=N g2h_s=N h2g_mbits=N h2g_mib=N h2g_s=N
 */
#ifndef EVMM_NETPEER_H
#define EVMM_NETPEER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define NETPEER_USAGE	"usage: netpeer [-m MIB] [-d SECONDS] [-t TIMEOUT_S] " \
			"[-p PAUSE_S] ADDR PORT"
#define NETPEER_ACK_MAX	64	/* the guest's line, bytes */

struct netpeer_opts {
	struct in_addr addr;
	uint16_t port;
	uint64_t send_bytes;	/* host → guest: at most this */
	double send_s;		/* and for at most this long */
	double timeout_s;	/* each wait: accept, a send, a receive */
	double pause_s;		/* before answering guest → host; 0: none */
};

struct netpeer_result {
	uint64_t g2h_bytes, h2g_bytes;
	double g2h_s, h2g_s;
};

/*
 * argv into o (defaults 256 MiB, 10 s, 120 s, no pause); 0 or -EINVAL,
 * err says why.
 */
int netpeer_parse(struct netpeer_opts *o, int argc, char **argv, char *err,
		  size_t errlen);

/*
 * A listening socket on ADDR:PORT, or -errno. IP_FREEBIND: the address
 * may not exist yet (a tap its VMM has still to create or configure).
 */
int netpeer_listen(const struct netpeer_opts *o);

/* A connection, within timeout_s; its fd or -errno. */
int netpeer_accept(int lfd, double timeout_s);

/* Host → guest on a connected stream fd; 0 or -errno, err says why. */
int netpeer_h2g(int fd, const struct netpeer_opts *o,
		struct netpeer_result *r, char *err, size_t errlen);

/* Guest → host, the same. */
int netpeer_g2h(int fd, const struct netpeer_opts *o,
		struct netpeer_result *r, char *err, size_t errlen);

/* The result line, without a newline. */
void netpeer_format(const struct netpeer_result *r, char *buf, size_t len);

#endif

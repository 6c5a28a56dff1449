/*
 * netbench's options (firmware/bench/netbench.c), in a header of their own
 * so that the unit tests parse them too (tests/unit/test_netpeer.c):
 *
 *   ADDR:PORT[,MIB[,SECONDS]]
 *
 * the host peer to connect to, and at most MIB MiB (default 256) for at
 * most SECONDS seconds (default 10) sent to it.
 */
#ifndef EVMM_NETBENCH_OPTS_H
#define EVMM_NETBENCH_OPTS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NETBENCH_MIB	256
#define NETBENCH_SECS	10
#define NETBENCH_MAX	(1UL << 20)	/* MiB or seconds: a sanity bound */

struct netbench_opts {
	struct in_addr addr;
	unsigned short port;
	unsigned long mib, secs;
};

/* A number in [1, max] up to a ',' or the end; *s moves past it. */
static inline int netbench_num(const char **s, unsigned long max,
			       unsigned long *v)
{
	char *end;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(*s, &end, 10);
	if (errno || !*v || *v > max || (*end && *end != ',') ||
	    (*end == ',' && !end[1]))
		return -EINVAL;
	*s = *end ? end + 1 : end;
	return 0;
}

static inline int netbench_parse(struct netbench_opts *o, const char *s)
{
	char addr[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	unsigned long port;

	*o = (struct netbench_opts){ .mib = NETBENCH_MIB,
				     .secs = NETBENCH_SECS };
	if (!colon || colon - s >= (long)sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, colon - s);
	addr[colon - s] = 0;
	if (inet_pton(AF_INET, addr, &o->addr) != 1)
		return -EINVAL;
	s = colon + 1;
	if (netbench_num(&s, 65535, &port))
		return -EINVAL;
	o->port = port;
	if (*s && netbench_num(&s, NETBENCH_MAX, &o->mib))
		return -EINVAL;
	if (*s && netbench_num(&s, NETBENCH_MAX, &o->secs))
		return -EINVAL;
	return *s ? -EINVAL : 0;
}

#endif

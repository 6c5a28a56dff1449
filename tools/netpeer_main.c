/*
 * netpeer [-m MIB] [-d SECONDS] [-t TIMEOUT_S] [-p PAUSE_S] ADDR PORT
 * The host side of make bench's net part (tools/netpeer.h): two guest
 * connections, one per direction, each timed; one line of key=value on
 * stdout. stderr says when each connected (tools/bench may wait for it).
 * Exit status: 0, 2 for usage, 1 for anything else.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/netpeer.h"

/* The next connection, or -1 with a line on stderr. */
static int next_guest(int lfd, const struct netpeer_opts *o, const char *dir)
{
	int fd = netpeer_accept(lfd, o->timeout_s);

	if (fd < 0)
		fprintf(stderr, "netpeer: no %s connection: %s\n", dir,
			strerror(-fd));
	else
		fprintf(stderr, "netpeer: %s connected\n", dir);
	return fd;
}

static int run(int lfd, const struct netpeer_opts *o,
	       struct netpeer_result *r)
{
	char err[256];
	int fd, ret;

	fd = next_guest(lfd, o, "host to guest");
	if (fd < 0)
		return 1;
	ret = netpeer_h2g(fd, o, r, err, sizeof(err));
	close(fd);
	if (!ret) {
		fd = next_guest(lfd, o, "guest to host");
		if (fd < 0)
			return 1;
		ret = netpeer_g2h(fd, o, r, err, sizeof(err));
		close(fd);
	}
	if (ret)
		fprintf(stderr, "netpeer: %s\n", err);
	return !!ret;
}

int main(int argc, char **argv)
{
	struct netpeer_opts o;
	struct netpeer_result r;
	char err[256], line[256];
	int lfd, ret;

	if (netpeer_parse(&o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "netpeer: %s\n" NETPEER_USAGE "\n", err);
		return 2;
	}
	lfd = netpeer_listen(&o);
	if (lfd < 0) {
		fprintf(stderr, "netpeer: listen on %s:%u: %s\n",
			argv[argc - 2], o.port, strerror(-lfd));
		return 1;
	}
	ret = run(lfd, &o, &r);
	close(lfd);
	if (ret)
		return ret;
	netpeer_format(&r, line, sizeof(line));
	printf("%s\n", line);
	return 0;
}

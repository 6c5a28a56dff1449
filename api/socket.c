/*
 * The API's listening AF_UNIX socket: mode 0600 from birth, a stale socket
 * file replaced, a live one or a user's file never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/internal.h"

static int api_socket_addr(struct sockaddr_un *addr, const char *path,
			   char *err, size_t errlen)
{
	size_t len = strlen(path);

	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (!len || len >= sizeof(addr->sun_path)) {
		snprintf(err, errlen, "%s: a Unix socket path must be 1 to %zu "
			 "bytes long", path, sizeof(addr->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr->sun_path, path, len);
	return 0;
}

/* A socket file nobody answers on is a leftover: remove it. */
static int api_socket_clear(const struct sockaddr_un *addr, char *err,
			    size_t errlen)
{
	const char *path = addr->sun_path;
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; "
			 "not removing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	/* EAGAIN: a full backlog, so someone is listening. */
	if (!ret || errno == EAGAIN) {
		snprintf(err, errlen, "%s is in use by a running evmm", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT)
		goto fail;
	if (unlink(path) && errno != ENOENT)
		goto fail;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return ret;
}

int api_socket_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	int fd, ret;

	ret = api_socket_addr(&addr, path, err, errlen);
	if (!ret)
		ret = api_socket_clear(&addr, err, errlen);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	/* Linux gives the file the socket inode's mode: no umask race. */
	if (fchmod(fd, 0600) ||
	    bind(fd, (const struct sockaddr *)&addr, sizeof(addr)))
		goto fail_close;
	if (listen(fd, API_CONNECTION_LIMIT))
		goto fail_unlink;
	return fd;
fail_unlink:
	ret = -errno;
	unlink(path);
	errno = -ret;
fail_close:
	ret = -errno;
	close(fd);
	errno = -ret;
fail:
	ret = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return ret;
}

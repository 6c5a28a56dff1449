/*
 * The API's listening AF_UNIX socket: mode 0600 from birth, a stale socket
 * file replaced, a live one or a user's file never touched.
 *
 * PATH.lock, flock'd for the server's life, makes PATH ours: a second evmm
 * on the same path fails to take it and touches nothing, so the check for a
 * stale socket, its unlink and our bind cannot interleave with another
 * evmm's. At exit the socket file is unlinked only if it is still the one
 * we bound (same device and inode), then the lock file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/internal.h"

#define API_LOCK_SUFFIX	".lock"
#define API_LOCK_TRIES	3	/* the lock file unlinked under us */

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

static int api_socket_fail(const char *path, char *err, size_t errlen)
{
	int ret = -errno;

	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return ret;
}

/* The lock we hold is on the file now at lock_path, not an unlinked one. */
static bool api_lock_current(int fd, const char *lock_path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(lock_path, &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int api_socket_lock(struct api_socket *sk, const char *path,
			   char *err, size_t errlen)
{
	int i, fd;

	if (asprintf(&sk->lock_path, "%s" API_LOCK_SUFFIX, path) < 0) {
		sk->lock_path = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < API_LOCK_TRIES; i++) {
		fd = open(sk->lock_path, O_RDWR | O_CREAT | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd < 0)
			return api_socket_fail(sk->lock_path, err, errlen);
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd);
			if (errno != EWOULDBLOCK)
				return api_socket_fail(sk->lock_path, err,
						       errlen);
			snprintf(err, errlen, "%s is in use by a running evmm "
				 "(%s is locked)", path, sk->lock_path);
			return -EADDRINUSE;
		}
		if (api_lock_current(fd, sk->lock_path)) {
			sk->lock_fd = fd;
			return 0;
		}
		close(fd);	/* its holder unlinked it as we opened it */
	}
	snprintf(err, errlen, "%s: cannot take the lock", sk->lock_path);
	return -EAGAIN;
}

/*
 * A socket file nobody answers on is a leftover: remove it. With the lock
 * held no evmm can be listening there; the probe still spares another
 * program's live socket.
 */
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
		return api_socket_fail(path, err, errlen);
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	/* EAGAIN: a full backlog, so someone is listening. */
	if (!ret || errno == EAGAIN) {
		snprintf(err, errlen, "%s is in use by a running program",
			 path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT)
		return api_socket_fail(path, err, errlen);
	if (unlink(path) && errno != ENOENT)
		return api_socket_fail(path, err, errlen);
	return 0;
}

static int api_socket_listen(struct api_socket *sk,
			     const struct sockaddr_un *addr, char *err,
			     size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return api_socket_fail(sk->path, err, errlen);
	/* Linux gives the file the socket inode's mode: no umask race. */
	if (fchmod(fd, 0600) ||
	    bind(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		goto fail;
	if (lstat(sk->path, &st))
		goto fail_unlink;
	sk->dev = st.st_dev;
	sk->ino = st.st_ino;
	sk->bound = true;
	/* Deep: a burst of clients waits there, not refused. */
	if (listen(fd, API_BACKLOG))
		goto fail_unlink;
	sk->fd = fd;
	return 0;
fail_unlink:
	ret = errno;
	api_socket_unlink(sk);
	errno = ret;
fail:
	ret = api_socket_fail(sk->path, err, errlen);
	close(fd);
	return ret;
}

int api_socket_open(struct api_socket *sk, const char *path, char *err,
		    size_t errlen)
{
	struct sockaddr_un addr;
	int ret;

	*sk = (struct api_socket){ .fd = -1, .lock_fd = -1 };
	ret = api_socket_addr(&addr, path, err, errlen);
	if (ret)
		return ret;
	sk->path = strdup(path);
	if (!sk->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	ret = api_socket_lock(sk, path, err, errlen);
	if (!ret)
		ret = api_socket_clear(&addr, err, errlen);
	if (!ret)
		ret = api_socket_listen(sk, &addr, err, errlen);
	if (ret)
		api_socket_close(sk);
	return ret;
}

/*
 * The files go, the fds stay: safe at exit while the API thread still
 * runs, and more than once. Only our own socket file is unlinked.
 */
void api_socket_unlink(struct api_socket *sk)
{
	struct stat st;

	if (sk->bound && !lstat(sk->path, &st) && st.st_dev == sk->dev &&
	    st.st_ino == sk->ino)
		unlink(sk->path);
	sk->bound = false;
	/* While we hold the lock: the next owner checks it took this one. */
	if (sk->lock_fd >= 0 && api_lock_current(sk->lock_fd, sk->lock_path))
		unlink(sk->lock_path);
}

void api_socket_close(struct api_socket *sk)
{
	api_socket_unlink(sk);
	if (sk->fd >= 0)
		close(sk->fd);
	if (sk->lock_fd >= 0)
		close(sk->lock_fd);
	free(sk->path);
	free(sk->lock_path);
	*sk = (struct api_socket){ .fd = -1, .lock_fd = -1 };
}

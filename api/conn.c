/*
 * The API's connections: evmm accepts them itself (libmicrohttpd runs with
 * no listening socket of its own) so that it decides who is served.
 *
 * - At most API_CONNECTION_LIMIT connections are served. A new one past
 *   the limit takes the place of the oldest connection that has not yet
 *   sent a whole request (a stalled or idle client); when every one is
 *   busy with a request, accepting waits and new clients queue in the
 *   backlog, which the VMM thread's answers soon drain.
 * - A connection has api_request_timeout_ms to send each whole request,
 *   counted from its accept or from its previous response, and as long to
 *   take each response; MHD's own timeout only counts silence, which a
 *   client sending a byte a second never leaves.
 * - A dropped connection is shut down; MHD sees the hang-up in its next
 *   run, closes it and tells api_conn_notify.
 *
 * API thread only, except the counters.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/internal.h"
#include "api/server.h"
#include "vmm/log.h"

unsigned int api_request_timeout_ms = 5000;

uint64_t api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api_server_stats(const struct api_server *s, struct api_stats *st)
{
	st->conns = atomic_load(&s->st_conns);
	st->peak = atomic_load(&s->st_peak);
	st->accepted = atomic_load(&s->st_accepted);
	st->evicted = atomic_load(&s->st_evicted);
	st->expired = atomic_load(&s->st_expired);
	st->deferred = atomic_load(&s->st_deferred);
}

static void api_conns_count(struct api_server *s)
{
	atomic_store(&s->st_conns, s->nconns);
	if (s->nconns > atomic_load(&s->st_peak))
		atomic_store(&s->st_peak, s->nconns);
}

/* The listening socket in our epoll set, or out of it while paused. */
int api_listen(struct api_server *s, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = s->sock.fd };

	if (on == s->listening)
		return 0;
	if (epoll_ctl(s->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
		      s->sock.fd, &ev))
		return -errno;
	s->listening = on;
	return 0;
}

static void api_conn_drop(struct api_server *s, struct api_conn *c)
{
	/* The fd stays MHD's: it closes it on the hang-up. */
	shutdown(c->fd, SHUT_RDWR);
	c->dropped = true;
	s->nconns--;
	api_conns_count(s);
}

/* At the limit, the oldest connection still reading makes room. */
static bool api_conns_make_room(struct api_server *s)
{
	struct api_conn *c, *victim = NULL;

	if (s->nconns < API_CONNECTION_LIMIT)
		return true;
	for (c = s->conns; c; c = c->next) {
		if (c->dropped || c->phase != API_CONN_READING)
			continue;
		if (!victim || c->since < victim->since)
			victim = c;
	}
	if (!victim)
		return false;
	api_conn_drop(s, victim);
	atomic_fetch_add(&s->st_evicted, 1);
	return true;
}

static void api_accept_pause(struct api_server *s, unsigned int ms)
{
	s->accept_after = api_now_ms() + ms;
	api_listen(s, false);
}

/* Takes one from the backlog into s->pending_fd; false when none. */
static bool api_accept_one(struct api_server *s)
{
	int fd;

	do {
		s->pending_len = sizeof(s->pending_addr);
		fd = accept4(s->sock.fd, (struct sockaddr *)&s->pending_addr,
			     &s->pending_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && (errno == ECONNABORTED || errno == EINTR));
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("api: accept: %s", strerror(errno));
			api_accept_pause(s, API_ACCEPT_PAUSE_MS);
		}
		return false;
	}
	atomic_fetch_add(&s->st_accepted, 1);
	s->pending_fd = fd;
	return true;
}

/*
 * Accepts what the limit allows. A connection that finds no room waits in
 * s->pending_fd (the rest in the backlog) until one closes or finishes a
 * request.
 */
void api_conns_accept(struct api_server *s)
{
	int i;

	for (i = 0; i < API_ACCEPT_BATCH; i++) {
		if (s->pending_fd < 0 && (!s->listening || !api_accept_one(s)))
			return;
		if (!api_conns_make_room(s)) {
			atomic_fetch_add(&s->st_deferred, 1);
			api_accept_pause(s, API_ACCEPT_PAUSE_MS);
			return;
		}
		/* MHD closes the fd if it cannot take it. */
		if (MHD_add_connection(s->mhd, s->pending_fd,
				       (struct sockaddr *)&s->pending_addr,
				       s->pending_len) != MHD_YES)
			log_debug("api: connection not added: %s",
				  strerror(errno));
		s->pending_fd = -1;
	}
}

/* Room again: accept now rather than after the pause. */
static void api_accept_resume(struct api_server *s)
{
	if (!s->listening && s->accept_after != UINT64_MAX)
		s->accept_after = 0;
}

static uint64_t api_conn_deadline(const struct api_conn *c)
{
	if (c->dropped || c->phase == API_CONN_WAITING)
		return UINT64_MAX;
	return c->since + api_request_timeout_ms;
}

/*
 * Drops the connections past their deadline, resumes accepting when
 * there is room; returns the next time to look again.
 */
uint64_t api_conns_expire(struct api_server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX, d;
	struct api_conn *c;

	for (c = s->conns; c; c = c->next) {
		d = api_conn_deadline(c);
		if (d <= now) {
			api_conn_drop(s, c);
			atomic_fetch_add(&s->st_expired, 1);
		} else if (d < next) {
			next = d;
		}
	}
	if (!s->listening && s->accept_after != UINT64_MAX) {
		if (s->accept_after <= now)
			api_listen(s, true);
		else if (s->accept_after < next)
			next = s->accept_after;
	}
	return next;
}

static struct api_conn *api_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;

	info = MHD_get_connection_info(conn,
				       MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

void api_conn_phase(struct api_server *s, struct MHD_Connection *conn,
		    enum api_conn_phase phase)
{
	struct api_conn *c = api_conn_of(conn);

	if (!c)
		return;
	c->phase = phase;
	c->since = api_now_ms();
	if (phase == API_CONN_READING)
		api_accept_resume(s);
}

static void api_conn_start(struct api_server *s, struct MHD_Connection *conn,
			   void **ctx)
{
	const union MHD_ConnectionInfo *info;
	struct api_conn *c = calloc(1, sizeof(*c));

	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!c || !info) {
		free(c);
		if (info)
			shutdown(info->connect_fd, SHUT_RDWR);
		return;
	}
	c->fd = info->connect_fd;
	c->since = api_now_ms();
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	*ctx = c;
	s->nconns++;
	api_conns_count(s);
}

static void api_conn_end(struct api_server *s, struct api_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (!c->dropped) {
		s->nconns--;
		api_conns_count(s);
	}
	free(c);
	api_accept_resume(s);
}

void api_conn_notify(void *cls, struct MHD_Connection *conn,
		     void **socket_context,
		     enum MHD_ConnectionNotificationCode code)
{
	struct api_server *s = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		api_conn_start(s, conn, socket_context);
	else if (*socket_context)
		api_conn_end(s, *socket_context);
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = NULL;
}

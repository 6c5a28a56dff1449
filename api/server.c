/*
 * The API thread: libmicrohttpd driven from our own epoll on the AF_UNIX
 * socket, and the queue that carries validated requests to the VMM thread
 * and replies back.
 *
 * A routed request becomes a job on the queue; its connection is suspended
 * (MHD_suspend_connection), so the API thread keeps serving while the VMM
 * thread works. The VMM thread puts the finished job on the done list and
 * writes wake_fd; the API thread resumes the connection, which then sends
 * the reply. A job whose client gave up (timeout, stop) is detached: its
 * call pointer is NULL and whoever holds it next frees it.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/internal.h"
#include "api/server.h"
#include "vmm/log.h"
#include "vmm/util.h"

unsigned int api_reply_timeout_ms = 10000;

/* Servers whose socket file an exit() must not leave behind. */
static pthread_mutex_t api_live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t api_live_once = PTHREAD_ONCE_INIT;
static struct api_server *api_live;

/*
 * exit() anywhere (a die() after the API started): the files go. The API
 * thread may still run; it only loses the name.
 */
static void api_live_atexit(void)
{
	struct api_server *s;

	pthread_mutex_lock(&api_live_lock);
	for (s = api_live; s; s = s->next_live)
		api_socket_unlink(&s->sock);
	pthread_mutex_unlock(&api_live_lock);
}

static void api_live_init(void)
{
	atexit(api_live_atexit);
}

static void api_live_add(struct api_server *s)
{
	pthread_once(&api_live_once, api_live_init);
	pthread_mutex_lock(&api_live_lock);
	s->next_live = api_live;
	api_live = s;
	pthread_mutex_unlock(&api_live_lock);
}

static void api_live_del(struct api_server *s)
{
	struct api_server **p;

	pthread_mutex_lock(&api_live_lock);
	for (p = &api_live; *p; p = &(*p)->next_live) {
		if (*p == s) {
			*p = s->next_live;
			break;
		}
	}
	pthread_mutex_unlock(&api_live_lock);
}

static void api_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("api: eventfd: %s", strerror(errno));
}

static void api_drain_fd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("api: eventfd: %s", strerror(errno));
}

static void api_job_free(struct api_job *job)
{
	api_reply_free(&job->reply);
	free(job);
}

static struct api_job *api_list_pop(struct api_job **head)
{
	struct api_job *job = *head;

	if (job)
		*head = job->next;
	return job;
}

static void api_list_append(struct api_job **head, struct api_job *job)
{
	while (*head)
		head = &(*head)->next;
	job->next = NULL;
	*head = job;
}

/* API thread: queue req for the VMM thread. -ESHUTDOWN once stopping. */
int api_job_post(struct api_server *s, struct api_call *call,
		 const struct api_request *req)
{
	struct api_job *job = calloc(1, sizeof(*job));

	if (!job)
		return -ENOMEM;
	job->req = *req;
	job->call = call;
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		free(job);
		return -ESHUTDOWN;
	}
	api_list_append(&s->queue, job);
	pthread_mutex_unlock(&s->lock);
	call->job = job;
	api_kick(s->event_fd);
	return 0;
}

/* API thread: the client no longer waits for job. */
void api_job_detach(struct api_server *s, struct api_job *job)
{
	pthread_mutex_lock(&s->lock);
	job->call = NULL;
	pthread_mutex_unlock(&s->lock);
}

/* API thread: replies the VMM thread handed back. */
void api_jobs_collect(struct api_server *s, bool *stopping)
{
	struct api_job *done, *job;

	pthread_mutex_lock(&s->lock);
	done = s->done;
	s->done = NULL;
	*stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	while ((job = api_list_pop(&done))) {
		if (job->call)
			api_call_answer(s, job->call, &job->reply);
		api_job_free(job);
	}
}

int api_server_event_fd(const struct api_server *s)
{
	return s->event_fd;
}

static struct api_job *api_job_next(struct api_server *s)
{
	struct api_job *job;

	pthread_mutex_lock(&s->lock);
	while ((job = api_list_pop(&s->queue)) && !job->call)
		free(job);	/* its client gave up: do not act on it */
	pthread_mutex_unlock(&s->lock);
	return job;
}

void api_server_dispatch(struct api_server *s)
{
	struct api_job *job;
	bool orphan;

	api_drain_fd(s->event_fd);
	while ((job = api_job_next(s))) {
		s->handler(s->opaque, &job->req, &job->reply);
		pthread_mutex_lock(&s->lock);
		orphan = !job->call;
		if (!orphan)
			api_list_append(&s->done, job);
		pthread_mutex_unlock(&s->lock);
		if (orphan)
			api_job_free(job);
		else
			api_kick(s->wake_fd);
	}
}

/* Until the deadline, nearest of MHD's, the calls' and connections'. */
static int api_wait_ms(struct api_server *s, uint64_t deadline)
{
	MHD_UNSIGNED_LONG_LONG mhd;
	uint64_t now = api_now_ms();
	int64_t ms = -1;

	if (MHD_get_timeout(s->mhd, &mhd) == MHD_YES)
		ms = mhd > INT_MAX ? INT_MAX : (int64_t)mhd;
	deadline = MIN(deadline, api_calls_deadline(s));
	deadline = MIN(deadline, api_conns_expire(s, now));
	/* Room again for the one that waited: no event will say so. */
	if (s->listening && s->pending_fd >= 0)
		deadline = now;
	if (deadline != UINT64_MAX) {
		int64_t left = deadline > now ? (int64_t)(deadline - now) : 0;

		ms = ms < 0 ? left : MIN(ms, left);
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * One turn: wait for MHD, a client or a wake-up; then hand back replies,
 * drop slow connections, accept new ones, and let MHD run them all (a new
 * client's request is read in the turn that accepts it).
 */
static int api_turn(struct api_server *s, uint64_t deadline, bool *stopping)
{
	struct epoll_event ev[3];
	bool incoming = false;
	uint64_t now;
	int n, i;

	n = epoll_wait(s->epfd, ev, 3, api_wait_ms(s, deadline));
	if (n < 0 && errno != EINTR) {
		n = -errno;
		log_err("api: epoll_wait: %s", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		if (ev[i].data.fd == s->wake_fd)
			api_drain_fd(s->wake_fd);
		else if (ev[i].data.fd == s->sock.fd)
			incoming = true;
	}
	api_jobs_collect(s, stopping);
	now = api_now_ms();
	api_calls_expire(s, now);
	api_conns_expire(s, now);
	if (s->listening && (incoming || s->pending_fd >= 0))
		api_conns_accept(s);
	if (MHD_run(s->mhd) != MHD_YES)
		log_warn("api: MHD_run failed");
	return 0;
}

/* No more clients: the backlog is refused once the socket closes. */
static void api_stop_accepting(struct api_server *s)
{
	s->accept_after = UINT64_MAX;
	api_listen(s, false);
	if (s->pending_fd >= 0)
		close(s->pending_fd);
	s->pending_fd = -1;
}

/* At stop: 503 to whoever still waits, send what is queued, briefly. */
static void api_drain(struct api_server *s)
{
	uint64_t deadline = api_now_ms() + API_DRAIN_MS;
	bool stopping;

	api_stop_accepting(s);
	api_calls_abort(s);
	MHD_run(s->mhd);
	while (s->in_flight && api_now_ms() < deadline) {
		if (api_turn(s, deadline, &stopping))
			break;
	}
}

/*
 * glibc reads /proc/sys/vm/overcommit_memory the first time it shrinks a
 * thread's heap (once per process); make that happen here, before the
 * seccomp filter forbids open, rather than on some later request.
 */
static void api_thread_warm_malloc(void)
{
	void *p[8];
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = malloc(120 * 1024);
		__asm__ volatile("" : : "r"(p[i]) : "memory");
	}
	for (i = 7; i >= 0; i--)
		free(p[i]);
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	bool stopping = false;
	int ret;

	pthread_setname_np(pthread_self(), "evmm-api");
	api_thread_warm_malloc();
	ret = s->init ? s->init() : 0;
	if (ret) {
		log_err("api: cannot set up the API thread (%s); "
			"the API is off", strerror(-ret));
		goto out;
	}
	while (!stopping) {
		if (api_turn(s, UINT64_MAX, &stopping))
			break;
	}
	api_drain(s);
out:
	api_stop_accepting(s);
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	/* Clients now see a refusal, not a silent backlog. */
	close(s->sock.fd);
	s->sock.fd = -1;
	return NULL;
}

static int api_epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int api_server_fds(struct api_server *s)
{
	const union MHD_DaemonInfo *info;

	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->event_fd < 0 || s->wake_fd < 0 || s->epfd < 0)
		return -errno;
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return -EINVAL;
	if (api_epoll_add(s->epfd, info->epoll_fd) ||
	    api_epoll_add(s->epfd, s->wake_fd))
		return -errno;
	return api_listen(s, true);
}

static void api_server_free(struct api_server *s)
{
	struct api_job *job;

	while ((job = api_list_pop(&s->queue)))
		api_job_free(job);
	while ((job = api_list_pop(&s->done)))
		api_job_free(job);
	if (s->event_fd >= 0)
		close(s->event_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	api_socket_close(&s->sock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int api_server_start(struct api_server **out, const char *path,
		     api_thread_init_fn init, api_handler_fn handler,
		     void *opaque, char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	s->event_fd = s->wake_fd = s->epfd = s->pending_fd = -1;
	s->sock = (struct api_socket){ .fd = -1, .lock_fd = -1 };
	s->init = init;
	s->handler = handler;
	s->opaque = opaque;
	s->uid = geteuid();
	/* Here: jansson would read /dev/urandom under the API filter. */
	json_object_seed(0);
	pthread_mutex_init(&s->lock, NULL);
	ret = api_socket_open(&s->sock, path, err, errlen);
	if (ret)
		goto fail;
	s->mhd = api_mhd_start(s);
	if (!s->mhd) {
		snprintf(err, errlen, "%s: cannot start the HTTP server", path);
		ret = -EIO;
		goto fail;
	}
	ret = api_server_fds(s);
	if (!ret)
		ret = thread_start(&s->thread, api_thread, s);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		MHD_stop_daemon(s->mhd);
		goto fail;
	}
	api_live_add(s);
	*out = s;
	return 0;
fail:
	api_server_free(s);
	return ret;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	api_kick(s->wake_fd);
	pthread_join(s->thread, NULL);
	api_live_del(s);
	api_server_free(s);
}

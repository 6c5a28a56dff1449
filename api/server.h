/*
 * The API server's state, shared by server.c (thread, queue) and http.c
 * (libmicrohttpd callbacks). Private to api/.
 */
#ifndef EVMM_API_SERVER_H
#define EVMM_API_SERVER_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "api/api.h"
#include "api/internal.h"

/* A request on its way to the VMM thread and back; s->lock guards it. */
struct api_job {
	struct api_job *next;
	struct api_call *call;		/* NULL once the client gave up */
	struct api_request req;
	struct api_reply reply;
};

enum api_call_state {
	API_CALL_READING,		/* headers and body coming in */
	API_CALL_WAITING,		/* suspended, its job queued */
	API_CALL_ANSWERED,		/* resumed, reply ready to queue */
	API_CALL_DONE,			/* response queued in MHD */
};

/* One HTTP request; API thread only. */
struct api_call {
	struct api_call *prev, *next;	/* s->waiting */
	struct MHD_Connection *conn;
	struct api_job *job;
	struct api_reply reply;
	uint64_t deadline;		/* ms, CLOCK_MONOTONIC */
	enum api_call_state state;
	bool counted;			/* in s->in_flight */
	bool too_big;
	size_t discarded;		/* past API_MAX_BODY */
	size_t len;
	char body[API_MAX_BODY];
};

enum api_conn_phase {
	API_CONN_READING,		/* or idle: until its request is in */
	API_CONN_WAITING,		/* its request is with the VMM thread */
	API_CONN_SENDING,		/* its response is queued */
};

/* One client connection (MHD's socket context); API thread only. */
struct api_conn {
	struct api_conn *prev, *next;	/* s->conns */
	int fd;
	uint64_t since;			/* ms: the phase began */
	enum api_conn_phase phase;
	bool dropped;			/* shut down; MHD closes it next */
};

struct api_server {
	struct api_socket sock;
	struct api_server *next_live;	/* api_live: unlinked at exit */
	struct MHD_Daemon *mhd;
	pthread_t thread;
	int event_fd;			/* VMM thread: jobs queued */
	int wake_fd;			/* API thread: jobs done, or stop */
	int epfd;			/* API thread: MHD's epoll + wake_fd */
	uid_t uid;
	api_thread_init_fn init;
	api_handler_fn handler;
	void *opaque;

	pthread_mutex_t lock;		/* guards the three below */
	struct api_job *queue;		/* to the VMM thread */
	struct api_job *done;		/* back from it */
	bool stopping;

	struct api_call *waiting;	/* API thread: suspended calls */
	unsigned int in_flight;		/* API thread: replies not yet sent */

	/* API thread: connections, and whether we accept more now. */
	struct api_conn *conns;
	unsigned int nconns;		/* not dropped */
	bool listening;			/* the socket is in epfd */
	uint64_t accept_after;		/* ms: paused until; MAX: stopped */
	int pending_fd;			/* accepted, waiting for room */
	struct sockaddr_un pending_addr;
	socklen_t pending_len;
	/* Written by the API thread, read by anyone. */
	atomic_uint st_conns, st_peak, st_accepted, st_evicted, st_expired,
		    st_deferred;
};

/* server.c */
int api_job_post(struct api_server *s, struct api_call *call,
		 const struct api_request *req);
void api_job_detach(struct api_server *s, struct api_job *job);
void api_jobs_collect(struct api_server *s, bool *stopping);

/* conn.c */
uint64_t api_now_ms(void);
void api_conns_accept(struct api_server *s);
uint64_t api_conns_expire(struct api_server *s, uint64_t now);
void api_conn_phase(struct api_server *s, struct MHD_Connection *conn,
		    enum api_conn_phase phase);
void api_conn_notify(void *cls, struct MHD_Connection *conn,
		     void **socket_context,
		     enum MHD_ConnectionNotificationCode code);
int api_listen(struct api_server *s, bool on);

/* http.c */
struct MHD_Daemon *api_mhd_start(struct api_server *s);
void api_call_answer(struct api_server *s, struct api_call *call,
		     struct api_reply *reply);
uint64_t api_calls_deadline(const struct api_server *s);
void api_calls_expire(struct api_server *s, uint64_t now);
void api_calls_abort(struct api_server *s);

#endif

/*
 * The API server's state, shared by server.c (thread, queue) and http.c
 * (libmicrohttpd callbacks). Private to api/.
 */
#ifndef EVMM_API_SERVER_H
#define EVMM_API_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/api.h"

struct MHD_Daemon;
struct MHD_Connection;

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
	size_t len;
	char body[API_MAX_BODY];
};

struct api_server {
	char *path;
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
};

/* server.c */
int api_job_post(struct api_server *s, struct api_call *call,
		 const struct api_request *req);
void api_job_detach(struct api_server *s, struct api_job *job);
void api_jobs_collect(struct api_server *s, bool *stopping);

/* http.c */
struct MHD_Daemon *api_mhd_start(struct api_server *s, int fd);
void api_call_answer(struct api_server *s, struct api_call *call,
		     struct api_reply *reply);
uint64_t api_calls_deadline(const struct api_server *s);
void api_calls_expire(struct api_server *s, uint64_t now);
void api_calls_abort(struct api_server *s);

#endif

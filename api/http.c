/*
 * The libmicrohttpd side of the API: one access-handler callback per
 * request turns HTTP into api_route() and a job for the VMM thread, and the
 * job's reply back into an HTTP response. API thread only.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api/api.h"
#include "api/internal.h"
#include "api/server.h"
#include "vmm/log.h"

static void api_waiting_add(struct api_server *s, struct api_call *call)
{
	call->prev = NULL;
	call->next = s->waiting;
	if (s->waiting)
		s->waiting->prev = call;
	s->waiting = call;
}

static void api_waiting_del(struct api_server *s, struct api_call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		s->waiting = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
}

static void api_call_count(struct api_server *s, struct api_call *call)
{
	if (!call->counted)
		s->in_flight++;
	call->counted = true;
}

/* Queues call->reply; MHD frees the body once it is sent. */
static enum MHD_Result api_respond(struct api_server *s, struct api_call *call,
				   const char *allow)
{
	struct api_reply *r = &call->reply;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	if (r->status < 100 || r->status > 599)
		api_reply_error(r, 500, NULL, "the VMM gave no valid answer");
	len = r->body ? strlen(r->body) : 0;
	resp = MHD_create_response_from_buffer_with_free_callback(len, r->body,
								  free);
	if (!resp)
		return MHD_NO;
	r->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "evmm");
	if (len)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(call->conn, r->status, resp);
	MHD_destroy_response(resp);
	call->state = API_CALL_DONE;
	if (ret == MHD_YES) {
		api_call_count(s, call);
		api_conn_phase(s, call->conn, API_CONN_SENDING);
	}
	return ret;
}

static enum MHD_Result api_respond_error(struct api_server *s,
					 struct api_call *call, int status,
					 const char *msg)
{
	api_reply_error(&call->reply, status, NULL, "%s", msg);
	return api_respond(s, call, NULL);
}

void api_call_answer(struct api_server *s, struct api_call *call,
		     struct api_reply *reply)
{
	api_reply_free(&call->reply);
	call->reply = *reply;
	reply->body = NULL;
	call->job = NULL;
	api_waiting_del(s, call);
	call->state = API_CALL_ANSWERED;
	api_call_count(s, call);
	MHD_resume_connection(call->conn);
}

/* A call that stops waiting gets a 503 instead of the VMM's reply. */
static void api_call_give_up(struct api_server *s, struct api_call *call,
			     const char *msg)
{
	struct api_reply r = { 0 };

	api_job_detach(s, call->job);
	api_reply_error(&r, 503, NULL, "%s", msg);
	api_call_answer(s, call, &r);
}

uint64_t api_calls_deadline(const struct api_server *s)
{
	uint64_t min = UINT64_MAX;
	struct api_call *c;

	for (c = s->waiting; c; c = c->next)
		min = c->deadline < min ? c->deadline : min;
	return min;
}

void api_calls_expire(struct api_server *s, uint64_t now)
{
	struct api_call *c, *next;

	for (c = s->waiting; c; c = next) {
		next = c->next;
		if (c->deadline <= now)
			api_call_give_up(s, c, "the VMM did not answer");
	}
}

void api_calls_abort(struct api_server *s)
{
	while (s->waiting)
		api_call_give_up(s, s->waiting, "evmm is shutting down");
}

static bool api_peer_ok(struct api_server *s, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info || getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED,
				&cred, &len))
		return false;
	return api_peer_allowed(cred.uid, s->uid);
}

/* A declared length over the limit gets 413 before any body is read. */
static bool api_length_too_big(struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_CONTENT_LENGTH);

	return v && strtoull(v, NULL, 10) > API_MAX_BODY;
}

static enum MHD_Result api_respond_too_big(struct api_server *s,
					   struct api_call *call)
{
	api_reply_error(&call->reply, 413, NULL, "body too large: at most %d "
			"bytes", API_MAX_BODY);
	return api_respond(s, call, NULL);
}

static enum MHD_Result api_call_begin(struct api_server *s,
				      struct MHD_Connection *conn, void **ctx)
{
	struct api_call *call = calloc(1, sizeof(*call));

	if (!call)
		return MHD_NO;
	call->conn = conn;
	*ctx = call;
	if (!api_peer_ok(s, conn))
		return api_respond_error(s, call, 403, "forbidden: this "
					 "socket serves only its owner's uid");
	if (api_length_too_big(conn))
		return api_respond_too_big(s, call);
	return MHD_YES;
}

/*
 * Past the limit, the rest is dropped unread into any buffer, for a 413
 * at its end; false once that is more than API_BODY_DISCARD (a chunked
 * body: a declared length over the limit is refused before any is read).
 */
static bool api_call_read(struct api_call *call, const char *data, size_t n)
{
	if (call->too_big || n > API_MAX_BODY - call->len) {
		call->too_big = true;
		call->discarded += n;
		return call->discarded <= API_BODY_DISCARD;
	}
	memcpy(call->body + call->len, data, n);
	call->len += n;
	return true;
}

static enum MHD_Result api_call_route(struct api_server *s,
				      struct api_call *call,
				      const char *method, const char *url)
{
	struct api_request req;
	struct timespec ts;
	int ret;

	if (call->too_big)
		return api_respond_too_big(s, call);
	if (api_route(method, url, call->body, call->len, &req, &call->reply))
		return api_respond(s, call, call->reply.status == 405 ?
				   api_route_allow(url) : NULL);
	ret = api_job_post(s, call, &req);
	if (ret)
		return api_respond_error(s, call, ret == -ESHUTDOWN ? 503 : 500,
					 ret == -ESHUTDOWN ?
					 "evmm is shutting down" :
					 "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	call->deadline = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
			 api_reply_timeout_ms;
	call->state = API_CALL_WAITING;
	api_waiting_add(s, call);
	api_conn_phase(s, call->conn, API_CONN_WAITING);
	MHD_suspend_connection(call->conn);
	return MHD_YES;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **ctx)
{
	struct api_server *s = cls;
	struct api_call *call = *ctx;

	(void)version;
	if (!call)
		return api_call_begin(s, conn, ctx);
	if (*size) {
		if (call->state == API_CALL_READING &&
		    !api_call_read(call, data, *size))
			return MHD_NO;	/* MHD closes the connection */
		*size = 0;
		return MHD_YES;
	}
	switch (call->state) {
	case API_CALL_READING:
		return api_call_route(s, call, method, url);
	case API_CALL_ANSWERED:
		return api_respond(s, call, NULL);
	default:
		return MHD_YES;
	}
}

static void api_completed(void *cls, struct MHD_Connection *conn,
			  void **ctx, enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	struct api_call *call = *ctx;

	/* The response went out: the next request's time starts. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		api_conn_phase(s, conn, API_CONN_READING);
	if (!call)
		return;
	if (call->job)
		api_job_detach(s, call->job);
	if (call->state == API_CALL_WAITING)
		api_waiting_del(s, call);
	if (call->counted)
		s->in_flight--;
	api_reply_free(&call->reply);
	free(call);
	*ctx = NULL;
}

/* libmicrohttpd's messages are about clients: debug level. */
static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	if (log_threshold < LOG_DEBUG)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = 0;
	log_debug("api: %s", msg);
}

/*
 * Connections come from conn.c's accept (MHD_add_connection), which keeps
 * the limit; MHD's own limit only backs it up, above the connections that
 * conn.c dropped and MHD has yet to close.
 */
struct MHD_Daemon *api_mhd_start(struct api_server *s)
{
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
				MHD_USE_NO_LISTEN_SOCKET |
				MHD_USE_SUPPRESS_DATE_NO_CLOCK |
				MHD_USE_ERROR_LOG, 0, NULL, NULL,
				api_access, s,
				/* first, or MHD warns on its own stderr */
				MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
				MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)(2 * API_CONNECTION_LIMIT +
					       API_ACCEPT_BATCH),
				MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)API_IDLE_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)API_CONN_MEMORY,
				MHD_OPTION_NOTIFY_COMPLETED, api_completed, s,
				MHD_OPTION_NOTIFY_CONNECTION, api_conn_notify,
				s,
				MHD_OPTION_END);
}

/*
 * api: routing and validation of every good and bad request, then the real
 * server on a socket in a temp dir, with a test thread playing the VMM
 * thread and a tiny raw HTTP/1.1 client. Every wait has a deadline.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "api/api.h"
#include "api/internal.h"
#include "vmm/seccomp.h"

/* --- api_route ------------------------------------------------------------ */

static struct api_request req;
static struct api_reply reply;

static int route(const char *method, const char *url, const char *body)
{
	api_reply_free(&reply);
	return api_route(method, url, body, body ? strlen(body) : 0, &req,
			 &reply);
}

/* reply is an error with this status, a message containing msg, and field. */
static void check_error(int status, const char *field, const char *msg)
{
	json_t *root, *f;
	const char *text;

	ck_assert_int_eq(reply.status, status);
	ck_assert_ptr_nonnull(reply.body);
	root = json_loads(reply.body, 0, NULL);
	ck_assert_msg(root, "not JSON: %s", reply.body);
	text = json_string_value(json_object_get(root, "error"));
	ck_assert_msg(text && strstr(text, msg), "\"%s\" lacks \"%s\"",
		      reply.body, msg);
	f = json_object_get(root, "field");
	if (field)
		ck_assert_str_eq(json_string_value(f) ?: "(none)", field);
	else
		ck_assert_msg(!f, "unexpected field in %s", reply.body);
	json_decref(root);
}

#define ck_route_fails(m, u, b, status, field, msg) do {		\
	ck_assert_int_eq(route(m, u, b), -1);				\
	check_error(status, field, msg);				\
} while (0)

#define RESIZE(b)	route("PUT", "/api/v1/vm.resize", b)
#define ck_resize_fails(b, field, msg) \
	ck_route_fails("PUT", "/api/v1/vm.resize", b, 400, field, msg)

static void route_teardown(void)
{
	api_reply_free(&reply);
}

START_TEST(test_route_actions)
{
	static const struct { const char *m, *u; enum api_op op; } ok[] = {
		{ "GET", "/api/v1/vmm.ping", API_PING },
		{ "GET", "/api/v1/vm.info", API_INFO },
		{ "GET", "/api/v1/vm.counters", API_COUNTERS },
		{ "PUT", "/api/v1/vm.boot", API_BOOT },
		{ "PUT", "/api/v1/vm.reboot", API_REBOOT },
		{ "PUT", "/api/v1/vm.shutdown", API_SHUTDOWN },
		{ "PUT", "/api/v1/vm.power-button", API_POWER_BUTTON },
		{ "PUT", "/api/v1/vmm.shutdown", API_VMM_SHUTDOWN },
	};
	unsigned int i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_int_eq(route(ok[i].m, ok[i].u, NULL), 0);
		ck_assert_int_eq(req.op, ok[i].op);
		ck_assert_int_eq(req.desired_vcpus, -1);
		ck_assert_int_eq(req.desired_ram, -1);
		ck_assert_ptr_null(reply.body);
		/* Lenient: any valid JSON, or blanks, is ignored. */
		ck_assert_int_eq(route(ok[i].m, ok[i].u, "{}"), 0);
		ck_assert_int_eq(route(ok[i].m, ok[i].u, " \n"), 0);
		ck_assert_int_eq(route(ok[i].m, ok[i].u, "{\"x\": 1}"), 0);
		ck_route_fails(ok[i].m, ok[i].u, "{oops", 400, NULL,
			       "invalid JSON");
	}
	/* A query string is not part of the path. */
	ck_assert_int_eq(route("GET", "/api/v1/vmm.ping?x=1", NULL), 0);
}
END_TEST

START_TEST(test_route_paths_methods)
{
	ck_route_fails("GET", "/api/v1/vm.nope", NULL, 404, NULL,
		       "unknown path /api/v1/vm.nope");
	ck_route_fails("GET", "/api/v1/vmm.ping/", NULL, 404, NULL, "unknown");
	ck_route_fails("GET", "/api/v1/vmm.pingx", NULL, 404, NULL, "unknown");
	ck_route_fails("GET", "/api/v1/vmm.ping/x", NULL, 404, NULL, "unknown");
	ck_route_fails("GET", "/api/v2/vmm.ping", NULL, 404, NULL, "unknown");
	ck_route_fails("GET", "api/v1/vmm.ping", NULL, 404, NULL, "unknown");
	ck_route_fails("GET", "", NULL, 404, NULL, "unknown");
	ck_route_fails("PUT", "/api/v1/vmm.ping", NULL, 405, NULL, "use GET");
	ck_route_fails("GET", "/api/v1/vm.resize", NULL, 405, NULL, "use PUT");
	ck_route_fails("POST", "/api/v1/vm.reboot", NULL, 405, NULL,
		       "method POST not allowed");
	ck_route_fails("get", "/api/v1/vmm.ping", NULL, 405, NULL, "use GET");
	ck_assert_str_eq(api_route_allow("/api/v1/vm.info"), "GET");
	ck_assert_str_eq(api_route_allow("/api/v1/vm.resize"), "PUT");
	ck_assert_ptr_null(api_route_allow("/api/v1/nope"));
}
END_TEST

START_TEST(test_route_resize_good)
{
	ck_assert_int_eq(RESIZE("{\"desired_vcpus\": 8}"), 0);
	ck_assert_int_eq(req.op, API_RESIZE);
	ck_assert_int_eq(req.desired_vcpus, 8);
	ck_assert_int_eq(req.desired_ram, -1);
	ck_assert_int_eq(RESIZE("{\"desired_ram\": 3221225472}"), 0);
	ck_assert_int_eq(req.desired_vcpus, -1);
	ck_assert_int_eq(req.desired_ram, 3221225472LL);
	ck_assert_int_eq(RESIZE(" {\"desired_vcpus\":1,\"desired_ram\":1} "),
			 0);
	ck_assert_int_eq(req.desired_vcpus, 1);
	ck_assert_int_eq(req.desired_ram, 1);
	ck_assert_int_eq(RESIZE("{\"desired_vcpus\": 65535}"), 0);
	ck_assert_int_eq(RESIZE("{\"desired_ram\": 9223372036854775807}"), 0);
	ck_assert_int_eq(req.desired_ram, INT64_MAX);
}
END_TEST

START_TEST(test_route_resize_bad)
{
	ck_resize_fails(NULL, NULL, "empty body: expected a JSON object");
	ck_resize_fails("  ", NULL, "empty body");
	ck_resize_fails("{\"desired_vcpus\": ", NULL, "invalid JSON");
	ck_resize_fails("desired_vcpus=4", NULL, "invalid JSON");
	ck_resize_fails("[]", NULL, "expected a JSON object");
	ck_resize_fails("[{\"desired_vcpus\": 2}]", NULL, "expected a JSON");
	ck_resize_fails("4", NULL, "invalid JSON");
	ck_resize_fails("true", NULL, "invalid JSON");
	ck_resize_fails("null", NULL, "invalid JSON");
	ck_resize_fails("{}", NULL, "nothing to resize");
	ck_resize_fails("{\"foo\": 1}", "foo", "unknown field \"foo\"");
	ck_resize_fails("{\"desired_vcpus\": 2, \"foo\": 1}", "foo",
			"unknown field");
	ck_resize_fails("{\"desired_balloon\": 1}", "desired_balloon",
			"desired_balloon: not supported by evmm");
	ck_resize_fails("{\"desired_vcpus\": \"4\"}", "desired_vcpus",
			"desired_vcpus: expected an integer");
	ck_resize_fails("{\"desired_vcpus\": 1e3}", "desired_vcpus",
			"expected an integer");
	ck_resize_fails("{\"desired_vcpus\": 4.0}", "desired_vcpus",
			"expected an integer");
	ck_resize_fails("{\"desired_vcpus\": true}", "desired_vcpus",
			"expected an integer");
	ck_resize_fails("{\"desired_vcpus\": null}", "desired_vcpus",
			"expected an integer");
	ck_resize_fails("{\"desired_vcpus\": [4]}", "desired_vcpus",
			"expected an integer");
	ck_resize_fails("{\"desired_ram\": \"1G\"}", "desired_ram",
			"desired_ram: expected an integer");
	ck_resize_fails("{\"desired_vcpus\": 0}", "desired_vcpus",
			"desired_vcpus: must be at least 1");
	ck_resize_fails("{\"desired_vcpus\": -2}", "desired_vcpus",
			"must be at least 1");
	ck_resize_fails("{\"desired_ram\": 0}", "desired_ram",
			"desired_ram: must be at least 1");
	ck_resize_fails("{\"desired_vcpus\": 65536}", "desired_vcpus",
			"desired_vcpus: must be at most 65535");
	ck_resize_fails("{\"desired_vcpus\": 99999999999999999999}", NULL,
			"too big integer");
	ck_resize_fails("{\"desired_ram\": -99999999999999999999}", NULL,
			"too big");
	ck_resize_fails("{\"desired_vcpus\": 2, \"desired_vcpus\": 3}", NULL,
			"duplicate object key");
}
END_TEST

START_TEST(test_route_body_limit)
{
	static char big[API_MAX_BODY + 2];
	size_t len = API_MAX_BODY - 40;

	/* A valid object just under the limit passes... */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"desired_vcpus\": 2}", 20);
	ck_assert_int_eq(api_route("PUT", "/api/v1/vm.resize", big, len, &req,
				   &reply), 0);
	ck_assert_int_eq(api_route("PUT", "/api/v1/vm.resize", big,
				   API_MAX_BODY, &req, &reply), 0);
	/* ...one byte more does not. */
	ck_assert_int_eq(api_route("PUT", "/api/v1/vm.resize", big,
				   API_MAX_BODY + 1, &req, &reply), -1);
	check_error(413, NULL, "body too large");
}
END_TEST

/* Found by fuzz_api_route: a message cut inside a character lost it all. */
START_TEST(test_route_cut_utf8)
{
	char url[160] = "/", body[128] = "{\"", key[80];

	memset(url + 1, 'a', 126);
	strcat(url, "\u00e9");		/* é across byte 128 */
	ck_assert_int_eq(route("GET", url, NULL), -1);
	check_error(404, NULL, "unknown path /aaa");
	memset(key, 'k', 63);
	strcpy(key + 63, "\u00e9");	/* é across byte 64 */
	strcat(strcat(body, key), "\":1}");
	ck_assert_int_eq(route("PUT", "/api/v1/vm.resize", body), -1);
	check_error(400, key, "unknown field \"kkk");
	ck_assert_int_eq(route("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
			       "/api/v1/vm.info", NULL), -1);
	check_error(405, NULL, "not allowed");
}
END_TEST

START_TEST(test_reply_error)
{
	struct api_reply r = { 0 };

	api_reply_error(&r, 429, "desired_vcpus", "busy %d", 3);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.body, "{\"error\":\"busy 3\","
			 "\"field\":\"desired_vcpus\"}");
	/* A second error replaces the first, without a leak. */
	api_reply_error(&r, 500, NULL, "quote \" and \\ escaped");
	ck_assert_str_eq(r.body, "{\"error\":\"quote \\\" and \\\\ escaped\"}");
	/* Not UTF-8 (a raw URL): still a JSON body. */
	api_reply_error(&r, 404, NULL, "unknown path %s", "/\xff");
	ck_assert_int_eq(r.status, 404);
	ck_assert_ptr_nonnull(r.body);
	api_reply_free(&r);
	ck_assert_ptr_null(r.body);
	api_reply_free(&r);
}
END_TEST

START_TEST(test_peer_allowed)
{
	ck_assert(api_peer_allowed(1000, 1000));
	ck_assert(api_peer_allowed(0, 1000));
	ck_assert(api_peer_allowed(0, 0));
	ck_assert(!api_peer_allowed(1001, 1000));
	ck_assert(!api_peer_allowed(1000, 0));
	ck_assert(!api_peer_allowed(65534, 1000));
}
END_TEST

/* --- a raw HTTP/1.1 client ------------------------------------------------ */

struct http_resp {
	int status;
	char head[2048];
	char body[8192];
};

static char dir[64], sock_path[128];

static int client_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	strcpy(a.sun_path, path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int client_send(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Reads one response; the server may reset the connection after it. */
static int client_read(int fd, struct http_resp *r)
{
	char buf[sizeof(r->head) + sizeof(r->body)], *end, *cl;
	size_t got = 0, hlen, blen = 0;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	for (;;) {
		buf[got] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			hlen = end + 4 - buf;
			cl = strcasestr(buf, "\r\nContent-Length:");
			blen = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			if (got >= hlen + blen)
				break;
		}
		if (got + 1 >= sizeof(buf))
			return -1;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			return -1;
		got += n;
	}
	if (hlen >= sizeof(r->head) || blen >= sizeof(r->body))
		return -1;
	memcpy(r->head, buf, hlen);
	memcpy(r->body, buf + hlen, blen);
	if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
		return -1;
	return r->status;
}

static int http_raw(const char *raw, size_t len, struct http_resp *r)
{
	int fd = client_connect(sock_path), ret = -1;

	if (fd < 0)
		return fd;
	if (!client_send(fd, raw, len))
		ret = client_read(fd, r);
	close(fd);
	return ret;
}

static int http(const char *method, const char *url, const char *body,
		struct http_resp *r)
{
	char raw[8192];
	int n;

	n = snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		     "Content-Length: %zu\r\n\r\n%s", method, url,
		     body ? strlen(body) : 0, body ?: "");
	return http_raw(raw, n, r);
}

/* --- a test VMM thread ---------------------------------------------------- */

static struct api_server *srv;
static pthread_t vmm_thread;
static bool vmm_running;
static atomic_bool vmm_quit;
static atomic_int handled, handler_sleep_ms;
static atomic_llong seen_vcpus, seen_ram;

static void test_handler(void *opaque, const struct api_request *rq,
			 struct api_reply *r)
{
	ck_assert_ptr_eq(opaque, &srv);
	if (handler_sleep_ms)
		usleep(handler_sleep_ms * 1000);
	handled++;
	switch (rq->op) {
	case API_PING:
		r->status = 200;
		r->body = strdup("{\"version\":\"test\"}");
		break;
	case API_RESIZE:
		seen_vcpus = rq->desired_vcpus;
		seen_ram = rq->desired_ram;
		r->status = 204;
		break;
	case API_INFO:
		api_reply_error(r, 500, NULL, "no info in tests");
		break;
	default:
		r->status = 204;
		break;
	}
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void *vmm_main(void *arg)
{
	(void)arg;
	while (!vmm_quit) {
		if (wait_readable(api_server_event_fd(srv), 20))
			api_server_dispatch(srv);
	}
	return NULL;
}

static void vmm_start(void)
{
	vmm_quit = false;
	ck_assert_int_eq(pthread_create(&vmm_thread, NULL, vmm_main, NULL), 0);
	vmm_running = true;
}

static void vmm_stop(void)
{
	if (!vmm_running)
		return;
	vmm_quit = true;
	pthread_join(vmm_thread, NULL);
	vmm_running = false;
}

static int start(api_thread_init_fn init, char *err, size_t errlen)
{
	return api_server_start(&srv, sock_path, init, test_handler, &srv, err,
				errlen);
}

static void server_up(void)
{
	char err[256] = "";

	ck_assert_msg(start(NULL, err, sizeof(err)) == 0, "%s", err);
	vmm_start();
}

static void server_setup(void)
{
	strcpy(dir, "/tmp/evmm-api-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	api_reply_timeout_ms = 10000;
	handled = handler_sleep_ms = 0;
	seen_vcpus = seen_ram = 0;
}

static void server_teardown(void)
{
	vmm_stop();
	api_server_stop(srv);
	srv = NULL;
	unlink(sock_path);
	rmdir(dir);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#define ck_header(r, h) ck_assert_msg(strcasestr((r)->head, h), \
				      "no \"%s\" in:\n%s", h, (r)->head)

/* --- the server ---------------------------------------------------------- */

START_TEST(test_server_ping)
{
	struct http_resp r;

	server_up();
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
	ck_assert_str_eq(r.body, "{\"version\":\"test\"}");
	ck_header(&r, "\r\nContent-Type: application/json\r\n");
	ck_header(&r, "\r\nServer: evmm\r\n");
	ck_assert_int_eq(handled, 1);
	/* The VMM's own errors pass through. */
	ck_assert_int_eq(http("GET", "/api/v1/vm.info", NULL, &r), 500);
	ck_assert_str_eq(r.body, "{\"error\":\"no info in tests\"}");
}
END_TEST

START_TEST(test_server_resize)
{
	struct http_resp r;

	server_up();
	ck_assert_int_eq(http("PUT", "/api/v1/vm.resize",
			      "{\"desired_vcpus\": 6}", &r), 204);
	ck_assert_int_eq(seen_vcpus, 6);
	ck_assert_int_eq(seen_ram, -1);
	ck_header(&r, "\r\nServer: evmm\r\n");
	ck_assert_ptr_null(strcasestr(r.head, "Content-Type"));
	/* Bad input never reaches the VMM thread. */
	ck_assert_int_eq(http("PUT", "/api/v1/vm.resize",
			      "{\"desired_vcpus\": \"6\"}", &r), 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"desired_vcpus\""));
	ck_header(&r, "\r\nContent-Type: application/json\r\n");
	ck_assert_int_eq(handled, 1);
}
END_TEST

/*
 * The API thread's 1 MiB stack holds jansson's deepest parse: a 4 KiB body
 * of nested arrays gets a 400, and the server goes on.
 */
START_TEST(test_server_deep_json)
{
	static char body[API_MAX_BODY + 1];
	const char *head = "{\"desired_vcpus\":";
	size_t n = (API_MAX_BODY - strlen(head) - 1) / 2, i, len;
	struct http_resp r;

	len = sprintf(body, "%s", head);
	for (i = 0; i < n; i++)
		body[len++] = '[';
	for (i = 0; i < n; i++)
		body[len++] = ']';
	body[len++] = '}';
	body[len] = 0;
	ck_assert_uint_le(len, API_MAX_BODY);
	server_up();
	ck_assert_int_eq(http("PUT", "/api/v1/vm.resize", body, &r), 400);
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
	ck_assert_int_eq(handled, 1);
}
END_TEST

START_TEST(test_server_keepalive)
{
	const char *ping = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_resp r;
	int fd, i;

	server_up();
	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(client_send(fd, ping, strlen(ping)), 0);
		ck_assert_int_eq(client_read(fd, &r), 200);
	}
	close(fd);
	ck_assert_int_eq(handled, 3);
}
END_TEST

START_TEST(test_server_errors)
{
	struct http_resp r;

	server_up();
	ck_assert_int_eq(http("GET", "/api/v1/nope", NULL, &r), 404);
	ck_assert_ptr_nonnull(strstr(r.body, "unknown path"));
	ck_header(&r, "\r\nContent-Type: application/json\r\n");
	ck_assert_int_eq(http("DELETE", "/api/v1/vmm.ping", NULL, &r), 405);
	ck_header(&r, "\r\nAllow: GET\r\n");
	ck_assert_int_eq(http("GET", "/api/v1/vm.shutdown", NULL, &r), 405);
	ck_header(&r, "\r\nAllow: PUT\r\n");
	ck_assert_int_eq(http("PUT", "/api/v1/vm.reboot", "{nope", &r), 400);
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping?verbose=1", NULL, &r),
			 200);
	ck_assert_int_eq(handled, 1);
}
END_TEST

/* 413 as soon as the declared length is too big, and for chunked bodies. */
START_TEST(test_server_too_large)
{
	static char raw[8192];
	struct http_resp r;
	int n;

	server_up();
	n = snprintf(raw, sizeof(raw), "PUT /api/v1/vm.resize HTTP/1.1\r\n"
		     "Host: x\r\nContent-Length: 5000\r\n\r\n");
	memset(raw + n, ' ', 5000);
	ck_assert_int_eq(http_raw(raw, n + 5000, &r), 413);
	ck_assert_ptr_nonnull(strstr(r.body, "body too large"));
	/* The headers alone are enough for the answer. */
	ck_assert_int_eq(http_raw(raw, n, &r), 413);
	n = snprintf(raw, sizeof(raw), "PUT /api/v1/vm.resize HTTP/1.1\r\n"
		     "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n");
	memset(raw + n, ' ', 5000);
	n += 5000;
	n += sprintf(raw + n, "\r\n0\r\n\r\n");
	ck_assert_int_eq(http_raw(raw, n, &r), 413);
	ck_assert_int_eq(handled, 0);
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
}
END_TEST

static void *client_ping(void *arg)
{
	struct http_resp r;

	(void)arg;
	return (void *)(long)http("GET", "/api/v1/vmm.ping", NULL, &r);
}

/* n clients at once, each with its own connection: all answered. */
static void ping_many(int n)
{
	pthread_t t[64];
	void *status;
	int i;

	ck_assert_int_le(n, 64);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, client_ping, NULL),
				 0);
	for (i = 0; i < n; i++) {
		pthread_join(t[i], &status);
		ck_assert_int_eq((long)status, 200);
	}
}

START_TEST(test_server_concurrent)
{
	server_up();
	ping_many(50);
	ck_assert_int_eq(handled, 50);
}
END_TEST

START_TEST(test_server_half_request)
{
	const char *half = "GET /api/v1/vmm.pi";
	struct http_resp r;
	int fd, idle;

	server_up();
	fd = client_connect(sock_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(client_send(fd, half, strlen(half)), 0);
	close(fd);
	/* One that stays half-sent blocks nobody either. */
	idle = client_connect(sock_path);
	ck_assert_int_ge(idle, 0);
	ck_assert_int_eq(client_send(idle, half, strlen(half)), 0);
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
	close(idle);
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
}
END_TEST

START_TEST(test_server_socket_file)
{
	struct stat st;
	char err[256] = "";
	int before = count_fds();

	server_up();
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* A second evmm on the same path is refused; the first goes on. */
	ck_assert_int_eq(api_server_start(&(struct api_server *){ NULL },
					  sock_path, NULL, test_handler, &srv,
					  err, sizeof(err)), -EADDRINUSE);
	ck_assert_msg(strstr(err, sock_path) &&
		      strstr(err, "in use by a running evmm"), "%s", err);
	ck_assert_int_eq((long)client_ping(NULL), 200);
	vmm_stop();
	api_server_stop(srv);
	srv = NULL;
	ck_assert_int_eq(lstat(sock_path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_server_stale_socket)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, sock_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	server_up();
	ck_assert_int_eq((long)client_ping(NULL), 200);
}
END_TEST

START_TEST(test_server_refuses_file)
{
	char err[256] = "", buf[16] = "";
	int fd;

	fd = open(sock_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	ck_assert_int_eq(start(NULL, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_null(srv);
	ck_assert_msg(strstr(err, "not a socket"), "%s", err);
	fd = open(sock_path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "keep");
	close(fd);
}
END_TEST

START_TEST(test_server_long_path)
{
	char err[256] = "", path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	ck_assert_int_eq(api_server_start(&srv, path, NULL, test_handler, &srv,
					  err, sizeof(err)), -ENAMETOOLONG);
	ck_assert_ptr_null(srv);
	ck_assert_msg(strstr(err, "at most") || strstr(err, "bytes long"),
		      "%s", err);
}
END_TEST

struct client_arg {
	const char *method, *url;
	struct http_resp r;
	int status;
};

static void *client_run(void *arg)
{
	struct client_arg *c = arg;

	c->status = http(c->method, c->url, NULL, &c->r);
	return NULL;
}

/* The reply to vmm.shutdown is handed back, then evmm stops at once. */
START_TEST(test_server_reply_before_stop)
{
	struct client_arg c = { .method = "PUT",
				.url = "/api/v1/vmm.shutdown" };
	char err[256] = "";
	pthread_t t;

	ck_assert_msg(start(NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(pthread_create(&t, NULL, client_run, &c), 0);
	ck_assert(wait_readable(api_server_event_fd(srv), 5000));
	api_server_dispatch(srv);
	api_server_stop(srv);
	srv = NULL;
	pthread_join(t, NULL);
	ck_assert_int_eq(c.status, 204);
	ck_assert_int_eq(handled, 1);
}
END_TEST

/* Still queued at stop: 503, and the VMM never sees it. */
START_TEST(test_server_queued_at_stop)
{
	struct client_arg c = { .method = "GET", .url = "/api/v1/vmm.ping" };
	char err[256] = "";
	pthread_t t;

	ck_assert_msg(start(NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(pthread_create(&t, NULL, client_run, &c), 0);
	ck_assert(wait_readable(api_server_event_fd(srv), 5000));
	api_server_stop(srv);
	srv = NULL;
	pthread_join(t, NULL);
	ck_assert_int_eq(c.status, 503);
	ck_assert_ptr_nonnull(strstr(c.r.body, "shutting down"));
	ck_assert_int_eq(handled, 0);
}
END_TEST

START_TEST(test_server_vmm_timeout)
{
	struct http_resp r;
	char err[256] = "";
	uint64_t t0;

	api_reply_timeout_ms = 300;
	ck_assert_msg(start(NULL, err, sizeof(err)) == 0, "%s", err);
	t0 = now_ms();
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 503);
	ck_assert_uint_ge(now_ms() - t0, 250);
	ck_assert_uint_lt(now_ms() - t0, 3000);
	ck_assert_ptr_nonnull(strstr(r.body, "the VMM did not answer"));
	/* A late dispatch drops the abandoned request. */
	api_server_dispatch(srv);
	ck_assert_int_eq(handled, 0);
	/* A handler slower than the timeout: its late reply is dropped. */
	handler_sleep_ms = 600;
	vmm_start();
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 503);
	handler_sleep_ms = 0;
	api_reply_timeout_ms = 10000;	/* the slow handler is still asleep */
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
	ck_assert_int_eq(handled, 2);
}
END_TEST

static int init_seccomp(void)
{
	return seccomp_apply(SECCOMP_API, 0);
}

static int init_fails(void)
{
	return -EPERM;
}

/* The API thread under its real filter: a missing syscall is SIGSYS. */
START_TEST(test_server_seccomp)
{
	struct http_resp r;
	char err[256] = "";

	ck_assert_int_eq(seccomp_init_reporting(), 0);
	ck_assert_msg(start(init_seccomp, err, sizeof(err)) == 0, "%s", err);
	vmm_start();
	ck_assert_int_eq(http("GET", "/api/v1/vmm.ping", NULL, &r), 200);
	ck_assert_int_eq(http("PUT", "/api/v1/vm.resize",
			      "{\"desired_vcpus\": 3}", &r), 204);
	ck_assert_int_eq(http("PUT", "/api/v1/vm.resize", "{", &r), 400);
	ck_assert_int_eq(http("GET", "/api/v1/x", NULL, &r), 404);
	ck_assert_int_eq((long)client_ping(NULL), 200);
	ping_many(20);
}
END_TEST

START_TEST(test_server_init_fails)
{
	struct http_resp r;
	char err[256] = "";
	uint64_t t0 = now_ms();

	ck_assert_msg(start(init_fails, err, sizeof(err)) == 0, "%s", err);
	vmm_start();
	/* Not served: refused, or reset once the thread closes the socket. */
	while (now_ms() - t0 < 3000 &&
	       http("GET", "/api/v1/vmm.ping", NULL, &r) >= 0)
		usleep(10000);
	ck_assert_int_lt(http("GET", "/api/v1/vmm.ping", NULL, &r), 0);
	ck_assert_int_eq(handled, 0);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("route");

	tcase_add_checked_fixture(tc, NULL, route_teardown);
	tcase_add_test(tc, test_route_actions);
	tcase_add_test(tc, test_route_paths_methods);
	tcase_add_test(tc, test_route_resize_good);
	tcase_add_test(tc, test_route_resize_bad);
	tcase_add_test(tc, test_route_body_limit);
	tcase_add_test(tc, test_route_cut_utf8);
	tcase_add_test(tc, test_reply_error);
	tcase_add_test(tc, test_peer_allowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, server_setup, server_teardown);
	tcase_add_test(tc, test_server_ping);
	tcase_add_test(tc, test_server_resize);
	tcase_add_test(tc, test_server_keepalive);
	tcase_add_test(tc, test_server_deep_json);
	tcase_add_test(tc, test_server_errors);
	tcase_add_test(tc, test_server_too_large);
	tcase_add_test(tc, test_server_concurrent);
	tcase_add_test(tc, test_server_half_request);
	tcase_add_test(tc, test_server_socket_file);
	tcase_add_test(tc, test_server_stale_socket);
	tcase_add_test(tc, test_server_refuses_file);
	tcase_add_test(tc, test_server_long_path);
	tcase_add_test(tc, test_server_reply_before_stop);
	tcase_add_test(tc, test_server_queued_at_stop);
	tcase_add_test(tc, test_server_vmm_timeout);
	tcase_add_test(tc, test_server_seccomp);
	tcase_add_test(tc, test_server_init_fails);
	suite_add_tcase(s, tc);
	return s;
}

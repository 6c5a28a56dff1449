/*
 * The real API server (libmicrohttpd on its Unix socket) fed the input as
 * raw bytes: one connection per input, the bytes written, the write side
 * shut, the answer read until the server closes (bounded). A thread plays
 * the VMM thread: it waits on api_server_event_fd() and runs
 * api_server_dispatch() with a fake handler. Every PING_EVERY inputs a
 * real vmm.ping must still get its 200: the server survived. Only
 * api/api.h's public interface is used.
 *
 * An unfinished request whose bytes and end of stream arrive together is
 * held until the server's idle timeout (libmicrohttpd 0.9.75's edge-
 * triggered epoll misses the end), so the wait for the end is short and
 * not an error; the ping's is, and slots held that way must not starve it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "tests/fuzz/fuzz.h"

#define PING_EVERY	64
#define EOF_MS		300	/* the wait for the end of an answer */
#define PING_MS		5000	/* a ping unanswered by then: the server hangs */

static struct api_server *server;
static char dir[] = "/tmp/evmm-fuzz-http-XXXXXX";
static struct sockaddr_un addr = { .sun_family = AF_UNIX };
static unsigned long inputs;

/* The VMM's part, by op: a body for reads, 204 for actions, some refusals. */
static void handler(void *opaque, const struct api_request *req,
		    struct api_reply *reply)
{
	(void)opaque;
	switch (req->op) {
	case API_PING:
		reply->status = 200;
		reply->body = strdup("{\"version\":\"fuzz\"}");
		break;
	case API_INFO:
		reply->status = 200;
		reply->body = strdup("{\"state\":\"Running\"}");
		break;
	case API_RESIZE:
		if (req->desired_vcpus > 8)
			api_reply_error(reply, 400, "desired_vcpus",
					"above max (8)");
		else if (req->desired_ram % 2)
			api_reply_error(reply, 429, NULL, "removal pending");
		else
			reply->status = 204;
		break;
	default:
		reply->status = 204;
		break;
	}
}

static void *vmm_thread(void *arg)
{
	struct pollfd p = { .fd = api_server_event_fd(server), .events = POLLIN };

	(void)arg;
	for (;;) {
		if (poll(&p, 1, 1000) > 0)
			api_server_dispatch(server);
	}
	return NULL;
}

/*
 * The API thread still runs: only the files go. Registered first, so that
 * it runs after any exit handler of the server's own (atexit is LIFO).
 */
static void cleanup(void)
{
	unlink(addr.sun_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t t;
	char err[256];

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/api.sock", dir);
	atexit(cleanup);
	if (api_server_start(&server, addr.sun_path, NULL, handler, NULL, err,
			     sizeof(err))) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	if (pthread_create(&t, NULL, vmm_thread, NULL))
		abort();
	pthread_detach(t);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Writes what the server takes; it may close early on bad input. */
static int conn_open(const uint8_t *data, size_t size)
{
	struct timeval tv = { .tv_sec = PING_MS / 1000 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	fuzz_assert(fd >= 0, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fuzz_assert(!connect(fd, (struct sockaddr *)&addr, sizeof(addr)),
		    "connect: %s", strerror(errno));
	while (size) {
		n = send(fd, data, size, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		data += n;
		size -= n;
	}
	shutdown(fd, SHUT_WR);
	return fd;
}

/*
 * Reads until the server closes or ms pass; the answer's start, NUL-
 * terminated, in buf. False if the server did not close in time.
 */
static bool conn_answer(int fd, char *buf, size_t len, unsigned int ms)
{
	uint64_t deadline = now_ms() + ms, now;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	char sink[4096];
	ssize_t n;

	buf[0] = '\0';
	while ((now = now_ms()) < deadline) {
		if (poll(&p, 1, deadline - now) <= 0)
			continue;
		if (got + 1 < len)
			n = read(fd, buf + got, len - got - 1);
		else
			n = read(fd, sink, sizeof(sink));
		if (n <= 0)
			return true;	/* EOF, or a reset of a refused one */
		if (got + 1 < len) {
			got += n;
			buf[got] = '\0';
		}
	}
	return false;
}

static void check_ping(void)
{
	static const char req[] = "GET /api/v1/vmm.ping HTTP/1.1\r\n"
				  "Host: localhost\r\nConnection: close\r\n\r\n";
	char buf[1024] = "";
	int fd = conn_open((const uint8_t *)req, sizeof(req) - 1);

	fuzz_assert(conn_answer(fd, buf, sizeof(buf), PING_MS),
		    "vmm.ping unanswered after %lu inputs", inputs);
	close(fd);
	fuzz_assert(!strncmp(buf, "HTTP/1.1 200", 12) &&
		    strstr(buf, "{\"version\":\"fuzz\"}"),
		    "vmm.ping after %lu inputs: %.80s", inputs, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[256];
	int fd = conn_open(data, size);

	conn_answer(fd, buf, sizeof(buf), EOF_MS);
	close(fd);
	/* Whatever the server says is HTTP. */
	fuzz_assert(!buf[0] || !strncmp(buf, "HTTP/1.", 7), "answer %.64s",
		    buf);
	if (++inputs % PING_EVERY == 0)
		check_ping();
	return 0;
}

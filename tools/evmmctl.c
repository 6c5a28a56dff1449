/*
 * evmmctl: the command-line client of evmm's HTTP API on its Unix socket.
 * One request per command; resize --wait then polls vm.info until it settles.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The exit codes, as usage() tells them. */
enum { EX_DONE, EX_REFUSED, EX_USAGE, EX_UNREACHABLE, EX_TIMEOUT };

#define REQ_TIMEOUT_MS	10000
#define POLL_NS		50000000L
#define WAIT_DEFAULT_S	60

enum { PRINT_NONE, PRINT_RAW, PRINT_PRETTY };

struct reply {
	long code;
	char *body;		/* NUL-terminated, possibly empty */
	size_t len;
};

static const char *sock_path;
static const char *cmd;		/* for messages */
static CURL *curl;

static void usage(FILE *f)
{
	fprintf(f,
"usage: evmmctl --api-socket PATH COMMAND [ARGS]\n"
"commands:\n"
"  ping                 GET vmm.ping, print its JSON\n"
"  info [--devices]     GET vm.info, print its JSON; --devices: one line per\n"
"                       disk and net (id, PCI address, image or tap, mode,\n"
"                       queues x size, MAC)\n"
"  resize [--cpus N] [--memory SIZE] [--wait[=SECONDS]]\n"
"                       PUT vm.resize; SIZE is bytes or N[K|M|G|T] (binary);\n"
"                       --wait (default %d s) polls vm.info until the guest\n"
"                       has taken the change\n"
"  boot | shutdown | reboot | power-button\n"
"                       PUT vm.boot, vm.shutdown, vm.reboot, vm.power-button\n"
"  shutdown-vmm         PUT vmm.shutdown\n"
"exit status: 0 success, 1 evmm refused the request (HTTP >= 400),\n"
"  2 usage error, 3 cannot reach evmm, 4 resize --wait timed out\n",
		WAIT_DEFAULT_S);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "evmmctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(evmmctl --help for usage)\n");
	exit(EX_USAGE);
}

static size_t reply_write(char *data, size_t size, size_t n, void *opaque)
{
	struct reply *r = opaque;
	char *p = realloc(r->body, r->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + r->len, data, size * n);
	r->len += size * n;
	p[r->len] = '\0';
	r->body = p;
	return size * n;
}

static void __attribute__((noreturn)) api_unreachable(CURLcode rc,
						      const char *errbuf)
{
	long err = 0;

	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &err);
	fprintf(stderr, "evmmctl: %s: cannot reach evmm at %s: %s%s\n", cmd,
		sock_path, rc == CURLE_COULDNT_CONNECT && err ? strerror(err) :
		*errbuf ? errbuf : curl_easy_strerror(rc),
		err == ENOENT ? " (is evmm running with --api-socket?)" : "");
	exit(EX_UNREACHABLE);
}

/* One request; exits if evmm cannot be reached. body may be NULL. */
static void api_call(const char *method, const char *path, const char *body,
		     long timeout_ms, struct reply *r)
{
	char url[128], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;

	*r = (struct reply){ 0 };
	snprintf(url, sizeof(url), "http://localhost/api/v1/%s", path);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock_path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	if (!strcmp(method, "PUT")) {
		/* A body, even empty, so that Content-Length is sent. */
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
		if (body)
			hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK)
		api_unreachable(rc, errbuf);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->code);
	if (!r->body)
		r->body = calloc(1, 1);
}

/* Exits 1 on a refusal; evmm's bodies are {"error": msg, "field": name}. */
static void reply_check(struct reply *r)
{
	json_t *j;
	const char *msg, *field;

	if (r->code < 400)
		return;
	j = json_loads(r->body, 0, NULL);
	msg = json_string_value(json_object_get(j, "error"));
	field = json_string_value(json_object_get(j, "field"));
	if (!msg)	/* not evmm's form: its first line, whatever it is */
		r->body[strcspn(r->body, "\r\n")] = '\0';
	fprintf(stderr, "evmmctl: %s: HTTP %ld: %s", cmd, r->code,
		msg ? msg : *r->body ? r->body : "(no message)");
	if (msg && field && !strstr(msg, field))
		fprintf(stderr, " (%s)", field);
	fputc('\n', stderr);
	exit(EX_REFUSED);
}

/* One request; prints the body raw or indented (pretty) when asked. */
static void cmd_request(const char *method, const char *path, int print)
{
	struct reply r;
	json_t *j = NULL;

	api_call(method, path, NULL, REQ_TIMEOUT_MS, &r);
	reply_check(&r);
	if (print == PRINT_PRETTY)
		j = json_loads(r.body, 0, NULL);
	if (j) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (print) {
		printf("%s%s", r.body,
		       r.len && r.body[r.len - 1] == '\n' ? "" : "\n");
	}
	free(r.body);
}

/*
 * Digits, then one K/M/G/T binary suffix (either case) if units, then the
 * end; false on anything else (a blank, a sign, a second letter) and on
 * overflow.
 */
static bool parse_num(const char *s, bool units, uint64_t *out)
{
	static const char suffixes[4] = "KMGT";
	const char *u;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (*end) {
		/* memchr, not strchr: strchr finds the terminator too. */
		u = units && !end[1] ? memchr(suffixes, toupper((unsigned char)*end),
					      sizeof(suffixes)) : NULL;
		if (!u)
			return false;
		shift = 10 * (int)(u - suffixes + 1);
	}
	if (*out > UINT64_MAX >> shift)
		return false;
	*out <<= shift;
	return true;
}

/* "--opt VALUE" or "--opt=VALUE"; NULL if argv[*i] is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt,
			     const char *form)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n])
		return NULL;
	if (++*i >= argc)
		usage_error("%s%s%s needs a value (%s %s)", cmd ? cmd : "",
			    cmd ? ": " : "", opt, opt, form);
	return argv[*i];
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_int_t hp_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Done: not pending and current == requested; a missing object is done. */
static bool hp_done(json_t *o)
{
	json_t *pending = json_object_get(o, "pending");

	if (!o)
		return true;
	return json_is_false(pending) &&
	       hp_int(o, "current") == hp_int(o, "requested");
}

/* A count as it is; bytes as 3G or 3072M when they are whole. */
static const char *hp_fmt(char *buf, size_t len, long long v, bool bytes)
{
	if (bytes && v > 0 && !(v % (1LL << 30)))
		snprintf(buf, len, "%lldG", v >> 30);
	else if (bytes && v > 0 && !(v % (1LL << 20)))
		snprintf(buf, len, "%lldM", v >> 20);
	else
		snprintf(buf, len, "%lld", v);
	return buf;
}

static void hp_print(FILE *f, const char *what, json_t *o)
{
	bool bytes = !strcmp(what + strspn(what, " "), "memory");
	char a[32], b[32], c[32];

	if (!o)
		return;
	fprintf(f, "%s: %s (boot %s, max %s", what,
		hp_fmt(a, sizeof(a), hp_int(o, "current"), bytes),
		hp_fmt(b, sizeof(b), hp_int(o, "boot"), bytes),
		hp_fmt(c, sizeof(c), hp_int(o, "max"), bytes));
	if (hp_done(o))
		fputs(")\n", f);
	else
		fprintf(f, "), requested %s%s\n",
			hp_fmt(a, sizeof(a), hp_int(o, "requested"), bytes),
			json_is_true(json_object_get(o, "pending")) ?
			", pending" : "");
}

/* Polls vm.info until both resources settle or the deadline passes. */
static int resize_wait(double seconds)
{
	double deadline = now() + seconds, left;
	struct timespec nap = { 0, POLL_NS };
	json_t *info = NULL, *hp;
	struct reply r;

	for (;;) {
		/* Past the deadline, one short last look (0 is no limit). */
		left = deadline - now() > 0 ? (deadline - now()) * 1000 : 0;
		api_call("GET", "vm.info", NULL, left < REQ_TIMEOUT_MS ?
			 (long)left + 100 : REQ_TIMEOUT_MS, &r);
		reply_check(&r);
		json_decref(info);
		info = json_loads(r.body, 0, NULL);
		free(r.body);
		hp = json_object_get(info, "hotplug");
		if (!json_is_object(json_object_get(hp, "cpus"))) {
			fprintf(stderr, "evmmctl: resize: vm.info has no "
				"hotplug.cpus object, cannot wait\n");
			json_decref(info);
			return EX_REFUSED;
		}
		if (hp_done(json_object_get(hp, "cpus")) &&
		    hp_done(json_object_get(hp, "memory")))
			break;
		if (now() >= deadline) {
			fprintf(stderr, "evmmctl: resize: still pending after "
				"%g s:\n", seconds);
			hp_print(stderr, "  cpus", json_object_get(hp, "cpus"));
			hp_print(stderr, "  memory", json_object_get(hp, "memory"));
			json_decref(info);
			return EX_TIMEOUT;
		}
		nanosleep(&nap, NULL);
	}
	hp_print(stdout, "cpus", json_object_get(hp, "cpus"));
	hp_print(stdout, "memory", json_object_get(hp, "memory"));
	json_decref(info);
	return EX_DONE;
}

static int cmd_resize(int argc, char **argv)
{
	json_t *req = json_object();
	double wait = -1;
	const char *v;
	struct reply r;
	uint64_t n;
	char *body, *end;
	int i;

	for (i = 0; i < argc; i++) {
		if ((v = opt_value(argc, argv, &i, "--cpus", "N"))) {
			if (!parse_num(v, false, &n) || !n || n > UINT32_MAX)
				usage_error("resize: --cpus wants a whole number "
					    ">= 1 (--cpus N), got '%s'", v);
			json_object_set_new(req, "desired_vcpus", json_integer(n));
		} else if ((v = opt_value(argc, argv, &i, "--memory", "SIZE"))) {
			if (!parse_num(v, true, &n) || !n || n > INT64_MAX)
				usage_error("resize: --memory wants bytes or "
					    "N[K|M|G|T] (--memory 3G), got '%s'", v);
			json_object_set_new(req, "desired_ram", json_integer(n));
		} else if (!strcmp(argv[i], "--wait")) {
			wait = WAIT_DEFAULT_S;
		} else if (!strncmp(argv[i], "--wait=", 7)) {
			wait = strtod(argv[i] + 7, &end);
			if (end == argv[i] + 7 || *end || !(wait > 0))
				usage_error("resize: --wait wants seconds > 0 "
					    "(--wait=SECONDS), got '%s'", argv[i] + 7);
		} else {
			usage_error("resize: unknown argument '%s' (resize "
				    "[--cpus N] [--memory SIZE] [--wait[=SECONDS]])",
				    argv[i]);
		}
	}
	if (!json_object_size(req))
		usage_error("resize: give --cpus N and/or --memory SIZE");
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	api_call("PUT", "vm.resize", body, REQ_TIMEOUT_MS, &r);
	free(body);
	reply_check(&r);
	free(r.body);
	return wait > 0 ? resize_wait(wait) : EX_DONE;
}

/* A string from evmm, control characters and all, as a harmless '?'. */
static void put_text(const char *s)
{
	for (s = s ? s : "?"; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *dev_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "ID (BDF): " and what follows it on every device's line. */
static void dev_head(const char *kind, json_t *o)
{
	printf("%s ", kind);
	put_text(dev_str(o, "id"));
	fputs(" (", stdout);
	put_text(dev_str(o, "bdf"));
	fputs("): ", stdout);
}

static void dev_queues(json_t *o)
{
	json_int_t n = hp_int(o, "num_queues");

	printf(", %lld queue%s x %lld", (long long)n, n == 1 ? "" : "s",
	       (long long)hp_int(o, "queue_size"));
}

/* disk ID (BDF): PATH, read-only|read-write[, direct], N queues x S[, serial] */
static void dev_print_disk(json_t *d)
{
	dev_head("disk", d);
	put_text(dev_str(d, "path"));
	fputs(json_is_true(json_object_get(d, "readonly")) ? ", read-only" :
	      ", read-write", stdout);
	if (json_is_true(json_object_get(d, "direct")))
		fputs(", direct", stdout);
	dev_queues(d);
	if (dev_str(d, "serial")) {
		fputs(", serial ", stdout);
		put_text(dev_str(d, "serial"));
	}
	putchar('\n');
}

/* net ID (BDF): tap NAME, mac MAC, N queues x S[, host IP/MASK] */
static void dev_print_net(json_t *n)
{
	dev_head("net", n);
	fputs("tap ", stdout);
	put_text(dev_str(n, "tap"));
	fputs(", mac ", stdout);
	put_text(dev_str(n, "mac"));
	dev_queues(n);
	if (dev_str(n, "ip")) {
		fputs(", host ", stdout);
		put_text(dev_str(n, "ip"));
		putchar('/');
		put_text(dev_str(n, "mask"));
	}
	putchar('\n');
}

static int info_devices(void)
{
	json_t *info, *config, *disks, *nets;
	struct reply r;
	size_t i;

	api_call("GET", "vm.info", NULL, REQ_TIMEOUT_MS, &r);
	reply_check(&r);
	info = json_loads(r.body, 0, NULL);
	free(r.body);
	config = json_object_get(info, "config");
	if (!json_is_object(config)) {
		fprintf(stderr, "evmmctl: info: vm.info has no config "
			"object\n");
		json_decref(info);
		return EX_REFUSED;
	}
	disks = json_object_get(config, "disks");
	nets = json_object_get(config, "net");
	for (i = 0; i < json_array_size(disks); i++)
		dev_print_disk(json_array_get(disks, i));
	for (i = 0; i < json_array_size(nets); i++)
		dev_print_net(json_array_get(nets, i));
	if (!json_array_size(disks) && !json_array_size(nets))
		puts("no devices");
	json_decref(info);
	return EX_DONE;
}

static int cmd_info(int argc, char **argv)
{
	bool devices = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--devices"))
			usage_error("info: unknown argument '%s' (info "
				    "[--devices])", argv[i]);
		devices = true;
	}
	if (devices)
		return info_devices();
	cmd_request("GET", "vm.info", PRINT_PRETTY);
	return EX_DONE;
}

static const struct {
	const char *name, *method, *path;
	int print;
} cmds[] = {
	{ "ping", "GET", "vmm.ping", PRINT_RAW },
	{ "boot", "PUT", "vm.boot", PRINT_NONE },
	{ "shutdown", "PUT", "vm.shutdown", PRINT_NONE },
	{ "reboot", "PUT", "vm.reboot", PRINT_NONE },
	{ "power-button", "PUT", "vm.power-button", PRINT_NONE },
	{ "shutdown-vmm", "PUT", "vmm.shutdown", PRINT_NONE },
};

static int run(int argc, char **argv)
{
	size_t i;

	if (!strcmp(cmd, "resize"))
		return cmd_resize(argc, argv);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name))
			continue;
		if (argc)
			usage_error("%s: takes no arguments, got '%s'", cmd,
				    argv[0]);
		cmd_request(cmds[i].method, cmds[i].path, cmds[i].print);
		return EX_DONE;
	}
	usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EX_DONE;
		}
		if (!(sock_path = opt_value(argc, argv, &i, "--api-socket", "PATH")))
			usage_error("unknown option '%s' (evmmctl --api-socket "
				    "PATH COMMAND [ARGS])", argv[i]);
	}
	if (!sock_path || !*sock_path)
		usage_error("--api-socket PATH is required "
			    "(evmmctl --api-socket PATH COMMAND [ARGS])");
	if (i >= argc)
		usage_error("no command (ping, info, resize, boot, shutdown, "
			    "reboot, power-button, shutdown-vmm)");
	cmd = argv[i];
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(curl = curl_easy_init())) {
		fprintf(stderr, "evmmctl: cannot initialise libcurl\n");
		return EX_UNREACHABLE;
	}
	rc = run(argc - i - 1, argv + i + 1);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return rc;
}

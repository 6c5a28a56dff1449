/*
 * Routing and validation of API requests: no I/O, so every bad input is
 * unit-tested. Paths and field names are Cloud Hypervisor's; a request that
 * leaves here is well-formed, and only range checks against the VM remain.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"
#include "vmm/util.h"

struct api_route_entry {
	const char *path;
	const char *method;
	enum api_op op;
};

static const struct api_route_entry api_routes[] = {
	{ "/api/v1/vmm.ping", "GET", API_PING },
	{ "/api/v1/vm.info", "GET", API_INFO },
	{ "/api/v1/vm.counters", "GET", API_COUNTERS },
	{ "/api/v1/vm.resize", "PUT", API_RESIZE },
	{ "/api/v1/vm.boot", "PUT", API_BOOT },
	{ "/api/v1/vm.reboot", "PUT", API_REBOOT },
	{ "/api/v1/vm.shutdown", "PUT", API_SHUTDOWN },
	{ "/api/v1/vm.power-button", "PUT", API_POWER_BUTTON },
	{ "/api/v1/vmm.shutdown", "PUT", API_VMM_SHUTDOWN },
};

#define API_RESIZE_HINT \
	"expected a JSON object with desired_vcpus or desired_ram"

void api_reply_error(struct api_reply *r, int status, const char *field,
		     const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply_free(r);
	r->status = status;
	o = json_pack("{s:s, s:s*}", "error", msg, "field", field);
	if (!o)	/* the message was not valid UTF-8, e.g. a raw URL */
		o = json_pack("{s:s}", "error", "invalid request");
	r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
}

void api_reply_free(struct api_reply *r)
{
	free(r->body);
	r->body = NULL;
}

/*
 * For "%.*s": at most max bytes of s, not cutting a UTF-8 character in two
 * (a cut one makes the message invalid JSON, and the error generic).
 */
static int api_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	for (n = max; n && ((unsigned char)s[n] & 0xC0) == 0x80; n--)
		;
	return n;
}

/* Exact paths; a query string is not part of the path. */
static const struct api_route_entry *api_route_find(const char *url)
{
	size_t n = strcspn(url, "?");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(api_routes); i++) {
		if (strlen(api_routes[i].path) == n &&
		    !strncmp(api_routes[i].path, url, n))
			return &api_routes[i];
	}
	return NULL;
}

const char *api_route_allow(const char *url)
{
	const struct api_route_entry *e = api_route_find(url);

	return e ? e->method : NULL;
}

static bool api_body_blank(const char *body, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!isspace((unsigned char)body[i]))
			return false;
	}
	return true;
}

static void api_reply_json_error(struct api_reply *r, const json_error_t *e)
{
	api_reply_error(r, 400, NULL, "invalid JSON: %s (line %d, column %d)",
			e->text, e->line, e->column);
}

/* Actions take no body; a valid JSON one (e.g. "{}") is tolerated. */
static int api_check_no_body(const char *body, size_t len,
			     struct api_reply *r)
{
	json_error_t jerr;
	json_t *root;

	if (api_body_blank(body, len))
		return 0;
	root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		api_reply_json_error(r, &jerr);
		return -1;
	}
	json_decref(root);
	return 0;
}

static int api_resize_field(const char *key, json_t *val,
			    struct api_request *req, struct api_reply *r)
{
	json_int_t v, max = INT64_MAX;
	int64_t *dst;

	if (!strcmp(key, "desired_vcpus")) {
		dst = &req->desired_vcpus;
		max = API_MAX_VCPUS;
	} else if (!strcmp(key, "desired_ram")) {
		dst = &req->desired_ram;
	} else if (!strcmp(key, "desired_balloon")) {
		api_reply_error(r, 400, key, "%s: not supported by evmm", key);
		return -1;
	} else {
		api_reply_error(r, 400, key, "unknown field \"%.*s\" (%s)",
				api_utf8_cut(key, 64), key, API_RESIZE_HINT);
		return -1;
	}
	if (!json_is_integer(val)) {
		api_reply_error(r, 400, key, "%s: expected an integer", key);
		return -1;
	}
	v = json_integer_value(val);
	if (v < 1) {
		api_reply_error(r, 400, key, "%s: must be at least 1", key);
		return -1;
	}
	if (v > max) {
		api_reply_error(r, 400, key, "%s: must be at most %lld", key,
				(long long)max);
		return -1;
	}
	*dst = v;
	return 0;
}

static int api_parse_resize(const char *body, size_t len,
			    struct api_request *req, struct api_reply *r)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *val;
	int ret = -1;

	if (api_body_blank(body, len)) {
		api_reply_error(r, 400, NULL, "empty body: %s",
				API_RESIZE_HINT);
		return -1;
	}
	/* Without JSON_DECODE_ANY, only an object or an array parses. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		api_reply_json_error(r, &jerr);
		return -1;
	}
	if (!json_is_object(root)) {
		api_reply_error(r, 400, NULL, "%s", API_RESIZE_HINT);
		goto out;
	}
	json_object_foreach(root, key, val) {
		if (api_resize_field(key, val, req, r))
			goto out;
	}
	if (req->desired_vcpus < 0 && req->desired_ram < 0) {
		api_reply_error(r, 400, NULL, "nothing to resize: %s",
				API_RESIZE_HINT);
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int api_route(const char *method, const char *url, const char *body,
	      size_t len, struct api_request *req, struct api_reply *reply)
{
	const struct api_route_entry *e = api_route_find(url);

	*reply = (struct api_reply){ 0 };
	*req = (struct api_request){ .desired_vcpus = -1, .desired_ram = -1 };
	if (!e) {
		api_reply_error(reply, 404, NULL, "unknown path %.*s",
				api_utf8_cut(url, 128), url);
		return -1;
	}
	if (strcmp(method, e->method)) {
		api_reply_error(reply, 405, NULL, "%s: method %.*s not "
				"allowed, use %s", e->path,
				api_utf8_cut(method, 16), method, e->method);
		return -1;
	}
	if (len > API_MAX_BODY) {
		api_reply_error(reply, 413, NULL, "body too large: at most %d "
				"bytes", API_MAX_BODY);
		return -1;
	}
	req->op = e->op;
	if (e->op == API_RESIZE)
		return api_parse_resize(body, len, req, reply);
	return api_check_no_body(body, len, reply);
}

bool api_peer_allowed(uid_t peer, uid_t self)
{
	return peer == self || peer == 0;
}

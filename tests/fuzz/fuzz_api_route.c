/*
 * api_route(): routing and JSON validation. Input: method NUL url NUL body
 * (the body is not NUL-terminated, as libmicrohttpd's is not). A refusal
 * is a 4xx with {"error": "...", "field": "..."}; an acceptance is a known
 * op for that method and path, with fields in range.
 */
#include <jansson.h>

#include "api/api.h"
#include "api/internal.h"
#include "tests/fuzz/fuzz.h"

static bool utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/*
 * The body names what is wrong; only raw bytes that are not UTF-8 in the
 * request line may turn it into the generic "invalid request".
 */
static void check_error(const char *method, const char *url,
			const struct api_reply *r)
{
	json_error_t jerr;
	json_t *o, *e, *f;

	fuzz_assert(r->status >= 400 && r->status < 500, "status %d",
		    r->status);
	fuzz_assert(r->body, "status %d without a body", r->status);
	o = json_loads(r->body, 0, &jerr);
	fuzz_assert(json_is_object(o), "body %s: %s", r->body, jerr.text);
	e = json_object_get(o, "error");
	fuzz_assert(json_is_string(e) && json_string_length(e), "body %s",
		    r->body);
	f = json_object_get(o, "field");
	fuzz_assert(!f || json_is_string(f), "body %s", r->body);
	fuzz_assert(json_object_size(o) == 1u + !!f, "body %s", r->body);
	fuzz_assert(strcmp(json_string_value(e), "invalid request") ||
		    !utf8(method) || !utf8(url), "message lost: %s", r->body);
	json_decref(o);
}

static void check_request(const char *method, const char *url,
			  const struct api_request *req,
			  const struct api_reply *r)
{
	const char *allow = api_route_allow(url);

	fuzz_assert(!r->body && !r->status, "accepted with a reply");
	fuzz_assert(allow && !strcmp(allow, method), "%s %s accepted",
		    method, url);
	fuzz_assert(req->op <= API_VMM_SHUTDOWN, "op %d", req->op);
	fuzz_assert(!strncmp(url, "/api/v1/", 8), "url %s", url);
	if (req->op != API_RESIZE) {
		fuzz_assert(req->desired_vcpus == -1 &&
			    req->desired_ram == -1, "fields on op %d", req->op);
		return;
	}
	fuzz_assert(req->desired_vcpus == -1 ||
		    (req->desired_vcpus >= 1 &&
		     req->desired_vcpus <= API_MAX_VCPUS),
		    "desired_vcpus %lld", (long long)req->desired_vcpus);
	fuzz_assert(req->desired_ram == -1 || req->desired_ram >= 1,
		    "desired_ram %lld", (long long)req->desired_ram);
	fuzz_assert(req->desired_vcpus > 0 || req->desired_ram > 0,
		    "a resize of nothing");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct api_request req;
	struct api_reply reply;
	char *method = fuzz_take_str(&in);
	char *url = fuzz_take_str(&in);
	/* Exactly the body's bytes: a read past them is an ASan report. */
	char *body = malloc(in.left ? in.left : 1);
	int ret;

	if (!body)
		abort();
	memcpy(body, in.p, in.left);
	ret = api_route(method, url, body, in.left, &req, &reply);
	fuzz_assert(ret == 0 || ret == -1, "returned %d", ret);
	if (ret)
		check_error(method, url, &reply);
	else
		check_request(method, url, &req, &reply);
	api_reply_free(&reply);
	free(body);
	free(url);
	free(method);
	return 0;
}

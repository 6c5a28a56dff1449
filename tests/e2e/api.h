/*
 * Talking to a running evmm's API from e2e tests: curl (as a user would)
 * and evmmctl, each a child process with a bounded run time.
 */
#ifndef EVMM_TESTS_E2E_API_H
#define EVMM_TESTS_E2E_API_H

#include <jansson.h>
#include <stdbool.h>

struct guest;

#define T_API		1.0	/* one request, before scaling */

/*
 * Runs argv (argv[0] is looked up in PATH unless it has a '/'), stdout and
 * stderr into *out (malloc'd, NUL-terminated). Returns the wait status;
 * fails the test if it runs longer than timeout_s (scaled).
 */
int run_capture(const char *const *argv, double timeout_s, char **out);
/*
 * curl -X method http://localhost/api/v1/<path> on the socket, with body
 * as JSON when not NULL. Returns the HTTP status (0: no answer); the
 * response body goes to *resp (malloc'd) when resp is not NULL.
 */
int api_call(const char *sock, const char *method, const char *path,
	     const char *body, char **resp);
/* GET vm.info as JSON; fails the test, with g's console, unless 200. */
json_t *api_info(struct guest *g, const char *sock);
/* vm.info's hotplug.<part>.<key> (booleans as 0 or 1); fails if absent. */
long long api_info_hotplug(struct guest *g, json_t *info, const char *part,
			   const char *key);
/* build/evmmctl (or EVMM_CTL). */
const char *api_evmmctl(void);

#endif

/*
 * The VMM thread's side of the API: turns a validated request into an
 * action on the machine and the answer into a reply (vm.info's JSON).
 */
#ifndef EVMM_CONTROL_H
#define EVMM_CONTROL_H

#include <stdbool.h>

#include "api/api.h"

struct machine;

struct control {
	struct machine *m;
	bool quit;		/* vmm.shutdown: the event loop ends */
};

/* The api_handler_fn: opaque is a struct control. */
void control_handle(void *opaque, const struct api_request *req,
		    struct api_reply *reply);

#endif

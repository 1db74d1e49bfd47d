#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "util.h"

/* Seconds a client should wait after an upstream hiccup. */
#define BACKEND_RETRY_AFTER	5

static const struct backend *const backends[] = {
	&backend_placeholder,
	&backend_fal,
};

const struct backend *
backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

void
gen_result_fail(struct gen_result *res, const char *kind, const char *msg)
{
	res->ok = 0;
	strlcpy_chk(res->error_kind, kind, sizeof(res->error_kind));
	strlcpy_chk(res->error_message, msg, sizeof(res->error_message));
}

unsigned
backend_retry_after(const char *kind)
{
	static const char *const passing[] = {
		"rate_limited", "upstream_down", "timeout"
	};

	for (size_t i = 0; i < sizeof(passing) / sizeof(passing[0]); i++)
		if (strcmp(kind, passing[i]) == 0)
			return BACKEND_RETRY_AFTER;
	return 0;
}

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "util.h"

static const struct backend *const backends[] = {
	&backend_placeholder,
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

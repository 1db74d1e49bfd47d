/*
 * result.c: the names and properties of generation statuses and error
 * kinds, each in one table (see result.h).
 */
#include <string.h>

#include "result.h"
#include "util.h"

/* Seconds a client should wait after a failure that may pass soon. */
#define RETRY_AFTER_S	5

/* What can be done about a kind of failure. */
#define RETRY_NOW	0x1	/* the backend may try again at once */
#define PASSING		0x2	/* may pass soon: 503 with Retry-After */
#define PERMANENT	0x4	/* no later attempt can help */

static const char *const status_names[GS__MAX] = {
	[GS_PENDING] = "pending",
	[GS_GENERATING] = "generating",
	[GS_COMPLETED] = "completed",
	[GS_FAILED] = "failed",
};

static const struct {
	const char	*name;
	unsigned	 flags;
} kinds[GE__MAX] = {
	[GE_NONE] =		{ "", 0 },
	[GE_TIMEOUT] =		{ "timeout", RETRY_NOW | PASSING },
	[GE_UPSTREAM_DOWN] =	{ "upstream_down", RETRY_NOW | PASSING },
	[GE_UPSTREAM_ERROR] =	{ "upstream_error", RETRY_NOW },
	[GE_RATE_LIMITED] =	{ "rate_limited", RETRY_NOW | PASSING },
	/* Not again at once: the call may have been taken, and paid. */
	[GE_ANSWER_LOST] =	{ "answer_lost", PASSING },
	[GE_AUTH] =		{ "auth", 0 },
	[GE_REJECTED] =		{ "rejected", PERMANENT },
	[GE_NSFW] =		{ "nsfw", PERMANENT },
	[GE_BAD_RESPONSE] =	{ "bad_response", 0 },
	[GE_BAD_STATUS] =	{ "bad_status", 0 },
	[GE_BAD_URL] =		{ "bad_url", 0 },
	[GE_BAD_IMAGE] =	{ "bad_image", 0 },
	[GE_TLS] =		{ "tls", 0 },
	[GE_DOWNLOAD] =		{ "download", 0 },
	[GE_STORE] =		{ "store", 0 },
	[GE_BUDGET] =		{ "budget", PASSING },
	[GE_INTERNAL] =		{ "internal", 0 },
	[GE_REMOVED] =		{ "removed", 0 },
	[GE_UNKNOWN] =		{ "error", 0 },
};

const char *
gen_status_name(enum gen_status s)
{
	return (unsigned)s < GS__MAX ? status_names[s] : "failed";
}

enum gen_status
gen_status_parse(const char *s)
{
	for (int i = 0; i < GS__MAX; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum gen_status)i;
	return GS_FAILED;
}

const char *
gen_err_name(enum gen_err e)
{
	return kinds[(unsigned)e < GE__MAX ? e : GE_UNKNOWN].name;
}

enum gen_err
gen_err_parse(const char *s)
{
	for (int i = 0; i < GE__MAX; i++)
		if (strcmp(s, kinds[i].name) == 0)
			return (enum gen_err)i;
	return GE_UNKNOWN;
}

static unsigned
flags_of(enum gen_err e)
{
	return (unsigned)e < GE__MAX ? kinds[e].flags : 0;
}

int
gen_err_retryable(enum gen_err e)
{
	return (flags_of(e) & RETRY_NOW) != 0;
}

unsigned
gen_err_retry_after(enum gen_err e)
{
	return (flags_of(e) & PASSING) ? RETRY_AFTER_S : 0;
}

int
gen_err_permanent(enum gen_err e)
{
	return (flags_of(e) & PERMANENT) != 0;
}

void
gen_result_fail(struct gen_result *res, enum gen_err err, const char *msg)
{
	res->ok = 0;
	res->err = err;
	strlcpy_chk(res->error_message, msg, sizeof(res->error_message));
}

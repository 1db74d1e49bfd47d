/*
 * outcome.c: the words of the request outcomes, in the one table that
 * the log line and the metrics share.
 */
#include "outcome.h"

const char *const outcome_names[OUT__MAX] = {
	[OUT_OTHER] = "other",
	[OUT_HIT] = "hit",
	[OUT_GENERATED] = "generated",
	[OUT_WAITED] = "waited",
	[OUT_FAILED] = "failed",
	[OUT_TIMEOUT] = "timeout",
	[OUT_DBERR] = "db_error",
	[OUT_BAD_REQUEST] = "bad_request",
	[OUT_NOT_FOUND] = "not_found",
	[OUT_BAD_METHOD] = "bad_method",
	[OUT_STATS] = "stats",
	[OUT_METRICS] = "metrics",
	[OUT_UNAUTHORIZED] = "unauthorized",
	[OUT_FORBIDDEN] = "forbidden",
	[OUT_ERROR] = "error",
	[OUT_LIMITED] = "rate_limited",
	[OUT_BUDGET] = "budget",
	[OUT_SIMILAR] = "similar",
	[OUT_PAGE] = "page",
};

const char *
outcome_name(enum outcome o)
{
	return outcome_names[(unsigned)o < OUT__MAX ? o : OUT_OTHER];
}

#include <string.h>

#include "outcome.h"
#include "result.h"
#include "t.h"

/* Every name reads back as its value; unknown names have a home. */
void
test_result(void)
{
	struct gen_result	 res;

	for (int i = 0; i < GS__MAX; i++)
		T_CHECK(gen_status_parse(gen_status_name((enum gen_status)i)) ==
		    (enum gen_status)i, "status %d round trip", i);
	T_CHECK(gen_status_parse("queued?") == GS_FAILED, "unknown status");
	T_CHECK(strcmp(gen_status_name(GS_COMPLETED), "completed") == 0,
	    "completed");
	for (int i = 0; i < GE__MAX; i++)
		T_CHECK(gen_err_parse(gen_err_name((enum gen_err)i)) ==
		    (enum gen_err)i, "kind %d round trip", i);
	T_CHECK(gen_err_parse("") == GE_NONE, "no kind");
	T_CHECK(gen_err_parse("made_up") == GE_UNKNOWN, "unknown kind");
	T_CHECK(strcmp(gen_err_name(GE_UNKNOWN), "error") == 0, "unknown name");
	T_CHECK(strcmp(gen_err_name((enum gen_err)GE__MAX), "error") == 0,
	    "out of range");
	T_CHECK(gen_err_retry_after(GE_TIMEOUT) > 0 &&
	    gen_err_retry_after(GE_UPSTREAM_DOWN) > 0 &&
	    gen_err_retry_after(GE_RATE_LIMITED) > 0, "passing kinds: 503");
	T_CHECK(gen_err_retry_after(GE_UPSTREAM_ERROR) == 0 &&
	    gen_err_retry_after(GE_STORE) == 0 &&
	    gen_err_retry_after(GE_REJECTED) == 0, "other kinds: 502");
	T_CHECK(gen_err_permanent(GE_REJECTED) && gen_err_permanent(GE_NSFW) &&
	    !gen_err_permanent(GE_TIMEOUT) && !gen_err_permanent(GE_STORE),
	    "permanent kinds");
	memset(&res, 0, sizeof(res));
	res.ok = 1;
	gen_result_fail(&res, GE_STORE, "disk full");
	T_CHECK(!res.ok && res.err == GE_STORE &&
	    strcmp(res.error_message, "disk full") == 0, "gen_result_fail");
	for (int i = 0; i < OUT__MAX; i++)
		T_CHECK(outcome_name((enum outcome)i) != NULL &&
		    outcome_names[i][0] != '\0', "outcome %d named", i);
	T_CHECK(strcmp(outcome_name(OUT_LIMITED), "rate_limited") == 0 &&
	    strcmp(outcome_name(OUT_DBERR), "db_error") == 0 &&
	    strcmp(outcome_name((enum outcome)-1), "other") == 0,
	    "outcome words");
}

/*
 * outcome.h: what a request ended as. One word per outcome, used by the
 * request log line and by promptpix_requests_total{outcome}.
 */
#ifndef PP_OUTCOME_H
#define PP_OUTCOME_H

enum outcome {
	OUT_OTHER,		/* none of the below (the zero value) */
	OUT_HIT,		/* completed before we came */
	OUT_GENERATED,		/* we generated it */
	OUT_WAITED,		/* we waited for another generator */
	OUT_FAILED,		/* the generation failed */
	OUT_TIMEOUT,		/* max_wait passed first */
	OUT_DBERR,		/* the database is unavailable */
	OUT_BAD_REQUEST,	/* the image URL is not valid */
	OUT_NOT_FOUND,		/* no such page */
	OUT_BAD_METHOD,		/* not GET or HEAD */
	OUT_STATS,		/* the stats endpoint answered */
	OUT_METRICS,		/* /metrics answered */
	OUT_UNAUTHORIZED,	/* a token is needed */
	OUT_FORBIDDEN,		/* the token is wrong */
	OUT_ERROR,		/* a server-side error */
	OUT_LIMITED,		/* the client may not start new images now */
	OUT_BUDGET,		/* the daily budget or the key's quota is spent */
	OUT_SIMILAR,		/* answered with a similar prompt's image */
	OUT_PAGE,		/* an HTML page or the history answered */
	OUT__MAX
};

/* The outcomes' words ("hit", "waited", ...), indexed by outcome. */
extern const char *const outcome_names[OUT__MAX];

/* The outcome's word; "other" for a value out of range. */
const char	*outcome_name(enum outcome);

#endif

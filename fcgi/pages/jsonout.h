/*
 * jsonout.h: JSON answers (json-c) for the stats and history endpoints:
 * the value builders they share and the one way an answer is sent.
 */
#ifndef PP_JSONOUT_H
#define PP_JSONOUT_H

#include <stdint.h>

#include <json.h>

struct rq;

/* An unsigned number. Never NULL (aborts when out of memory). */
json_object	*json_u64(uint64_t);
/* A DECIMAL's text as a JSON number, printed exactly as SQL gave it. */
json_object	*json_decimal(const char *text);
/* Milliseconds, or null for a figure not known (< 0). */
json_object	*json_ms_or_null(int64_t ms);

/*
 * Send obj (put afterwards) as the answer with status, on one line like
 * every other answer, and the header hname: hvalue if hname is set.
 */
void	json_send(struct rq *, int status, const char *hname,
	    const char *hvalue, json_object *obj);
/* {"success": false, "error": msg}, as json_send(). */
void	json_fail(struct rq *, int status, const char *hname,
	    const char *hvalue, const char *msg);

#endif

/*
 * result.h: what a generation produced, as one record. The backends
 * fill it, db records it and reads it back (inside a gen_row), flights
 * hand it to waiters, the hit cache keeps it, and the image page answers
 * from it. The error kinds are an enum with one names table: the names
 * are what generation_status.error_kind holds and what a client reads
 * in "generation failed: KIND".
 */
#ifndef PP_RESULT_H
#define PP_RESULT_H

#include <stdint.h>

/*
 * A job the backend's upstream took, as the row records it: enough for
 * another worker to follow it instead of paying for a new one. Empty
 * strings are fields the upstream gave none of.
 */
struct upstream_job {
	char	 id[80];		/* fal's request id */
	char	 status_url[1024];	/* the queue's URLs for it */
	char	 response_url[1024];
	char	 cancel_url[1024];
	char	 image_url[2048];	/* its image, once known (sync) */
};

/* What became of a call that may make a paid job. */
enum call_fate {
	CALL_TAKEN,	/* the upstream took the job */
	CALL_LOST,	/* it went out and no answer came back: it may have */
	CALL_REFUSED,	/* the upstream answered no */
	CALL_UNSENT	/* it never went out */
};

/* The queue's priority classes: the seed's subscription tiers. */
enum queue_class {
	QC_PREMIUM,
	QC_STANDARD,
	QC_BATCH,
	QC__MAX
};

/* The seed's four statuses of a generation_status row. */
enum gen_status {
	GS_PENDING,
	GS_GENERATING,
	GS_COMPLETED,
	GS_FAILED,
	GS__MAX
};

/* Why a generation failed. */
enum gen_err {
	GE_NONE,		/* no failure */
	GE_TIMEOUT,		/* the deadline passed first */
	GE_UPSTREAM_DOWN,	/* refused, reset, 502/503/504 */
	GE_UPSTREAM_ERROR,	/* another 5xx */
	GE_RATE_LIMITED,	/* 429 */
	GE_ANSWER_LOST,		/* a paid call went out, its answer did not
				   come back: fal may hold the job */
	GE_AUTH,		/* 401, 403: the key */
	GE_REJECTED,		/* another 4xx: the input */
	GE_NSFW,		/* the safety checker flagged the image */
	GE_BAD_RESPONSE,	/* an answer we cannot read */
	GE_BAD_STATUS,		/* a queue status we do not know */
	GE_BAD_URL,		/* an image URL we may not fetch */
	GE_BAD_IMAGE,		/* the bytes are not the format asked for */
	GE_TLS,			/* certificate or handshake */
	GE_DOWNLOAD,		/* the image could not be fetched */
	GE_STORE,		/* the image could not be written */
	GE_BUDGET,		/* a call the daily budget or a key's quota
				   did not allow: nothing was sent */
	GE_INTERNAL,		/* our own fault */
	GE_REMOVED,		/* the row was deleted while we waited */
	GE_UNKNOWN,		/* a kind this build does not know (SQL) */
	GE__MAX
};

struct gen_result {
	int		 ok;
	char		 url[2048];	/* remote image URL, or the public URL
					   of the stored file once recorded */
	char		 file[160];	/* store-relative file name, if stored */
	char		 content_type[32];
	int64_t		 file_size;
	unsigned	 width;
	unsigned	 height;
	int64_t		 completed_ms;	/* unix milliseconds, 0 if none */
	char		 upstream_id[80];
	int64_t		 upstream_ms;
	int64_t		 inference_ms;
	int64_t		 queue_ms;	/* waited in the backend's queue, as
					   its client saw it; -1: not known */
	unsigned	 api_calls;	/* calls this worker made that reached
					   the upstream (its own metrics) */
	enum gen_err	 err;		/* on failure */
	char		 error_message[256];
	unsigned	 retry_after;	/* upstream's hint, seconds; 0 = none */
};

/* The status as SQL spells it ("pending", ...). */
const char	*gen_status_name(enum gen_status);

/* The status named s; an unknown name reads as GS_FAILED. */
enum gen_status	 gen_status_parse(const char *s);

/* The kind as SQL and clients spell it ("timeout", ...; "" for none). */
const char	*gen_err_name(enum gen_err);

/* The kind named s: GE_NONE for "", GE_UNKNOWN for a name not known. */
enum gen_err	 gen_err_parse(const char *s);

/* May the same attempt succeed if the backend tries again now? */
int		 gen_err_retryable(enum gen_err);

/*
 * The Retry-After (seconds) a failure of this kind is answered with: a
 * failure that may pass soon (rate limited, upstream down, timeout) gets
 * 503 with it; 0 means 502, without.
 */
unsigned	 gen_err_retry_after(enum gen_err);

/* Can no later attempt help (rejected input, NSFW)? */
int		 gen_err_permanent(enum gen_err);

/* Make res a failure of kind err with the one-line message msg. */
void		 gen_result_fail(struct gen_result *res, enum gen_err err,
		    const char *msg);

/*
 * What a request needs to know about one generation_status row: its
 * status, what the generation produced (completed or failed; res.url is
 * generated_url, res.ok is status == completed), and its lease.
 */
struct gen_row {
	enum gen_status	 status;
	struct gen_result res;
	int		 lease_expired;
	unsigned	 attempts;
	int		 retry_due;	/* failed, retryable, backoff over */
	unsigned	 retry_in;	/* seconds until it is, if retryable */
	int		 alias;		/* completed with a similar prompt's
					   image (similar_to) */
};

#endif

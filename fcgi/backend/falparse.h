/*
 * falparse.h: the pure half of the fal.ai backend (falparse.c): building
 * the input and reading fal's answers with json-c, checking image
 * bytes, cleaning messages; no I/O, so that unit tests and fuzz targets
 * can call it. The protocol is fal.c's (the backend, declared in
 * backend.h) and falwait.c's; which URLs may be fetched or get the key
 * is urlpolicy.h's.
 *
 * Every parser takes a buffer and its length (the buffer need not end
 * in NUL), never trusts the sizes or types it reads, and on failure
 * fills the gen_result's err and error_message with a short
 * one-line text that never holds raw input bytes other than printable
 * ASCII. The status stream's reader (fal_sse_feed()) takes the bytes
 * as they arrive, in pieces of any size.
 */
#ifndef PP_FALPARSE_H
#define PP_FALPARSE_H

#include <stddef.h>

#include "backend.h"
#include "req.h"

/* The URLs a queue submit answers with; always used as given. */
struct fal_queue {
	char	 request_id[80];
	char	 status_url[1024];
	char	 response_url[1024];
	char	 cancel_url[1024];	/* "" if fal sent none */
};

enum fal_status {
	FAL_ST_QUEUED,		/* IN_QUEUE */
	FAL_ST_RUNNING,		/* IN_PROGRESS */
	FAL_ST_COMPLETED,	/* COMPLETED */
	FAL_ST_UNKNOWN,		/* any other status string */
	FAL_ST_BAD		/* not a status answer at all */
};

/*
 * The input JSON for one image: prompt, image_size {width, height},
 * num_inference_steps, seed (if the request has one), num_images 1,
 * enable_safety_checker, output_format (jpeg or png). Returns a string
 * the caller frees.
 */
char	*fal_build_input(const struct img_req *, unsigned steps, int safety);

/*
 * Read a model output ({"images": [{"url", "width", "height",
 * "content_type"}], "timings": {"inference"}, "has_nsfw_concepts",
 * "request_id"}) into res: url, width, height, content_type,
 * inference_ms and, if present and res has none yet, upstream_id.
 * Returns 0; or -1 with kind GE_BAD_RESPONSE (not JSON, no usable
 * images[0].url) or GE_NSFW (has_nsfw_concepts[0] is true; the other
 * fields are filled).
 */
int	fal_parse_result(const char *json, size_t len, struct gen_result *res);

/*
 * Read a queue submit answer into *q. Returns 0; or -1 with kind
 * GE_BAD_RESPONSE in res when status_url or response_url is missing.
 */
int	fal_parse_submit(const char *json, size_t len, struct fal_queue *q,
	    struct gen_result *res);

/*
 * Read a queue status answer. The status string (printable, truncated)
 * goes to name for messages. Returns the status.
 */
enum fal_status	fal_parse_status(const char *json, size_t len, char *name,
	    size_t namesz);

/* The most bytes of one event's data that the stream reader keeps. */
#define FAL_SSE_MAX	16384

/*
 * A reader of server-sent events (fal's status stream: "data: {status
 * JSON}" lines, comment lines for keep-alive, a blank line ending each
 * event). Lines end in LF, CR or CRLF; fields other than data are
 * ignored. Fill it with fal_sse_init(), then feed it what arrives.
 */
struct fal_sse {
	char		 data[FAL_SSE_MAX];	/* the event's data lines,
						   joined by '\n'; NUL-ended */
	size_t		 len;
	char		 name[8];		/* the line's field name, cut */
	size_t		 nlen;
	unsigned char	 state;			/* where in its line */
	unsigned char	 cr;			/* a line ended in CR: one LF
						   after it is part of it */
	unsigned char	 has_data;		/* the event has a data line */
	unsigned char	 nl;			/* a '\n' is due before more */
	unsigned char	 too_long;		/* its data passed the cap */
	unsigned char	 done;			/* an event was handed out */
};

enum fal_sse_got {
	FAL_SSE_MORE,		/* every byte read; no event ended */
	FAL_SSE_EVENT,		/* an event: data[0..len), NUL-terminated */
	FAL_SSE_TOO_LONG	/* an event over FAL_SSE_MAX - 1 bytes: dropped */
};

/* Start reading a new stream. */
void	fal_sse_init(struct fal_sse *);

/*
 * Read p[0..n) until an event ends: returns the bytes read (all n, or
 * up to the end of the line that ended the event) and in *got what
 * they made. An event's data stays in the reader until the next call.
 * Never fails: whatever the bytes, the reader reads on.
 */
size_t	fal_sse_feed(struct fal_sse *, const char *p, size_t n,
	    enum fal_sse_got *got);

/*
 * The message of an error answer: "detail" as a string, or the "msg" of
 * the first element of a "detail" array (with its "loc" path), and
 * "error_type" when given. Writes "" when the body has none of these.
 */
void	fal_parse_error(const char *json, size_t len, char *msg,
	    size_t msgsz);

/*
 * The error kind of an HTTP status fal answered with: GE_AUTH (401,
 * 403), GE_RATE_LIMITED (429), GE_REJECTED (other 4xx),
 * GE_UPSTREAM_DOWN (502, 503, 504), GE_UPSTREAM_ERROR (other 5xx),
 * GE_BAD_RESPONSE (1xx, 3xx).
 */
enum gen_err	fal_status_kind(long http_status);

/* The format the bytes' magic number says: FMT_JPG, FMT_PNG, or -1. */
int	fal_image_type(const void *data, size_t len);

/* The format a content type names ("image/jpeg", "image/png"), or -1. */
int	fal_content_type_fmt(const char *ct);

/*
 * Make the string msg safe to log and store: every occurrence of secret
 * (if not NULL or empty) becomes "[key]" (cut to the secret's length if
 * shorter), bytes outside printable ASCII become '?', and then the
 * string is cut to msgsz - 1 bytes.
 */
void	fal_clean_message(char *msg, size_t msgsz, const char *secret);

#endif

/*
 * httpc.h: the HTTP client, on libcurl. A handle belongs to one thread
 * and is reused, so that its connections stay open between exchanges.
 *
 * An exchange never follows a redirect, speaks https only (http too if
 * the handle allows it), verifies TLS, caps the answer's body, and is
 * bounded by the handle's connect timeout, its own timeout and an
 * optional deadline. It sends only the header lines it is given: a key
 * is its caller's, in a header list the caller builds; the client only
 * keeps it out of the messages it writes, through the owner's clean().
 * An exchange may instead be signed by libcurl with AWS Signature
 * Version 4 (an object store's), which adds its own Authorization and
 * x-amz-date lines.
 *
 * A request body is read by libcurl through a callback that cannot
 * rewind: when a kept-alive connection dies before any answer, libcurl
 * would otherwise send the request again on a new one, though the
 * server may have taken the first (a paid call made twice). Such an
 * exchange fails instead.
 *
 * An answer may be streamed (server-sent events): its body is handed to
 * the caller as it arrives, under bounds on how long it may keep quiet.
 *
 * A failed exchange is recorded in a gen_result as one of the gen_err
 * kinds (result.h), with a message "WHAT: why".
 */
#ifndef PP_HTTPC_H
#define PP_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct httpc;		/* a handle, one per thread */
struct httpc_hdrs;	/* header lines to send */

/* What a handle's exchanges talk to; fixed when the handle is made. */
struct httpc_opts {
	int64_t		 connect_timeout_ms;	/* per connection */
	int		 allow_http;		/* http as well as https */
	/* The kind of a non-2xx HTTP status (required). */
	enum gen_err	(*status_kind)(long http_status);
	/* Reads an error answer's body into a message; NULL: none. */
	void		(*detail)(const char *body, size_t len, char *msg,
			    size_t msgsz);
	/*
	 * Makes a message safe to log and store: secret out, one line of
	 * printable ASCII, cut to msgsz - 1 bytes. NULL: messages are
	 * stored as written (cut to fit).
	 */
	void		(*clean)(char *msg, size_t msgsz, const char *secret);
	const char	*secret;		/* for clean(); not copied */
};

/* One exchange: what to send, and what came back. */
struct httpc_xfer {
	/* Set by the caller. */
	const char		*method;	/* GET, HEAD or DELETE (no
						   body); POST or PUT */
	const char		*url;
	const char		*body;		/* request body, or NULL */
	size_t			 body_len;	/* its bytes; 0: strlen(body) */
	const struct httpc_hdrs	*hdrs;		/* NULL: libcurl's defaults */
	int64_t			 timeout_ms;	/* for the whole exchange */
	int64_t			 deadline_ms;	/* now_ms(), cuts timeout_ms;
						   0: none */
	size_t			 max;		/* cap on the answer's body */
	const char		*id_header;	/* a header to keep, or NULL */
	/*
	 * A streamed answer, if on_data is set: the body of a 2xx answer
	 * goes to on_data as it arrives, not into buf; on_data returns 0
	 * to read on, or 1 to end the exchange at once (stopped). The
	 * answer must come within the connect timeout plus first_ms, its
	 * body must start within first_ms of it, and then never pause for
	 * longer than idle_ms; else the exchange ends (quiet). 0: no bound.
	 */
	int			(*on_data)(void *arg, const char *p, size_t n);
	void			*arg;
	int64_t			 first_ms;
	int64_t			 idle_ms;
	/*
	 * AWS Signature Version 4, made by libcurl, if aws_sigv4 is set
	 * (CURLOPT_AWS_SIGV4: "aws:amz:REGION:SERVICE"); user and password
	 * are the access key id and the secret. The payload's hash is the
	 * caller's, in an x-amz-content-sha256 line of hdrs.
	 */
	const char		*aws_sigv4;
	const char		*user;
	const char		*password;
	/* Set by httpc_run(). */
	int			 code;		/* libcurl's, for httpc_fail() */
	long			 status;	/* 0 if no answer */
	int			 reached;	/* the request went out */
	int			 too_big;	/* the body passed max */
	int			 stopped;	/* on_data ended it */
	int			 quiet;		/* a bound of a streamed answer
						   ran out: enum httpc_quiet */
	char			*buf;		/* the body, NUL-terminated */
	size_t			 len;
	size_t			 cap;
	char			 id[80];	/* id_header's value, or "" */
	unsigned		 retry_after;	/* seconds (capped); 0: none */
	/* httpc's own. */
	const char		*up;		/* what is left of body */
	size_t			 up_left;
	int64_t			 head_at;	/* now_ms() of a 2xx answer's end
						   of headers; 0: none yet */
	int64_t			 data_at;	/* of its last body bytes */
};

/* Which bound of a streamed answer ran out. */
enum httpc_quiet {
	HQ_NONE,
	HQ_ANSWER,		/* no answer in time */
	HQ_BODY,		/* an answer, and then no body */
	HQ_PAUSE		/* the body paused too long */
};

/*
 * libcurl's process-wide set-up: called once by main() before any
 * thread starts. Aborts if it fails.
 */
void		 httpc_global_init(void);

/*
 * A new handle with the options *o (copied; o->secret is kept as a
 * pointer). Never fails (aborts when out of memory); the caller frees
 * it with httpc_free().
 */
struct httpc	*httpc_new(const struct httpc_opts *o);

/* Release a handle and its connections; NULL is a no-op. */
void		 httpc_free(struct httpc *);

/*
 * Append a header line ("Name: value", copied) to l, or to a new list
 * if l is NULL. Returns the list, which the caller frees with
 * httpc_hdrs_free(); aborts when out of memory.
 */
struct httpc_hdrs *httpc_hdrs_add(struct httpc_hdrs *l, const char *line);

/* Wipe every line of l (one may hold a key) and free it; NULL: no-op. */
void		 httpc_hdrs_free(struct httpc_hdrs *l);

/*
 * Run x on the handle. Never fails: the outcome is in x (code, status,
 * reached, body, stopped, quiet); read it with httpc_fail(). A timeout
 * that has already run out sends nothing. x->buf is reused if x ran
 * before; free it with httpc_xfer_free().
 */
void		 httpc_run(struct httpc *, struct httpc_xfer *x);

/*
 * Copy into out (outsz bytes) the value of header name in the last
 * answer to the last exchange run on the handle, trimmed. Returns 0;
 * or -1 if that answer has no such header, or its value is empty, does
 * not fit, or holds a byte outside 0x20..0x7e.
 */
int		 httpc_header(const struct httpc *, const char *name,
		    char *out, size_t outsz);

/* Free the body of x; x may run again. */
void		 httpc_xfer_free(struct httpc_xfer *x);

/*
 * Did x, the last exchange run on the handle, get a 2xx answer within
 * its limits (a streamed one that on_data stopped did)? Returns 0; or -1 with the failure in res, its message
 * "WHAT: why" passed through clean(). The kind: GE_BAD_RESPONSE for a
 * body over max; for a transfer libcurl did not finish, GE_TIMEOUT (the
 * request had gone out), GE_BAD_URL, GE_TLS, or GE_UPSTREAM_DOWN
 * (refused, reset, cut short, or no connection in time); GE_TIMEOUT for
 * a streamed answer that kept quiet too long; for an HTTP
 * status other than 2xx, its status_kind(), the message with the
 * detail() of the body (for a 3xx: "unexpected redirect").
 */
int		 httpc_fail(const struct httpc *, const struct httpc_xfer *x,
		    const char *what, struct gen_result *res);

/* Record a failure of kind in res, its message passed through clean(). */
void		 httpc_failf(const struct httpc *, struct gen_result *res,
		    enum gen_err kind, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

#endif

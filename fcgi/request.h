/*
 * request.h: one request, from the accept to the answer: its state (a
 * struct rq on its thread's stack), the database connection it borrows
 * from the pool while it needs one, and the answer. Every status code,
 * header and plain-text reason goes out through here, so header values
 * are checked in one place: no CR, LF or other control byte ever
 * reaches a header. page.h routes a request to its page between
 * request_open() and request_close().
 */
#ifndef PP_REQUEST_H
#define PP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "outcome.h"

struct cfg;
struct db;

struct worker {
	int			 idx;
	const struct cfg	*cfg;
	FCGX_Request		 fcgx;
};

/* Per-request state; lives on the worker's stack for one request. */
struct rq {
	struct worker	*w;
	struct db	*db;		/* borrowed from the pool, or NULL */
	FCGX_Stream	*out;
	char		 id[24];	/* request id, for log lines */
	const char	*method;
	int		 head;		/* HEAD: headers only */
	char		*path;		/* owned; decoded of nothing */
	const char	*query;		/* inside path's allocation (uri.h) */
	int64_t		 t0;		/* now_ms() at arrival */
	/* Filled while answering, for the request log line. */
	int		 status;
	enum outcome	 outcome;
	char		 hash[65];
	int64_t		 wake_ms;	/* waiter: answer time - completion */
	char		 client[64];	/* uri_client(), for the rate limit */
	int		 qclass;	/* enum queue_class of its new images */
	char		 key[33];	/* the client key that signed, or "" */
	double		 reserved;	/* the budget reserved (USD), < 0 none */
	int		 charged;	/* took a rate-limit token */
	int		 generator;	/* started a generation */
	int64_t		 waited_ms;	/* waiting for another's generation */
	int64_t		 woke_us;	/* now_us() when the awaited result
					   became known; 0 if none */
};

/*
 * Set rq up for the request just accepted on w (the configuration was
 * read from conf_path): its id, method, client, path and query. Returns
 * 0, or -1 when its URI was answered already (404, 414).
 */
int	request_open(struct rq *rq, struct worker *w, const char *conf_path);

/* The request is answered: log it, count it, free what it held. */
void	request_close(struct rq *rq);

/*
 * The request's database connection: borrowed from the pool on first
 * use (waiting up to the rest of max_wait, at least the connect
 * timeout), NULL if none came (answer 503). rq_db_release() gives it
 * back; request_serve() does at the latest.
 */
struct db	*rq_db(struct rq *);
void		 rq_db_release(struct rq *);

struct gen_row;

/*
 * Wait for the job of rq->hash to end, without a database connection:
 * join this process's flight for it (flight.h) first, then read the row
 * once (a result that landed before we joined is not missed), give the
 * connection back, and sleep until a worker or the waker lands the
 * flight, or until deadline. What the request waited is noted in it
 * (waited_ms, woke_us). Returns 1 with *row how the job ended (a
 * generator hears about this attempt, not the next one's backoff), 0
 * when the deadline passed first, -1 when the row is gone (deleted since
 * the election).
 */
int	rq_wait(struct rq *, int64_t deadline, struct gen_row *row);


/* The reason phrase of status ("Found", "Bad Request", ...). */
const char	*http_reason(int status);

/*
 * Start a response: the Status line. Headers follow with http_header();
 * http_end_headers() ends them.
 */
void	http_begin(struct rq *, int status);

/* Is value safe as a header value (printable ASCII only)? */
int	http_value_safe(const char *value);

/*
 * Add a header. Returns -1, writing nothing, if value holds a byte that
 * is not printable ASCII (a header-injection attempt or a bug).
 */
int	http_header(struct rq *, const char *name, const char *value);
void	http_end_headers(struct rq *);

/*
 * A complete plain-text answer of one line: status, reason, and an
 * optional extra header (name NULL for none). Never cached.
 */
void	http_text(struct rq *, int status, const char *hname,
	    const char *hvalue, const char *line);

/*
 * A complete answer with a body of len bytes of type ctype (JSON, the
 * metrics text) and an optional extra header (hname NULL for none).
 * Never cached.
 */
void	http_send(struct rq *, int status, const char *ctype,
	    const char *hname, const char *hvalue, const char *body,
	    size_t len);

/*
 * The request's Authorization header as the web server passed it:
 * HTTP_AUTHORIZATION, or REDIRECT_HTTP_AUTHORIZATION (Apache names it
 * so after an .htaccess rewrite set it; see apache/htaccess). NULL if
 * neither.
 */
const char	*http_authorization(struct rq *);

/* An HTTP-date (RFC 9110) for unix time t, in out (at least 30 bytes). */
void	http_date(int64_t t, char *out, size_t outsz);

#endif

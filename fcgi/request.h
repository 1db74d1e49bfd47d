/*
 * request.h: one request, from the accept to the answer: its state (a
 * struct rq), the database connection it borrows from the pool while it
 * needs one, its wait for a generation, and the answer. Every status
 * code, header and plain-text reason goes out through here, so header
 * values are checked in one place: no CR, LF or other control byte ever
 * reaches a header. page.h routes a request to its page between
 * request_open() and request_close().
 *
 * A request that must wait for a generation is parked (park.h): its
 * thread lets go of it, and an answer thread finishes it when the wait
 * ends. It then owns its connection.
 */
#ifndef PP_REQUEST_H
#define PP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "outcome.h"
#include "park.h"
#include "req.h"
#include "result.h"

struct cfg;
struct db;
struct rq;

/* How a wait for a job ended (rq_await()). */
enum wait_end {
	WAIT_ROW,		/* the row says how the job ended */
	WAIT_TIMEOUT,		/* the deadline passed first */
	WAIT_REMOVED,		/* the row is gone (deleted since the ballot) */
	WAIT_DBERR,		/* the row could not be read: no wait */
	WAIT_HUNG_UP,		/* the client left while it waited */
	WAIT_STOPPED,		/* the process is stopping */
	WAIT_PARKED		/* to be parked: rq->waited answers later */
};

/*
 * What a page that waits answers once the wait ends: called with the
 * row for WAIT_ROW. The request is closed after it.
 */
typedef void	(*rq_waited_fn)(struct rq *, enum wait_end,
		    const struct gen_row *);

/* Per-request state, from request_open() to request_close(). */
struct rq {
	const struct cfg	*cfg;
	FCGX_Request	*fcgx;		/* its connection; see request_park() */
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
	struct img_req	 img;		/* the image page's; freed at close */
	/* The wait, once rq_await() said WAIT_PARKED. */
	int		 parking;	/* request_park() it */
	int		 owns_fcgx;	/* parked: frees fcgx at close */
	int64_t		 wait_t0;
	rq_waited_fn	 waited;
	struct parked	 park;
};

/*
 * A new request for the one just accepted on fcgx (the configuration c
 * was read from conf_path): its id, method, client, path and query.
 * Never NULL. When its URI was answered already (404, 414), its status
 * is set.
 */
struct rq	*request_open(FCGX_Request *fcgx, const struct cfg *c,
		    const char *conf_path);

/*
 * The request is answered: log it, count it, end it on its connection
 * (FCGX_Finish_r()), and free it with what it held.
 */
void	request_close(struct rq *rq);

/*
 * Hand rq, which rq_await() left parking, to park.h. Returns 1 when it
 * is parked: rq and its connection are no longer the caller's. Returns
 * 0 when its image landed in the meantime: rq was answered and closed
 * here, and fcgx is the caller's again.
 */
int	request_park(struct rq *rq);

/* How many requests are open (opened, not yet closed), parked too. */
unsigned	request_count(void);

/* A request parameter from the web server, or NULL. */
const char	*rq_param(struct rq *, const char *name);

/*
 * The request's database connection: borrowed from the pool on first
 * use (waiting up to the rest of max_wait, at least the connect
 * timeout), NULL if none came (answer 503). rq_db_release() gives it
 * back; request_serve() does at the latest.
 */
struct db	*rq_db(struct rq *);
void		 rq_db_release(struct rq *);

/*
 * Wait for the job of rq->hash to end, holding neither a database
 * connection nor a thread: join this process's flight for it (flight.h)
 * first, then read the row once (a result that landed before we joined
 * is not missed) and give the connection back. Returns WAIT_ROW with
 * *row when the job had ended already, WAIT_REMOVED when the row is
 * gone, WAIT_DBERR when it could not be read (answer 503); otherwise
 * WAIT_PARKED: the request is to be parked
 * (request_park(), by page_serve()) until a worker or the waker lands
 * the flight or until deadline, and then rq->waited (set by the page)
 * answers it. What the
 * request waited is noted in it (waited_ms, woke_us); a generator hears
 * about its own attempt, not the next one's backoff.
 */
enum wait_end	rq_await(struct rq *, int64_t deadline, struct gen_row *row);

/*
 * Without the database: if requests of this process are parked on
 * rq->hash's job already, and one of them voted for it in rq's queue
 * class or a better one, join them, counting rq (the image r) in memory
 * (counts.h): returns 1, and the request is to be parked as after
 * WAIT_PARKED. Returns 0 otherwise.
 */
int	rq_join_parked(struct rq *, const struct img_req *r, int64_t deadline);


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

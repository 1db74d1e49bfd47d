/*
 * request.c: one request, from the accept to the answer (see
 * request.h): its state and log line, the database connection it
 * borrows, and the HTTP answer over FastCGI: status line, checked
 * headers, and the short text and byte bodies every page sends.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "cfg.h"
#include "counts.h"
#include "db.h"
#include "dbpool.h"
#include "flight.h"
#include "log.h"
#include "metrics.h"
#include "park.h"
#include "request.h"
#include "uri.h"
#include "util.h"

static atomic_ulong	 request_seq;
static atomic_uint	 open_requests;
static atomic_flag	 conf_param_seen = ATOMIC_FLAG_INIT;

/*
 * "SetEnv PROMPTPIX_CONF" in an .htaccess reaches us as a request
 * parameter, long after the configuration was read: mod_fcgid gives the
 * process only FcgidInitialEnv variables. Say so once instead of
 * silently using another file.
 */
static void
check_conf_param(FCGX_ParamArray env, const char *conf_path)
{
	const char	*p = FCGX_GetParam("PROMPTPIX_CONF", env);

	if (p == NULL || strcmp(p, conf_path) == 0 ||
	    atomic_flag_test_and_set(&conf_param_seen))
		return;
	log_warn(NULL, "PROMPTPIX_CONF=%s from the web server is not used: "
	    "the configuration was read from %s at start-up (use "
	    "FcgidInitialEnv, or promptpix.conf beside the program)", p,
	    conf_path);
}

struct rq *
request_open(FCGX_Request *fcgx, const struct cfg *c, const char *conf_path)
{
	struct rq		*rq = xcalloc(1, sizeof(*rq));
	FCGX_ParamArray		 env = fcgx->envp;
	struct uri_parts	 u;
	int			 rc;

	atomic_fetch_add(&open_requests, 1);
	metrics_requests_in_flight(1);
	rq->cfg = c;
	rq->fcgx = fcgx;
	rq->wake_ms = -1;
	rq->out = fcgx->out;
	rq->t0 = now_ms();
	snprintf(rq->id, sizeof(rq->id), "%x-%lx", (unsigned)getpid(),
	    atomic_fetch_add(&request_seq, 1) + 1);
	if ((rq->method = FCGX_GetParam("REQUEST_METHOD", env)) == NULL)
		rq->method = "GET";
	rq->head = strcmp(rq->method, "HEAD") == 0;
	check_conf_param(env, conf_path);
	uri_client(FCGX_GetParam("REMOTE_ADDR", env),
	    FCGX_GetParam("HTTP_X_FORWARDED_FOR", env),
	    c->trusted_proxies, rq->client, sizeof(rq->client));
	if ((rc = uri_split(FCGX_GetParam("REQUEST_URI", env),
	    FCGX_GetParam("SCRIPT_NAME", env), c->base_path, &u)) != 0) {
		rq->outcome = OUT_NOT_FOUND;
		http_text(rq, rc, NULL, NULL,
		    rc == 414 ? "request URI too long" : "not found");
		return rq;
	}
	rq->path = u.path;
	rq->query = u.query;
	return rq;
}

void
request_close(struct rq *rq)
{
	FCGX_Request	*fcgx = rq->fcgx;

	if (rq->woke_us > 0)
		metrics_wakeup(now_us() - rq->woke_us);
	metrics_request(rq->outcome);
	log_info(rq->id, "request %s %.12s outcome=%s status=%d ms=%lld "
	    "waited_ms=%lld wake_ms=%lld", rq->method,
	    rq->hash[0] ? rq->hash : "-", outcome_name(rq->outcome),
	    rq->status, (long long)(now_ms() - rq->t0),
	    (long long)rq->waited_ms, (long long)rq->wake_ms);
	rq_db_release(rq);
	free(rq->path);
	img_req_free(&rq->img);
	FCGX_Finish_r(fcgx);
	if (rq->owns_fcgx) {
		/* A connection the web server kept open: not for us to reuse. */
		FCGX_Free(fcgx, 1);
		free(fcgx);
	}
	free(rq);
	metrics_requests_in_flight(-1);
	atomic_fetch_sub(&open_requests, 1);
}

unsigned
request_count(void)
{
	return (unsigned)atomic_load(&open_requests);
}

const char *
rq_param(struct rq *rq, const char *name)
{
	return FCGX_GetParam(name, rq->fcgx->envp);
}

struct db *
rq_db(struct rq *rq)
{
	const struct cfg	*c = rq->cfg;
	int64_t			 wait;

	if (rq->db != NULL)
		return rq->db;
	/*
	 * A burst of new clients can use up the pool for a moment: wait as
	 * long as the client would wait for an image, not as long as for a
	 * database that does not answer.
	 */
	wait = rq->t0 + c->max_wait_ms - now_ms();
	if (wait < c->db_connect_timeout_ms)
		wait = c->db_connect_timeout_ms;
	if ((rq->db = dbpool_get(wait)) != NULL)
		db_set_request(rq->db, rq->id);
	return rq->db;
}

/*
 * Make rq ready for request_park() until deadline; the caller joins the
 * flight into rq->park.flight next, or clears rq->parking.
 */
static void
park_on(struct rq *rq, int64_t deadline)
{
	rq->parking = 1;
	rq->wait_t0 = now_ms();
	rq->park.flight = NULL;
	rq->park.deadline = deadline;
	rq->park.fd = rq->fcgx->ipcFd;
}

enum wait_end
rq_await(struct rq *rq, int64_t deadline, struct gen_row *row)
{
	struct db	*db = rq_db(rq);
	int		 rc;

	/* Joined first, then read: a result landing between is not missed. */
	park_on(rq, deadline);
	flight_join(rq->hash, &rq->park.flight);
	rc = db != NULL ? db_fetch(db, rq->hash, row) : -1;
	/* No connection is held while waiting. */
	rq_db_release(rq);
	if (rc == 1 && !db_row_settled(row)) {
		flight_voted(rq->park.flight, rq->qclass);
		return WAIT_PARKED;
	}
	rq->parking = 0;
	flight_leave(rq->park.flight);
	/*
	 * Not read (the database is away): a parked request could not be
	 * woken by the waker either, and would hang until max_wait.
	 */
	if (rc == -1)
		return WAIT_DBERR;
	/*
	 * It ended before we could wait. Whoever waited for this attempt is
	 * answered about it, as the worker's own result answers its
	 * waiters: not with the next attempt's backoff.
	 */
	if (rq->generator)
		row->retry_in = 0;
	return rc == 0 ? WAIT_REMOVED : WAIT_ROW;
}

int
rq_join_parked(struct rq *rq, const struct img_req *r, int64_t deadline)
{
	park_on(rq, deadline);
	if (!flight_join_parked(rq->hash, rq->qclass, &rq->park.flight)) {
		rq->parking = 0;
		return 0;
	}
	/* Counted as a hit is: the database saw no vote. */
	counts_add(rq->hash, r, rq->cfg->model, NULL, 0);
	return 1;
}

/* How the wait of rq ended so: note it, answer it (rq->waited), close it. */
static void
finish_wait(struct rq *rq, enum park_end end, const struct flight_result *fr)
{
	static const enum wait_end how[] = {
		[PARK_LANDED] = WAIT_ROW, [PARK_DEADLINE] = WAIT_TIMEOUT,
		[PARK_GONE] = WAIT_HUNG_UP, [PARK_STOPPED] = WAIT_STOPPED
	};
	struct gen_row	 row;
	enum wait_end	 e = how[end];

	/* promptpix_waiters: the clients of a job another request queued. */
	if (!rq->generator)
		metrics_waiters(-1);
	rq->waited_ms = now_ms() - rq->wait_t0;
	memset(&row, 0, sizeof(row));
	if (e == WAIT_ROW && fr->kind != FLIGHT_ROW)
		e = WAIT_TIMEOUT;
	if (e == WAIT_ROW) {
		if (!rq->generator)
			rq->woke_us = fr->at_us;	/* as promptpix_waiters */
		row = fr->row;
		row.retry_in = 0;	/* the answer is about this attempt */
	}
	rq->waited(rq, e, &row);
	request_close(rq);
}

/* park.h's answer(): on an answer thread, the wait of p ended. */
static void
parked_answer(struct parked *p)
{
	struct rq		*rq = (struct rq *)(void *)((char *)p -
				    offsetof(struct rq, park));
	struct flight_result	*res = p->res;

	/* p is inside rq, which finish_wait() frees. */
	finish_wait(rq, p->end, res);
	free(res);
}

int
request_park(struct rq *rq)
{
	struct flight_result	 fr;

	rq->parking = 0;
	rq->park.answer = parked_answer;
	if (!rq->generator)
		metrics_waiters(1);
	/* Before park(): from then on, rq may be answered and freed. */
	rq->owns_fcgx = 1;
	if (park(&rq->park, &fr) == 0)
		return 1;
	rq->owns_fcgx = 0;
	finish_wait(rq, PARK_LANDED, &fr);
	return 0;
}

void
rq_db_release(struct rq *rq)
{
	dbpool_put(rq->db);
	rq->db = NULL;
}

static const struct {
	int		 code;
	const char	*reason;
} reasons[] = {
	{ 200, "OK" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
};

const char *
http_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

void
http_begin(struct rq *rq, int status)
{
	rq->status = status;
	FCGX_FPrintF(rq->out, "Status: %d %s\r\n", status, http_reason(status));
}

int
http_value_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int
http_header(struct rq *rq, const char *name, const char *value)
{
	if (!http_value_safe(name) || !http_value_safe(value)) {
		log_error(rq->id, "refused to send an unsafe %s header", name);
		return -1;
	}
	FCGX_FPrintF(rq->out, "%s: %s\r\n", name, value);
	return 0;
}

void
http_end_headers(struct rq *rq)
{
	FCGX_PutS("\r\n", rq->out);
}

void
http_text(struct rq *rq, int status, const char *hname, const char *hvalue,
    const char *line)
{
	http_begin(rq, status);
	http_header(rq, "Content-Type", "text/plain; charset=utf-8");
	http_header(rq, "Cache-Control", "no-store");
	if (hname != NULL)
		http_header(rq, hname, hvalue);
	http_end_headers(rq);
	if (!rq->head) {
		FCGX_PutS(line, rq->out);
		FCGX_PutS("\n", rq->out);
	}
}

void
http_send(struct rq *rq, int status, const char *ctype, const char *hname,
    const char *hvalue, const char *body, size_t len)
{
	char	 n[24];

	http_begin(rq, status);
	http_header(rq, "Content-Type", ctype);
	http_header(rq, "Cache-Control", "no-store");
	snprintf(n, sizeof(n), "%zu", len);
	http_header(rq, "Content-Length", n);
	if (hname != NULL)
		http_header(rq, hname, hvalue);
	http_end_headers(rq);
	if (!rq->head)
		FCGX_PutStr(body, (int)len, rq->out);
}

const char *
http_authorization(struct rq *rq)
{
	const char	*a = rq_param(rq, "HTTP_AUTHORIZATION");

	if (a == NULL || *a == '\0')
		a = rq_param(rq, "REDIRECT_HTTP_AUTHORIZATION");
	return a != NULL && *a != '\0' ? a : NULL;
}

void
http_date(int64_t t, char *out, size_t outsz)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

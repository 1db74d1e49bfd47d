/*
 * history.c: GET /api/generation/history?by=hour|day&n=N: the rollup
 * as JSON (json-c), one point per hour or day that has any traffic;
 * the dashboard draws its charts from the same history_load().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>
#include <json.h>

#include "cfg.h"
#include "dashauth.h"
#include "db.h"
#include "form.h"
#include "history.h"
#include "request.h"
#include "jsonout.h"
#include "page.h"
#include "token.h"
#include "util.h"

int
history_load(struct db *db, int64_t step, int count, struct history *h)
{
	int64_t	 now = (int64_t)time(NULL);

	h->step = step;
	h->to = now - now % step;
	h->from = h->to - (count - 1) * step;
	h->n = db_history(db, h->from, step, h->rows, HISTORY_MAX_HOURS);
	return h->n < 0 ? -1 : 0;
}

static json_object *
iso(int64_t t)
{
	char		 s[32];
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xchk(json_object_new_string(s));
}

static json_object *
point(const struct hist_row *r)
{
	json_object	*o = xchk(json_object_new_object());

	json_object_object_add(o, "t", iso(r->t));
	json_object_object_add(o, "requests", json_u64(r->requests));
	json_object_object_add(o, "cache_hits", json_u64(r->cache_hits));
	json_object_object_add(o, "paid_calls", json_u64(r->paid_calls));
	json_object_object_add(o, "generations", json_u64(r->generations));
	json_object_object_add(o, "failures", json_u64(r->failures));
	json_object_object_add(o, "spent_usd", json_decimal(r->spent_usd));
	json_object_object_add(o, "saved_usd", json_decimal(r->saved_usd));
	json_object_object_add(o, "generation_ms_p50",
	    json_ms_or_null(r->ms_p50));
	json_object_object_add(o, "generation_ms_p95",
	    json_ms_or_null(r->ms_p95));
	return o;
}

/*
 * The query: by=hour (default) or day, n=slots (48 hours or 30 days by
 * default), and token (as for the stats). Anything else is refused.
 * Returns 0, or -1 with *why.
 */
static int
params(const char *q, int64_t *step, int *n, const char **why)
{
	char	 by[8] = "hour", num[8] = "";
	size_t	 len = q ? strlen(q) : 0, i = 0, k;
	char	*end;
	long	 v;

	for (i = 0; i < len; i += k + 1) {
		k = strcspn(q + i, "&");
		if (!(k >= 3 && strncmp(q + i, "by=", 3) == 0) &&
		    !(k >= 2 && strncmp(q + i, "n=", 2) == 0) &&
		    !(k >= 6 && strncmp(q + i, "token=", 6) == 0)) {
			*why = "unknown parameter (by, n and token are known)";
			return -1;
		}
	}
	if (form_get(q, len, "by", by, sizeof(by)) == -1 ||
	    form_get(q, len, "n", num, sizeof(num)) == -1 ||
	    (strcmp(by, "hour") != 0 && strcmp(by, "day") != 0)) {
		*why = "by is hour or day";
		return -1;
	}
	*step = by[0] == 'h' ? 3600 : 86400;
	*n = *step == 3600 ? 48 : 30;
	if (num[0] != '\0') {
		v = strtol(num, &end, 10);
		if (*end != '\0' || v < 1 || v > (*step == 3600 ?
		    HISTORY_MAX_HOURS : HISTORY_MAX_DAYS)) {
			*why = *step == 3600 ? "n is 1..168 hours" :
			    "n is 1..90 days";
			return -1;
		}
		*n = (int)v;
	}
	return 0;
}

/*
 * GET /api/generation/history: 200 with the points; 400 for a bad
 * query; 401/403 without the [stats] token (or the dashboard's
 * cookie); 503 when the database is away.
 */
void
page_history(struct rq *rq)
{
	struct history	*h;
	struct kind_count kinds[GE__MAX];
	json_object	*o, *pts, *byk;
	const char	*why = NULL;
	int64_t		 step;
	int		 n, nk, rc;

	rc = dashauth_who(rq) != DASH_NOBODY ? 0 :
	    token_check(rq->w->cfg->stats_token, http_authorization(rq),
	    rq->query);
	if (rc != 0) {
		rq->outcome = rc == 401 ? OUT_UNAUTHORIZED : OUT_FORBIDDEN;
		json_fail(rq, rc, rc == 401 ? "WWW-Authenticate" : NULL,
		    "Bearer realm=\"promptpix\"", rc == 401 ?
		    "access token required" : "wrong access token");
		return;
	}
	if (params(rq->query, &step, &n, &why) == -1) {
		rq->outcome = OUT_BAD_REQUEST;
		json_fail(rq, 400, NULL, NULL, why);
		return;
	}
	h = xmalloc(sizeof(*h));
	if (rq_db(rq) == NULL || history_load(rq->db, step, n, h) == -1 ||
	    (nk = db_failure_kinds(rq->db, h->from, kinds, GE__MAX)) < 0) {
		free(h);
		rq->outcome = OUT_DBERR;
		json_fail(rq, 503, "Retry-After", "5", "database unavailable");
		return;
	}
	rq->outcome = OUT_PAGE;
	o = xchk(json_object_new_object());
	json_object_object_add(o, "success", xchk(json_object_new_boolean(1)));
	json_object_object_add(o, "by", xchk(json_object_new_string(
	    step == 3600 ? "hour" : "day")));
	json_object_object_add(o, "from", iso(h->from));
	json_object_object_add(o, "to", iso(h->to));
	pts = xchk(json_object_new_array());
	for (int i = 0; i < h->n; i++)
		json_object_array_add(pts, point(&h->rows[i]));
	json_object_object_add(o, "points", pts);
	byk = xchk(json_object_new_object());
	for (int i = 0; i < nk; i++)
		json_object_object_add(byk, kinds[i].kind, json_u64(kinds[i].n));
	json_object_object_add(o, "failures_by_kind", byk);
	free(h);
	json_send(rq, 200, NULL, NULL, o);
}

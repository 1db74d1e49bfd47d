/*
 * stats.c: the monitoring pages. GET /api/generation/stats answers JSON
 * (built with json-c) from CALL get_generation_stats(); GET /metrics
 * answers the Prometheus text of metrics.c. Both require the [stats]
 * token when one is configured. The README's Monitoring section describes
 * every field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>
#include <json.h>

#include "cfg.h"
#include "db.h"
#include "request.h"
#include "jsonout.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "statcache.h"
#include "token.h"
#include "util.h"

#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/*
 * Apply the [stats] token. Returns 0 when the request may go on, or the
 * status (401, 403) of the refusal it has sent: JSON when json is set,
 * else one line of plain text.
 */
static int
check_token(struct rq *rq, int json)
{
	int		 rc;

	rc = token_check(rq->w->cfg->stats_token,
	    http_authorization(rq), rq->query);
	if (rc == 0)
		return 0;
	rq->outcome = rc == 401 ? OUT_UNAUTHORIZED : OUT_FORBIDDEN;
	if (json)
		json_fail(rq, rc, rc == 401 ? "WWW-Authenticate" : NULL,
		    "Bearer realm=\"promptpix\"", rc == 401 ?
		    "access token required" : "wrong access token");
	else
		http_text(rq, rc, rc == 401 ? "WWW-Authenticate" : NULL,
		    "Bearer realm=\"promptpix\"", rc == 401 ?
		    "access token required" : "wrong access token");
	return rc;
}

static json_object *
period_json(const struct gen_stats *s)
{
	json_object	*o = xchk(json_object_new_object());
	json_object	*by = xchk(json_object_new_object());

	json_object_object_add(o, "unique_images", json_u64(s->unique_images));
	for (int i = 0; i < GS__MAX; i++)
		json_object_object_add(by, gen_status_name((enum gen_status)i),
		    json_u64(s->by_status[i]));
	json_object_object_add(o, "images_by_status", by);
	json_object_object_add(o, "total_requests", json_u64(s->total_requests));
	json_object_object_add(o, "api_calls_made", json_u64(s->api_calls_made));
	json_object_object_add(o, "api_calls_saved", json_u64(s->api_calls_saved));
	json_object_object_add(o, "savings_percent",
	    json_decimal(s->savings_percent));
	json_object_object_add(o, "cost_usd_spent", json_decimal(s->cost_usd_spent));
	json_object_object_add(o, "cost_usd_saved", json_decimal(s->cost_usd_saved));
	json_object_object_add(o, "cache_hits", json_u64(s->cache_hits));
	json_object_object_add(o, "similar_hits", json_u64(s->similar_hits));
	json_object_object_add(o, "generation_ms_p50",
	    json_ms_or_null(s->gen_ms_p50));
	json_object_object_add(o, "generation_ms_p95",
	    json_ms_or_null(s->gen_ms_p95));
	json_object_object_add(o, "in_flight_generations", json_u64(s->in_flight));
	json_object_object_add(o, "inference_ms_p50",
	    json_ms_or_null(s->inference_ms_p50));
	json_object_object_add(o, "queue_ms_p50",
	    json_ms_or_null(s->queue_ms_p50));
	return o;
}

/* Today's budget (UTC): the cap, spent, reserved, left (null: no cap). */
static json_object *
budget_json(struct rq *rq, const struct stats_snap *snap)
{
	json_object	*o = xchk(json_object_new_object());
	double		 cap = rq->w->cfg->budget_daily_usd;
	double		 reserved = snap->reserved_usd, spent = snap->spent_usd;

	json_object_object_add(o, "daily_usd", cap > 0 ?
	    xchk(json_object_new_double(cap)) : NULL);
	json_object_object_add(o, "spent_usd",
	    xchk(json_object_new_double(spent)));
	json_object_object_add(o, "reserved_usd",
	    xchk(json_object_new_double(reserved)));
	json_object_object_add(o, "left_usd", cap > 0 ?
	    xchk(json_object_new_double(cap - spent - reserved)) : NULL);
	return o;
}

/* The queue as every host shares it, and this host's waiting clients. */
static json_object *
queue_json(struct rq *rq, const struct queue_stats *qs)
{
	json_object	*o = xchk(json_object_new_object());
	json_object	*depth = xchk(json_object_new_object());

	json_object_object_add(depth, "premium", json_u64(qs->queued[QC_PREMIUM]));
	json_object_object_add(depth, "standard",
	    json_u64(qs->queued[QC_STANDARD]));
	json_object_object_add(depth, "batch", json_u64(qs->queued[QC_BATCH]));
	json_object_object_add(o, "depth", depth);
	json_object_object_add(o, "slots_in_use", json_u64(qs->slots_busy));
	json_object_object_add(o, "max_concurrent",
	    json_u64(rq->w->cfg->queue_max_concurrent));
	json_object_object_add(o, "oldest_queued_ms",
	    xchk(json_object_new_int64(qs->oldest_ms)));
	json_object_object_add(o, "waiting_clients",
	    xchk(json_object_new_int64(metrics_waiters_now())));
	return o;
}

/* statcache_fill_fn: the figures of both pages, from the database. */
static int
fill_snap(void *arg, struct stats_snap *snap)
{
	struct rq	*rq = arg;
	int		 rc;

	if (rq_db(rq) == NULL)
		return -1;
	if ((rc = db_generation_stats(rq->db, snap->periods)) != 0 ||
	    (rc = db_queue_stats(rq->db, &snap->queue)) != 0)
		return rc;
	if (db_budget_today(rq->db, &snap->reserved_usd, &snap->spent_usd) ==
	    -1)
		snap->reserved_usd = snap->spent_usd = 0;
	snap->warm_ok = db_warm_stats(rq->db, snap->warm) == 0;
	return 0;
}

int
stats_snapshot(struct rq *rq, struct stats_snap *snap)
{
	return statcache_get(fill_snap, rq, snap);
}

/*
 * GET /api/generation/stats: 200 with the figures; 401/403 without the
 * configured token (unless [stats] public); 503 when the database is unreachable; 500 when the
 * procedure failed (not migrated?). Every answer is JSON.
 */
void
page_stats(struct rq *rq)
{
	struct stats_snap	 snap;
	const struct gen_stats	*s = snap.periods;
	json_object		*o, *st, *cur, *per;
	char			 msg[64], now[32];
	struct tm		 tm;
	int			 rc;

	/* [stats] public: the seed's endpoint stays open to all. */
	if (!rq->w->cfg->stats_public && check_token(rq, 1) != 0)
		return;
	if ((rc = stats_snapshot(rq, &snap)) != 0) {
		rq->outcome = rc == -1 ? OUT_DBERR : OUT_ERROR;
		if (rc == -1)
			json_fail(rq, 503, "Retry-After", "5",
			    "database unavailable");
		else
			json_fail(rq, 500, NULL, NULL, "failed to get stats");
		return;
	}
	rq->outcome = OUT_STATS;
	gmtime_r(&snap.taken_at, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	st = xchk(json_object_new_object());
	for (int i = 0; i < DB_STATS_PERIODS; i++) {
		per = period_json(&s[i]);
		/* promptpix warm's elections: never in total_requests. */
		json_object_object_add(per, "warm_requests", snap.warm_ok ?
		    json_u64(snap.warm[i].warm_requests) : NULL);
		json_object_object_add(per, "warmed_images", snap.warm_ok ?
		    json_u64(snap.warm[i].warmed_images) : NULL);
		json_object_object_add(st, i == 0 ? "today" : "all_time", per);
	}
	cur = xchk(json_object_new_object());
	json_object_object_add(cur, "in_flight_generations",
	    json_u64(s[1].in_flight));
	json_object_object_add(cur, "waiters",
	    xchk(json_object_new_int64(metrics_waiters_now())));
	json_object_object_add(st, "current", cur);
	json_object_object_add(st, "queue", queue_json(rq, &snap.queue));
	json_object_object_add(st, "budget", budget_json(rq, &snap));
	json_object_object_add(st, "generated_at",
	    xchk(json_object_new_string(now)));
	o = xchk(json_object_new_object());
	json_object_object_add(o, "success",
	    xchk(json_object_new_boolean(1)));
	json_object_object_add(o, "stats", st);
	snprintf(msg, sizeof(msg), "Saved %llu API calls today!",
	    (unsigned long long)s[0].api_calls_saved);
	json_object_object_add(o, "message",
	    xchk(json_object_new_string(msg)));
	json_send(rq, 200, NULL, NULL, o);
}

/* GET /metrics: the Prometheus text; 401/403 without the token. */
void
page_metrics(struct rq *rq)
{
	struct stats_snap	 snap;
	const struct queue_stats *qs = &snap.queue;
	struct metrics_queue	 q;
	char			*text, *qtext;
	size_t			 len, qlen;

	if (check_token(rq, 0) != 0)
		return;
	rq->outcome = OUT_METRICS;
	text = metrics_render(&len);
	if (stats_snapshot(rq, &snap) == 0) {
		/* The database's view of the queue; left out when it is away. */
		q.depth[0] = qs->queued[QC_PREMIUM];
		q.depth[1] = qs->queued[QC_STANDARD];
		q.depth[2] = qs->queued[QC_BATCH];
		q.slots_in_use = qs->slots_busy;
		q.slots_max = rq->w->cfg->queue_max_concurrent;
		q.oldest_ms = qs->oldest_ms;
		q.budget_usd = rq->w->cfg->budget_daily_usd;
		q.reserved_usd = snap.reserved_usd;
		q.spent_usd = snap.spent_usd;
		q.stats_refreshes = statcache_refreshes();
		qtext = metrics_render_queue(&q, &qlen);
		text = xrealloc(text, len + qlen + 1);
		memcpy(text + len, qtext, qlen + 1);
		len += qlen;
		free(qtext);
	}
	http_send(rq, 200, METRICS_TYPE, NULL, NULL, text, len);
	free(text);
}

/*
 * dashboard.c: GET /dashboard, the operator's view: the seed's figures
 * (savings percentage, dollars spent and saved), the queue and the
 * budget now, charts of the hourly rollup, failures by kind, the top
 * prompts and the generations in flight. POST /dashboard logs in and
 * out (dashauth.c) and, in [access] mode = signed, mints image URLs
 * for the operator.
 * Everything it reads has a bounded cost (dbhistory.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cfg.h"
#include "dashauth.h"
#include "dashcharts.h"
#include "db.h"
#include "form.h"
#include "history.h"
#include "html.h"
#include "request.h"
#include "layout.h"
#include "metrics.h"
#include "page.h"
#include "pageutil.h"
#include "sign.h"
#include "statcache.h"
#include "svg.h"
#include "util.h"

#define TOP_N		10
#define FLIGHT_N	10
#define BODY_MAX	16384

/*
 * Fetches the page again every data-refresh seconds of #live (30) and
 * swaps in its live part; a tick each second checks whether it is time.
 */
static const char script[] =
"(function(){var live=document.getElementById('live');"
"var c=document.getElementById('copy'),u=document.getElementById('url');"
"if(c&&u)c.addEventListener('click',function(){u.select();"
"if(navigator.clipboard)navigator.clipboard.writeText(u.value);"
"else document.execCommand('copy');c.textContent='Copied'});"
"if(!live)return;var last=Date.now(),busy=false;setInterval(function(){"
"if(document.hidden||busy||Date.now()-last<1000*(+live.dataset.refresh||30))"
"return;busy=true;"
"fetch(location.pathname,{credentials:'same-origin'}).then(function(r){"
"return r.ok?r.text():null}).then(function(t){busy=false;last=Date.now();"
"if(!t)return;var n=new DOMParser().parseFromString(t,'text/html')"
".getElementById('live');if(n){n=document.importNode(n,true);"
"live.replaceWith(n);live=n}}).catch(function(){busy=false;"
"last=Date.now()})},1000)})();";

/* Everything the page shows, read before it is drawn. */
struct dash {
	struct stats_snap	 snap;		/* as /api/generation/stats */
	struct history		*hours, *days;
	struct kind_count	 kinds[GE__MAX];
	int			 nkinds;
	struct top_prompt	 top[TOP_N];
	int			 ntop;
	struct flight_row	 flight[2 * FLIGHT_N];
	int			 nflight;
};

/* Read it all. 0, -1 (database away: 503) or -2 (not migrated: 500). */
static int
load(struct rq *rq, struct dash *d)
{
	struct db	*db = rq_db(rq);
	int		 rc;

	if (db == NULL)
		return -1;
	/* The figures the stats page reads, from its snapshot. */
	if ((rc = stats_snapshot(rq, &d->snap)) != 0)
		return rc;
	if (history_load(db, 3600, 48, d->hours) != 0 ||
	    history_load(db, 86400, 30, d->days) != 0 ||
	    (d->nkinds = db_failure_kinds(db, d->days->from, d->kinds,
	    GE__MAX)) < 0 ||
	    (d->ntop = db_top_prompts(db, d->top, TOP_N)) < 0 ||
	    (d->nflight = db_in_flight(db, d->flight, FLIGHT_N)) < 0)
		return -1;
	return 0;
}

static void
kpi(struct hbuf *b, const char *label, const char *value, const char *sub)
{
	hbuf_puts(b, "<div class=\"kpi\"><span class=\"mute\">");
	html_text(b, label);
	hbuf_puts(b, "</span><b>");
	html_text(b, value);
	hbuf_puts(b, "</b>");
	if (sub != NULL) {
		hbuf_puts(b, "<span class=\"mute\">");
		html_text(b, sub);
		hbuf_puts(b, "</span>");
	}
	hbuf_puts(b, "</div>");
}

static void
ms_text(char *out, size_t outsz, int64_t ms)
{
	if (ms < 0)
		snprintf(out, outsz, "-");
	else
		snprintf(out, outsz, "%lld ms", (long long)ms);
}

static void
figures(struct hbuf *b, const struct rq *rq, const struct dash *d)
{
	const struct gen_stats	*t = &d->snap.periods[0], *a = &d->snap.periods[1];
	const struct cfg	*c = rq->w->cfg;
	char			 v[64], sub[96], p50[24], p95[24];

	hbuf_puts(b, "<div class=\"kpis\" id=\"figures\">");
	snprintf(v, sizeof(v), "%s %%", a->savings_percent);
	snprintf(sub, sizeof(sub), "today %s %%", t->savings_percent);
	kpi(b, "API calls saved", v, sub);
	snprintf(v, sizeof(v), "$%s", a->cost_usd_saved);
	snprintf(sub, sizeof(sub), "today $%s", t->cost_usd_saved);
	kpi(b, "Dollars saved", v, sub);
	snprintf(v, sizeof(v), "$%s", a->cost_usd_spent);
	snprintf(sub, sizeof(sub), "today $%s", t->cost_usd_spent);
	kpi(b, "Dollars spent", v, sub);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)a->total_requests);
	snprintf(sub, sizeof(sub), "%llu paid calls, %llu cache hits",
	    (unsigned long long)a->api_calls_made,
	    (unsigned long long)a->cache_hits);
	kpi(b, "Requests", v, sub);
	ms_text(p50, sizeof(p50), a->gen_ms_p50);
	ms_text(p95, sizeof(p95), a->gen_ms_p95);
	snprintf(sub, sizeof(sub), "p95 %s", p95);
	kpi(b, "Generation p50", p50, sub);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(d->snap.queue.queued[0] +
	    d->snap.queue.queued[1] + d->snap.queue.queued[2]));
	snprintf(sub, sizeof(sub), "slots %llu of %u in use",
	    (unsigned long long)d->snap.queue.slots_busy, c->queue_max_concurrent);
	kpi(b, "Queued", v, sub);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)a->in_flight);
	snprintf(sub, sizeof(sub), "%lld clients waiting",
	    (long long)metrics_waiters_now());
	kpi(b, "In flight", v, sub);
	/* The budget's own books exist only under a cap ([budget]). */
	if (c->budget_daily_usd > 0) {
		snprintf(v, sizeof(v), "$%.4f", d->snap.spent_usd);
		snprintf(sub, sizeof(sub), "$%.4f reserved, $%.4f left of $%.2f",
		    d->snap.reserved_usd, c->budget_daily_usd - d->snap.spent_usd - d->snap.reserved_usd,
		    c->budget_daily_usd);
	} else {
		snprintf(v, sizeof(v), "$%s", t->cost_usd_spent);
		snprintf(sub, sizeof(sub), "no daily cap set");
	}
	kpi(b, "Budget spent today", v, sub);
	hbuf_puts(b, "</div>");
}

static void
failures(struct hbuf *b, const struct dash *d)
{
	hbuf_puts(b, "<h2>Failures by kind, 30 days</h2>");
	if (d->nkinds == 0) {
		hbuf_puts(b, "<p class=\"mute\" id=\"failures\">None.</p>");
		return;
	}
	hbuf_puts(b, "<div class=\"tbl\"><table id=\"failures\"><tr>"
	    "<th>kind</th><th class=\"n\">failures</th></tr>");
	for (int i = 0; i < d->nkinds; i++) {
		hbuf_puts(b, "<tr><td>");
		html_text(b, d->kinds[i].kind);
		hbuf_printf(b, "</td><td class=\"n\">%llu</td></tr>",
		    (unsigned long long)d->kinds[i].n);
	}
	hbuf_puts(b, "</table></div>");
}

/* A thumbnail: only of a stored image of this host (CSP: img-src). */
static void
thumb(struct hbuf *b, const struct top_prompt *t)
{
	if (strcmp(t->status, "completed") != 0 || t->url[0] != '/' ||
	    t->url[1] == '/') {
		hbuf_puts(b, "<td></td>");
		return;
	}
	hbuf_puts(b, "<td><img class=\"thumb\" loading=\"lazy\" alt=\"\" "
	    "width=\"40\" height=\"40\" src=\"");
	html_attr(b, t->url);
	hbuf_puts(b, "\"></td>");
}

static void
top_prompts(struct hbuf *b, const struct dash *d)
{
	hbuf_puts(b, "<h2>Most requested prompts</h2><div class=\"tbl\">"
	    "<table id=\"top\"><tr><th></th><th>prompt</th><th>size</th>"
	    "<th class=\"n\">requests</th><th class=\"n\">paid calls</th>"
	    "<th class=\"n\">saved</th><th>status</th></tr>");
	for (int i = 0; i < d->ntop; i++) {
		const struct top_prompt *t = &d->top[i];

		hbuf_puts(b, "<tr>");
		thumb(b, t);
		hbuf_puts(b, "<td class=\"p\">");
		html_text(b, t->prompt);
		hbuf_puts(b, "</td><td>");
		html_text(b, t->dimensions);
		hbuf_puts(b, " ");
		html_text(b, t->format);
		hbuf_printf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">"
		    "%llu</td><td class=\"n\">%llu</td><td>",
		    (unsigned long long)t->total_requests,
		    (unsigned long long)t->api_calls_made,
		    (unsigned long long)t->api_calls_saved);
		html_text(b, t->status);
		hbuf_puts(b, "</td></tr>");
	}
	if (d->ntop == 0)
		hbuf_puts(b, "<tr><td></td><td class=\"mute\" colspan=\"6\">"
		    "No images yet.</td></tr>");
	hbuf_puts(b, "</table></div>");
}

static void
in_flight(struct hbuf *b, const struct dash *d)
{
	static const char *const classes[] = { "premium", "standard", "batch" };

	hbuf_puts(b, "<h2>Generations in flight now</h2>");
	if (d->nflight == 0) {
		hbuf_puts(b, "<p class=\"mute\" id=\"flight\">None.</p>");
		return;
	}
	hbuf_puts(b, "<div class=\"tbl\"><table id=\"flight\"><tr>"
	    "<th>prompt</th><th>size</th><th>status</th><th>class</th>"
	    "<th class=\"n\">for</th></tr>");
	for (int i = 0; i < d->nflight; i++) {
		const struct flight_row *f = &d->flight[i];

		hbuf_puts(b, "<tr><td class=\"p\">");
		html_text(b, f->prompt);
		hbuf_puts(b, "</td><td>");
		html_text(b, f->dimensions);
		hbuf_puts(b, "</td><td>");
		html_text(b, f->status);
		hbuf_printf(b, "</td><td>%s</td><td class=\"n\">%.1f s</td>"
		    "</tr>", classes[f->queue_class < 3 ? f->queue_class : 2],
		    (double)f->age_ms / 1000);
	}
	hbuf_puts(b, "</table></div>");
}

/*
 * [access] mode = signed: for the operator, the form that mints a URL,
 * and the URL the last POST minted (minted NULL: none; why: the reason
 * it was not); for a reader, where minting is.
 */
static void
mint_form(struct hbuf *b, struct rq *rq, enum dash_who who,
    const char *minted, const char *why)
{
	const struct cfg	*c = rq->w->cfg;

	if (who != DASH_OPERATOR) {
		hbuf_puts(b, "<h2>Mint a signed URL</h2><p class=\"mute\" "
		    "id=\"mintoff\">This session may look, not mint: log in "
		    "with the operator's secret (<code>[pages] "
		    "operator_token_file</code>) to mint signed URLs.</p>");
		return;
	}
	hbuf_puts(b, "<h2>Mint a signed URL</h2><form id=\"mint\" "
	    "class=\"card grid\" method=\"post\" action=\"");
	html_attr(b, c->base_path);
	hbuf_puts(b, "dashboard\"><input type=\"hidden\" name=\"action\" "
	    "value=\"mint\"><label class=\"wide\">Prompt<input name=\"text\" "
	    "required></label><label>Width<input name=\"width\" "
	    "type=\"number\" value=\"1024\"></label><label>Height<input "
	    "name=\"height\" type=\"number\" value=\"1024\"></label><label>"
	    "Format<select name=\"format\"><option>jpg</option><option>png"
	    "</option></select></label><label>Seed<input name=\"seed\" "
	    "type=\"number\" min=\"0\"></label><label>Expires in (s)<input "
	    "name=\"expires\" type=\"number\" min=\"1\"></label>"
	    "<button type=\"submit\">Mint</button></form>");
	if (why != NULL) {
		hbuf_puts(b, "<p class=\"err\">");
		html_text(b, why);
		hbuf_puts(b, "</p>");
	}
	if (minted != NULL) {
		hbuf_puts(b, "<div class=\"row card\"><input id=\"url\" "
		    "readonly aria-label=\"Signed URL\" value=\"");
		html_attr(b, minted);
		hbuf_puts(b, "\"><button id=\"copy\" type=\"button\">Copy"
		    "</button></div>");
	}
}

/* The signed URL of the form in body, into out. 0, or -1 with *why. */
static int
mint(struct rq *rq, const char *body, size_t len, struct hbuf *out,
    const char **why)
{
	const struct cfg	*c = rq->w->cfg;
	struct img_form		 f;
	struct hbuf		 path, q;
	unsigned char		 secret[SIGN_SECRET_LEN];
	char			 sig[SIGN_LEN + 1], exp[16];
	long long		 secs = 0;
	int			 rc = -1;

	hbuf_init(&path, 8192);
	hbuf_init(&q, 16384);
	if (pageutil_form(body, len, &f, why) == -1 ||
	    pageutil_image(rq, &f, &path, &q, why) != 0)
		goto out;
	if (form_get(body, len, "expires", exp, sizeof(exp)) == 1 &&
	    exp[0] != '\0') {
		secs = strtoll(exp, NULL, 10);
		if (secs <= 0 || strspn(exp, "0123456789") != strlen(exp)) {
			*why = "expires is a number of seconds";
			goto out;
		}
		hbuf_printf(&q, "&exp=%lld", (long long)time(NULL) + secs);
	}
	sign_key_secret((const unsigned char *)c->access_secret,
	    strlen(c->access_secret), SIGN_DEFAULT_KID, secret);
	sign_make(secret, path.p, q.p, q.len, sig);
	OPENSSL_cleanse(secret, sizeof(secret));
	pageutil_origin(rq, out);
	hbuf_puts(out, c->base_path);
	hbuf_puts(out, path.p + 1);
	hbuf_printf(out, "?%s&sig=%s", q.p, sig);
	rc = out->overflow ? -1 : 0;
	if (rc == -1)
		*why = "URL too long";
out:
	hbuf_free(&path);
	hbuf_free(&q);
	return rc;
}

static void
render(struct rq *rq, const struct dash *d, enum dash_who who,
    const char *minted, const char *why)
{
	const struct cfg	*c = rq->w->cfg;
	struct hbuf		 b;

	hbuf_init(&b, HBUF_MAX);
	layout_begin(&b, c, "Dashboard");
	hbuf_puts(&b, "<h1>Dashboard</h1><div id=\"live\" "
	    "data-refresh=\"30\">");
	figures(&b, rq, d);
	hbuf_puts(&b, "<h2>Traffic</h2><div class=\"charts\">");
	dashcharts_traffic(&b, d->hours, "hourly", "Per hour, 48 h");
	dashcharts_traffic(&b, d->days, "daily", "Per day, 30 days");
	dashcharts_money(&b, d->days);
	dashcharts_times(&b, d->hours);
	hbuf_puts(&b, "</div>");
	failures(&b, d);
	in_flight(&b, d);
	top_prompts(&b, d);
	hbuf_puts(&b, "</div>");
	if (c->access_mode == ACCESS_SIGNED)
		mint_form(&b, rq, who, minted, why);
	hbuf_puts(&b, "<form method=\"post\" action=\"");
	html_attr(&b, c->base_path);
	hbuf_puts(&b, "dashboard\"><input type=\"hidden\" name=\"action\" "
	    "value=\"logout\"><p class=\"mute\">Charts come from the hourly "
	    "rollup (UTC); their figures are served as JSON at "
	    "<code>api/generation/history</code>. "
	    "<button class=\"plain\" type=\"submit\">Log out</button></p>"
	    "</form>");
	layout_end(&b, script);
	rq->outcome = OUT_PAGE;
	layout_send(rq, 200, &b, script, NULL, NULL, NULL, NULL);
	hbuf_free(&b);
}

/* Load and draw the dashboard for who, with a mint's result. */
static void
show(struct rq *rq, enum dash_who who, const char *minted, const char *why)
{
	struct dash	*d = xcalloc(1, sizeof(*d));
	int		 rc;

	d->hours = xmalloc(sizeof(*d->hours));
	d->days = xmalloc(sizeof(*d->days));
	if ((rc = load(rq, d)) != 0) {
		rq->outcome = rc == -1 ? OUT_DBERR : OUT_ERROR;
		http_text(rq, rc == -1 ? 503 : 500, rc == -1 ? "Retry-After" :
		    NULL, "5", rc == -1 ? "database unavailable" :
		    "failed to read the figures (is sql/009_rollup.sql "
		    "applied?)");
	} else
		render(rq, d, who, minted, why);
	free(d->hours);
	free(d->days);
	free(d);
}

/*
 * POST /dashboard: log in, log out, or mint. Every one must come from
 * a page of this host (pageutil_same_origin(): 403 otherwise); minting
 * needs an operator's session (403 for a reader, 401 for nobody).
 */
static void
post(struct rq *rq)
{
	char		*body = xmalloc(BODY_MAX);
	char		 action[16];
	struct hbuf	 url;
	const char	*why = NULL;
	enum dash_who	 who;
	int		 n;

	if (!pageutil_same_origin(rq)) {
		rq->outcome = OUT_FORBIDDEN;
		http_text(rq, 403, NULL, NULL, "cross-origin form refused");
	} else if ((n = pageutil_body(rq, body, BODY_MAX)) < 0) {
		rq->outcome = OUT_BAD_REQUEST;
		http_text(rq, 413, NULL, NULL, "form too large");
	} else if (form_get(body, (size_t)n, "action", action,
	    sizeof(action)) != 1) {
		rq->outcome = OUT_BAD_REQUEST;
		http_text(rq, 400, NULL, NULL, "no action");
	} else if (strcmp(action, "login") == 0)
		dashauth_login(rq, body, (unsigned)n);
	else if (strcmp(action, "logout") == 0)
		dashauth_logout(rq);
	else if ((who = dashauth_who(rq)) == DASH_NOBODY)
		dashauth_login_page(rq, 401, NULL);
	else if (strcmp(action, "mint") == 0 &&
	    rq->w->cfg->access_mode == ACCESS_SIGNED) {
		if (who != DASH_OPERATOR) {
			rq->outcome = OUT_FORBIDDEN;
			http_text(rq, 403, NULL, NULL, "minting needs the "
			    "operator's login");
		} else {
			hbuf_init(&url, 32768);
			if (mint(rq, body, (size_t)n, &url, &why) == 0)
				show(rq, who, url.p, NULL);
			else
				show(rq, who, NULL, why);
			hbuf_free(&url);
		}
	} else {
		rq->outcome = OUT_BAD_REQUEST;
		http_text(rq, 400, NULL, NULL, "unknown action");
	}
	OPENSSL_cleanse(body, BODY_MAX);
	free(body);
}

/*
 * /dashboard: 404 saying how to turn it on with neither secret set; 401
 * with the login form without a session; 200 with the page (the mint
 * form for the operator only); 503/500 when the figures cannot be read.
 */
void
page_dashboard(struct rq *rq)
{
	enum dash_who	 who;

	if (!dashauth_on(rq->w->cfg))
		dashauth_off_page(rq);
	else if (strcmp(rq->method, "POST") == 0)
		post(rq);
	else if ((who = dashauth_who(rq)) == DASH_NOBODY)
		dashauth_login_page(rq, 401, NULL);
	else
		show(rq, who, NULL, NULL);
}

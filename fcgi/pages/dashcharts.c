/*
 * dashcharts.c: the dashboard's charts; see dashcharts.h.
 */
#include <stdlib.h>

#include "dashcharts.h"
#include "history.h"
#include "svg.h"
#include "util.h"

/* The x values of h's rows. */
static int64_t *
times_of(const struct history *h)
{
	int64_t	*t = xcalloc((size_t)h->n + 1, sizeof(*t));

	for (int i = 0; i < h->n; i++)
		t[i] = h->rows[i].t;
	return t;
}

static void
draw(struct hbuf *b, const struct history *h, const char *id,
    const char *title, const char *unit, int counts, struct svg_series *s,
    size_t ns)
{
	struct svg_chart	 c;
	int64_t			*t = times_of(h);

	c.id = id;
	c.title = title;
	c.unit = unit;
	c.t = t;
	c.n = (size_t)h->n;
	c.from = h->from;
	c.to = h->to;
	c.step = h->step;
	c.s = s;
	c.nseries = ns;
	c.counts = counts;
	svg_chart(b, &c);
	free(t);
}

void
dashcharts_traffic(struct hbuf *b, const struct history *h, const char *id,
    const char *title)
{
	double	*y = xcalloc(3 * ((size_t)h->n + 1), sizeof(*y));
	size_t	 n = (size_t)h->n + 1;
	struct svg_series s[3] = {
		{ "requests", y }, { "cache hits", y + n },
		{ "paid calls", y + 2 * n }
	};

	for (int i = 0; i < h->n; i++) {
		y[i] = (double)h->rows[i].requests;
		y[n + i] = (double)h->rows[i].cache_hits;
		y[2 * n + i] = (double)h->rows[i].paid_calls;
	}
	draw(b, h, id, title, "", 1, s, 3);
	free(y);
}

void
dashcharts_money(struct hbuf *b, const struct history *h)
{
	double	*y = xcalloc(2 * ((size_t)h->n + 1), sizeof(*y));
	size_t	 n = (size_t)h->n + 1;
	struct svg_series s[2] = {
		{ "spent", y }, { "saved", y + n }
	};

	for (int i = 0; i < h->n; i++) {
		y[i] = strtod(h->rows[i].spent_usd, NULL);
		y[n + i] = strtod(h->rows[i].saved_usd, NULL);
		/* Retries can cost more than one call per request did. */
		if (y[n + i] < 0)
			y[n + i] = 0;
	}
	draw(b, h, "money", "Dollars spent and saved per day, 30 days", "$", 1,
	    s, 2);
	free(y);
}

void
dashcharts_times(struct hbuf *b, const struct history *h)
{
	double	*y = xcalloc(2 * ((size_t)h->n + 1), sizeof(*y));
	size_t	 n = (size_t)h->n + 1;
	struct svg_series s[2] = {
		{ "p50", y }, { "p95", y + n }
	};

	for (int i = 0; i < h->n; i++) {
		y[i] = (double)h->rows[i].ms_p50;
		y[n + i] = (double)h->rows[i].ms_p95;
	}
	draw(b, h, "times", "Generation time per hour, 48 h (at most, by "
	    "bucket)", "ms", 0, s, 2);
	free(y);
}

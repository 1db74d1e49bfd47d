/*
 * svg.c: the dashboard's line charts as inline SVG; see svg.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "html.h"
#include "svg.h"

/* The drawing area inside a viewBox of W x H. */
#define W	640
#define H	220
#define LEFT	64
#define RIGHT	10
#define TOP	12
#define BOTTOM	34

/* The smallest 1, 2 or 5 times a power of ten at or above v. */
static double
nice_max(double v)
{
	double	 p;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	if (v <= p)
		return p;
	if (v <= 2 * p)
		return 2 * p;
	if (v <= 5 * p)
		return 5 * p;
	return 10 * p;
}

void
svg_label(char *out, size_t outsz, double v, const char *unit)
{
	if (unit != NULL && strcmp(unit, "$") == 0) {
		snprintf(out, outsz, v == 0 || v >= 100 ? "$%.0f" : v >= 1 ?
		    "$%.2f" : "$%.4f", v);
		return;
	}
	if (unit != NULL && strcmp(unit, "ms") == 0 && v >= 1000) {
		snprintf(out, outsz, "%.3g s", v / 1000);
		return;
	}
	if (v >= 1e6)
		snprintf(out, outsz, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, outsz, "%.1fk", v / 1e3);
	else if (v == floor(v))
		snprintf(out, outsz, "%.0f", v);
	else
		snprintf(out, outsz, "%.2f", v);
	if (unit != NULL && *unit != '\0') {
		size_t	 n = strlen(out);

		snprintf(out + n, outsz - n, " %s", unit);
	}
}

static double
x_of(const struct svg_chart *c, int64_t t)
{
	double	 span = (double)(c->to - c->from);

	if (span <= 0)
		return LEFT;
	return LEFT + (double)(t - c->from) / span * (W - LEFT - RIGHT);
}

static double
y_of(double v, double max)
{
	return TOP + (1 - v / max) * (H - TOP - BOTTOM);
}

/* A time on the x axis: hours for hourly charts, days for daily ones. */
static void
time_label(char *out, size_t outsz, int64_t t, int64_t step)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, step < 86400 ? "%d %b %H:00" : "%d %b", &tm);
}

static void
axes(struct hbuf *b, const struct svg_chart *c, double max)
{
	char	 l[48];
	double	 y;

	for (int i = 0; i <= 2; i++) {
		y = y_of(max * i / 2, max);
		hbuf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" "
		    "x2=\"%d\" y2=\"%.1f\"/>", LEFT, y, W - RIGHT, y);
		svg_label(l, sizeof(l), max * i / 2, c->unit);
		hbuf_printf(b, "<text class=\"ax\" x=\"%d\" y=\"%.1f\" "
		    "text-anchor=\"end\">", LEFT - 6, y + 4);
		html_text(b, l);
		hbuf_puts(b, "</text>");
	}
	for (int i = 0; i <= 2; i++) {
		int64_t	 t = c->from + (c->to - c->from) * i / 2;

		t -= t % (c->step > 0 ? c->step : 1);
		time_label(l, sizeof(l), t, c->step);
		hbuf_printf(b, "<text class=\"ax\" x=\"%.1f\" y=\"%d\" "
		    "text-anchor=\"%s\">", x_of(c, t), H - 10,
		    i == 0 ? "start" : i == 1 ? "middle" : "end");
		html_text(b, l);
		hbuf_puts(b, "</text>");
	}
}

/* The value of series s in the slot at t, or -1 if no point is there. */
static double
value_at(const struct svg_chart *c, const struct svg_series *s, int64_t t,
    size_t *k)
{
	while (*k < c->n && c->t[*k] < t)
		(*k)++;
	if (*k < c->n && c->t[*k] == t)
		return s->y[*k];
	return -1;
}

static void
line(struct hbuf *b, const struct svg_chart *c, const struct svg_series *s,
    int cls, double max)
{
	size_t	 k = 0;
	int	 open = 0;
	double	 v;

	hbuf_printf(b, "<path class=\"ln c%d\" d=\"", cls);
	if (c->counts && c->step > 0) {
		for (int64_t t = c->from; t <= c->to; t += c->step) {
			if ((v = value_at(c, s, t, &k)) < 0)
				v = 0;
			hbuf_printf(b, "%s%.1f %.1f", open ? " L" : "M",
			    x_of(c, t), y_of(v, max));
			open = 1;
		}
	} else {
		for (size_t i = 0; i < c->n; i++) {
			if (s->y[i] < 0) {
				open = 0;
				continue;
			}
			hbuf_printf(b, "%s%.1f %.1f", open ? " L" : " M",
			    x_of(c, c->t[i]), y_of(s->y[i], max));
			open = 1;
		}
	}
	hbuf_puts(b, "\"/>");
}

static void
points(struct hbuf *b, const struct svg_chart *c, const struct svg_series *s,
    int cls, double max)
{
	char	 when[32], v[48];

	for (size_t i = 0; i < c->n; i++) {
		if (s->y[i] < 0)
			continue;
		time_label(when, sizeof(when), c->t[i], c->step);
		svg_label(v, sizeof(v), s->y[i], c->unit);
		hbuf_printf(b, "<circle class=\"pt c%d\" data-series=\"", cls);
		html_attr(b, s->name);
		hbuf_printf(b, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>",
		    x_of(c, c->t[i]), y_of(s->y[i], max));
		html_text(b, when);
		hbuf_puts(b, " ");
		html_text(b, s->name);
		hbuf_puts(b, ": ");
		html_text(b, v);
		hbuf_puts(b, "</title></circle>");
	}
}

void
svg_chart(struct hbuf *b, const struct svg_chart *c)
{
	double	 max = 0;
	size_t	 ns = c->nseries > 4 ? 4 : c->nseries;

	for (size_t j = 0; j < ns; j++)
		for (size_t i = 0; i < c->n; i++)
			if (c->s[j].y[i] > max)
				max = c->s[j].y[i];
	max = nice_max(max);
	hbuf_puts(b, "<figure class=\"chart\"><figcaption>");
	html_text(b, c->title);
	for (size_t j = 0; j < ns; j++) {
		hbuf_printf(b, " <span class=\"key c%zu\">", j);
		html_text(b, c->s[j].name);
		hbuf_puts(b, "</span>");
	}
	hbuf_puts(b, "</figcaption><svg id=\"");
	html_attr(b, c->id);
	hbuf_printf(b, "\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
	    W, H);
	html_attr(b, c->title);
	hbuf_puts(b, "\">");
	axes(b, c, max);
	if (c->n == 0)
		hbuf_printf(b, "<text class=\"ax\" x=\"%d\" y=\"%d\" "
		    "text-anchor=\"middle\">no data yet</text>",
		    (LEFT + W - RIGHT) / 2, (TOP + H - BOTTOM) / 2);
	for (size_t j = 0; j < ns; j++)
		line(b, c, &c->s[j], (int)j, max);
	for (size_t j = 0; j < ns; j++)
		points(b, c, &c->s[j], (int)j, max);
	hbuf_puts(b, "</svg></figure>\n");
}

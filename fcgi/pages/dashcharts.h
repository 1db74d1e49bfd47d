/*
 * dashcharts.h: the dashboard's charts, drawn from windows of the
 * rollup (history.h) with svg.h.
 */
#ifndef PP_DASHCHARTS_H
#define PP_DASHCHARTS_H

struct hbuf;
struct history;

/*
 * Requests, cache hits and paid calls per slot of h (id "hourly" or
 * "daily"), titled title.
 */
void	dashcharts_traffic(struct hbuf *, const struct history *h,
	    const char *id, const char *title);

/* Dollars spent against dollars saved per slot of h (id "money"). */
void	dashcharts_money(struct hbuf *, const struct history *h);

/* Generation time p50 and p95 per slot of h (id "times"). */
void	dashcharts_times(struct hbuf *, const struct history *h);

#endif

/*
 * svg.h: line charts drawn on the server as inline SVG, so that the
 * dashboard's charts need neither JavaScript nor an asset from
 * anywhere. Colours come from the page's CSS (classes c0..c3), so the
 * charts follow its light or dark theme. Pure: writes into an hbuf.
 */
#ifndef PP_SVG_H
#define PP_SVG_H

#include <stddef.h>
#include <stdint.h>

struct hbuf;

struct svg_series {
	const char	*name;		/* the legend, and data-series="" */
	const double	*y;		/* a value per point; < 0: none */
};

struct svg_chart {
	const char		*id;	/* the element's id */
	const char		*title;
	const char		*unit;	/* "$" for money, else appended */
	const int64_t		*t;	/* unix seconds per point, ascending */
	size_t			 n;	/* points */
	int64_t			 from;	/* the x axis, in unix seconds */
	int64_t			 to;
	int64_t			 step;	/* a slot: 3600 or 86400 */
	const struct svg_series	*s;
	size_t			 nseries;	/* at most 4 */
	int			 counts;	/* a slot without a point is 0
						   (else the line skips it) */
};

/*
 * The chart as an <svg> element: one <circle class="pt"> per point and
 * series that has a value (so a chart of n rows holds n circles per
 * series), joined by a line, with the axes labelled.
 */
void	svg_chart(struct hbuf *, const struct svg_chart *);

/* v as a chart label: "$0.0031", "1.2k", "250 ms", "2.5 s". */
void	svg_label(char *out, size_t outsz, double v, const char *unit);

#endif

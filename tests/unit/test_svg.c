/*
 * test_svg.c: svg.c's charts: a point per row and series, the line
 * through every slot of a count chart, labels, and text escaped.
 */
#include <string.h>

#include "html.h"
#include "svg.h"
#include "t.h"

static int
count(const char *s, const char *what)
{
	int	 n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void
chart(void)
{
	int64_t			 t[3] = { 7200, 14400, 18000 };
	double			 a[3] = { 10, 0, 25 }, b[3] = { -1, 5, 7 };
	struct svg_series	 s[2] = { { "requests", a }, { "p<95>", b } };
	struct svg_chart	 c = {
		.id = "hourly", .title = "Per \"hour\"", .unit = "", .t = t,
		.n = 3, .from = 3600, .to = 18000, .step = 3600, .s = s,
		.nseries = 2, .counts = 1
	};
	struct hbuf		 h;

	hbuf_init(&h, 1 << 20);
	svg_chart(&h, &c);
	T_CHECK(!h.overflow && strncmp(h.p, "<figure", 7) == 0, "figure");
	T_CHECK(count(h.p, "<circle") == 5, "points: %d", count(h.p, "<circle"));
	T_CHECK(count(h.p, "data-series=\"requests\"") == 3, "series a");
	T_CHECK(count(h.p, "data-series=\"p&lt;95&gt;\"") == 2, "series b");
	T_CHECK(strstr(h.p, "p<95>") == NULL, "name escaped");
	T_CHECK(strstr(h.p, "aria-label=\"Per &quot;hour&quot;\"") != NULL,
	    "title escaped");
	T_CHECK(strstr(h.p, "id=\"hourly\"") != NULL, "id");
	/* A count chart's line visits every slot from..to: 5 of them. */
	{
		const char	*d = strstr(h.p, "class=\"ln c0\" d=\"");

		T_CHECK(d != NULL && count(d, " L") >= 4, "line through slots");
	}
	T_CHECK(strstr(h.p, "no data yet") == NULL, "has data");
	hbuf_free(&h);

	c.n = 0;
	hbuf_init(&h, 1 << 20);
	svg_chart(&h, &c);
	T_CHECK(count(h.p, "<circle") == 0 && strstr(h.p, "no data yet"),
	    "empty chart");
	hbuf_free(&h);
}

static void
labels(void)
{
	static const struct {
		double		 v;
		const char	*unit, *out;
	} cases[] = {
		{ 0, "", "0" }, { 12, "", "12" }, { 2.5, "", "2.50" },
		{ 12000, "", "12.0k" }, { 3500000, "", "3.5M" },
		{ 250, "ms", "250 ms" }, { 2500, "ms", "2.5 s" },
		{ 0, "$", "$0" }, { 0.0031, "$", "$0.0031" },
		{ 5, "$", "$5.00" }, { 250, "$", "$250" },
	};
	char	 out[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		svg_label(out, sizeof(out), cases[i].v, cases[i].unit);
		T_CHECK(strcmp(out, cases[i].out) == 0, "label %zu: %s", i, out);
	}
}

void
test_svg(void)
{
	chart();
	labels();
}

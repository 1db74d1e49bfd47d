/*
 * page.c: routing: the table of pages by path, and the 404 and 405
 * answers for everything else.
 */
#include <string.h>

#include "request.h"
#include "page.h"
#include "req.h"

static const struct page_def pages[PAGE__MAX] = {
	[PAGE_IMAGE] = { "image", page_image, NULL },
	[PAGE_STATS] = { "stats", page_stats, "/api/generation/stats" },
	[PAGE_METRICS] = { "metrics", page_metrics, "/metrics" },
	[PAGE_HOME] = { "home", page_home, "/" },
	[PAGE_DASHBOARD] = { "dashboard", page_dashboard, "/dashboard", 1 },
	[PAGE_HISTORY] = { "history", page_history, "/api/generation/history" },
};

static int
route(const char *path)
{
	for (int i = 0; i < PAGE__MAX; i++)
		if (pages[i].path != NULL && strcmp(path, pages[i].path) == 0)
			return i;
	if (req_is_image_path(path))
		return PAGE_IMAGE;
	return -1;
}

void
page_serve(struct worker *w, const char *conf_path)
{
	struct rq	 rq;

	if (request_open(&rq, w, conf_path) == 0)
		page_dispatch(&rq);
	request_close(&rq);
}

void
page_dispatch(struct rq *rq)
{
	int	 p = route(rq->path);

	if (p < 0) {
		rq->outcome = OUT_NOT_FOUND;
		http_text(rq, 404, NULL, NULL, "not found");
		return;
	}
	if (pages[p].post && strcmp(rq->method, "POST") == 0) {
		pages[p].handle(rq);
		return;
	}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		rq->outcome = OUT_BAD_METHOD;
		http_text(rq, 405, "Allow", pages[p].post ? "GET, HEAD, POST" :
		    "GET, HEAD", pages[p].post ? "method not allowed (use GET, "
		    "HEAD or POST)" : "method not allowed (use GET or HEAD)");
		return;
	}
	pages[p].handle(rq);
}

/*
 * page.h: the pages the responder serves, routed through one table.
 * Each handler answers exactly once through http.h.
 */
#ifndef PP_PAGE_H
#define PP_PAGE_H

struct rq;

enum page {
	PAGE_IMAGE,		/* /{W}x{H}.{ext}?text=... */
	PAGE_STATS,		/* /api/generation/stats */
	PAGE_METRICS,		/* /metrics */
	PAGE__MAX
};

struct page_def {
	const char	*name;		/* for logs */
	void		(*handle)(struct rq *);
	const char	*path;		/* exact path, or NULL (see route()) */
};

/*
 * Route rq->path (already stripped of the configured base path) to a
 * page and answer: 404 for an unknown path, 405 for a method other than
 * GET or HEAD.
 */
void	page_dispatch(struct rq *);

void	page_image(struct rq *);
void	page_stats(struct rq *);
void	page_metrics(struct rq *);

#endif

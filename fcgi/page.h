/*
 * page.h: the pages the responder serves, routed through one table.
 * Each handler answers exactly once through request.h.
 */
#ifndef PP_PAGE_H
#define PP_PAGE_H

struct rq;
struct worker;

enum page {
	PAGE_IMAGE,		/* /{W}x{H}.{ext}?text=... */
	PAGE_STATS,		/* /api/generation/stats */
	PAGE_METRICS,		/* /metrics */
	PAGE_HOME,		/* / ([pages] home) */
	PAGE_DASHBOARD,		/* /dashboard, GET and POST */
	PAGE_HISTORY,		/* /api/generation/history */
	PAGE__MAX
};

struct page_def {
	const char	*name;		/* for logs */
	void		(*handle)(struct rq *);
	const char	*path;		/* exact path, or NULL (see route()) */
	int		 post;		/* POST is allowed too */
};

/*
 * Answer the request just accepted on w (request.h: set up, routed
 * here, closed); the configuration was read from conf_path.
 */
void	page_serve(struct worker *w, const char *conf_path);

/*
 * Route rq->path (already stripped of the configured base path) to a
 * page and answer: 404 for an unknown path, 405 for a method other than
 * GET or HEAD (or POST, where the page takes it).
 */
void	page_dispatch(struct rq *);

void	page_image(struct rq *);
void	page_stats(struct rq *);
struct stats_snap;
/*
 * The stats figures (statcache.h), read from the database at most once
 * per [stats] cache period: 0, -1 (database away) or -2 (not migrated).
 */
int	stats_snapshot(struct rq *, struct stats_snap *);
void	page_metrics(struct rq *);
void	page_home(struct rq *);
void	page_dashboard(struct rq *);
void	page_history(struct rq *);

#endif

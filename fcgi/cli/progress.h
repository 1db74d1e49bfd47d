/*
 * progress.h: the progress of a long command (`promptpix warm`, `store
 * migrate`) on stderr: a bar redrawn in place on a terminal, or one
 * plain line per 10 % when stderr is a file or a pipe (a CI log).
 * Formatting is pure; progress_show() writes.
 */
#ifndef PP_PROGRESS_H
#define PP_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Whose progress: which figures the lines show. */
enum progress_kind {
	PROGRESS_WARM,		/* failed, queued, running, spent */
	PROGRESS_COPY		/* copied, there already, failed */
};

struct progress {
	enum progress_kind kind;
	unsigned	 total;		/* distinct images */
	unsigned	 done;		/* finished: ok, exists or failed */
	unsigned	 failed;
	unsigned	 queued;	/* warm: pending */
	unsigned	 running;	/* warm: generating */
	double		 spent_usd;	/* warm: recorded for what finished */
	unsigned	 copied;	/* copy: written */
	unsigned	 there;		/* copy: found there already */
	int64_t		 t0_ms;		/* when the wait began */
	unsigned	 done0;		/* done when it began */
	int		 decile;	/* last plain line: 10 % steps */
	int64_t		 moved_ms;	/* when done or running last moved */
	unsigned	 moved_done;
	int		 stall_told;
};

/*
 * Has nothing finished, and nothing run, for after_ms (since p->moved_ms)?
 * Returns 1 the first time only; any movement starts the count again.
 */
int	progress_stalled(struct progress *, int64_t now_ms, int64_t after_ms);

/*
 * Seconds left at the rate seen since t0 (images finished since then),
 * or -1 when nothing finished yet to tell.
 */
int64_t	progress_eta(const struct progress *, int64_t now_ms);

/* "1h02m", "3m05s", "42s", or "?" for eta < 0. */
void	progress_eta_text(int64_t eta, char *out, size_t outsz);

/*
 * The bar line, without a newline, at most width columns:
 *   [########------------] 12/50 failed 1 queued 35 running 2 $0.0372 ETA 1m20s
 *   [########------------] 12/50 copied 10 there 2 failed 0 ETA 1m20s
 */
void	progress_bar(const struct progress *, int64_t now_ms, int width,
	    char *out, size_t outsz);

/*
 * The plain line, with a newline:
 *   warm: 20% 10/50 done, failed 0, queued 38, running 2, $0.031457, ETA 42s
 *   store migrate: 20% 10/50 done, copied 8, there 2, failed 0, ETA 42s
 */
void	progress_plain(const struct progress *, int64_t now_ms, char *out,
	    size_t outsz);

/* Which 10 % step done/total has reached: 0..10 (10 when total is 0). */
int	progress_decile(unsigned done, unsigned total);

/*
 * Show p on f: on a terminal (tty), the bar redrawn over itself; else a
 * plain line each time another 10 % step is reached (p->decile keeps
 * the last one).
 */
void	progress_show(FILE *f, int tty, struct progress *p, int64_t now_ms);

/* On a terminal: end the bar's line. */
void	progress_end(FILE *f, int tty);

#endif

/*
 * history.h: windows of the hourly rollup, for the dashboard's charts
 * and GET /api/generation/history, which serves the same figures as
 * JSON.
 */
#ifndef PP_HISTORY_H
#define PP_HISTORY_H

#include <stdint.h>

#include "dbhistory.h"

#define HISTORY_MAX_HOURS	168
#define HISTORY_MAX_DAYS	90

struct history {
	int64_t		 step;		/* 3600 or 86400 */
	int64_t		 from;		/* the first slot's start */
	int64_t		 to;		/* the last slot's (now's) start */
	int		 n;		/* rows: slots that have any */
	struct hist_row	 rows[HISTORY_MAX_HOURS];
};

/*
 * The last count slots of step seconds up to now, into *h (allocated
 * by the caller: it is large). Returns 0, or -1 (the database).
 */
int	history_load(struct db *, int64_t step, int count, struct history *h);

#endif

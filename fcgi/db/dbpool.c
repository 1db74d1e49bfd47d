/*
 * dbpool.c: a fixed set of struct db shared by the request threads,
 * handed out last in, first out so that warm connections are reused.
 */
#include <pthread.h>
#include <time.h>

#include "db.h"
#include "dbpool.h"
#include "util.h"

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 back;
static struct db	**idle;		/* a stack of the free ones */
static unsigned		 nidle;

void
dbpool_init(const struct cfg *c, unsigned n)
{
	pthread_condattr_t	 ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&back, &ca);
	pthread_condattr_destroy(&ca);
	idle = xcalloc(n, sizeof(*idle));
	for (nidle = 0; nidle < n; nidle++)
		idle[nidle] = db_new(c);
}

struct db *
dbpool_get(int64_t timeout_ms)
{
	struct timespec	 ts;
	struct db	*db = NULL;
	int64_t		 end = now_ms() + timeout_ms;

	ts.tv_sec = end / 1000;
	ts.tv_nsec = (end % 1000) * 1000000;
	pthread_mutex_lock(&mtx);
	while (nidle == 0 &&
	    pthread_cond_timedwait(&back, &mtx, &ts) == 0)
		continue;
	if (nidle > 0)
		db = idle[--nidle];
	pthread_mutex_unlock(&mtx);
	return db;
}

void
dbpool_put(struct db *db)
{
	if (db == NULL)
		return;
	db_set_request(db, NULL);
	pthread_mutex_lock(&mtx);
	idle[nidle++] = db;
	pthread_cond_signal(&back);
	pthread_mutex_unlock(&mtx);
}

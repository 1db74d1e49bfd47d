/*
 * waker.c: the wake-ups of this process's waiters from the database
 * (see waker.h).
 */
#include <pthread.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "flight.h"
#include "hash.h"
#include "log.h"
#include "util.h"
#include "waker.h"

/* How often the database is asked while clients wait. */
#define POLL_MS		5
/* ... and how often it looks whether anyone waits. */
#define IDLE_MS		50
/* What "lately" means: longer than any pause between two polls. */
#define WINDOW_MS	3000
/* How often every awaited row is read, in case a poll missed it. */
#define SWEEP_MS	1000
/* Most hashes handled per poll; the rest wait for the next one. */
#define BATCH		256

struct waker {
	const struct cfg	*cfg;
	struct db		*db;
	char			 done[BATCH][HASH_HEX_LEN + 1];
	unsigned		 ndone;
	unsigned		 sweep_from;	/* flight_list()'s position */
};

static void
note_done(const char *hash, void *arg)
{
	struct waker	*wk = arg;

	if (wk->ndone < BATCH && flight_open(hash))
		memcpy(wk->done[wk->ndone++], hash, HASH_HEX_LEN + 1);
}

/* Read the row of hash; if it is finished, land its flight. */
static void
land_if_done(struct waker *wk, const char *hash)
{
	struct flight_result	 fr;

	memset(&fr, 0, sizeof(fr));
	if (db_fetch(wk->db, hash, &fr.row) != 1 ||
	    (fr.row.status != GS_COMPLETED && fr.row.status != GS_FAILED))
		return;
	fr.kind = FLIGHT_ROW;
	fr.at_us = now_us();
	flight_publish(hash, &fr);
}

static void
poll_done(struct waker *wk)
{
	wk->ndone = 0;
	if (db_done_since(wk->db, WINDOW_MS, note_done, wk) == -1)
		return;
	for (unsigned i = 0; i < wk->ndone; i++)
		land_if_done(wk, wk->done[i]);
}

static void
sweep(struct waker *wk)
{
	wk->ndone = flight_list(wk->done, BATCH, &wk->sweep_from);
	for (unsigned i = 0; i < wk->ndone; i++)
		land_if_done(wk, wk->done[i]);
}

static void *
waker_main(void *arg)
{
	struct waker	*wk = arg;
	int64_t		 now, sweep_at = 0;

	db_thread_init();
	wk->db = db_new(wk->cfg);
	for (;;) {
		now = now_ms();
		if (flight_count() == 0) {
			sleep_ms(IDLE_MS);
			continue;
		}
		if (now >= sweep_at) {
			sweep(wk);
			sweep_at = now + SWEEP_MS;
		} else
			poll_done(wk);
		sleep_ms(POLL_MS);
	}
	return NULL;
}

int
waker_start(const struct cfg *c)
{
	static struct waker	 wk;
	pthread_t		 tid;

	wk.cfg = c;
	if (pthread_create(&tid, NULL, waker_main, &wk) != 0)
		return -1;
	pthread_detach(tid);
	return 0;
}

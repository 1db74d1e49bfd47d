/*
 * waker.c: the wake-ups of this process's waiters from the database,
 * polled once for the host (see waker.h). Two threads per process: the
 * poll thread holds the database connection (it polls when the host
 * elected it, and sweeps this process's awaited rows now and then); the
 * ring thread never touches the database (it says how many flights this
 * process has open, and lands what the ring brings).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "flight.h"
#include "hash.h"
#include "hostwait.h"
#include "log.h"
#include "util.h"
#include "waker.h"

/* How often the poller asks the database while anyone on the host waits. */
#define POLL_MS		5
/* How often the ring is read while this process has waiters. */
#define READ_MS		2
/* How often each thread looks whether anyone waits, when nobody does. */
#define IDLE_MS		10
/*
 * How far before the last poll each poll looks: longer than a finish's
 * transaction takes from its completed_at = NOW(3) to its commit. Every
 * WIDE_EVERY_MS, and first after the host was idle, a poll looks back
 * WIDE_MARGIN_MS instead, for a commit or a count that came late.
 */
#define MARGIN_MS	250
#define WIDE_MARGIN_MS	3000
#define WIDE_EVERY_MS	1000
/* After a failed poll, the next one waits this long, doubled up to MAX. */
#define RETRY_MS	50
#define RETRY_MAX_MS	1000
/* How often a process reads its awaited rows itself: the safety net... */
#define SWEEP_MS	10000
/* ... and at most how often when its ring reader lost entries. */
#define SWEEP_SOON_MS	200
/* A ring thread that did not run for this long (a stopped process) sweeps. */
#define STALL_MS	500
/* Most flights one sweep reads. */
#define SWEEP_MAX	1024

struct waker {
	const struct cfg	*cfg;
	struct hostwait		*hw;
	struct hostwait_member	 me;
	atomic_int		 sweep_soon;	/* the ring thread lost rows */
	/* The poll thread's own. */
	struct db		*db;
	struct hostwait_seen	*seen;
	int			 polling;	/* the poller at the last turn */
	int			 was_busy;	/* the host, at the last turn */
	int64_t			 next_poll;
	int64_t			 next_wide;
	unsigned		 retry_ms;
	int64_t			 next_sweep;	/* 0: no flight open */
	int64_t			 last_sweep;
	unsigned		 sweep_from;	/* flight_list()'s position */
};

/* Made before the fork by waker_init(), so that the children share it. */
static struct hostwait	*host_region;

/* Land a finished row on this process's flight for hash, if any. */
static void
land(const char *hash, const struct gen_row *row, void *arg)
{
	struct flight_result	 fr;

	(void)arg;
	if (row->status != GS_COMPLETED && row->status != GS_FAILED)
		return;
	fr.kind = FLIGHT_ROW;
	fr.row = *row;
	fr.at_us = now_us();
	flight_publish(hash, &fr);
}

/* A row the poll read: into the ring, unless an earlier poll put it. */
static void
publish(const char *hash, const struct gen_row *row, void *arg)
{
	struct waker	*wk = arg;

	if (hostwait_seen_add(wk->seen, hash, row->res.completed_ms,
	    now_ms()))
		hostwait_publish(wk->hw, hash, row);
}

/*
 * One poll for the host: the rows that finished since the last poll
 * whose rows were published (or since the host was last idle, or the
 * longest any client waits, whichever is latest), less a margin. Only
 * a poll that read all its rows moves the cursor on.
 */
static void
poll_host(struct waker *wk, int64_t now, int wide)
{
	int64_t		 idle = hostwait_idle_at(wk->hw), db_now = 0;
	unsigned	 lookback = wk->cfg->max_wait_ms;

	if (idle > 0 && now - idle < lookback)
		lookback = (unsigned)(now - idle);
	if (wk->seen == NULL)
		wk->seen = hostwait_seen_new();
	if (db_done_rows(wk->db, hostwait_cursor(wk->hw), lookback,
	    wide ? WIDE_MARGIN_MS : MARGIN_MS, &db_now, publish, wk) == -1) {
		wk->next_poll = now + wk->retry_ms;
		wk->retry_ms = wk->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
		    wk->retry_ms * 2;
		return;
	}
	wk->retry_ms = RETRY_MS;
	if (wide)
		wk->next_wide = now + WIDE_EVERY_MS;
	hostwait_advance(wk->hw, db_now);
}

/* Is it this process's turn to poll? Says so when it becomes the poller. */
static int
my_turn(struct waker *wk, int64_t now)
{
	int64_t		 silent;

	if (!hostwait_turn(&wk->me, now, &silent)) {
		wk->polling = 0;
		return 0;
	}
	if (!wk->polling && silent >= 0)
		log_info(NULL, "waker: this process polls the database for "
		    "the host's waiters now (the last poller was silent for "
		    "%lld ms)", (long long)silent);
	else if (!wk->polling)
		log_info(NULL, "waker: this process polls the database for "
		    "the host's waiters");
	wk->polling = 1;
	return 1;
}

/*
 * The safety net: read this process's awaited rows in batches, and
 * land those that finished.
 */
static void
sweep(struct waker *wk)
{
	char		 hash[DB_FETCH_MANY][HASH_HEX_LEN + 1];
	unsigned	 n, done = 0, open = flight_count();

	while (done < open && done < SWEEP_MAX &&
	    (n = flight_list(hash, DB_FETCH_MANY, &wk->sweep_from)) > 0) {
		if (db_fetch_many(wk->db, (const char (*)[65])hash, n, land,
		    NULL) == -1)
			return;
		done += n;
	}
}

/* Sweep when it is due, or soon after the ring thread lost rows. */
static void
sweep_if_due(struct waker *wk, int64_t now)
{
	if (flight_count() == 0) {
		wk->next_sweep = 0;
		return;
	}
	/* A new wait read its row itself: nothing to sweep for a while. */
	if (wk->next_sweep == 0)
		wk->next_sweep = now + SWEEP_MS;
	if (now < wk->next_sweep && !(atomic_load(&wk->sweep_soon) &&
	    now - wk->last_sweep >= SWEEP_SOON_MS))
		return;
	atomic_store(&wk->sweep_soon, 0);
	sweep(wk);
	wk->last_sweep = now;
	wk->next_sweep = now + SWEEP_MS;
}

static void *
poll_main(void *arg)
{
	struct waker	*wk = arg;
	int64_t		 now;
	int		 busy;

	db_thread_init();
	wk->db = db_new(wk->cfg);
	/*
	 * Connected before it can be elected: a poller that connected at
	 * its first poll would fall silent long enough to be replaced.
	 */
	(void)db_ensure(wk->db);
	for (;;) {
		now = now_ms();
		if (!(busy = hostwait_busy(wk->hw, now)))
			hostwait_idle(wk->hw, now);
		if (my_turn(wk, now) && busy && now >= wk->next_poll) {
			poll_host(wk, now, !wk->was_busy ||
			    now >= wk->next_wide);
			/* Its silence is counted from the poll's end. */
			(void)my_turn(wk, now_ms());
		}
		wk->was_busy = busy;
		sweep_if_due(wk, now);
		sleep_ms(busy ? POLL_MS : IDLE_MS);
	}
	return NULL;
}

static void *
ring_main(void *arg)
{
	struct waker		*wk = arg;
	struct hostwait_reader	 r;
	int64_t			 now, last = now_ms();
	unsigned		 open;

	hostwait_reader_init(&r, wk->hw);
	for (;;) {
		now = now_ms();
		open = flight_count();
		hostwait_waiting(&wk->me, open, now);
		/*
		 * Every entry is read, waiters or not: one that opens a
		 * flight now may wait for a row already in the ring.
		 */
		if (hostwait_read(wk->hw, &r, now, land, NULL) > 0 ||
		    (open > 0 && now - last > STALL_MS))
			atomic_store(&wk->sweep_soon, 1);
		last = now;
		sleep_ms(open > 0 ? READ_MS : IDLE_MS);
	}
	return NULL;
}

int
waker_init(void)
{
	int	 shared;

	if (host_region != NULL)
		return 0;
	host_region = hostwait_new(1, &shared);
	if (shared)
		return 0;
	log_warn(NULL, "waker: no shared memory; each process polls the "
	    "database for its own waiters");
	return -1;
}

int
waker_start(const struct cfg *c)
{
	static struct waker	 wk;
	pthread_t		 tid;
	int			 shared;

	if (host_region == NULL)
		host_region = hostwait_new(0, &shared);
	wk.cfg = c;
	wk.hw = host_region;
	wk.retry_ms = RETRY_MS;
	hostwait_member_init(&wk.me, wk.hw);
	if (pthread_create(&tid, NULL, poll_main, &wk) != 0)
		return -1;
	pthread_detach(tid);
	if (pthread_create(&tid, NULL, ring_main, &wk) != 0)
		return -1;
	pthread_detach(tid);
	return 0;
}

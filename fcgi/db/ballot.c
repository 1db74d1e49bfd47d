/*
 * ballot.c: one election of an image, for a request or a warm-up (see
 * ballot.h).
 */
#include <string.h>

#include "ballot.h"
#include "cfg.h"
#include "util.h"

/*
 * How long a new row is held (no worker takes it) while its request
 * looks for its image in the image cache and, with [similar] on, for a
 * similar image: if the request dies meanwhile, a worker takes the job
 * after this.
 */
#define NEW_ROW_HOLD_MS	3000

void
ballot_init(struct db_ballot *b, const struct cfg *c, const char *hash,
    const struct img_req *r, enum queue_class qc, const char *key, int warm)
{
	memset(b, 0, sizeof(*b));
	b->hash = hash;
	b->r = r;
	b->model = c->model;
	b->qc = qc;
	b->key = key;
	/* Only a job costs: its estimate, when a budget or a quota applies. */
	b->cost = c->budget_daily_usd > 0 || key != NULL ?
	    (double)r->w * r->h / 1e6 * c->cost_per_megapixel : -1;
	b->cap = c->budget_daily_usd;
	b->hold_ms = NEW_ROW_HOLD_MS;
	b->warm = warm;
	b->exact = r->exact;
	b->similar = !warm && c->similar_threshold > 0 && !r->exact;
}

int
ballot_requeue_due(const struct img_req *r, const struct gen_row *row)
{
	return (row->status == GS_FAILED && row->retry_due) ||
	    (row->status == GS_COMPLETED && row->alias && r->exact);
}

/* A db_elect()/db_requeue() refusal as a ballot's answer. */
static enum ballot_got
refused(int rc)
{
	return rc == DB_BALLOT_OVER ? BALLOT_OVER :
	    rc == DB_BALLOT_KEY_OVER ? BALLOT_KEY_OVER : BALLOT_FAULT;
}

/*
 * This call created the row: it is completed from the image cache when
 * the cache has the image (its status row was cleaned up earlier), and
 * its reservation goes back; else its hold ends unless a similar lookup
 * follows.
 */
static enum ballot_got
new_row(struct db *db, const struct db_ballot *b, struct gen_row *row)
{
	int	 rc;

	if ((rc = db_complete_from_cache(db, b->hash, b->exact)) == 1)
		return db_budget_release_row(db, b->hash) == 0 &&
		    db_fetch(db, b->hash, row) == 1 ? BALLOT_CACHED :
		    BALLOT_FAULT;
	/* Without the release, the hold runs out by itself. */
	if (rc == -1 || !b->similar)
		db_hold_release(db, b->hash);
	return rc == -1 ? BALLOT_NEW_UNCHECKED : BALLOT_NEW;
}

enum ballot_got
ballot_cast(struct db *db, struct db_ballot *b, struct gen_row *row)
{
	int	 rc, tries = 0;

	memset(row, 0, sizeof(*row));
again:
	b->elect_id = random_u64();
	if ((rc = db_elect(db, b)) < 0)
		return refused(rc);
	if (rc == 1)
		return new_row(db, b, row);
	if ((rc = db_fetch(db, b->hash, row)) == -1)
		return BALLOT_FAULT;
	/* A cleanup removed the row we were just counted in: elect again. */
	if (rc == 0) {
		if (tries++ == 0)
			goto again;
		return BALLOT_GONE;
	}
	if (!ballot_requeue_due(b->r, row))
		return BALLOT_EXISTS;
	/* One request queues the job again; the rest wait for it. */
	b->elect_id = random_u64();
	if ((rc = db_requeue(db, b)) < 0)
		return refused(rc);
	if (rc == 1)
		return BALLOT_REQUEUED;
	return db_fetch(db, b->hash, row) == 1 ? BALLOT_EXISTS : BALLOT_FAULT;
}

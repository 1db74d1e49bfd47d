/*
 * alias.c: a new image answered with a similar prompt's image (see
 * alias.h).
 */
#include <string.h>

#include "alias.h"
#include "cfg.h"
#include "flight.h"
#include "log.h"
#include "similar.h"
#include "util.h"

int
alias_find(struct db *db, const struct cfg *c, const char *hash,
    const char *rid, const struct img_req *r, struct gen_row *row,
    struct similar_match *m)
{
	struct flight_result	 fr;
	char			 score[16];
	int64_t			 t0 = now_us();
	int			 rc;

	rc = db_similar_find(db, r, c->model, c->similar_threshold, m);
	/* The lookup's time, for operators and make bench. */
	log_info(rid, "similar lookup %.12s: %lld us, %s", hash,
	    (long long)(now_us() - t0), rc == 1 ? "match" : rc == 0 ? "none" :
	    "failed");
	if (rc != 1 || db_similar_alias(db, hash, m) != 1) {
		/* Without the release, the hold runs out by itself. */
		db_hold_release(db, hash);
		return 0;
	}
	/* No call: its reservation goes back. */
	if (db_budget_release_row(db, hash) == -1)
		log_warn(rid, "%.12s: its reservation is held until the job "
		    "ends", hash);
	if (db_fetch(db, hash, row) != 1 || row->status != GS_COMPLETED)
		return 2;
	memset(&fr, 0, sizeof(fr));
	fr.kind = FLIGHT_ROW;
	fr.row = *row;
	fr.at_us = now_us();
	flight_publish(hash, &fr);
	sim_score_text(m->score, score, sizeof(score));
	log_info(rid, "Generation Status: %.12s completed as similar to "
	    "%.12s score=%s", hash, m->hash, score);
	return 1;
}

/*
 * calls.c: a generation worker's ledger of paid calls; see calls.h.
 */
#include <string.h>

#include "calls.h"
#include "cfg.h"
#include "db.h"
#include "log.h"
#include "rollup.h"
#include "util.h"

/* Pauses between writes the database did not take. */
#define PAUSE_MS	50
#define PAUSE_MAX_MS	1000

int
book_write(struct call_book *b, struct db *db)
{
	int	 rc;

	pthread_mutex_lock(&b->mtx);
	if (!b->pending) {
		pthread_mutex_unlock(&b->mtx);
		return 0;
	}
	rc = db_call_end(db, b->hash, b->cur, b->token, b->fate, b->charged,
	    b->cost, &b->job);
	if (rc == -1) {
		b->maybe = 1;
		pthread_mutex_unlock(&b->mtx);
		return -1;
	}
	/*
	 * Counted in the rollup once: when this write made it, or when one
	 * whose answer was lost did (the row names our token).
	 */
	if (rc == 1 || (rc == 2 && b->maybe))
		rollup_call(b->fate != CALL_UNSENT,
		    b->fate != CALL_UNSENT && b->charged ? b->cost : 0);
	else if (rc == 0)
		log_warn(b->rid, "%.12s: our call's fate came after another "
		    "worker's; it counted the call as paid", b->hash);
	b->pending = 0;
	pthread_mutex_unlock(&b->mtx);
	return 0;
}

int
book_settle(struct call_book *b, int64_t until)
{
	int64_t	 pause = PAUSE_MS;
	int	 warned = 0;

	while (book_write(b, b->db) == -1) {
		if (until != 0 && now_ms() + pause >= until)
			return -1;
		if (!warned++)
			log_warn(b->rid, "%.12s: cannot record a paid call's "
			    "fate yet; trying until the database is back",
			    b->hash);
		sleep_ms(pause);
		pause = pause * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : pause * 2;
	}
	return 0;
}

/* The hooks' gen_calls.begin(): see backend.h. */
static int
hook_begin(void *arg, struct gen_result *res)
{
	struct call_book	*b = arg;
	uint64_t		 id = random_u64();
	int64_t			 pause = PAUSE_MS;
	int			 rc;

	/* A new call is checked against the row's last: its fate first. */
	if (book_settle(b, b->deadline_ms) == -1) {
		gen_result_fail(res, GE_INTERNAL, "the database could not "
		    "record the last call; nothing was sent");
		return -1;
	}
	while ((rc = db_call_begin(b->db, b->hash, b->token, b->cur, id,
	    b->cost, b->cfg->budget_daily_usd)) == -1 &&
	    now_ms() + pause < b->deadline_ms) {
		sleep_ms(pause);
		pause = pause * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : pause * 2;
	}
	switch (rc) {
	case 1:
		pthread_mutex_lock(&b->mtx);
		b->cur = id;
		pthread_mutex_unlock(&b->mtx);
		return 0;
	case 0:
		gen_result_fail(res, GE_INTERNAL, "the job is no longer ours; "
		    "nothing was sent");
		break;
	case DB_BALLOT_OVER:
		gen_result_fail(res, GE_BUDGET, "daily budget reached; nothing "
		    "was sent");
		break;
	case DB_BALLOT_KEY_OVER:
		gen_result_fail(res, GE_BUDGET, "this key's daily quota is "
		    "reached; nothing was sent");
		break;
	default:
		gen_result_fail(res, GE_INTERNAL, "the database could not "
		    "record the call; nothing was sent");
		break;
	}
	log_warn(b->rid, "%.12s: call not sent: %s", b->hash,
	    res->error_message);
	return -1;
}

/* gen_calls.end(): written at once, or kept for the leaser. */
static void
hook_end(void *arg, enum call_fate fate, int charged,
    const struct upstream_job *job)
{
	struct call_book	*b = arg;

	pthread_mutex_lock(&b->mtx);
	b->fate = fate;
	b->charged = charged;
	if (job != NULL)
		b->job = *job;
	else
		memset(&b->job, 0, sizeof(b->job));
	b->maybe = 0;
	b->pending = 1;
	pthread_mutex_unlock(&b->mtx);
	if (book_write(b, b->db) == -1)
		log_warn(b->rid, "%.12s: the call's fate waits for the "
		    "database", b->hash);
}

/* gen_calls.gone(): after its fate, the job is marked gone. */
static void
hook_gone(void *arg)
{
	struct call_book	*b = arg;

	if (book_settle(b, b->deadline_ms) == -1 ||
	    db_call_gone(b->db, b->hash, b->cur) == -1)
		log_warn(b->rid, "%.12s: not marked gone; a retry will find "
		    "out from fal", b->hash);
}

/* gen_calls.unbilled(): after its fate, the charge taken back. */
static void
hook_unbilled(void *arg)
{
	struct call_book	*b = arg;
	int			 rc = -1, maybe = 0;
	int64_t			 pause = PAUSE_MS;

	if (book_settle(b, b->deadline_ms + PAUSE_MAX_MS) == 0)
		while ((rc = db_call_refund(b->db, b->hash, b->cur, b->token,
		    b->cost)) == -1 && pause < PAUSE_MAX_MS) {
			maybe = 1;
			sleep_ms(pause);
			pause *= 2;
		}
	if (rc == 1 || (rc == 2 && maybe))
		rollup_call(0, -b->cost);
	else if (rc == -1)
		log_warn(b->rid, "%.12s: a call fal does not bill stays "
		    "counted as billed", b->hash);
}

/* gen_calls.ours(): our claim's lease, renewed, says so. */
static int
hook_ours(void *arg)
{
	struct call_book	*b = arg;

	return db_job_lease(b->db, b->hash, b->token,
	    b->cfg->queue_lease_ms) == 1;
}

void
book_init(struct call_book *b, const struct cfg *c, struct db *db,
    const char *rid)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->mtx, NULL);
	b->cfg = c;
	b->db = db;
	b->rid = rid;
	b->hooks.begin = hook_begin;
	b->hooks.end = hook_end;
	b->hooks.gone = hook_gone;
	b->hooks.unbilled = hook_unbilled;
	b->hooks.ours = hook_ours;
	b->hooks.arg = b;
}

void
book_open(struct call_book *b, const char *hash, uint64_t token,
    uint64_t cur, double cost, int64_t deadline_ms)
{
	pthread_mutex_lock(&b->mtx);
	strlcpy_chk(b->hash, hash, sizeof(b->hash));
	b->token = token;
	b->cur = cur;
	b->cost = cost;
	b->deadline_ms = deadline_ms;
	b->pending = b->maybe = 0;
	pthread_mutex_unlock(&b->mtx);
}

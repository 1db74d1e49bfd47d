/*
 * dbcalls.c: the ledger of paid calls (sql/013_paid_calls.sql): the
 * row's current call to the backend, written before it goes out and
 * again with what became of it, and the money that moves with it. Each
 * step is one transaction keyed by the call's id, so that sending it
 * again after its answer was lost changes nothing.
 */
#include <string.h>

#include "dbint.h"
#include "util.h"

static const char *const state_names[CS__MAX] = {
	[CS_NONE] = "",
	[CS_SENDING] = "sending",
	[CS_TAKEN] = "taken",
	[CS_LOST] = "lost",
	[CS_REFUSED] = "refused",
	[CS_UNSENT] = "unsent",
	[CS_DONE] = "done",
	[CS_GONE] = "gone",
};

static enum call_state
state_parse(const char *s)
{
	for (int i = 0; i < CS__MAX; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum call_state)i;
	return CS_GONE;		/* one this build does not know: never resumed */
}

const char *
db_call_state_name(enum call_state s)
{
	return (unsigned)s < CS__MAX ? state_names[s] : "gone";
}

/* A row as the ledger reads it (ST_CALL_GET's columns). */
struct ledger_row {
	struct db_call	 call;
	uint64_t	 closer;	/* who wrote the call's fate */
	int		 generating;	/* status = 'generating' */
	uint64_t	 token;		/* the claim's */
	double		 reserved;	/* the row's reservation; < 0 none */
	double		 call_reserved;	/* the call's; < 0 none */
	char		 key[33];	/* client key, or "" */
	char		 day[16];	/* the reservations' day, or "" */
};

/* Read hash's ledger row (locked inside a transaction). 1, 0, -1. */
static int
ledger_read(struct db *db, enum stmt_id id, const char *hash,
    struct ledger_row *lr)
{
	struct upstream_job	*u = &lr->call.job;
	struct params		 p = { .n = 0 };
	MYSQL_STMT		*st;
	MYSQL_BIND		 r[15];
	unsigned long		 len[15];
	char			 state[16], status[16];
	int			 rc;

	memset(lr, 0, sizeof(*lr));
	db_p_str(&p, hash);
	if ((st = db_stmt_exec(db, id, &p)) == NULL)
		return -1;
	db_r_u64(&r[0], &lr->call.id);
	db_r_str(&r[1], state, sizeof(state), &len[1]);
	db_r_u64(&r[2], &lr->closer);
	db_r_str(&r[3], status, sizeof(status), &len[3]);
	db_r_u64(&r[4], &lr->token);
	db_r_double(&r[5], &lr->reserved);
	db_r_double(&r[6], &lr->call_reserved);
	db_r_str(&r[7], lr->key, sizeof(lr->key), &len[7]);
	db_r_str(&r[8], lr->day, sizeof(lr->day), &len[8]);
	db_r_str(&r[9], u->id, sizeof(u->id), &len[9]);
	db_r_str(&r[10], u->status_url, sizeof(u->status_url), &len[10]);
	db_r_str(&r[11], u->response_url, sizeof(u->response_url), &len[11]);
	db_r_str(&r[12], u->cancel_url, sizeof(u->cancel_url), &len[12]);
	db_r_str(&r[13], u->image_url, sizeof(u->image_url), &len[13]);
	db_r_i64(&r[14], &lr->call.age_ms);
	if ((rc = db_stmt_row(db, st, r)) != 1)
		return rc;
	db_r_term(state, sizeof(state), len[1]);
	db_r_term(status, sizeof(status), len[3]);
	db_r_term(lr->key, sizeof(lr->key), len[7]);
	db_r_term(lr->day, sizeof(lr->day), len[8]);
	db_r_term(u->id, sizeof(u->id), len[9]);
	db_r_term(u->status_url, sizeof(u->status_url), len[10]);
	db_r_term(u->response_url, sizeof(u->response_url), len[11]);
	db_r_term(u->cancel_url, sizeof(u->cancel_url), len[12]);
	db_r_term(u->image_url, sizeof(u->image_url), len[13]);
	lr->call.state = state_parse(state);
	lr->generating = strcmp(status, gen_status_name(GS_GENERATING)) == 0;
	return 1;
}

int
db_call_get(struct db *db, const char *hash, struct db_call *c)
{
	struct ledger_row	 lr;
	int			 rc;

	if ((rc = ledger_read(db, ST_CALL_GET, hash, &lr)) == 1)
		*c = lr.call;
	else
		memset(c, 0, sizeof(*c));
	return rc;
}

/* One fate written for the call of lr, and its money moved. */
struct fate {
	const char		*hash;
	uint64_t		 id;
	uint64_t		 closer;
	enum call_state		 state;		/* what it became */
	int			 charged;	/* the backend may bill it */
	double			 cost;		/* what it would bill */
	const struct upstream_job *job;		/* TAKEN: fal's job */
};

/*
 * ST_CALL_END for f, on the row lr: a charge spends the call's
 * reservation (budget_days, key_days) as the cost; without one, the
 * reservation goes back to the row for the next call. 0 or -1.
 */
static int
write_fate(struct db *db, const struct ledger_row *lr, const struct fate *f)
{
	static const struct upstream_job none;
	const struct upstream_job	*u = f->job ? f->job : &none;
	struct params			 p = { .n = 0 };

	db_p_str(&p, db_call_state_name(f->state));
	db_p_u64(&p, f->closer);
	db_p_u64(&p, f->state == CS_UNSENT);
	db_p_double(&p, f->charged ? f->cost : 0);
	if (!f->charged && lr->call_reserved >= 0)
		db_p_double(&p, lr->call_reserved);
	else
		db_p_null(&p);
	db_p_str(&p, u->id);
	db_p_str(&p, u->status_url);
	db_p_str(&p, u->response_url);
	db_p_str(&p, u->cancel_url);
	db_p_str(&p, u->image_url);
	db_p_str(&p, f->hash);
	db_p_u64(&p, f->id);
	if (db_stmt_run(db, ST_CALL_END, &p) < 0)
		return -1;
	if (!f->charged || lr->call_reserved < 0)
		return 0;
	return db_budget_spend(db, lr->day, lr->key, lr->call_reserved,
	    f->cost);
}

/*
 * Inside a transaction: lock the row of f's call into *lr. Returns 1
 * while f's call is the row's, 0 when another took its place (or the
 * row is gone), -1.
 */
static int
lock_call(struct db *db, const struct fate *f, struct ledger_row *lr)
{
	int	 rc;

	if ((rc = ledger_read(db, ST_CALL_LOCK, f->hash, lr)) != 1)
		return rc;
	return lr->call.id == f->id;
}

/* ST_CALL_GONE: the job of call id, if taken, is gone. 0 or -1. */
static int
mark_gone(struct db *db, const char *hash, uint64_t id)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, hash);
	db_p_u64(&p, id);
	return db_stmt_run(db, ST_CALL_GONE, &p) < 0 ? -1 : 0;
}

/* db_txn's body for db_call_end(). */
static int
end_body(struct db *db, void *arg)
{
	const struct fate	*f = arg;
	struct ledger_row	 lr;
	int			 rc;

	if ((rc = lock_call(db, f, &lr)) != 1)
		return rc;
	if (lr.call.state != CS_SENDING)
		return lr.closer == f->closer ? 2 : 0;
	return write_fate(db, &lr, f) == -1 ? -1 : 1;
}

int
db_call_end(struct db *db, const char *hash, uint64_t id, uint64_t closer,
    enum call_fate fate, int charged, double cost,
    const struct upstream_job *job)
{
	static const enum call_state states[] = {
		[CALL_TAKEN] = CS_TAKEN,
		[CALL_LOST] = CS_LOST,
		[CALL_REFUSED] = CS_REFUSED,
		[CALL_UNSENT] = CS_UNSENT,
	};
	struct fate	 f = { hash, id, closer, states[fate],
	    fate != CALL_UNSENT && charged, cost, fate == CALL_TAKEN ? job :
	    NULL };

	return db_txn(db, end_body, &f);
}

/* db_txn's body for db_call_supersede(). */
static int
supersede_body(struct db *db, void *arg)
{
	struct fate		*f = arg;
	struct ledger_row	 lr;
	int			 rc;

	if ((rc = lock_call(db, f, &lr)) != 1)
		return rc;
	if (lr.call.state == CS_SENDING)
		return write_fate(db, &lr, f) == -1 ? -1 : 1;
	if (lr.call.state == CS_TAKEN && mark_gone(db, f->hash, f->id) == -1)
		return -1;
	return 2;
}

int
db_call_supersede(struct db *db, const char *hash, uint64_t id,
    uint64_t token, double cost)
{
	struct fate	 f = { hash, id, token, CS_LOST, 1, cost, NULL };

	return db_txn(db, supersede_body, &f);
}

/* What db_call_begin() writes. */
struct begin {
	const char	*hash;
	uint64_t	 token;
	uint64_t	 prev;
	uint64_t	 id;
	double		 cost;
	double		 cap;
	int		 over;		/* DB_BALLOT_OVER or _KEY_OVER */
};

static int
begin_body(struct db *db, void *arg)
{
	struct begin		*b = arg;
	struct ledger_row	 lr;
	struct params		 p = { .n = 0 };
	double			 reserved;
	int			 rc, fresh = 0;

	if ((rc = ledger_read(db, ST_CALL_LOCK, b->hash, &lr)) != 1)
		return rc;
	if (lr.call.id == b->id)
		return 1;		/* begun before; its answer was lost */
	if (!lr.generating || lr.token != b->token || lr.call.id != b->prev ||
	    lr.call.state == CS_SENDING || lr.call.state == CS_TAKEN)
		return 0;
	reserved = lr.reserved;
	if (reserved < 0 && (b->cap > 0 || lr.key[0] != '\0')) {
		/* A call the row's reservation does not cover: a new one. */
		switch (db_budget_take(db, lr.key, b->cost, b->cap)) {
		case BUDGET_RESERVED:
			reserved = b->cost;
			fresh = 1;
			break;
		case BUDGET_OVER:
			b->over = DB_BALLOT_OVER;
			return -1;
		case BUDGET_KEY_OVER:
			b->over = DB_BALLOT_KEY_OVER;
			return -1;
		default:
			return -1;
		}
	}
	db_p_u64(&p, b->id);
	if (reserved >= 0)
		db_p_double(&p, reserved);
	else
		db_p_null(&p);
	db_p_u64(&p, fresh);
	db_p_str(&p, b->hash);
	return db_stmt_run(db, ST_CALL_BEGIN, &p) < 0 ? -1 : 1;
}

int
db_call_begin(struct db *db, const char *hash, uint64_t token, uint64_t prev,
    uint64_t id, double cost, double cap)
{
	struct begin	 b = { hash, token, prev, id, cost, cap, 0 };
	int		 rc = db_txn(db, begin_body, &b);

	return b.over != 0 ? b.over : rc;
}

/* db_txn's body for db_call_refund(). */
static int
refund_body(struct db *db, void *arg)
{
	const struct fate	*f = arg;
	struct ledger_row	 lr;
	struct params		 p = { .n = 0 };
	int			 rc;

	if ((rc = lock_call(db, f, &lr)) != 1)
		return rc;
	if (lr.call.state != CS_TAKEN)
		return lr.call.state == CS_GONE && lr.closer == f->closer ? 2 : 0;
	db_p_u64(&p, f->closer);
	db_p_double(&p, f->cost);
	db_p_str(&p, f->hash);
	db_p_u64(&p, f->id);
	if (db_stmt_run(db, ST_CALL_REFUND, &p) < 0)
		return -1;
	/* The budget counted it when it was charged: budget_day says so. */
	if (lr.day[0] != '\0' &&
	    db_budget_spend(db, lr.day, lr.key, 0, -f->cost) == -1)
		return -1;
	return 1;
}

int
db_call_refund(struct db *db, const char *hash, uint64_t id, uint64_t closer,
    double cost)
{
	struct fate	 f = { hash, id, closer, CS_GONE, 0, cost, NULL };

	return db_txn(db, refund_body, &f);
}

int
db_call_gone(struct db *db, const char *hash, uint64_t id)
{
	return mark_gone(db, hash, id);
}

/*
 * dbbudget.c: the daily budget and the keys' quotas in SQL
 * (sql/008_budget.sql): reservations taken when an image is queued (or
 * a call made for it: dbcalls.c), spent as the backend may bill its
 * calls, and given back when none did. Each step runs inside its
 * caller's transaction, so that a reservation and the row that holds it
 * are written together or not at all.
 */
#include <string.h>

#include "dbint.h"

/* Reserve on the key's quotas. 1, 0 over a quota, -1. */
static int
key_reserve(struct db *db, const char *key, double cost)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, key);
	if (db_stmt_run(db, ST_KEY_DAY, &p) < 0)
		return -1;
	p.n = 0;
	db_p_double(&p, cost);
	db_p_str(&p, key);
	db_p_double(&p, cost);
	return db_stmt_one(db, ST_KEY_RESERVE, &p);
}

enum budget_answer
db_budget_take(struct db *db, const char *key, double cost, double cap)
{
	struct params	 p = { .n = 0 };
	int		 rc;

	if (cap > 0) {
		if (db_stmt_run(db, ST_BUDGET_DAY, &p) < 0)
			return BUDGET_FAULT;
		db_p_double(&p, cost);
		db_p_double(&p, cost);
		db_p_double(&p, cap);
		if ((rc = db_stmt_one(db, ST_BUDGET_RESERVE, &p)) != 1)
			return rc == 0 ? BUDGET_OVER : BUDGET_FAULT;
	}
	if (key == NULL || *key == '\0')
		return BUDGET_RESERVED;
	/* Inside the caller's transaction: a refusal rolls the day's back. */
	if ((rc = key_reserve(db, key, cost)) == 1)
		return BUDGET_RESERVED;
	return rc == 0 ? BUDGET_KEY_OVER : BUDGET_FAULT;
}

int
db_budget_spend(struct db *db, const char *day, const char *key,
    double reserved, double spent)
{
	struct params	 p = { .n = 0 };

	db_p_double(&p, reserved);
	db_p_double(&p, spent);
	db_p_str(&p, day);
	if (db_stmt_run(db, ST_BUDGET_SETTLE, &p) < 0)
		return -1;
	if (key == NULL || *key == '\0')
		return 0;
	p.n = 0;
	db_p_double(&p, reserved);
	db_p_double(&p, spent);
	db_p_str(&p, key);
	db_p_str(&p, day);
	return db_stmt_run(db, ST_KEY_SETTLE, &p) < 0 ? -1 : 0;
}

int
db_row_release(struct db *db, const char *hash)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[3];
	unsigned long	 len[3];
	double		 reserved = 0;
	char		 day[16], key[33];
	int		 rc;

	db_p_str(&p, hash);
	if ((st = db_stmt_exec(db, ST_SETTLE_READ, &p)) == NULL)
		return -1;
	db_r_double(&r[0], &reserved);
	db_r_str(&r[1], day, sizeof(day), &len[1]);
	db_r_str(&r[2], key, sizeof(key), &len[2]);
	if ((rc = db_stmt_row(db, st, r)) != 1)
		return rc;
	db_r_term(day, sizeof(day), len[1]);
	db_r_term(key, sizeof(key), len[2]);
	p.n = 0;
	db_p_str(&p, hash);
	if (db_stmt_run(db, ST_SETTLE_TAKE, &p) < 0)
		return -1;
	return db_budget_spend(db, day, key, reserved, 0);
}

static int
release_body(struct db *db, void *arg)
{
	return db_row_release(db, arg) == -1 ? -1 : 0;
}

int
db_budget_release_row(struct db *db, const char *hash)
{
	return db_txn(db, release_body, (void *)hash);
}

int
db_budget_today(struct db *db, double *reserved, double *spent)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[2];

	*reserved = *spent = 0;
	if ((st = db_stmt_exec(db, ST_BUDGET_TODAY, &p)) == NULL)
		return -1;
	db_r_double(&r[0], reserved);
	db_r_double(&r[1], spent);
	return db_stmt_row(db, st, r) == 1 ? 0 : -1;
}

int
db_key_today(struct db *db, const char *id, long long *quota_images,
    double *quota_usd, long long *images, double *usd)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[4];
	int64_t		 qi = -1, n = 0;
	int		 rc;

	db_p_str(&p, id);
	if ((st = db_stmt_exec(db, ST_KEY_TODAY, &p)) == NULL)
		return -1;
	db_r_i64(&r[0], &qi);
	db_r_double(&r[1], quota_usd);
	db_r_i64(&r[2], &n);
	db_r_double(&r[3], usd);
	if ((rc = db_stmt_row(db, st, r)) != 1)
		return rc;
	*quota_images = qi;
	*images = n;
	return 1;
}

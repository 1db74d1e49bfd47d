/*
 * dbkeys.c: the client_keys table (sql/007_access.sql): looking a key
 * up for a request, and what `promptpix key` does.
 */
#include <string.h>

#include "dbint.h"

int
db_key_get(struct db *db, const char *id, struct client_key *k)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[2];
	int64_t		 tier = QC_STANDARD, enabled = 0;
	int		 rc;

	memset(k, 0, sizeof(*k));
	db_p_str(&p, id);
	if ((st = db_stmt_exec(db, ST_KEY_GET, &p)) == NULL)
		return -1;
	db_r_i64(&r[0], &tier);
	db_r_i64(&r[1], &enabled);
	if ((rc = db_stmt_row(db, st, r)) != 1)
		return rc;
	strncpy(k->id, id, sizeof(k->id) - 1);
	k->tier = tier >= 0 && tier < QC__MAX ? (enum queue_class)tier :
	    QC_BATCH;
	k->enabled = enabled != 0;
	return 1;
}

int
db_key_add(struct db *db, const char *id, const char *name,
    enum queue_class tier, long long daily_images, double daily_usd)
{
	struct params	 p = { .n = 0 };
	long		 n;

	db_p_str(&p, id);
	db_p_str(&p, name);
	db_p_u64(&p, tier);
	if (daily_images >= 0)
		db_p_u64(&p, (uint64_t)daily_images);
	else
		db_p_null(&p);
	if (daily_usd >= 0)
		db_p_double(&p, daily_usd);
	else
		db_p_null(&p);
	if ((n = db_stmt_run(db, ST_KEY_ADD, &p)) < 0)
		return db->m != NULL && db->dup ? 0 : -1;
	return 1;
}

int
db_key_list(struct db *db, void (*fn)(const struct client_key_row *, void *),
    void *arg)
{
	struct params		 p = { .n = 0 };
	struct client_key_row	 k;
	MYSQL_STMT		*st;
	MYSQL_BIND		 r[8];
	unsigned long		 len[8];
	int64_t			 tier, images, enabled;
	int			 rc, n = 0;

	if ((st = db_stmt_exec(db, ST_KEY_LIST, &p)) == NULL)
		return -1;
	memset(&k, 0, sizeof(k));
	db_r_str(&r[0], k.id, sizeof(k.id), &len[0]);
	db_r_str(&r[1], k.name, sizeof(k.name), &len[1]);
	db_r_i64(&r[2], &tier);
	db_r_i64(&r[3], &images);
	db_r_double(&r[4], &k.daily_usd);
	db_r_i64(&r[5], &enabled);
	db_r_str(&r[6], k.created, sizeof(k.created), &len[6]);
	db_r_str(&r[7], k.last_used, sizeof(k.last_used), &len[7]);
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "result", st);
		return -1;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		db_r_term(k.id, sizeof(k.id), len[0]);
		db_r_term(k.name, sizeof(k.name), len[1]);
		db_r_term(k.created, sizeof(k.created), len[6]);
		db_r_term(k.last_used, sizeof(k.last_used), len[7]);
		k.tier = (unsigned)tier;
		k.daily_images = images;
		k.enabled = enabled != 0;
		fn(&k, arg);
		n++;
	}
	mysql_stmt_free_result(st);
	return rc == MYSQL_NO_DATA ? n : -1;
}

int
db_key_disable(struct db *db, const char *id)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, id);
	return db_stmt_one(db, ST_KEY_DISABLE, &p);
}

int
db_key_used(struct db *db, const char *id)
{
	struct params	 p = { .n = 0 };

	db_p_str(&p, id);
	return db_stmt_run(db, ST_KEY_USED, &p) < 0 ? -1 : 0;
}

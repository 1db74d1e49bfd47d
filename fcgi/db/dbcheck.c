/*
 * dbcheck.c: the database's part of the start-up self-check: reachable,
 * writable (not a replica), and holding every migration this binary
 * needs (schema.c). Run once before a responder forks, and by
 * promptpix -t.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mysql.h>

#include "cfg.h"
#include "db.h"
#include "dbint.h"
#include "log.h"
#include "schema.h"

/* "0" or "OFF" (MariaDB 11 spells read_only so): the server writes. */
static int
is_off(const char *v)
{
	return strcmp(v, "0") == 0 || strcasecmp(v, "OFF") == 0;
}

/* 1 read-only (reason in why), 0 not, -1 not known. */
static int
check_read_only(struct db *db, const char *where, char *why, size_t whylen)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[2];
	char		 ro[16], iro[16];
	unsigned long	 len[2];

	if ((st = db_stmt_exec(db, ST_READ_ONLY, &p)) == NULL)
		return -1;
	memset(r, 0, sizeof(r));
	db_r_str(&r[0], ro, sizeof(ro), &len[0]);
	db_r_str(&r[1], iro, sizeof(iro), &len[1]);
	if (db_stmt_row(db, st, r) != 1)
		return -1;
	db_r_term(ro, sizeof(ro), len[0]);
	db_r_term(iro, sizeof(iro), len[1]);
	if (is_off(ro) && is_off(iro))
		return 0;
	snprintf(why, whylen, "the database server at %s is read-only "
	    "(@@read_only = %s, @@innodb_read_only = %s): promptpix writes "
	    "every request; point [database] at the primary (or the "
	    "cluster's writer endpoint)", where, ro, iro);
	return 1;
}

/* schema_first_missing()'s question: is version recorded? */
static int
has_version(unsigned version, void *arg)
{
	struct params	 p = { .n = 0 };
	long long	 n;

	db_p_u64(&p, version);
	if (db_stmt_scalar(arg, ST_SCHEMA_HAS, &p, &n) == -1)
		return -1;
	return n > 0;
}

/* schema_first_stale()'s question: is file recorded at version? */
static int
has_routines(const char *file, unsigned version, void *arg)
{
	struct params	 p = { .n = 0 };
	long long	 n;

	db_p_str(&p, file);
	db_p_u64(&p, version);
	if (db_stmt_scalar(arg, ST_ROUTINES_HAS, &p, &n) == -1)
		return -1;
	return n > 0;
}

/* 1 a migration is missing (reason in why), 0 none, -1 not known. */
static int
check_schema(struct db *db, const char *name, char *why, size_t whylen)
{
	const struct schema_migration	*m;
	const struct schema_routines	*r;
	struct params			 p = { .n = 0 };
	long long			 n;
	int				 fault;

	if (db_stmt_scalar(db, ST_SCHEMA_TABLE, &p, &n) == -1)
		return -1;
	if (n == 0) {
		snprintf(why, whylen, "the database %s has no schema_version "
		    "table: load the schema with sql/migrate.sh (or import "
		    "sql/install.sql into the empty database)", name);
		return 1;
	}
	if ((m = schema_first_missing(has_version, db, &fault)) != NULL) {
		snprintf(why, whylen, "the schema of database %s is older "
		    "than this promptpix needs: migration %u (sql/%s) is not "
		    "applied; run sql/migrate.sh", name, m->version, m->file);
		return 1;
	}
	if (fault)
		return -1;
	if ((r = schema_first_stale(has_routines, db, &fault)) == NULL)
		return fault ? -1 : 0;
	snprintf(why, whylen, "the routines of database %s are older than "
	    "this promptpix needs: sql/%s (version %u) is not applied; run "
	    "sql/migrate.sh", name, r->file, r->version);
	return 1;
}

int
db_start_check(const struct cfg *c, int strict, char *why, size_t whylen)
{
	struct db	*db = db_new(c);
	const char	*where = c->db_socket ? c->db_socket : c->db_host;
	int		 rc;

	if (db_ensure(db) == -1) {
		db_free(db);
		if (strict) {
			snprintf(why, whylen, "cannot connect to the database "
			    "%s at %s (the reason is logged above)", c->db_name,
			    where);
			return -1;
		}
		log_warn(NULL, "database not reachable at start-up; starting "
		    "anyway (requests get 503 until it is)");
		return 0;
	}
	if ((rc = check_read_only(db, where, why, whylen)) == 0)
		rc = check_schema(db, c->db_name, why, whylen);
	db_free(db);
	if (rc == -1) {
		if (strict) {
			snprintf(why, whylen, "cannot check the database %s at "
			    "%s (the reason is logged above)", c->db_name, where);
			return -1;
		}
		log_warn(NULL, "database: cannot check the schema and "
		    "read-only state at start-up; starting anyway");
		return 0;
	}
	return rc == 1 ? -1 : 0;
}

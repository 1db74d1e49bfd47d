/*
 * schema.h: the database schema this binary needs: the numbered
 * migrations of sql/ (tables and data, applied by sql/migrate.sh, or
 * sql/install.sql in one file), each recorded in the schema_version
 * table; and the repeatable ones (sql/R__NAME.sql: procedures, views,
 * events), each recorded in schema_routines with the version its file
 * declares.
 */
#ifndef PP_SCHEMA_H
#define PP_SCHEMA_H

#include <stddef.h>

struct schema_migration {
	unsigned	 version;	/* schema_version.version */
	const char	*file;		/* under sql/ */
};

/*
 * The first migration the database lacks, asking has(version, arg)
 * (1 present, 0 absent, -1 fault) for each needed one in order.
 * Returns it, or NULL with *fault set (0: none missing, 1: has failed).
 */
const struct schema_migration *schema_first_missing(
	    int (*has)(unsigned version, void *arg), void *arg, int *fault);

/* A repeatable migration the binary needs, at least at version. */
struct schema_routines {
	const char	*file;		/* under sql/: "R__stats.sql" */
	unsigned	 version;	/* schema_routines.version, at least */
};

/*
 * The first repeatable migration the database lacks or has older,
 * asking has(file, version, arg) (1 present at that version or newer, 0
 * not, -1 fault). As schema_first_missing().
 */
const struct schema_routines *schema_first_stale(
	    int (*has)(const char *file, unsigned version, void *arg),
	    void *arg, int *fault);

/* How many migrations the binary needs, and the newest of them. */
size_t	schema_count(void);
unsigned schema_newest(void);

#endif

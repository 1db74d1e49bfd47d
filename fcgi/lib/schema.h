/*
 * schema.h: the database schema this binary needs: the numbered
 * migrations of sql/ (applied by sql/migrate.sh, or sql/install.sql in
 * one file), each recorded in the schema_version table.
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

/* How many migrations the binary needs, and the newest of them. */
size_t	schema_count(void);
unsigned schema_newest(void);

#endif

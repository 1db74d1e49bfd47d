/*
 * schema.c: the one list of the migrations (sql/NNN_*.sql) this binary
 * needs, checked against schema_version before a responder starts: a
 * database that lacks a column would otherwise fail every request, and
 * one that lacks a table after the paid call.
 */
#include <stddef.h>

#include "schema.h"

/* A new migration the C code relies on: one more line here. */
static const struct schema_migration needed[] = {
	{ 1, "001_schema.sql" },
	{ 2, "002_stats.sql" },
	{ 3, "003_retry.sql" },
	{ 4, "004_queue.sql" },
	{ 5, "005_fal_timings.sql" },
	{ 6, "006_warm.sql" },
	{ 7, "007_access.sql" },
	{ 8, "008_budget.sql" },
	{ 9, "009_rollup.sql" },
	{ 10, "010_similar.sql" },
	{ 11, "011_event_utc.sql" },
	{ 12, "012_count_flushes.sql" },
	{ 13, "013_paid_calls.sql" },
	{ 14, "014_keep_refused.sql" },
};

#define NNEEDED	(sizeof(needed) / sizeof(needed[0]))

/*
 * The routines the C code relies on, at the version that behaves as it
 * expects: raise one here with the "-- version:" line of its file.
 */
static const struct schema_routines routines[] = {
	{ "R__cleanup.sql", 1 },
	{ "R__stats.sql", 1 },
};

#define NROUTINES	(sizeof(routines) / sizeof(routines[0]))

const struct schema_routines *
schema_first_stale(int (*has)(const char *, unsigned, void *), void *arg,
    int *fault)
{
	int	 rc;

	*fault = 0;
	for (size_t i = 0; i < NROUTINES; i++) {
		if ((rc = has(routines[i].file, routines[i].version,
		    arg)) == -1) {
			*fault = 1;
			return NULL;
		}
		if (rc == 0)
			return &routines[i];
	}
	return NULL;
}

const struct schema_migration *
schema_first_missing(int (*has)(unsigned, void *), void *arg, int *fault)
{
	int	 rc;

	*fault = 0;
	for (size_t i = 0; i < NNEEDED; i++) {
		if ((rc = has(needed[i].version, arg)) == -1) {
			*fault = 1;
			return NULL;
		}
		if (rc == 0)
			return &needed[i];
	}
	return NULL;
}

size_t
schema_count(void)
{
	return NNEEDED;
}

unsigned
schema_newest(void)
{
	return needed[NNEEDED - 1].version;
}

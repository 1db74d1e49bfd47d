/*
 * alias.h: the request side of similar prompts ([similar] threshold,
 * similar.h for the measure, dbsimilar.c for the index). A new row,
 * held by its election (ballot.h), is answered with the image of a
 * similar prompt when one scores at the threshold: the row becomes that
 * image's alias, with no paid call, and the request's waiters get it
 * too; otherwise the hold ends and the job is queued as ever.
 */
#ifndef PP_ALIAS_H
#define PP_ALIAS_H

#include "db.h"

struct cfg;

/*
 * Look for a similar image for the held new row of hash (request rid).
 * Returns 1 when the row became its alias, *row read and this process's
 * waiters told, *m the image it got; 2 the row became an alias but
 * could not be read back (wait for it); 0 none was found (the hold is
 * released: the job is queued).
 */
int	alias_find(struct db *, const struct cfg *, const char *hash,
	    const char *rid, const struct img_req *r, struct gen_row *row,
	    struct similar_match *m);

#endif

/*
 * simcmd.c: promptpix similar-index (see simcmd.h): every image in
 * image_cache that is not an alias, read in pages, filed under its key.
 */
#include <stdio.h>

#include "cfg.h"
#include "db.h"
#include "simcmd.h"
#include "util.h"

int
simcmd_index(const struct cfg *c, int argc, char **argv)
{
	struct db	*db;
	long		 n, skipped = 0;
	int64_t		 t0 = now_ms();

	if (argc != 1) {
		fprintf(stderr, "usage: promptpix similar-index [-c FILE]\n");
		return 2;
	}
	if (db_library_init() != 0)
		return 1;
	db = db_new(c);
	if (db_ensure(db) == -1) {
		fprintf(stderr, "promptpix: cannot reach the database\n");
		db_free(db);
		return 1;
	}
	n = db_similar_build(db, &skipped);
	db_free(db);
	if (n < 0) {
		fprintf(stderr, "promptpix: similar-index failed (is "
		    "sql/010_similar.sql applied?)\n");
		return 1;
	}
	printf("indexed %ld images, %ld without words, in %lld ms\n", n,
	    skipped, (long long)(now_ms() - t0));
	return 0;
}

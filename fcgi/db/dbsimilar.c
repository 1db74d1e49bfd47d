/*
 * dbsimilar.c: the similar-prompt index (sql/010_similar.sql): the
 * lookup on the miss path, the alias a match becomes, filing a new
 * image, the builder for images made before, and the similar hits
 * figure. The measure itself is similar.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbint.h"
#include "similar.h"
#include "util.h"

/* Candidates one lookup reads at most, whatever the table holds. */
#define CANDIDATES	16
/* Images the builder reads and files per statement. */
#define BUILD_PAGE	500

static int
is_hash(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* r's shape and words; 0, or -1 if the shape does not fit. */
static int
shape_of(const struct img_req *r, const char *model, char *shape)
{
	return sim_shape(r->w, r->h, img_fmt_ext(r->fmt),
	    r->has_seed ? (long long)r->seed : -1, model, shape,
	    SIM_SHAPE_MAX);
}

/* ["k1","k2",...] */
static void
keys_json(char keys[][17], size_t n, char *out)
{
	char	*p = out;

	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		*p++ = '"';
		memcpy(p, keys[i], 16);
		p += 16;
		*p++ = '"';
	}
	*p++ = ']';
	*p = '\0';
}

/* Score each candidate of st against t; the best at threshold in *m. */
static int
best_of(struct db *db, MYSQL_STMT *st, const struct sim_terms *t,
    double threshold, struct similar_match *m)
{
	MYSQL_BIND		 r[2];
	unsigned long		 len[2];
	char			 hash[65], prompt[8193];
	struct sim_terms	 ct;
	double			 v;
	int			 rc, found = 0;

	db_r_str(&r[0], hash, sizeof(hash), &len[0]);
	db_r_str(&r[1], prompt, sizeof(prompt), &len[1]);
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "result", st);
		return -1;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		/* A prompt over the buffer is simply not scored. */
		if (rc == MYSQL_DATA_TRUNCATED)
			continue;
		db_r_term(hash, sizeof(hash), len[0]);
		db_r_term(prompt, sizeof(prompt), len[1]);
		if (!is_hash(hash))
			continue;
		sim_terms(prompt, strlen(prompt), &ct);
		v = sim_score_terms(t, &ct);
		sim_terms_free(&ct);
		/* The best; of equals the smallest hash, on every host alike. */
		if (v >= threshold && (!found || v > m->score ||
		    (v == m->score && strcmp(hash, m->hash) < 0))) {
			strlcpy_chk(m->hash, hash, sizeof(m->hash));
			m->score = v;
			found = 1;
		}
	}
	mysql_stmt_free_result(st);
	return rc == MYSQL_NO_DATA ? found : -1;
}

int
db_similar_find(struct db *db, const struct img_req *r, const char *model,
    double threshold, struct similar_match *m)
{
	struct params		 p = { .n = 0 };
	struct sim_terms	 t;
	MYSQL_STMT		*st;
	char			 shape[SIM_SHAPE_MAX], keys[SIM_MAX_KEYS][17];
	char			 json[SIM_MAX_KEYS * 19 + 3];
	size_t			 n;
	int			 rc;

	memset(m, 0, sizeof(*m));
	if (shape_of(r, model, shape) == -1)
		return 0;
	sim_terms(r->prompt, r->prompt_len, &t);
	n = sim_lookup_keys(&t, shape, threshold, keys, SIM_MAX_KEYS);
	if (n == 0) {
		sim_terms_free(&t);
		return 0;
	}
	keys_json(keys, n, json);
	db_p_str(&p, json);
	db_p_u64(&p, CANDIDATES);
	if ((st = db_stmt_exec(db, ST_SIMILAR_FIND, &p)) == NULL)
		rc = -1;
	else
		rc = best_of(db, st, &t, threshold, m);
	sim_terms_free(&t);
	return rc;
}

int
db_similar_alias(struct db *db, const char *hash,
    const struct similar_match *m)
{
	struct params	 p = { .n = 0 };
	int		 rc;

	db_p_str(&p, m->hash);
	/* DECIMAL(4,3), cut as the header shows it. */
	db_p_double(&p, (double)(long long)(m->score * 1000 + 1e-9) / 1000);
	db_p_str(&p, hash);
	if ((rc = db_stmt_one(db, ST_SIMILAR_ALIAS, &p)) != 1)
		return rc;
	/* Its own image_cache row, so it outlives the status cleanup. */
	p.n = 0;
	db_p_str(&p, hash);
	return db_stmt_run(db, ST_CACHE_PUT, &p) < 0 ? -1 : 1;
}

int
db_similar_put(struct db *db, const char *hash, const struct img_req *r,
    const char *model)
{
	struct params		 p = { .n = 0 };
	struct sim_terms	 t;
	char			 shape[SIM_SHAPE_MAX], key[17];
	int			 rc = 0;

	if (shape_of(r, model, shape) == -1)
		return 0;
	sim_terms(r->prompt, r->prompt_len, &t);
	/* A prompt of no words is never similar: nothing to file. */
	if (sim_key(&t, shape, key) == 0) {
		db_p_str(&p, hash);
		db_p_str(&p, key);
		rc = db_stmt_run(db, ST_SIMILAR_PUT, &p) < 0 ? -1 : 0;
	}
	sim_terms_free(&t);
	return rc;
}

/* One image_cache row as the builder reads it. */
struct build_row {
	char		 hash[65];
	char		 prompt[8193];
	char		 dims[24];
	char		 fmt[8];
	int64_t		 seed;
	char		 model[101];
	unsigned long	 len[5];
};

/* Append [hash, key] of row b to json (at *used); 1 filed, 0 no words. */
static int
build_one(const struct build_row *b, char *json, size_t *used)
{
	struct sim_terms t;
	unsigned	 w, h;
	char		 shape[SIM_SHAPE_MAX], key[17];
	int		 ok;

	if (!is_hash(b->hash) || sscanf(b->dims, "%ux%u", &w, &h) != 2 ||
	    sim_shape(w, h, b->fmt, b->seed, b->model, shape,
	    sizeof(shape)) == -1)
		return 0;
	sim_terms(b->prompt, strlen(b->prompt), &t);
	if ((ok = sim_key(&t, shape, key) == 0))
		*used += (size_t)sprintf(json + *used, "%s[\"%s\",\"%s\"]",
		    *used > 1 ? "," : "", b->hash, key);
	sim_terms_free(&t);
	return ok;
}

/* Read one page after *after into json; its last hash into after. */
static long
build_page(struct db *db, char *after, char *json, long *skipped)
{
	struct params	 p = { .n = 0 };
	struct build_row b;
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[6];
	size_t		 used = 1;
	long		 rows = 0, filed = 0;
	int		 rc;

	db_p_str(&p, after);
	db_p_u64(&p, BUILD_PAGE);
	if ((st = db_stmt_exec(db, ST_SIMILAR_PAGE, &p)) == NULL)
		return -1;
	memset(&b, 0, sizeof(b));
	db_r_str(&r[0], b.hash, sizeof(b.hash), &b.len[0]);
	db_r_str(&r[1], b.prompt, sizeof(b.prompt), &b.len[1]);
	db_r_str(&r[2], b.dims, sizeof(b.dims), &b.len[2]);
	db_r_str(&r[3], b.fmt, sizeof(b.fmt), &b.len[3]);
	db_r_i64(&r[4], &b.seed);
	db_r_str(&r[5], b.model, sizeof(b.model), &b.len[4]);
	if (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		db_stmt_fault(db, "result", st);
		return -1;
	}
	json[0] = '[';
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		db_r_term(b.hash, sizeof(b.hash), b.len[0]);
		db_r_term(b.prompt, sizeof(b.prompt), b.len[1]);
		db_r_term(b.dims, sizeof(b.dims), b.len[2]);
		db_r_term(b.fmt, sizeof(b.fmt), b.len[3]);
		db_r_term(b.model, sizeof(b.model), b.len[4]);
		rows++;
		strlcpy_chk(after, b.hash, 65);
		if (rc == 0 && build_one(&b, json, &used))
			filed++;
		else
			(*skipped)++;
	}
	mysql_stmt_free_result(st);
	if (rc != MYSQL_NO_DATA)
		return -1;
	json[used++] = ']';
	json[used] = '\0';
	if (filed > 0) {
		p.n = 0;
		db_p_str(&p, json);
		if (db_stmt_run(db, ST_SIMILAR_PUT_MANY, &p) < 0)
			return -1;
	}
	return rows == 0 ? -2 : filed;
}

long
db_similar_build(struct db *db, long *skipped)
{
	char	 after[65] = "";
	char	*json = xmalloc(BUILD_PAGE * 90 + 8);
	long	 n, total = 0;

	*skipped = 0;
	while ((n = build_page(db, after, json, skipped)) >= 0)
		total += n;
	free(json);
	return n == -2 ? total : -1;
}

int
db_similar_stats(struct db *db, uint64_t *today, uint64_t *all)
{
	struct params	 p = { .n = 0 };
	MYSQL_STMT	*st;
	MYSQL_BIND	 r[2];

	*today = *all = 0;
	if ((st = db_stmt_exec(db, ST_SIMILAR_STATS, &p)) == NULL)
		return -1;
	db_r_u64(&r[0], today);
	db_r_u64(&r[1], all);
	return db_stmt_row(db, st, r) == 1 ? 0 : -1;
}

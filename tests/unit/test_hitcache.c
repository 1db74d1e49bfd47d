/*
 * hitcache.c: off, hit, miss, what is kept, TTL, eviction within a slot,
 * remote URLs, and threads putting and getting at once. Each part sizes
 * the cache afresh (hitcache_free(), then hitcache_init()); the sanitizer
 * build checks that replaced and freed URLs leak nothing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "hitcache.h"
#include "util.h"
#include "t.h"

static void
some_hash(char *hex, const char *tag, int i)
{
	char	 s[64];

	snprintf(s, sizeof(s), "%s-%d", tag, i);
	hash_sha256_hex(s, strlen(s), hex);
}

/* The slot hitcache.c puts hash in, for a cache of n slots. */
static unsigned
slot_in(const char *hash, unsigned n)
{
	return hash_prefix(hash, 8) % n;
}

static struct gen_row
completed(const char *file, const char *url, int64_t size)
{
	struct gen_row	 row;

	memset(&row, 0, sizeof(row));
	row.status = GS_COMPLETED;
	row.res.ok = 1;
	strlcpy_chk(row.res.file, file, sizeof(row.res.file));
	strlcpy_chk(row.res.url, url, sizeof(row.res.url));
	strlcpy_chk(row.res.content_type, "image/jpeg",
	    sizeof(row.res.content_type));
	row.res.file_size = size;
	row.res.completed_ms = 1700000000000 + size;
	row.res.width = 512;
	row.res.height = 512;
	row.lease_expired = 1;
	row.attempts = 1;
	return row;
}

static void
off(void)
{
	struct gen_row	 row = completed("a.jpg", "https://x/a.jpg", 1), got;
	char		 h[HASH_HEX_LEN + 1];

	some_hash(h, "off", 0);
	hitcache_init(0, 60000);
	hitcache_put(h, &row);
	T_CHECK(hitcache_get(h, &got) == 0, "0 slots: off");
	hitcache_free();
	T_CHECK(hitcache_get(h, &got) == 0, "free when off: still off");
}

static void
basics(void)
{
	struct gen_row	 row, got;
	char		 h[HASH_HEX_LEN + 1], other[HASH_HEX_LEN + 1];
	char		 name[200];
	static const enum gen_status not_done[] = {
		GS_PENDING, GS_GENERATING, GS_FAILED
	};

	hitcache_init(64, 60000);
	some_hash(h, "basic", 0);
	some_hash(other, "basic", 1);
	T_CHECK(hitcache_get(h, &got) == 0, "empty: miss");

	row = completed("ab/abcdef.jpg", "https://cdn.example/ab/abcdef.jpg",
	    12345);
	hitcache_put(h, &row);
	memset(&got, 0xa5, sizeof(got));
	T_CHECK(hitcache_get(h, &got) == 1, "get after put");
	T_CHECK(got.status == GS_COMPLETED && got.res.ok == 1 &&
	    strcmp(got.res.file, "ab/abcdef.jpg") == 0 &&
	    strcmp(got.res.content_type, "image/jpeg") == 0 &&
	    got.res.file_size == 12345 &&
	    got.res.completed_ms == 1700000000000 + 12345, "the row's fields");
	/* A stored file's URL is derived from its name; not kept. */
	T_CHECK(got.res.url[0] == '\0' && got.lease_expired == 0 &&
	    got.res.error_message[0] == '\0' && got.res.err == GE_NONE,
	    "the rest is zero, not left over");
	T_CHECK(got.alias == 0, "not an alias");
	row.alias = 1;
	hitcache_put(h, &row);
	T_CHECK(hitcache_get(h, &got) == 1 && got.alias == 1,
	    "an alias is kept as one (an exact request passes it by)");
	row.alias = 0;
	hitcache_put(h, &row);
	T_CHECK(hitcache_get(other, &got) == 0, "another hash: miss");

	/* Only completed rows: the others are ignored, even for a hit. */
	for (size_t i = 0; i < sizeof(not_done) / sizeof(not_done[0]); i++) {
		row = completed("x.jpg", "", 1);
		row.status = not_done[i];
		hitcache_put(other, &row);
		T_CHECK(hitcache_get(other, &got) == 0, "status %d not kept",
		    (int)not_done[i]);
		hitcache_put(h, &row);
		T_CHECK(hitcache_get(h, &got) == 1 &&
		    got.res.file_size == 12345, "status %d left the hit alone",
		    (int)not_done[i]);
	}

	/* A remote image: file "" and the URL kept. */
	row = completed("", "https://v3.fal.media/files/x/y.png", 7);
	hitcache_put(other, &row);
	T_CHECK(hitcache_get(other, &got) == 1 && got.res.file[0] == '\0' &&
	    strcmp(got.res.url, "https://v3.fal.media/files/x/y.png") == 0,
	    "remote URL kept");
	/* The longest URL a row holds round-trips. */
	memset(row.res.url, 'u', sizeof(row.res.url) - 1);
	row.res.url[sizeof(row.res.url) - 1] = '\0';
	hitcache_put(other, &row);
	T_CHECK(hitcache_get(other, &got) == 1 &&
	    strcmp(got.res.url, row.res.url) == 0, "2047-byte URL kept");
	/* Replaced by a stored file: the URL goes (and is freed). */
	row = completed("z.jpg", "https://cdn.example/z.jpg", 8);
	hitcache_put(other, &row);
	T_CHECK(hitcache_get(other, &got) == 1 && got.res.url[0] == '\0' &&
	    strcmp(got.res.file, "z.jpg") == 0, "file replaces URL");

	/* A name the slot cannot hold is not cached (79 bytes fit). */
	memset(name, 'n', sizeof(name));
	name[79] = '\0';
	row = completed(name, "", 9);
	hitcache_put(other, &row);
	T_CHECK(hitcache_get(other, &got) == 1 && strcmp(got.res.file, name) ==
	    0, "79-byte name kept");
	some_hash(other, "basic", 2);
	name[79] = 'n';
	name[80] = '\0';
	row = completed(name, "", 10);
	hitcache_put(other, &row);
	T_CHECK(hitcache_get(other, &got) == 0, "80-byte name not cached");
	name[159] = '\0';
	row = completed(name, "", 11);
	hitcache_put(other, &row);
	T_CHECK(hitcache_get(other, &got) == 0, "159-byte name not cached");

	hitcache_free();
	T_CHECK(hitcache_get(h, &got) == 0, "freed: off");
}

/* Two hashes of one slot: the newer replaces the older. */
static void
eviction(void)
{
	enum { N = 16 };
	struct gen_row	 row, got;
	char		 h[3][HASH_HEX_LEN + 1], c[HASH_HEX_LEN + 1];
	int		 i, found = 0;

	some_hash(h[0], "evict", 0);
	for (i = 1; i < 1000 && found < 2; i++) {
		some_hash(c, "evict", i);
		if (found == 0 && slot_in(c, N) == slot_in(h[0], N))
			memcpy(h[++found], c, sizeof(c));
		else if (found == 1 && slot_in(c, N) != slot_in(h[0], N))
			memcpy(h[++found], c, sizeof(c));
	}
	T_CHECK(found == 2 && strcmp(h[0], h[1]) != 0, "a colliding pair");
	if (found != 2)
		return;

	hitcache_init(N, 60000);
	row = completed("", "https://remote.example/old.png", 1);
	hitcache_put(h[0], &row);
	row = completed("third.jpg", "", 3);
	hitcache_put(h[2], &row);
	T_CHECK(hitcache_get(h[0], &got) == 1 && got.res.file_size == 1,
	    "older in");
	row = completed("newer.jpg", "", 2);
	hitcache_put(h[1], &row);
	T_CHECK(hitcache_get(h[1], &got) == 1 && got.res.file_size == 2 &&
	    strcmp(got.res.file, "newer.jpg") == 0, "newer in");
	T_CHECK(hitcache_get(h[0], &got) == 0, "older evicted");
	T_CHECK(hitcache_get(h[2], &got) == 1 && got.res.file_size == 3,
	    "another slot untouched");
	row = completed("", "https://remote.example/back.png", 4);
	hitcache_put(h[0], &row);
	T_CHECK(hitcache_get(h[0], &got) == 1 &&
	    strcmp(got.res.url, "https://remote.example/back.png") == 0 &&
	    hitcache_get(h[1], &got) == 0, "and back");
	/* Freed with a URL in a slot: nothing leaks. */
	hitcache_free();
}

/*
 * The TTL: a hit while it runs, a miss once now_ms() passed it. The
 * put's own clock reading lies between t0 and t1, so each check is
 * made only when the clock says it must hold.
 */
static void
ttl(void)
{
	enum { TTL = 200 };
	struct gen_row	 row = completed("t.jpg", "", 5), got;
	char		 h[HASH_HEX_LEN + 1];
	int64_t		 t0, t1, end;
	int		 hit;

	some_hash(h, "ttl", 0);
	hitcache_init(8, TTL);
	t0 = now_ms();
	hitcache_put(h, &row);
	t1 = now_ms();
	hit = hitcache_get(h, &got);
	if (now_ms() < t0 + TTL)
		T_CHECK(hit == 1, "hit within the TTL");
	end = t1 + TTL + 5000;
	while (now_ms() < t1 + TTL && now_ms() < end)
		;			/* until the clock passes it */
	T_CHECK(hitcache_get(h, &got) == 0, "miss after the TTL");
	/* A fresh put starts a fresh TTL. */
	t0 = now_ms();
	hitcache_put(h, &row);
	hit = hitcache_get(h, &got);
	if (now_ms() < t0 + TTL)
		T_CHECK(hit == 1, "hit again after a new put");
	hitcache_free();
}

/*
 * Threads putting and getting at once over more hashes than slots, so
 * that entries (URLs among them) are replaced all the time. A hit must
 * be whole: every field the one put for that hash.
 */
#define CONC_THREADS	8
#define CONC_HASHES	100
#define CONC_ROUNDS	20000

static char	 chash[CONC_HASHES][HASH_HEX_LEN + 1];

static struct gen_row
conc_row(int k)
{
	char	 s[64];

	snprintf(s, sizeof(s), "https://remote.example/%d/%.16s.png", k,
	    chash[k]);
	if (k % 3 == 0)
		return completed("", s, k);
	snprintf(s, sizeof(s), "%.2s/%.16s.jpg", chash[k], chash[k]);
	return completed(s, "", k);
}

struct conc {
	pthread_t	 t;
	unsigned	 seed;
	int		 hits, bad;
};

static void *
conc(void *arg)
{
	struct conc	*c = arg;
	struct gen_row	 row, got;
	int		 k;

	for (int i = 0; i < CONC_ROUNDS; i++) {
		c->seed = c->seed * 1103515245 + 12345;
		k = (int)((c->seed >> 8) % CONC_HASHES);
		if ((c->seed >> 4) % 4 == 0) {
			row = conc_row(k);
			hitcache_put(chash[k], &row);
		} else if (hitcache_get(chash[k], &got)) {
			c->hits++;
			row = conc_row(k);
			if (got.res.file_size != k ||
			    got.res.completed_ms != row.res.completed_ms ||
			    strcmp(got.res.file, row.res.file) != 0 ||
			    strcmp(got.res.url, k % 3 ? "" : row.res.url) != 0)
				c->bad++;
		}
	}
	return NULL;
}

static void
concurrent(void)
{
	static struct conc	 c[CONC_THREADS];
	int			 hits = 0, bad = 0;

	for (int k = 0; k < CONC_HASHES; k++)
		some_hash(chash[k], "conc", k);
	hitcache_init(32, 60000);
	for (int i = 0; i < CONC_THREADS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].seed = (unsigned)i * 7919 + 1;
		pthread_create(&c[i].t, NULL, conc, &c[i]);
	}
	for (int i = 0; i < CONC_THREADS; i++) {
		pthread_join(c[i].t, NULL);
		hits += c[i].hits;
		bad += c[i].bad;
	}
	T_CHECK(hits > 0 && bad == 0, "threads: %d hits, %d torn", hits, bad);
	hitcache_free();
}

void
test_hitcache(void)
{
	off();
	basics();
	eviction();
	ttl();
	concurrent();
}

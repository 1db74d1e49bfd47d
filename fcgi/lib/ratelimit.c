/*
 * ratelimit.c: the per-client token buckets for new images, in shared
 * memory so that the processes of a host share them (see ratelimit.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include "log.h"
#include "ratelimit.h"
#include "util.h"

#define SETS	1024
#define WAYS	8

/* What a bucket is for: one IPv4 address, one IPv6 /64, or a string. */
enum key_kind { KEY_NONE, KEY_V4, KEY_V6_64, KEY_OTHER, KEY_OVERFLOW };

struct rkey {
	unsigned char	 kind;		/* enum key_kind */
	unsigned char	 b[16];		/* the address bytes, zero-padded */
};

struct bucket {
	struct rkey	 key;		/* kind KEY_NONE: unused */
	double		 tokens;
	int64_t		 last_ms;	/* CLOCK_MONOTONIC is system-wide */
};

/*
 * A set of WAYS buckets, and the one its new clients share while each
 * of those holds tokens owed (see take_bucket()).
 */
struct set {
	struct bucket	 way[WAYS];
	struct bucket	 overflow;
};

struct table {
	pthread_mutex_t	 mtx;		/* process-shared and robust */
	uint64_t	 seed;		/* the sets' hash key, made at init */
	struct set	 s[SETS];
};

static struct table	*tab;
static double		 rate_per_ms;
static double		 burst;

int
ratelimit_init(unsigned per_minute, unsigned burst_tokens)
{
	pthread_mutexattr_t	 ma;

	if (tab != NULL) {
		munmap(tab, sizeof(*tab));
		tab = NULL;
	}
	if (per_minute == 0)
		return 0;
	tab = mmap(NULL, sizeof(*tab), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tab == MAP_FAILED) {
		log_error(NULL, "rate limit table: %s", strerror(errno));
		tab = NULL;
		return -1;
	}
	/* An unknown key, so that nobody can pick addresses of one set. */
	if (getrandom(&tab->seed, sizeof(tab->seed), 0) !=
	    (ssize_t)sizeof(tab->seed))
		tab->seed = (uint64_t)now_us() * 0x9e3779b97f4a7c15ULL;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	/* A process killed while holding it must not wedge the others. */
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&tab->mtx, &ma);
	pthread_mutexattr_destroy(&ma);
	rate_per_ms = per_minute / 60000.0;
	burst = burst_tokens > 0 ? burst_tokens : 1;
	return 0;
}

int
ratelimit_enabled(void)
{
	return tab != NULL;
}

/*
 * The bucket key of client: an IPv4 address (also written as an
 * IPv4-mapped IPv6 one), the /64 of an IPv6 address, or else the
 * first 16 bytes of the string's SHA-256.
 */
static void
key_of(const char *client, struct rkey *k)
{
	unsigned char	 a[16], md[SHA256_DIGEST_LENGTH];
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, client, a) == 1) {
		k->kind = KEY_V4;
		memcpy(k->b, a, 4);
	} else if (inet_pton(AF_INET6, client, a) == 1 &&
	    memcmp(a, mapped, sizeof(mapped)) == 0) {
		k->kind = KEY_V4;
		memcpy(k->b, a + 12, 4);
	} else if (inet_pton(AF_INET6, client, a) == 1) {
		k->kind = KEY_V6_64;
		memcpy(k->b, a, 8);
	} else {
		SHA256((const unsigned char *)client, strlen(client), md);
		k->kind = KEY_OTHER;
		memcpy(k->b, md, sizeof(k->b));
	}
}

/* The set of k: FNV-1a of the key bytes, keyed by the table's seed. */
static unsigned
set_of(const struct rkey *k)
{
	uint64_t	 h = 1469598103934665603ULL ^ tab->seed;
	const unsigned char *p = (const unsigned char *)k;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	h ^= h >> 29;
	return (unsigned)(h % SETS);
}

static void
lock(void)
{
	if (pthread_mutex_lock(&tab->mtx) == EOWNERDEAD)
		pthread_mutex_consistent(&tab->mtx);
}

/* b's tokens at now, at most the burst (an unused bucket is full). */
static double
tokens_at(const struct bucket *b, int64_t now)
{
	double	 t;

	if (b->key.kind == KEY_NONE)
		return burst;
	t = b->tokens + (double)(now - b->last_ms) * rate_per_ms;
	return t > burst ? burst : t;
}

/*
 * With the lock held: the client's bucket, refilled to now. A client
 * without one takes a way that is unused or full again: a full bucket
 * is what a fresh one would be, so nobody gains tokens by that. When
 * every way still has tokens owed, the client shares the set's overflow
 * bucket: a collision never hands out a fresh burst.
 */
static struct bucket *
take_bucket(const struct rkey *k, int64_t now)
{
	struct set	*s = &tab->s[set_of(k)];
	struct bucket	*b = NULL;

	for (int i = 0; i < WAYS && b == NULL; i++)
		if (memcmp(&s->way[i].key, k, sizeof(*k)) == 0)
			b = &s->way[i];
	for (int i = 0; i < WAYS && b == NULL; i++)
		if (tokens_at(&s->way[i], now) >= burst) {
			b = &s->way[i];
			b->key = *k;
			b->tokens = burst;
			b->last_ms = now;
		}
	if (b == NULL) {
		b = &s->overflow;
		if (b->key.kind == KEY_NONE) {
			b->key.kind = KEY_OVERFLOW;
			b->tokens = burst;
			b->last_ms = now;
		}
	}
	b->tokens = tokens_at(b, now);
	b->last_ms = now;
	return b;
}

unsigned
ratelimit_take(const char *client)
{
	struct bucket	*b;
	struct rkey	 k;
	unsigned	 wait = 0;

	if (tab == NULL)
		return 0;
	key_of(client, &k);
	lock();
	b = take_bucket(&k, now_ms());
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (unsigned)((1 - b->tokens) / rate_per_ms / 1000) + 1;
	pthread_mutex_unlock(&tab->mtx);
	return wait;
}

void
ratelimit_refund(const char *client)
{
	struct bucket	*b;
	struct rkey	 k;

	if (tab == NULL)
		return;
	key_of(client, &k);
	lock();
	b = take_bucket(&k, now_ms());
	b->tokens = b->tokens + 1 > burst ? burst : b->tokens + 1;
	pthread_mutex_unlock(&tab->mtx);
}

unsigned
ratelimit_set(const char *client)
{
	struct rkey	 k;

	if (tab == NULL)
		return 0;
	key_of(client, &k);
	return set_of(&k);
}

/*
 * flight.c: leaders and followers on real threads. No test sleeps for
 * its correctness: threads wait for events (a count under a lock, or
 * flight_waiting()), and every wait has a bounded deadline, so a lost
 * wake-up fails a check instead of hanging the suite. A flight whose
 * references are miscounted shows as a leak (too many) or a
 * use-after-free (too few) in the sanitizer build.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "flight.h"
#include "hash.h"
#include "util.h"
#include "t.h"

/* Long enough for a loaded sanitizer build, short enough to fail. */
#define WAIT_MS	10000

/* A real prompt_hash, from a tag and a number. */
static void
some_hash(char *hex, const char *tag, int i)
{
	char	 s[64];

	snprintf(s, sizeof(s), "%s-%d", tag, i);
	hash_sha256_hex(s, strlen(s), hex);
}

/* Hashes that share the first two digits: one bucket of the table. */
static void
bucket_hash(char *hex, int i)
{
	snprintf(hex, HASH_HEX_LEN + 1, "ab%062x", (unsigned)i);
}

/* A completed row told apart from others by tag. */
static struct flight_result
row_result(int64_t tag)
{
	struct flight_result	 fr;

	memset(&fr, 0, sizeof(fr));
	fr.kind = FLIGHT_ROW;
	fr.row.status = GS_COMPLETED;
	fr.row.res.ok = 1;
	fr.row.res.file_size = tag;
	snprintf(fr.row.res.file, sizeof(fr.row.res.file), "%lld.jpg",
	    (long long)tag);
	fr.at_us = tag;
	return fr;
}

static int
is_result(const struct flight_result *fr, int64_t tag)
{
	char	 file[32];

	snprintf(file, sizeof(file), "%lld.jpg", (long long)tag);
	return fr->kind == FLIGHT_ROW && fr->row.status == GS_COMPLETED &&
	    fr->row.res.file_size == tag && fr->at_us == tag &&
	    strcmp(fr->row.res.file, file) == 0;
}

/* Wait (bounded) until n followers of hash block in flight_wait(). */
static int
await_waiting(const char *hash, int n)
{
	int64_t	 end = now_ms() + WAIT_MS;

	while (flight_waiting(hash) != n)
		if (now_ms() > end)
			return -1;
		else
			sched_yield();
	return 0;
}

/* One thread, in order: the lost wake-ups and the lifetimes. */
static void
sequential(void)
{
	struct flight		*a, *b, *c, *d;
	struct flight_result	 fr, r1 = row_result(1), r2 = row_result(2);
	char			 h[HASH_HEX_LEN + 1], h2[HASH_HEX_LEN + 1];
	int64_t			 t0, dl;

	some_hash(h, "seq", 0);
	some_hash(h2, "seq", 1);

	/* A follower that waits after the landing does not hang. */
	T_CHECK(flight_join(h, &a) == 1, "first joiner leads");
	T_CHECK(flight_join(h, &b) == 0 && b == a, "second follows the same");
	T_CHECK(flight_waiting(h) == 0, "nobody waiting yet");
	flight_land(a, &r1);
	/* The flight left the table: the next joiner leads a new one. */
	T_CHECK(flight_join(h, &c) == 1 && c != a, "after landing: fresh");
	T_CHECK(flight_join(h, &d) == 0 && d == c, "its follower");
	memset(&fr, 0, sizeof(fr));
	t0 = now_ms();
	T_CHECK(flight_wait(b, t0 + WAIT_MS, &fr) == 0 && is_result(&fr, 1),
	    "late waiter gets the landed result");
	T_CHECK(now_ms() - t0 < WAIT_MS, "and did not wait for the deadline");
	flight_land(c, &r2);
	T_CHECK(flight_wait(d, now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 2), "the fresh flight's own result");

	/* Published before the followers wait: it wins over the leader's. */
	T_CHECK(flight_join(h, &a) == 1, "lead again");
	T_CHECK(flight_join(h, &b) == 0 && flight_join(h, &c) == 0,
	    "two followers");
	flight_publish(h, &r1);
	T_CHECK(flight_wait(b, now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 1), "published before the wait");
	/* The published flight left the table too. */
	T_CHECK(flight_join(h, &d) == 1 && d != a, "after publish: fresh");
	flight_land(a, &r2);
	T_CHECK(flight_wait(c, now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 1), "the leader's landing keeps the published");
	flight_publish(h, &r2);		/* lands d, which nobody follows */
	flight_land(d, &r1);

	/* Publish with nobody there is a no-op. */
	flight_publish(h2, &r1);
	T_CHECK(flight_join(h2, &a) == 1, "publish created no flight");
	T_CHECK(flight_join(h2, &b) == 0, "follower");
	flight_land(a, &r2);
	flight_publish(h2, &r1);	/* after the landing: nobody there */
	T_CHECK(flight_wait(b, now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 2), "late publish does not touch a landed flight");

	/* Deadlines: -1, and the reference is given back. */
	T_CHECK(flight_join(h, &a) == 1, "lead");
	T_CHECK(flight_join(h, &b) == 0 && flight_join(h, &c) == 0 &&
	    flight_join(h, &d) == 0, "three followers");
	T_CHECK(flight_wait(b, now_ms() - 1, &fr) == -1, "deadline passed");
	dl = now_ms() + 30;
	T_CHECK(flight_wait(c, dl, &fr) == -1, "deadline reached");
	T_CHECK(now_ms() >= dl, "not before it");
	T_CHECK(flight_waiting(h) == 0, "timed-out followers left the wait");
	T_CHECK(flight_join(h, &b) == 0 && b == a, "flight still up");
	flight_land(a, &r1);
	T_CHECK(flight_wait(d, now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 1), "a follower still there gets it");
	T_CHECK(flight_wait(b, now_ms() - 1, &fr) == 0 && is_result(&fr, 1),
	    "landed beats a passed deadline");

	/* Non-row results travel the same way. */
	T_CHECK(flight_join(h, &a) == 1 && flight_join(h, &b) == 0, "again");
	memset(&fr, 0, sizeof(fr));
	fr.kind = FLIGHT_DBERR;
	flight_land(a, &fr);
	fr.kind = FLIGHT_ROW;
	T_CHECK(flight_wait(b, now_ms() + WAIT_MS, &fr) == 0 &&
	    fr.kind == FLIGHT_DBERR, "database error reaches followers");
}

/*
 * Flights chained in one bucket (a new one goes to the tail): landing
 * one, from the middle, the tail or the head, leaves the others linked.
 */
static void
one_bucket(void)
{
	struct flight		*f[4], *g[4], *x;
	struct flight_result	 fr, r;
	char			 h[4][HASH_HEX_LEN + 1];
	int			 i;

	for (i = 0; i < 4; i++) {
		bucket_hash(h[i], i);
		T_CHECK(flight_join(h[i], &f[i]) == 1, "bucket lead %d", i);
	}
	r = row_result(101);
	flight_land(f[1], &r);			/* the middle */
	r = row_result(103);
	flight_land(f[3], &r);			/* the tail */
	T_CHECK(flight_join(h[0], &g[0]) == 0 && g[0] == f[0], "0 linked");
	T_CHECK(flight_join(h[2], &g[2]) == 0 && g[2] == f[2], "2 linked");
	r = row_result(200);
	flight_land(f[0], &r);			/* the head */
	T_CHECK(flight_join(h[2], &x) == 0 && x == f[2], "2 still linked");
	T_CHECK(flight_join(h[1], &g[1]) == 1, "1 fresh");
	T_CHECK(flight_join(h[3], &g[3]) == 1, "3 fresh");
	r = row_result(202);
	flight_land(f[2], &r);
	r = row_result(301);
	flight_land(g[1], &r);
	r = row_result(303);
	flight_land(g[3], &r);
	T_CHECK(flight_wait(g[0], now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 200), "0 result");
	T_CHECK(flight_wait(g[2], now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 202), "2 result");
	T_CHECK(flight_wait(x, now_ms() + WAIT_MS, &fr) == 0 &&
	    is_result(&fr, 202), "2 result, second follower");
	for (i = 0; i < 4; i++) {
		T_CHECK(flight_join(h[i], &x) == 1, "bucket %d unlinked", i);
		flight_land(x, &r);
	}
}

/* Many followers of one leader, all blocked when it lands. */
#define FOLLOWERS	32

struct follower {
	pthread_t		 t;
	const char		*hash;
	int			 joined;	/* flight_join()'s answer */
	int			 rc;
	int			 returns;	/* flight_wait() returned */
	int			 woken;		/* before its deadline */
	struct flight_result	 fr;
};

static void *
follow(void *arg)
{
	struct follower	*fo = arg;
	struct flight	*f;
	int64_t		 dl;

	fo->joined = flight_join(fo->hash, &f);
	if (fo->joined == 0) {
		dl = now_ms() + WAIT_MS;
		fo->rc = flight_wait(f, dl, &fo->fr);
		fo->woken = now_ms() < dl;
		fo->returns++;
	} else {
		/* Not expected; land so nobody hangs. */
		flight_land(f, &fo->fr);
	}
	return NULL;
}

static void
one_hash(void)
{
	static struct follower	 fo[FOLLOWERS];
	struct flight		*lead;
	struct flight_result	 r = row_result(777);
	char			 h[HASH_HEX_LEN + 1];
	int			 i, bad = 0;

	some_hash(h, "one", 0);
	T_CHECK(flight_join(h, &lead) == 1, "leader of 32");
	for (i = 0; i < FOLLOWERS; i++) {
		memset(&fo[i], 0, sizeof(fo[i]));
		fo[i].hash = h;
		pthread_create(&fo[i].t, NULL, follow, &fo[i]);
	}
	T_CHECK(await_waiting(h, FOLLOWERS) == 0, "all 32 waiting: %d",
	    flight_waiting(h));
	flight_land(lead, &r);			/* they still hold it */
	for (i = 0; i < FOLLOWERS; i++)
		pthread_join(fo[i].t, NULL);
	for (i = 0; i < FOLLOWERS; i++)
		if (fo[i].joined != 0 || fo[i].rc != 0 || fo[i].returns != 1 ||
		    !fo[i].woken || !is_result(&fo[i].fr, 777))
			bad++;
	T_CHECK(bad == 0, "%d of 32 followers without the leader's result",
	    bad);
	T_CHECK(flight_join(h, &lead) == 1, "after them: a fresh flight");
	flight_land(lead, &r);
}

/*
 * Distinct hashes (half of them in one bucket), PER threads each, none
 * told its role: each hash must get exactly one leader, which lands
 * once all its threads joined, and every follower gets that landing.
 */
#define HASHES	32
#define PER	4

struct member {
	pthread_t		 t;
	int			 k, id;
	int			 lead, rc, returns, woken;
	struct flight_result	 fr;
};

static pthread_mutex_t	 gmx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 gcv = PTHREAD_COND_INITIALIZER;
static int		 gjoined[HASHES];
static char		 ghash[HASHES][HASH_HEX_LEN + 1];

static void *
member(void *arg)
{
	struct member		*m = arg;
	struct flight		*f;
	struct flight_result	 r;
	struct timespec		 ts;
	int64_t			 dl;
	int			 err = 0;

	m->lead = flight_join(ghash[m->k], &f);
	pthread_mutex_lock(&gmx);
	gjoined[m->k]++;
	pthread_cond_broadcast(&gcv);
	if (m->lead) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WAIT_MS / 1000;
		while (gjoined[m->k] < PER && err == 0)
			err = pthread_cond_timedwait(&gcv, &gmx, &ts);
	}
	pthread_mutex_unlock(&gmx);
	if (m->lead) {
		r = row_result(m->k * 1000 + m->id);
		flight_land(f, &r);
		m->fr = r;
	} else {
		dl = now_ms() + WAIT_MS;
		m->rc = flight_wait(f, dl, &m->fr);
		m->woken = now_ms() < dl;
		m->returns++;
	}
	return NULL;
}

static void
many_hashes(void)
{
	static struct member	 m[HASHES * PER];
	int			 leaders[HASHES], tag[HASHES] = { 0 };
	int			 i, k, badlead = 0, bad = 0;

	for (k = 0; k < HASHES; k++) {
		if (k % 2)
			bucket_hash(ghash[k], 1000 + k);
		else
			some_hash(ghash[k], "many", k);
		gjoined[k] = 0;
		leaders[k] = 0;
	}
	for (i = 0; i < HASHES * PER; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].k = i % HASHES;
		m[i].id = i;
		pthread_create(&m[i].t, NULL, member, &m[i]);
	}
	for (i = 0; i < HASHES * PER; i++)
		pthread_join(m[i].t, NULL);
	for (i = 0; i < HASHES * PER; i++)
		if (m[i].lead) {
			leaders[m[i].k]++;
			tag[m[i].k] = m[i].k * 1000 + m[i].id;
		}
	for (k = 0; k < HASHES; k++)
		if (leaders[k] != 1)
			badlead++;
	T_CHECK(badlead == 0, "%d hashes without exactly one leader", badlead);
	if (badlead)
		return;
	for (i = 0; i < HASHES * PER; i++)
		if (!m[i].lead && (m[i].rc != 0 || m[i].returns != 1 ||
		    !m[i].woken || !is_result(&m[i].fr, tag[m[i].k])))
			bad++;
	T_CHECK(bad == 0, "%d followers without their leader's result", bad);
}

/*
 * No coordination at all: threads join, land and wait on a few hashes
 * in a loop. A leader lands at once, so a follower never times out, and
 * the result it gets is one of its own hash's. For the sanitizers.
 */
#define CHURN_THREADS	8
#define CHURN_ROUNDS	2000
#define CHURN_HASHES	3

static char		 chash[CHURN_HASHES][HASH_HEX_LEN + 1];

struct churner {
	pthread_t	 t;
	int		 id;
	int		 led, followed, bad;
};

static void *
churn(void *arg)
{
	struct churner		*c = arg;
	struct flight		*f;
	struct flight_result	 r;
	int			 k;

	for (int i = 0; i < CHURN_ROUNDS; i++) {
		k = (i + c->id) % CHURN_HASHES;
		if (flight_join(chash[k], &f)) {
			r = row_result(k * 1000000 + c->id * 10000 + i);
			if (i % 3 == 0)
				flight_publish(chash[k], &r);
			flight_land(f, &r);
			c->led++;
		} else {
			c->followed++;
			if (flight_wait(f, now_ms() + WAIT_MS, &r) != 0 ||
			    r.kind != FLIGHT_ROW ||
			    r.row.res.file_size / 1000000 != k ||
			    !is_result(&r, r.row.res.file_size))
				c->bad++;
		}
	}
	return NULL;
}

static void
churning(void)
{
	static struct churner	 c[CHURN_THREADS];
	int			 led = 0, followed = 0, bad = 0;

	for (int k = 0; k < CHURN_HASHES; k++)
		bucket_hash(chash[k], 5000 + k);
	for (int i = 0; i < CHURN_THREADS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].id = i;
		pthread_create(&c[i].t, NULL, churn, &c[i]);
	}
	for (int i = 0; i < CHURN_THREADS; i++) {
		pthread_join(c[i].t, NULL);
		led += c[i].led;
		followed += c[i].followed;
		bad += c[i].bad;
	}
	T_CHECK(led + followed == CHURN_THREADS * CHURN_ROUNDS && bad == 0,
	    "churn: %d led, %d followed, %d bad", led, followed, bad);
	for (int k = 0; k < CHURN_HASHES; k++)
		T_CHECK(flight_waiting(chash[k]) == 0, "churn: nobody left");
}

/*
 * Everyone a waiter: no one lands the flight, the waiters all give up
 * (deadline or flight_leave) and the flight leaves the table; the
 * waker's view (flight_count, flight_list, flight_open) follows.
 */
static void
all_waiters(void)
{
	char			 h[HASH_HEX_LEN + 1], other[HASH_HEX_LEN + 1];
	char			 list[4][HASH_HEX_LEN + 1];
	struct flight		*a = NULL, *b = NULL, *c = NULL;
	struct flight_result	 fr;
	unsigned		 from;

	some_hash(h, "waiters", 0);
	some_hash(other, "waiters", 1);
	T_CHECK(flight_count() == 0 && !flight_open(h), "no flight yet");
	T_CHECK(flight_join(h, &a) == 1 && flight_join(h, &b) == 0,
	    "two waiters of one hash");
	T_CHECK(flight_join(other, &c) == 1, "a waiter of another");
	T_CHECK(flight_count() == 2 && flight_open(h) && flight_open(other),
	    "two flights open");
	from = 0;
	T_CHECK(flight_list(list, 4, &from) == 2, "both listed");
	from = 0;
	T_CHECK(flight_list(list, 1, &from) == 1 &&
	    flight_list(list + 1, 1, &from) == 1 &&
	    strcmp(list[0], list[1]) != 0, "one at a time, each in turn");
	flight_leave(a);
	T_CHECK(flight_open(h), "still open while one waits");
	T_CHECK(flight_wait(b, now_ms() - 1, &fr) == -1, "deadline passed");
	T_CHECK(!flight_open(h) && flight_count() == 1,
	    "the last to give up takes the flight out of the table");
	T_CHECK(flight_join(h, &a) == 1, "a new waiter starts a new flight");
	flight_publish(h, &(struct flight_result){ .kind = FLIGHT_TIMEOUT });
	T_CHECK(!flight_open(h), "landed: out of the table");
	T_CHECK(flight_wait(a, now_ms() + WAIT_MS, &fr) == 0 &&
	    fr.kind == FLIGHT_TIMEOUT, "its waiter gets what landed");
	flight_leave(c);
	T_CHECK(flight_count() == 0, "nothing left");
}

void
test_flight(void)
{
	all_waiters();
	sequential();
	one_bucket();
	one_hash();
	many_hashes();
	churning();
}

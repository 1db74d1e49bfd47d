/*
 * hostwait.c: the election, the members' counts, the cursor and the
 * ring of finished rows, with a clock the tests drive; the ring also
 * under real threads (no row delivered torn, every entry delivered or
 * counted lost) and across a real fork.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostwait.h"
#include "util.h"
#include "t.h"

/* A hash of its own for n, and a row whose fields all say n. */
static void
make_row(unsigned n, char *hash, struct gen_row *row)
{
	snprintf(hash, HASH_HEX_LEN + 1, "%064x", n);
	memset(row, 0, sizeof(*row));
	row->status = GS_COMPLETED;
	row->res.ok = 1;
	row->res.completed_ms = n;
	row->res.file_size = n;
	snprintf(row->res.url, sizeof(row->res.url), "/img/%s.jpg", hash);
}

/* Does row say the same n as hash, in every field make_row() set? */
static int
row_whole(const char *hash, const struct gen_row *row)
{
	unsigned	 n;
	char		 url[sizeof(row->res.url)];

	if (sscanf(hash, "%x", &n) != 1)
		return 0;
	snprintf(url, sizeof(url), "/img/%s.jpg", hash);
	return row->status == GS_COMPLETED && row->res.completed_ms == n &&
	    row->res.file_size == n && strcmp(row->res.url, url) == 0;
}

struct got {
	unsigned	 n;
	unsigned	 bad;
	unsigned	 last;		/* the last n delivered */
	int		 in_order;
};

static void
collect(const char *hash, const struct gen_row *row, void *arg)
{
	struct got	*g = arg;
	unsigned	 n = (unsigned)row->res.completed_ms;

	if (!row_whole(hash, row))
		g->bad++;
	if (g->n > 0 && n <= g->last)
		g->in_order = 0;
	g->last = n;
	g->n++;
}

/* One poller at a time; a silent one is replaced, and knows it. */
static void
test_election(void)
{
	struct hostwait_member	 a, b, c;
	struct hostwait		*hw;
	int64_t			 silent;
	int			 shared;

	hw = hostwait_new(0, &shared);
	hostwait_member_init(&a, hw);
	hostwait_member_init(&b, hw);
	hostwait_member_init(&c, hw);
	T_CHECK(a.token != b.token && a.token != 0, "tokens %llu %llu",
	    (unsigned long long)a.token, (unsigned long long)b.token);
	T_CHECK(hostwait_turn(&a, 1000, &silent) == 1 && silent == -1,
	    "the first member did not become the poller");
	T_CHECK(hostwait_turn(&b, 1001, &silent) == 0, "two pollers");
	/* a beats; b never takes over while it does. */
	for (int64_t t = 1010; t < 2000; t += 10) {
		T_CHECK(hostwait_turn(&a, t, &silent) == 1 && silent == -1,
		    "the poller lost its turn at %lld", (long long)t);
		T_CHECK(hostwait_turn(&b, t + 5, &silent) == 0,
		    "a live poller was replaced at %lld", (long long)t);
	}
	/* a falls silent (killed, stopped): b takes over, c does not too. */
	T_CHECK(hostwait_turn(&b, 1990 + HOSTWAIT_STALE_MS - 1, &silent) == 0,
	    "replaced before it was stale");
	T_CHECK(hostwait_turn(&b, 1990 + HOSTWAIT_STALE_MS, &silent) == 1 &&
	    silent == HOSTWAIT_STALE_MS, "not replaced once stale: silent "
	    "%lld", (long long)silent);
	T_CHECK(hostwait_turn(&c, 1990 + HOSTWAIT_STALE_MS, &silent) == 0,
	    "two members took over at once");
	/* a wakes up: no longer its turn. */
	T_CHECK(hostwait_turn(&a, 1990 + HOSTWAIT_STALE_MS + 1, &silent) == 0,
	    "the replaced poller still polls");
	T_CHECK(hostwait_turn(&b, 1990 + HOSTWAIT_STALE_MS + 2, &silent) == 1,
	    "the new poller lost its turn");
	hostwait_free(hw);
}

/* Busy while a live member has a flight; a silent member counts none. */
static void
test_busy(void)
{
	struct hostwait_member	 a, b, c;
	struct hostwait		*hw;
	int			 shared;

	hw = hostwait_new(0, &shared);
	hostwait_member_init(&a, hw);
	hostwait_member_init(&b, hw);
	T_CHECK(!hostwait_busy(hw, 100), "busy with no member");
	hostwait_waiting(&a, 0, 100);
	hostwait_waiting(&b, 0, 100);
	T_CHECK(!hostwait_busy(hw, 100), "busy with no flight");
	hostwait_waiting(&b, 3, 110);
	T_CHECK(hostwait_busy(hw, 110), "not busy with 3 flights");
	hostwait_waiting(&b, 0, 120);
	T_CHECK(!hostwait_busy(hw, 120), "busy after the flights closed");
	/* b stops with a flight open: it counts until it is gone. */
	hostwait_waiting(&b, 1, 130);
	T_CHECK(hostwait_busy(hw, 130 + HOSTWAIT_GONE_MS), "gone too soon");
	T_CHECK(!hostwait_busy(hw, 131 + HOSTWAIT_GONE_MS),
	    "a silent member still counts");
	/* Its entry is free for a newcomer, and b takes another. */
	hostwait_member_init(&c, hw);
	hostwait_waiting(&a, 0, 200 + HOSTWAIT_GONE_MS);
	hostwait_waiting(&c, 0, 200 + HOSTWAIT_GONE_MS);
	T_CHECK(c.entry == b.entry, "the silent member's entry %d was not "
	    "reused (got %d)", b.entry, c.entry);
	hostwait_waiting(&b, 2, 210 + HOSTWAIT_GONE_MS);
	T_CHECK(b.entry != c.entry && b.entry >= 0, "b's entry %d c's %d",
	    b.entry, c.entry);
	T_CHECK(hostwait_busy(hw, 210 + HOSTWAIT_GONE_MS),
	    "b's flights are not counted again");
	hostwait_free(hw);
}

static void
test_cursor(void)
{
	struct hostwait	*hw;
	int		 shared;

	hw = hostwait_new(0, &shared);
	T_CHECK(hostwait_cursor(hw) == 0 && hostwait_idle_at(hw) == 0,
	    "a new region has a cursor");
	hostwait_advance(hw, 5000);
	hostwait_advance(hw, 4000);	/* a late poller's */
	T_CHECK(hostwait_cursor(hw) == 5000, "cursor %lld",
	    (long long)hostwait_cursor(hw));
	hostwait_advance(hw, 6000);
	T_CHECK(hostwait_cursor(hw) == 6000, "cursor %lld",
	    (long long)hostwait_cursor(hw));
	hostwait_idle(hw, 77);
	T_CHECK(hostwait_idle_at(hw) == 77, "idle %lld",
	    (long long)hostwait_idle_at(hw));
	hostwait_free(hw);
}

/* In order, from where the reader started; a ring behind loses. */
static void
test_ring(void)
{
	struct hostwait_reader	 r, late;
	struct hostwait		*hw;
	struct gen_row		 row;
	char			 hash[HASH_HEX_LEN + 1];
	struct got		 g;
	unsigned		 lost;
	int			 shared;

	hw = hostwait_new(0, &shared);
	make_row(1, hash, &row);
	hostwait_publish(hw, hash, &row);
	/* Entries before a reader started are not its. */
	hostwait_reader_init(&r, hw);
	memset(&g, 0, sizeof(g));
	g.in_order = 1;
	T_CHECK(hostwait_read(hw, &r, 0, collect, &g) == 0 && g.n == 0,
	    "read %u entries published before the reader", g.n);
	for (unsigned i = 2; i <= 11; i++) {
		make_row(i, hash, &row);
		hostwait_publish(hw, hash, &row);
	}
	lost = hostwait_read(hw, &r, 0, collect, &g);
	T_CHECK(lost == 0 && g.n == 10 && g.bad == 0 && g.in_order &&
	    g.last == 11, "lost %u n %u bad %u in order %d last %u", lost,
	    g.n, g.bad, g.in_order, g.last);
	T_CHECK(hostwait_read(hw, &r, 0, collect, &g) == 0 && g.n == 10,
	    "an entry read twice");

	/* A reader a ring and 10 behind loses those 10, reads the rest. */
	hostwait_reader_init(&late, hw);
	for (unsigned i = 12; i < 12 + HOSTWAIT_SLOTS + 10; i++) {
		make_row(i, hash, &row);
		hostwait_publish(hw, hash, &row);
	}
	memset(&g, 0, sizeof(g));
	g.in_order = 1;
	lost = hostwait_read(hw, &late, 0, collect, &g);
	T_CHECK(lost == 10 && g.n == HOSTWAIT_SLOTS && g.bad == 0 &&
	    g.in_order && g.last == 11 + HOSTWAIT_SLOTS + 10,
	    "lost %u n %u bad %u last %u", lost, g.n, g.bad, g.last);
	hostwait_free(hw);
}

#define WRITERS		2
#define PER_WRITER	20000

struct writer {
	pthread_t	 t;
	struct hostwait	*hw;
	unsigned	 first;
};

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	struct gen_row	 row;
	char		 hash[HASH_HEX_LEN + 1];

	for (unsigned i = 0; i < PER_WRITER; i++) {
		make_row(w->first + i, hash, &row);
		hostwait_publish(w->hw, hash, &row);
	}
	return NULL;
}

static void
count_only(const char *hash, const struct gen_row *row, void *arg)
{
	struct got	*g = arg;

	if (!row_whole(hash, row))
		g->bad++;
	g->n++;
}

/*
 * Two writers at once (a poller that was replaced and woke up) and a
 * reader that cannot keep up: every entry is delivered whole or counted
 * lost, none torn.
 */
static void
test_ring_race(void)
{
	struct writer		 w[WRITERS];
	struct hostwait_reader	 r;
	struct hostwait		*hw;
	struct got		 g;
	unsigned		 lost = 0;
	int64_t			 end = now_ms() + 20000;
	int			 shared;

	hw = hostwait_new(0, &shared);
	hostwait_reader_init(&r, hw);
	memset(&g, 0, sizeof(g));
	for (int i = 0; i < WRITERS; i++) {
		w[i].hw = hw;
		w[i].first = 1 + (unsigned)i * PER_WRITER;
		pthread_create(&w[i].t, NULL, writer_main, &w[i]);
	}
	while (g.n + lost < WRITERS * PER_WRITER && now_ms() < end)
		lost += hostwait_read(hw, &r, now_ms(), count_only, &g);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i].t, NULL);
	lost += hostwait_read(hw, &r, now_ms(), count_only, &g);
	T_CHECK(g.bad == 0, "%u torn rows delivered", g.bad);
	T_CHECK(g.n + lost == WRITERS * PER_WRITER, "delivered %u + lost %u "
	    "of %u", g.n, lost, WRITERS * PER_WRITER);
	T_CHECK(g.n > 0, "nothing delivered");
	hostwait_free(hw);
}

/* A forked member's counts and rows reach the parent. */
static void
test_shared_across_fork(void)
{
	struct hostwait_member	 parent, child;
	struct hostwait_reader	 r;
	struct hostwait		*hw;
	struct gen_row		 row;
	char			 hash[HASH_HEX_LEN + 1];
	struct got		 g;
	int64_t			 silent, end;
	pid_t			 pid;
	int			 shared, status = -1;

	hw = hostwait_new(1, &shared);
	T_CHECK(shared, "no shared mapping");
	hostwait_member_init(&parent, hw);
	hostwait_reader_init(&r, hw);
	T_CHECK(hostwait_turn(&parent, 100, &silent) == 1, "no turn");
	if ((pid = fork()) == 0) {
		hostwait_member_init(&child, hw);
		hostwait_waiting(&child, 1, 100);
		/* The parent is silent: the child takes over and publishes. */
		if (hostwait_turn(&child, 100 + HOSTWAIT_STALE_MS, &silent) != 1)
			_exit(2);
		make_row(42, hash, &row);
		hostwait_publish(hw, hash, &row);
		hostwait_advance(hw, 4242);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child "
	    "status %d", status);
	T_CHECK(hostwait_busy(hw, 150), "the child's flight is not seen");
	T_CHECK(hostwait_turn(&parent, 101 + HOSTWAIT_STALE_MS, &silent) == 0,
	    "the parent still polls after the child took over");
	memset(&g, 0, sizeof(g));
	g.in_order = 1;
	end = now_ms() + 1000;
	while (g.n == 0 && now_ms() < end)
		hostwait_read(hw, &r, 0, collect, &g);
	T_CHECK(g.n == 1 && g.bad == 0 && g.last == 42, "n %u bad %u last %u",
	    g.n, g.bad, g.last);
	T_CHECK(hostwait_cursor(hw) == 4242, "cursor %lld",
	    (long long)hostwait_cursor(hw));
	hostwait_free(hw);
}

static void
test_seen(void)
{
	struct hostwait_seen	*s = hostwait_seen_new();
	char			 hash[HASH_HEX_LEN + 1], other[HASH_HEX_LEN + 1];
	int			 fresh = 0;

	memset(hash, 'a', HASH_HEX_LEN);
	hash[HASH_HEX_LEN] = '\0';
	T_CHECK(hostwait_seen_add(s, hash, 10, 1) == 1, "new row not new");
	T_CHECK(hostwait_seen_add(s, hash, 10, 2) == 0, "row published twice");
	/* Finished again (a retry): a new row. */
	T_CHECK(hostwait_seen_add(s, hash, 20, 3) == 1, "a later finish "
	    "taken for the earlier one");
	/* Many rows in one bucket push out the one seen longest ago. */
	memcpy(other, hash, sizeof(other));
	for (int i = 0; i < 16; i++) {
		char	 head[9];

		/* The first 8 digits differ; the bucket's are the same. */
		snprintf(head, sizeof(head), "%08x", i);
		memcpy(other, head, 8);
		fresh += hostwait_seen_add(s, other, 1, 10 + i);
	}
	T_CHECK(fresh == 16, "%d of 16 new", fresh);
	T_CHECK(hostwait_seen_add(s, other, 1, 100) == 0,
	    "the row seen last was forgotten");
	T_CHECK(hostwait_seen_add(s, hash, 20, 101) == 1,
	    "a row was remembered beyond its bucket's room");
	hostwait_seen_free(s);
}

void
test_hostwait(void)
{
	test_election();
	test_busy();
	test_cursor();
	test_ring();
	test_ring_race();
	test_shared_across_fork();
	test_seen();
}

/*
 * hostwait.c: the host's shared table for waiting: the poller's
 * election, the members' counts, the cursor, and the ring of finished
 * rows (see hostwait.h).
 *
 * Everything shared is a C11 atomic or is written under a slot's
 * sequence number; there is no lock, so a member killed or stopped at
 * any instruction leaves the others free to go on.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hostwait.h"
#include "util.h"

struct member_entry {
	_Atomic uint64_t	 token;		/* 0: free */
	_Atomic int64_t		 beat_ms;
	_Atomic uint32_t	 flights;
};

/*
 * One finished row. seq is 2 * index + 1 while entry `index` is
 * written and 2 * index + 2 once it is whole; sum covers hash and row.
 */
struct slot {
	_Atomic uint64_t	 seq;
	uint64_t		 sum;
	char			 hash[HASH_HEX_LEN + 1];
	struct gen_row		 row;
};

struct hostwait {
	_Atomic uint64_t	 next_token;
	_Atomic uint64_t	 poller;	/* its token, 0: none */
	_Atomic int64_t		 poller_beat_ms;
	_Atomic int64_t		 cursor_db_ms;
	_Atomic int64_t		 idle_ms;
	_Atomic uint64_t	 head;		/* entries ever reserved */
	int			 mapped;	/* by mmap(), else calloc() */
	struct member_entry	 member[HOSTWAIT_MEMBERS];
	struct slot		 slot[HOSTWAIT_SLOTS];
};

struct hostwait *
hostwait_new(int shared, int *is_shared)
{
	struct hostwait	*hw = MAP_FAILED;

	if (shared)
		hw = mmap(NULL, sizeof(*hw), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*is_shared = hw != MAP_FAILED;
	if (hw == MAP_FAILED)
		hw = xcalloc(1, sizeof(*hw));
	else
		hw->mapped = 1;
	/* Fresh anonymous memory is zero: every field starts as it should. */
	atomic_store(&hw->next_token, 1);
	return hw;
}

void
hostwait_free(struct hostwait *hw)
{
	if (hw != NULL && hw->mapped)
		munmap(hw, sizeof(*hw));
	else
		free(hw);
}

void
hostwait_member_init(struct hostwait_member *m, struct hostwait *hw)
{
	m->hw = hw;
	m->token = atomic_fetch_add(&hw->next_token, 1);
	m->entry = -1;
}

/* Take a free entry, or one whose member has been silent too long. */
static int
claim_entry(struct hostwait_member *m, int64_t now)
{
	struct member_entry	*e;
	uint64_t		 t;

	for (int i = 0; i < HOSTWAIT_MEMBERS; i++) {
		e = &m->hw->member[i];
		t = atomic_load(&e->token);
		if (t != 0 && now - atomic_load(&e->beat_ms) <=
		    HOSTWAIT_GONE_MS)
			continue;
		if (atomic_compare_exchange_strong(&e->token, &t, m->token))
			return i;
	}
	return -1;
}

void
hostwait_waiting(struct hostwait_member *m, unsigned n, int64_t now)
{
	struct member_entry	*e;

	if (m->entry < 0 ||
	    atomic_load(&m->hw->member[m->entry].token) != m->token)
		m->entry = claim_entry(m, now);
	/* All taken (more members than entries): it is not counted. */
	if (m->entry < 0)
		return;
	e = &m->hw->member[m->entry];
	atomic_store(&e->flights, n);
	atomic_store(&e->beat_ms, now);
}

int
hostwait_busy(struct hostwait *hw, int64_t now)
{
	struct member_entry	*e;

	for (int i = 0; i < HOSTWAIT_MEMBERS; i++) {
		e = &hw->member[i];
		if (atomic_load(&e->token) != 0 &&
		    atomic_load(&e->flights) > 0 &&
		    now - atomic_load(&e->beat_ms) <= HOSTWAIT_GONE_MS)
			return 1;
	}
	return 0;
}

int
hostwait_turn(struct hostwait_member *m, int64_t now, int64_t *silent_ms)
{
	struct hostwait	*hw = m->hw;
	uint64_t	 cur = atomic_load(&hw->poller);
	int64_t		 beat = atomic_load(&hw->poller_beat_ms);

	*silent_ms = -1;
	if (cur == m->token) {
		atomic_store(&hw->poller_beat_ms, now);
		return 1;
	}
	if (cur != 0 && now - beat < HOSTWAIT_STALE_MS)
		return 0;
	/* Of members that saw it silent at once, one takes its place. */
	if (!atomic_compare_exchange_strong(&hw->poller, &cur, m->token))
		return 0;
	atomic_store(&hw->poller_beat_ms, now);
	if (cur != 0)
		*silent_ms = now - beat;
	return 1;
}

void
hostwait_idle(struct hostwait *hw, int64_t now)
{
	atomic_store(&hw->idle_ms, now);
}

int64_t
hostwait_idle_at(struct hostwait *hw)
{
	return atomic_load(&hw->idle_ms);
}

int64_t
hostwait_cursor(struct hostwait *hw)
{
	return atomic_load(&hw->cursor_db_ms);
}

void
hostwait_advance(struct hostwait *hw, int64_t db_ms)
{
	int64_t	 cur = atomic_load(&hw->cursor_db_ms);

	while (db_ms > cur &&
	    !atomic_compare_exchange_weak(&hw->cursor_db_ms, &cur, db_ms))
		continue;
}

/* FNV-1a over the bytes of an entry: torn copies do not match. */
static uint64_t
entry_sum(const char *hash, const struct gen_row *row)
{
	const unsigned char	*p = (const unsigned char *)hash;
	uint64_t		 h = 1469598103934665603ULL;

	for (size_t i = 0; i < HASH_HEX_LEN + 1; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	p = (const unsigned char *)row;
	for (size_t i = 0; i < sizeof(*row); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

void
hostwait_publish(struct hostwait *hw, const char *hash,
    const struct gen_row *row)
{
	uint64_t	 idx = atomic_fetch_add(&hw->head, 1);
	struct slot	*s = &hw->slot[idx % HOSTWAIT_SLOTS];
	char		 h[HASH_HEX_LEN + 1];

	memset(h, 0, sizeof(h));
	memcpy(h, hash, strnlen(hash, HASH_HEX_LEN));
	atomic_store_explicit(&s->seq, 2 * idx + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(s->hash, h, sizeof(h));
	memcpy(&s->row, row, sizeof(*row));
	s->sum = entry_sum(h, row);
	atomic_store_explicit(&s->seq, 2 * idx + 2, memory_order_release);
}

void
hostwait_reader_init(struct hostwait_reader *r, struct hostwait *hw)
{
	r->pos = atomic_load(&hw->head);
	r->unready_ms = 0;
}

/*
 * Copy entry idx out of its slot. Returns 1 copied whole, 0 not written
 * yet (or being written), -1 lost (overwritten, or torn).
 */
static int
copy_entry(struct hostwait *hw, uint64_t idx, char *hash,
    struct gen_row *row)
{
	struct slot	*s = &hw->slot[idx % HOSTWAIT_SLOTS];
	uint64_t	 want = 2 * idx + 2, seq, sum;

	seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (seq < want)
		return 0;
	if (seq > want)
		return -1;
	memcpy(hash, s->hash, HASH_HEX_LEN + 1);
	memcpy(row, &s->row, sizeof(*row));
	sum = s->sum;
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != want ||
	    sum != entry_sum(hash, row) || hash[HASH_HEX_LEN] != '\0')
		return -1;
	return 1;
}

unsigned
hostwait_read(struct hostwait *hw, struct hostwait_reader *r, int64_t now,
    void (*fn)(const char *, const struct gen_row *, void *), void *arg)
{
	uint64_t	 head = atomic_load(&hw->head);
	unsigned	 lost = 0;
	char		 hash[HASH_HEX_LEN + 1];
	struct gen_row	 row;
	int		 rc;

	/* A whole ring behind: what was overwritten is gone. */
	if (head - r->pos > HOSTWAIT_SLOTS) {
		lost += (unsigned)(head - HOSTWAIT_SLOTS - r->pos);
		r->pos = head - HOSTWAIT_SLOTS;
		r->unready_ms = 0;
	}
	while (r->pos < head) {
		if ((rc = copy_entry(hw, r->pos, hash, &row)) == 0) {
			/* Being written: wait, unless its writer stopped. */
			if (r->unready_ms == 0)
				r->unready_ms = now;
			if (now - r->unready_ms < HOSTWAIT_TORN_MS)
				break;
			rc = -1;
		}
		if (rc == 1)
			fn(hash, &row, arg);
		else
			lost++;
		r->pos++;
		r->unready_ms = 0;
	}
	return lost;
}

/* The seen set: buckets of a few ways, keyed by the hash's first bits. */
#define SEEN_BUCKETS	2048
#define SEEN_WAYS	4

struct seen_way {
	uint64_t	 key;		/* the hash's first 16 hex digits */
	int64_t		 completed_ms;
	int64_t		 at_ms;		/* when remembered; 0: empty */
};

struct hostwait_seen {
	struct seen_way	 b[SEEN_BUCKETS][SEEN_WAYS];
};

struct hostwait_seen *
hostwait_seen_new(void)
{
	return xcalloc(1, sizeof(struct hostwait_seen));
}

void
hostwait_seen_free(struct hostwait_seen *s)
{
	free(s);
}

int
hostwait_seen_add(struct hostwait_seen *s, const char *hash,
    int64_t completed_ms, int64_t now)
{
	uint64_t	 key = (uint64_t)hash_prefix(hash, 8) << 32 |
			    hash_prefix(hash + 8, 8);
	struct seen_way	*w = s->b[key % SEEN_BUCKETS], *room = &w[0];

	for (int i = 0; i < SEEN_WAYS; i++) {
		if (w[i].at_ms != 0 && w[i].key == key &&
		    w[i].completed_ms == completed_ms) {
			w[i].at_ms = now;
			return 0;
		}
		/* The empty way, else the one remembered longest ago. */
		if (room->at_ms != 0 && (w[i].at_ms == 0 ||
		    w[i].at_ms < room->at_ms))
			room = &w[i];
	}
	room->key = key;
	room->completed_ms = completed_ms;
	room->at_ms = now;
	return 1;
}

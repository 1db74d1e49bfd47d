/*
 * hostwait.h: what the responder processes of one host share about
 * their waiting clients, so that the database is asked once for the
 * host instead of once per process (waker.h does the asking):
 *
 *   - an election: one member (process) polls; it beats a heartbeat
 *     while it does, and any other takes its place once the beat is
 *     older than HOSTWAIT_STALE_MS (killed, stopped, or stuck);
 *   - each member's count of open flights, so that the poller polls
 *     only while someone on the host waits;
 *   - where the polls stand: the database time of the last poll whose
 *     rows were published, and when the host was last seen idle, so
 *     that the next poll, by whichever member, starts where the last
 *     one left off;
 *   - a ring of the finished rows the poller read, which every member
 *     reads without the database and lands on its own flights. Each
 *     slot carries a sequence number and a checksum: a reader that
 *     falls a whole ring behind, or meets a slot torn by a writer that
 *     was stopped halfway, knows it lost entries (and reads its awaited
 *     rows from the database instead).
 *
 * The region is mapped (MAP_SHARED) before the supervisor forks, as the
 * rate limit, metrics and stats cache are, so it is shared by the
 * processes of one promptpix instance. Processes started apart (mod_fcgid)
 * each have a region of their own, and each polls for itself.
 *
 * Every function takes the time (now_ms(), the monotonic clock, which
 * is system-wide), so that the unit tests can drive the clock. Nothing
 * here blocks: a member that dies or stops anywhere leaves nothing
 * locked.
 */
#ifndef PP_HOSTWAIT_H
#define PP_HOSTWAIT_H

#include <stdint.h>

#include "hash.h"
#include "result.h"

/* Members at once (processes of an instance and their replacements). */
#define HOSTWAIT_MEMBERS	256
/* Entries in the ring: many seconds of finished rows at any real rate. */
#define HOSTWAIT_SLOTS		1024
/* A poller silent this long is replaced. */
#define HOSTWAIT_STALE_MS	60
/* A member silent this long no longer counts as waiting. */
#define HOSTWAIT_GONE_MS	1000
/* An entry still being written after this long is taken as lost. */
#define HOSTWAIT_TORN_MS	100

struct hostwait;

/* One process's place in the region (its own memory, not shared). */
struct hostwait_member {
	struct hostwait	*hw;
	uint64_t	 token;		/* unique in the region, never 0 */
	int		 entry;		/* its counts' entry, -1: none yet */
};

/* Where one member reads the ring (its own memory). */
struct hostwait_reader {
	uint64_t	 pos;		/* the next entry to read */
	int64_t		 unready_ms;	/* since when pos is being written */
};

/*
 * Map a region: shared (MAP_SHARED, for the processes forked after it)
 * or, with shared 0 or when that fails, private memory of this
 * process. Returns the region (never NULL); *is_shared says which.
 */
struct hostwait	*hostwait_new(int shared, int *is_shared);

/* Unmap (or free) a region that no member uses any more. */
void	 hostwait_free(struct hostwait *);

/* Make m a new member of hw, with a token of its own. */
void	 hostwait_member_init(struct hostwait_member *m, struct hostwait *hw);

/*
 * Say that m has n flights open now: its heartbeat as a waiter. A
 * member that lost its entry (it was silent longer than
 * HOSTWAIT_GONE_MS and another took it) takes a free one again.
 */
void	 hostwait_waiting(struct hostwait_member *m, unsigned n, int64_t now);

/* Does a live member (heard within HOSTWAIT_GONE_MS) have a flight open? */
int	 hostwait_busy(struct hostwait *, int64_t now);

/*
 * Is it m's turn to poll? Returns 1 if m is the poller (and beats its
 * heartbeat), taking over from one silent for HOSTWAIT_STALE_MS or from
 * none; then *silent_ms is how long the one it replaced had been silent
 * (-1: m was the poller already, or there was none). Returns 0 if
 * another member polls.
 */
int	 hostwait_turn(struct hostwait_member *m, int64_t now,
	    int64_t *silent_ms);

/*
 * Nobody on the host waits at now: a poll need not look at rows that
 * finished before it (less a margin).
 */
void	 hostwait_idle(struct hostwait *, int64_t now);

/* When the host was last seen idle (now_ms()), or 0 if never. */
int64_t	 hostwait_idle_at(struct hostwait *);

/*
 * The database time (unix milliseconds) of the last poll whose rows
 * are all in the ring, or 0 if none. hostwait_advance() moves it
 * forward only: a late poller cannot move it back past rows another
 * published.
 */
int64_t	 hostwait_cursor(struct hostwait *);
void	 hostwait_advance(struct hostwait *, int64_t db_ms);

/*
 * Put the finished row of hash into the ring. Any member may: two that
 * both believe they poll (a stopped poller that wakes up) write
 * distinct entries, and a reader sees an entry one of them tore as
 * lost, never as a row.
 */
void	 hostwait_publish(struct hostwait *, const char *hash,
	    const struct gen_row *row);

/* Start reading at the ring's end: entries before now are not for r. */
void	 hostwait_reader_init(struct hostwait_reader *r, struct hostwait *);

/*
 * Call fn for each entry published since r last read, in order, and
 * leave r after them. An entry still being written is waited for (at
 * the next call) for HOSTWAIT_TORN_MS. Returns how many entries were
 * lost: passed over while r was a ring behind, torn, or overwritten
 * before r read them (then the caller reads its rows another way).
 */
unsigned hostwait_read(struct hostwait *, struct hostwait_reader *r,
	    int64_t now,
	    void (*fn)(const char *hash, const struct gen_row *, void *),
	    void *arg);

/*
 * The poller's memory of rows it already put into the ring, keyed by
 * hash and completion time, so that polls whose windows overlap do not
 * publish a row twice. A row forgotten (its bucket filled with others)
 * is at worst published again, which lands nothing twice.
 */
struct hostwait_seen;

struct hostwait_seen *hostwait_seen_new(void);
void	 hostwait_seen_free(struct hostwait_seen *);

/*
 * Remember that hash finished at completed_ms, seen at now. Returns 1
 * if it was not remembered (publish it), 0 if it was. A full bucket
 * forgets the entry seen longest ago.
 */
int	 hostwait_seen_add(struct hostwait_seen *, const char *hash,
	    int64_t completed_ms, int64_t now);

#endif

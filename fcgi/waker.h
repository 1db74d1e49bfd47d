/*
 * waker.h: the wake-ups of this process's waiters when another process
 * or host finished their image (leases are leaser.h's).
 *
 * One process of the host polls the database for all of them, and only
 * while some process of the host has a client waiting: every 5 ms one
 * indexed query returns the rows that finished since its last poll (the
 * rows themselves), and the poller puts them into a ring in shared
 * memory (hostwait.h). Each process reads that ring every 2 ms, without
 * the database, and lands the rows its own clients wait for. The poller
 * is elected through the same memory; one that is killed, stopped or
 * stuck is replaced within HOSTWAIT_STALE_MS, and the next poll goes on
 * from the database time of the last one whose rows were published, so
 * no row is missed while the poller changes or the database is away.
 * A batched read of a process's awaited rows, every 10 s or as
 * soon as its reader lost ring entries, is the safety net.
 *
 * Processes that share no parent (mod_fcgid) share no memory: each is
 * its own host and polls while its client waits.
 */
#ifndef PP_WAKER_H
#define PP_WAKER_H

struct cfg;

/*
 * Once in the process that forks the others, before it does: map the
 * memory they share. Returns 0, or -1 (then each process polls alone).
 */
int	waker_init(void);

/* Start this process's threads. Returns 0, or -1. */
int	waker_start(const struct cfg *);

#endif

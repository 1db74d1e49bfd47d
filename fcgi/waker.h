/*
 * waker.h: one thread per process that wakes its waiters when another
 * process or host finished their image (leases are leaser.h's). While anyone waits it asks the database every few milliseconds
 * what finished lately (one indexed query for the whole process, however
 * many clients wait), and now and then reads each awaited row itself.
 */
#ifndef PP_WAKER_H
#define PP_WAKER_H

struct cfg;

/* Start the thread. Returns 0, or -1. */
int	waker_start(const struct cfg *);

#endif

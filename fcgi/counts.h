/*
 * counts.h: total_requests for cache hits, counted in memory and added
 * to the rows in batches. A hit then takes no row lock, and the row of a
 * viral image is not a queue of UPDATEs. Figures are exact once flushed:
 * at least every flush interval, on SIGUSR1 and on SIGTERM.
 */
#ifndef PP_COUNTS_H
#define PP_COUNTS_H

struct db;

/* Count one more request for hash. Never blocks on the database. */
void	counts_add(const char *hash);

/*
 * Add every pending count to its row, on db. Counts that cannot be
 * written (the database is away) are kept for the next flush. Returns
 * the number of rows updated, or -1.
 */
int	counts_flush(struct db *);

/* Pending hashes, for deciding to flush early. */
unsigned	counts_pending(void);

#endif

/*
 * counts.h: total_requests for cache hits, counted in memory and added
 * to the rows in batches. A hit then takes no row lock, and the row of a
 * viral image is not a queue of UPDATEs. Figures are exact once flushed:
 * at least every flush interval, on SIGUSR1 and on SIGTERM.
 */
#ifndef PP_COUNTS_H
#define PP_COUNTS_H

struct db;
struct gen_result;
struct img_req;

/*
 * Count one more request for hash, the image of r and model answered
 * with res: enough to bring back its row if a cleanup removed it before
 * the flush. Never blocks on the database.
 */
void	counts_add(const char *hash, const struct img_req *r,
	    const char *model, const struct gen_result *res);

/*
 * Add every pending count to its row, on db, each exactly once. Counts
 * that cannot be written (the database is away, or its answer was lost)
 * are kept for the next flush. Returns the number of images whose
 * counts were added, or -1.
 */
int	counts_flush(struct db *);

/* Pending hashes, for deciding to flush early. */
unsigned	counts_pending(void);

#endif

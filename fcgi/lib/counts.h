/*
 * counts.h: total_requests for cache hits, counted in memory and added
 * to the rows in batches. A hit then takes no row lock, and the row of a
 * viral image is not a queue of UPDATEs. Figures are exact once flushed:
 * at least every flush interval, on SIGUSR1 and on SIGTERM.
 */
#ifndef PP_COUNTS_H
#define PP_COUNTS_H

#include <stdint.h>

#include "req.h"
#include "result.h"

/* Hits on one image answered from memory, waiting to be added (counts.c). */
struct hit_count {
	char			 hash[65];
	unsigned long		 n;
	struct img_req		 req;	/* req.prompt is owned by counts.c */
	char			*model;
	struct gen_result	 res;	/* what the hits were answered with */
	struct hit_count	*next;
};

/*
 * What sends one batch of counts under its id (db_add_requests(), with
 * its connection in arg): 1 added, 0 added before (its id was seen), or
 * -1 (not known to be added: it is sent again, unchanged).
 */
typedef int	(*counts_send_fn)(void *arg, uint64_t batch,
		    const struct hit_count *list);

/*
 * Count one more request for hash, the image of r and model answered
 * with res: enough to bring back its row if a cleanup removed it before
 * the flush. Never blocks on the database.
 */
void	counts_add(const char *hash, const struct img_req *r,
	    const char *model, const struct gen_result *res);

/*
 * Send every pending count through send, each exactly once. Counts that
 * cannot be written (the database is away, or its answer was lost) are
 * kept for the next flush. Returns the number of images whose counts
 * were added, or -1.
 */
int	counts_flush(counts_send_fn send, void *arg);

/* Pending hashes, for deciding to flush early. */
unsigned	counts_pending(void);

#endif

/*
 * ratelimit.h: how many new images one client address may start: a
 * token bucket per address (rate per minute, burst), shared by all the
 * responder processes of a host through shared memory made before they
 * fork. Hits and waiters never take a token; only a request that would
 * start a generation does. The table is direct-mapped and lossy: two
 * addresses in one slot reset each other, which errs towards allowing.
 */
#ifndef PP_RATELIMIT_H
#define PP_RATELIMIT_H

/* Make the shared table. per_minute 0 turns limiting off. 0 or -1. */
int	ratelimit_init(unsigned per_minute, unsigned burst);

int	ratelimit_enabled(void);

/*
 * Take a token for client. Returns 0 if allowed, otherwise the seconds
 * until a token is due (for Retry-After).
 */
unsigned	ratelimit_take(const char *client);

/* Give back a token taken for a request that did not generate. */
void	ratelimit_refund(const char *client);

#endif

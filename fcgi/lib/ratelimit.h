/*
 * ratelimit.h: how many new images one client address may start: a
 * token bucket per client (rate per minute, burst), shared by all the
 * responder processes of a host through shared memory made before they
 * fork. Hits and waiters never take a token; only a request that would
 * start a generation does.
 *
 * A client is an IPv4 address, or the /64 of an IPv6 address (a host
 * is given a /64 or more, so its addresses are one client); an address
 * written with a port is normalised before (uri_client()). The table is
 * set-associative, and no client is ever given a fresh burst because
 * another one needs room: a bucket is reused only once it is full again
 * (when it is the same as a fresh one), and while a set has no such
 * bucket its new clients share one overflow bucket. The buckets are per
 * host: N hosts allow a client N times the rate.
 */
#ifndef PP_RATELIMIT_H
#define PP_RATELIMIT_H

/*
 * Make the shared table (replacing one made before). per_minute 0 turns
 * limiting off. 0 or -1.
 */
int	ratelimit_init(unsigned per_minute, unsigned burst);

int	ratelimit_enabled(void);

/*
 * Take a token for client. Returns 0 if allowed, otherwise the seconds
 * until a token is due (for Retry-After).
 */
unsigned	ratelimit_take(const char *client);

/* Give back a token taken for a request that did not generate. */
void	ratelimit_refund(const char *client);

/*
 * The set client's bucket is looked for in (0 when limiting is off):
 * for tests that need two clients of one set.
 */
unsigned	ratelimit_set(const char *client);

#endif

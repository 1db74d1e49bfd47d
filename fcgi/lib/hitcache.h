/*
 * hitcache.h: a bounded per-process cache of completed images, so that a
 * hit is answered without a database round trip. A completed row does
 * not change on its own; an operator's edit shows after at most the TTL.
 * Direct-mapped (a new entry replaces the one in its slot): memory is
 * fixed at start-up, about 200 bytes a slot.
 */
#ifndef PP_HITCACHE_H
#define PP_HITCACHE_H

#include "result.h"

/*
 * Size the cache; 0 slots turns it off. Call before threads, once (or
 * again after hitcache_free()).
 */
void	hitcache_init(unsigned slots, unsigned ttl_ms);

/*
 * Free the cache and turn it off; hitcache_init() may then be called
 * again. For the unit tests and shutdown: no other thread may be using
 * the cache.
 */
void	hitcache_free(void);

/* Copy the cached completed row of hash into *row. Returns 1 or 0. */
int	hitcache_get(const char *hash, struct gen_row *row);

/* Remember a completed row (anything else is ignored). */
void	hitcache_put(const char *hash, const struct gen_row *row);

#endif

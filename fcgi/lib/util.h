/*
 * util.h: allocation wrappers and clocks.
 *
 * Allocation policy: every allocation goes through x*() which aborts the
 * process on out-of-memory. A responder that cannot allocate a few bytes
 * cannot answer anyway, and spawn-fcgi/systemd restart it; this keeps every
 * caller free of half-handled NULL paths.
 */
#ifndef PP_UTIL_H
#define PP_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* What a library allocated (json-c, ...): p itself, or abort if NULL. */
void	*xchk(void *p);

/* Milliseconds on the monotonic clock: for deadlines and durations. */
int64_t	 now_ms(void);
/* Microseconds on the monotonic clock: for short durations (metrics). */
int64_t	 now_us(void);
/* Milliseconds since the epoch: for wall-clock stamps. */
int64_t	 wall_ms(void);
void	 sleep_ms(int64_t);
/* 64 random bits from the kernel (a clock mix if it cannot say); never 0. */
uint64_t random_u64(void);

/* Copy src into dst (size dstsz); returns -1 if it did not fit. */
int	 strlcpy_chk(char *dst, const char *src, size_t dstsz);

/*
 * Wipe the value of environment variable name, then unset it: unsetenv()
 * alone drops only the pointer, and /proc/PID/environ shows the
 * process's start-up copy, where the value stays. Not thread-safe: for
 * start-up, before any thread.
 */
void	 env_wipe(const char *name);

#endif

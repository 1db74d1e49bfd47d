/*
 * util.c: the allocation wrappers that abort on out-of-memory, clocks,
 * a checked string copy, and wiping a variable out of the environment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "util.h"

static void
oom(size_t n)
{
	fprintf(stderr, "promptpix: out of memory (%zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		oom(n * sz);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	*q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
xchk(void *p)
{
	if (p == NULL)
		oom(0);
	return p;
}

/* The time on clock, in units of which there are per_second a second. */
static int64_t
clock_in(clockid_t clock, int64_t per_second)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * per_second +
	    ts.tv_nsec / (1000000000 / per_second);
}

int64_t
now_ms(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000);
}

int64_t
now_us(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000000);
}

int64_t
wall_ms(void)
{
	return clock_in(CLOCK_REALTIME, 1000);
}

void
sleep_ms(int64_t ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

int
strlcpy_chk(char *dst, const char *src, size_t dstsz)
{
	size_t	 n = strlen(src);

	if (dstsz == 0)
		return -1;
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void
env_wipe(const char *name)
{
	char	*v;

	/*
	 * The start-up strings are writable (the kernel put them on the
	 * stack), and so are setenv()'s; nothing here putenv()s a constant.
	 */
	if ((v = getenv(name)) != NULL)
		explicit_bzero(v, strlen(v));
	unsetenv(name);
}

uint64_t
random_u64(void)
{
	uint64_t	 v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)now_us() ^ ((uint64_t)getpid() << 32);
	return v | 1;
}

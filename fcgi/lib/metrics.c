/*
 * metrics.c: the counters behind GET /metrics. See metrics.h for the
 * shared-memory layout; the README's Monitoring section lists every
 * metric.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "metrics.h"
#include "util.h"


static const char *const gen_names[MG__MAX] = {
	"completed", "failed", "timeout"
};
static const char *const db_names[MDB__MAX] = {
	"connect", "query", "conflict"
};

/* Upper bounds of the histogram buckets, in microseconds (+Inf last). */
static const int64_t wake_le[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000
};
static const int64_t gen_le[] = {
	100000, 250000, 500000, 1000000, 2000000, 5000000, 10000000,
	20000000, 30000000, 60000000, 120000000
};
#define NB(a)		(sizeof(a) / sizeof(a[0]))
#define MAX_BUCKETS	16
_Static_assert(NB(wake_le) < MAX_BUCKETS && NB(gen_le) < MAX_BUCKETS,
    "MAX_BUCKETS holds every bucket and +Inf");

struct hist {
	atomic_uint_least64_t	 bucket[MAX_BUCKETS];	/* not cumulative */
	atomic_uint_least64_t	 sum_us;
};

struct slot {
	atomic_uint_least64_t	 requests[OUT__MAX];
	atomic_uint_least64_t	 generations[MG__MAX];
	atomic_uint_least64_t	 upstream_ok;
	atomic_uint_least64_t	 upstream_error;
	atomic_uint_least64_t	 takeovers;
	atomic_uint_least64_t	 db_errors[MDB__MAX];
	atomic_int_least64_t	 requests_in_flight;
	atomic_int_least64_t	 waiters;
	atomic_int_least64_t	 generating;
	struct hist		 wake;
	struct hist		 gen;
};

/*
 * The region and this process's slot. Set before any thread starts and
 * read-only afterwards; the slots themselves are only touched atomically.
 */
static struct slot	 local_slot;
static struct slot	*slots = &local_slot;
static unsigned		 nslots = 1;
static struct slot	*self = &local_slot;

int
metrics_init(unsigned n)
{
	void	*p;

	if (n == 0)
		n = 1;
	p = mmap(NULL, n * sizeof(struct slot), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	/* Anonymous mappings are zero-filled: every atomic starts at 0. */
	slots = p;
	nslots = n;
	self = &slots[0];
	return 0;
}

void
metrics_use_slot(unsigned i)
{
	self = &slots[i < nslots ? i : 0];
	atomic_store(&self->requests_in_flight, 0);
	atomic_store(&self->waiters, 0);
	atomic_store(&self->generating, 0);
}

static void
inc(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void
gauge(atomic_int_least64_t *g, int delta)
{
	atomic_fetch_add_explicit(g, delta, memory_order_relaxed);
}

static void
observe(struct hist *h, const int64_t *le, size_t nle, int64_t us)
{
	size_t	 i;

	if (us < 0)
		us = 0;
	for (i = 0; i < nle && us > le[i]; i++)
		continue;
	inc(&h->bucket[i], 1);
	inc(&h->sum_us, (uint64_t)us);
}

void
metrics_request(enum outcome o)
{
	inc(&self->requests[(unsigned)o < OUT__MAX ? o : OUT_OTHER], 1);
}

void
metrics_requests_in_flight(int delta)
{
	gauge(&self->requests_in_flight, delta);
}

void
metrics_waiters(int delta)
{
	gauge(&self->waiters, delta);
}

void
metrics_generating(int delta)
{
	gauge(&self->generating, delta);
}

void
metrics_generation(enum metrics_gen r, int64_t us, unsigned calls)
{
	inc(&self->generations[r], 1);
	observe(&self->gen, gen_le, NB(gen_le), us);
	if (r == MG_COMPLETED && calls > 0) {
		inc(&self->upstream_ok, 1);
		calls--;
	}
	inc(&self->upstream_error, calls);
}

void
metrics_takeover(void)
{
	inc(&self->takeovers, 1);
}

void
metrics_wakeup(int64_t us)
{
	observe(&self->wake, wake_le, NB(wake_le), us);
}

void
metrics_db_error(enum metrics_db k)
{
	inc(&self->db_errors[k], 1);
}

/* Sums over every slot. */
static uint64_t
sum_u(size_t off)
{
	uint64_t	 v = 0;

	for (unsigned i = 0; i < nslots; i++)
		v += atomic_load_explicit((atomic_uint_least64_t *)
		    ((char *)&slots[i] + off), memory_order_relaxed);
	return v;
}

static int64_t
sum_i(size_t off)
{
	int64_t		 v = 0;

	for (unsigned i = 0; i < nslots; i++)
		v += atomic_load_explicit((atomic_int_least64_t *)
		    ((char *)&slots[i] + off), memory_order_relaxed);
	return v;
}

int64_t
metrics_waiters_now(void)
{
	int64_t	 v = sum_i(offsetof(struct slot, waiters));

	return v > 0 ? v : 0;
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A gauge that can only be briefly negative (a decrement seen first). */
static void
put_gauge(FILE *f, const char *name, const char *help, size_t off)
{
	int64_t	 v = sum_i(off);

	head(f, name, "gauge", help);
	fprintf(f, "%s %lld\n", name, (long long)(v > 0 ? v : 0));
}

static void
put_counter(FILE *f, const char *name, const char *help, size_t off)
{
	head(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)sum_u(off));
}

/*
 * A counter family: one series per value of label, read from n
 * consecutive counters of the slot starting at off.
 */
static void
put_family(FILE *f, const char *name, const char *help, const char *label,
    const char *const *values, size_t n, size_t off)
{
	head(f, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		    (unsigned long long)sum_u(off + i *
		    sizeof(atomic_uint_least64_t)));
}

/*
 * Microseconds as seconds, exactly (no binary-fraction noise) and in the
 * shortest form: 0.0005, 1, 2.5.
 */
static void
put_seconds(FILE *f, uint64_t us)
{
	char	 frac[8];
	int	 n;

	fprintf(f, "%llu", (unsigned long long)(us / 1000000));
	if (us % 1000000 == 0)
		return;
	n = snprintf(frac, sizeof(frac), "%06llu",
	    (unsigned long long)(us % 1000000));
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	fprintf(f, ".%s", frac);
}

/*
 * A histogram. _count is the +Inf bucket, summed from the same loads as
 * the buckets, so the two always agree even while requests update them.
 */
static void
put_hist(FILE *f, const char *name, const char *help, size_t off,
    const int64_t *le, size_t nle)
{
	uint64_t	 cum = 0;
	size_t		 i;

	head(f, name, "histogram", help);
	for (i = 0; i <= nle; i++) {
		cum += sum_u(off + offsetof(struct hist, bucket) +
		    i * sizeof(atomic_uint_least64_t));
		fprintf(f, "%s_bucket{le=\"", name);
		if (i < nle)
			put_seconds(f, (uint64_t)le[i]);
		else
			fputs("+Inf", f);
		fprintf(f, "\"} %llu\n", (unsigned long long)cum);
	}
	fprintf(f, "%s_sum ", name);
	put_seconds(f, sum_u(off + offsetof(struct hist, sum_us)));
	fprintf(f, "\n%s_count %llu\n", name, (unsigned long long)cum);
}

char *
metrics_render(size_t *len)
{
	char	*buf = NULL;
	FILE	*f;

	if ((f = open_memstream(&buf, len)) == NULL) {
		fprintf(stderr, "promptpix: out of memory (metrics)\n");
		abort();
	}
	put_family(f, "promptpix_requests_total",
	    "Finished requests by outcome.", "outcome", outcome_names,
	    OUT__MAX, offsetof(struct slot, requests));
	put_gauge(f, "promptpix_requests_in_flight",
	    "Requests being answered now.",
	    offsetof(struct slot, requests_in_flight));
	put_family(f, "promptpix_generations_total",
	    "Finished generations (backend runs) by result.", "result",
	    gen_names, MG__MAX, offsetof(struct slot, generations));
	put_gauge(f, "promptpix_generations_in_flight",
	    "Generations in progress now.",
	    offsetof(struct slot, generating));
	head(f, "promptpix_upstream_calls_total", "counter",
	    "Paid image API calls by result.");
	fprintf(f, "promptpix_upstream_calls_total{result=\"ok\"} %llu\n",
	    (unsigned long long)sum_u(offsetof(struct slot, upstream_ok)));
	fprintf(f, "promptpix_upstream_calls_total{result=\"error\"} %llu\n",
	    (unsigned long long)sum_u(offsetof(struct slot, upstream_error)));
	put_counter(f, "promptpix_takeovers_total",
	    "Generations taken over from a generator that had gone.",
	    offsetof(struct slot, takeovers));
	put_gauge(f, "promptpix_waiters",
	    "Requests waiting for another request's generation now.",
	    offsetof(struct slot, waiters));
	put_hist(f, "promptpix_waiter_wakeup_seconds",
	    "From a generation's result becoming known to a waiter's answer.",
	    offsetof(struct slot, wake), wake_le, NB(wake_le));
	put_hist(f, "promptpix_generation_seconds",
	    "Time the backend took per generation.",
	    offsetof(struct slot, gen), gen_le, NB(gen_le));
	put_family(f, "promptpix_db_errors_total", "Database errors by kind.",
	    "kind", db_names, MDB__MAX, offsetof(struct slot, db_errors));
	if (fclose(f) != 0) {
		fprintf(stderr, "promptpix: out of memory (metrics)\n");
		abort();
	}
	return buf;
}

char *
metrics_render_queue(const struct metrics_queue *q, size_t *len)
{
	static const char *const classes[] = { "premium", "standard", "batch" };
	char	*buf = NULL;
	FILE	*f;

	if ((f = open_memstream(&buf, len)) == NULL) {
		fprintf(stderr, "promptpix: out of memory (metrics)\n");
		abort();
	}
	head(f, "promptpix_queue_depth", "gauge",
	    "Jobs queued (pending) on every host, by class.");
	for (size_t i = 0; i < 3; i++)
		fprintf(f, "promptpix_queue_depth{class=\"%s\"} %llu\n",
		    classes[i], (unsigned long long)q->depth[i]);
	head(f, "promptpix_queue_slots_in_use", "gauge",
	    "Generation slots taken now, on every host.");
	fprintf(f, "promptpix_queue_slots_in_use %llu\n",
	    (unsigned long long)q->slots_in_use);
	head(f, "promptpix_queue_slots_max", "gauge",
	    "The cap on generations at the backend at once ([queue] "
	    "max_concurrent).");
	fprintf(f, "promptpix_queue_slots_max %u\n", q->slots_max);
	head(f, "promptpix_queue_oldest_seconds", "gauge",
	    "Age of the oldest queued job.");
	fprintf(f, "promptpix_queue_oldest_seconds ");
	put_seconds(f, (uint64_t)(q->oldest_ms > 0 ? q->oldest_ms : 0) * 1000);
	fputc('\n', f);
	head(f, "promptpix_budget_spent_usd", "gauge",
	    "Spent today (UTC), as the backends reported it.");
	fprintf(f, "promptpix_budget_spent_usd %.6f\n", q->spent_usd);
	head(f, "promptpix_budget_reserved_usd", "gauge",
	    "Reserved today for images queued or running.");
	fprintf(f, "promptpix_budget_reserved_usd %.6f\n", q->reserved_usd);
	if (q->budget_usd > 0) {
		head(f, "promptpix_budget_left_usd", "gauge",
		    "What [budget] daily_usd leaves for today.");
		fprintf(f, "promptpix_budget_left_usd %.6f\n", q->budget_usd -
		    q->spent_usd - q->reserved_usd);
	}
	head(f, "promptpix_stats_refreshes_total", "counter",
	    "Times the stats figures were read from the database (at most "
	    "once per [stats] cache period).");
	fprintf(f, "promptpix_stats_refreshes_total %llu\n",
	    (unsigned long long)q->stats_refreshes);
	if (fclose(f) != 0) {
		fprintf(stderr, "promptpix: out of memory (metrics)\n");
		abort();
	}
	return buf;
}

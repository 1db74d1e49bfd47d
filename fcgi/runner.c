/*
 * runner.c: the generation workers: take a slot and the next job, run
 * the backend, record, give the slot back, publish (see runner.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "calls.h"
#include "cfgcheck.h"
#include "cfg.h"
#include "db.h"
#include "flight.h"
#include "imgstore.h"
#include "log.h"
#include "metrics.h"
#include "rollup.h"
#include "runner.h"
#include "store.h"
#include "util.h"

/* How often an idle worker looks at the queue without being kicked. */
#define IDLE_POLL_MS	250
/* After a database fault, before the next look. */
#define FAULT_PAUSE_MS	500
/* How many lost races for a job before a worker waits again. */
#define CLAIM_TRIES	4
/* Pauses between tries to record into a database that is away. */
#define RECORD_PAUSE_MS		200
#define RECORD_PAUSE_MAX_MS	5000
/* How often a call whose fate is not known yet is looked at again. */
#define FATE_POLL_MS		200

struct gen_worker {
	int			 idx;
	const struct cfg	*cfg;
	const struct backend	*backend;
	void			*ctx;
	struct db		*db;
	char			 rid[24];
	struct db_job		 job;
	int			 busy;		/* between taking and publishing */
	int			 running;	/* claim below is live */
	int			 recording;	/* ... and its end is being recorded */
	struct runner_claim	 claim;
	struct call_book	 book;		/* the job's paid calls */
	struct imgstore		*store;		/* where images are kept */
};

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 kicked;
static unsigned long	 kicks;
static struct gen_worker *workers;
static unsigned		 nworkers;
static int		 draining;	/* take no new job */

void
runner_kick(void)
{
	pthread_mutex_lock(&mtx);
	kicks++;
	pthread_cond_signal(&kicked);
	pthread_mutex_unlock(&mtx);
}

static unsigned long
kicks_now(void)
{
	unsigned long	 k;

	pthread_mutex_lock(&mtx);
	k = kicks;
	pthread_mutex_unlock(&mtx);
	return k;
}

/* Sleep up to ms, or until a kick after the one seen. */
static void
idle_wait(unsigned long seen, int64_t ms)
{
	struct timespec	 ts;
	int64_t		 end = now_ms() + ms;

	ts.tv_sec = end / 1000;
	ts.tv_nsec = (end % 1000) * 1000000;
	pthread_mutex_lock(&mtx);
	while (kicks == seen &&
	    pthread_cond_timedwait(&kicked, &mtx, &ts) == 0)
		continue;
	pthread_mutex_unlock(&mtx);
}

unsigned
runner_drain(void)
{
	unsigned	 n = 0;

	pthread_mutex_lock(&mtx);
	draining = 1;
	for (unsigned i = 0; i < nworkers; i++)
		n += workers[i].busy != 0;
	pthread_mutex_unlock(&mtx);
	return n;
}

int
runner_write_fates(struct db *db)
{
	int	 rc = 0;

	/* workers and nworkers are set before any thread starts. */
	for (unsigned i = 0; i < nworkers; i++)
		if (book_write(&workers[i].book, db) == -1)
			rc = -1;
	return rc;
}

int
runner_claim_live(uint64_t token)
{
	int	 live = 0;

	pthread_mutex_lock(&mtx);
	for (unsigned i = 0; i < nworkers && !live; i++)
		live = workers[i].running && !workers[i].recording &&
		    workers[i].claim.token == token;
	pthread_mutex_unlock(&mtx);
	return live;
}

unsigned
runner_claims(struct runner_claim *out, unsigned max)
{
	unsigned	 n = 0;

	pthread_mutex_lock(&mtx);
	for (unsigned i = 0; i < nworkers && n < max; i++)
		if (workers[i].running)
			out[n++] = workers[i].claim;
	pthread_mutex_unlock(&mtx);
	return n;
}

/*
 * Mark gw busy (on) or idle. Returns 0 when it may not become busy:
 * the process is draining.
 */
static int
set_busy(struct gen_worker *gw, int on)
{
	int	 ok;

	pthread_mutex_lock(&mtx);
	ok = !on || !draining;
	gw->busy = on && ok;
	pthread_mutex_unlock(&mtx);
	return ok;
}

static void
set_running(struct gen_worker *gw, int on)
{
	pthread_mutex_lock(&mtx);
	gw->running = on;
	gw->recording = 0;
	pthread_mutex_unlock(&mtx);
}

/* A fresh claim: a random token, and a slot owner no other claim has. */
static void
new_claim(struct gen_worker *gw, const char *hash)
{
	struct runner_claim	*cl = &gw->claim;
	char			 host[64];

	cl->token = random_u64();	/* never 0, which means "no claim" */
	if (gethostname(host, sizeof(host)) != 0)
		strlcpy_chk(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(cl->owner, sizeof(cl->owner), "%.60s:%d:%016llx", host,
	    (int)getpid(), (unsigned long long)cl->token);
	memcpy(cl->hash, hash, sizeof(cl->hash));
}

/*
 * The answer to our claim was lost: the claim may have committed (and
 * counted its paid call) or not. Only a committed claim holds our
 * token, so renewing the lease under it tells which, once the database
 * answers again. Asked for at most half a lease: past that, another
 * worker may take the job over. Returns 1 ours, 0 not, -1 unknown.
 */
static int
claim_outcome(struct gen_worker *gw)
{
	const struct cfg	*c = gw->cfg;
	int64_t			 end = now_ms() + c->queue_lease_ms / 2;
	int64_t			 pause = 50;
	int			 rc;

	while ((rc = db_job_lease(gw->db, gw->job.hash, gw->claim.token,
	    c->queue_lease_ms)) == -1 && now_ms() + pause < end) {
		sleep_ms(pause);
		pause = pause * 2 > 1000 ? 1000 : pause * 2;
	}
	if (rc == -1)
		log_warn(gw->rid, "%.12s: whether our claim was made is not "
		    "known; its lease will tell", gw->job.hash);
	return rc;
}

/*
 * Take the next job and a slot for it. Returns 1 with gw->job and
 * gw->claim set (the claim running), 0 when there is no job or no free
 * slot, -1 on a database fault.
 */
static int
take(struct gen_worker *gw)
{
	const struct cfg	*c = gw->cfg;
	int			 rc;

	for (int tries = 0; tries < CLAIM_TRIES; tries++) {
		if ((rc = db_next_job(gw->db, &gw->job)) != 1)
			return rc;
		new_claim(gw, gw->job.hash);
		if ((rc = db_slot_take(gw->db, gw->claim.owner, gw->job.hash,
		    c->queue_max_concurrent, c->queue_lease_ms)) != 1)
			return rc;
		if ((rc = db_claim(gw->db, gw->job.hash, gw->claim.token,
		    c->queue_lease_ms)) == -1)
			rc = claim_outcome(gw);
		if (rc == 1) {
			/* From now on the waker renews both leases. */
			set_running(gw, 1);
			return 1;
		}
		/* Another worker was first: give the slot back, look again. */
		db_slot_free(gw->db, gw->claim.owner);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* The row a finished generation would read back, without reading it. */
static void
row_from_result(const struct gen_result *g, struct gen_row *row)
{
	memset(row, 0, sizeof(*row));
	row->status = g->ok ? GS_COMPLETED : GS_FAILED;
	row->res = *g;
	row->res.completed_ms = wall_ms();
}

/* Tell this process's waiters of hash: row is what the job came to. */
static void
publish(const char *hash, const struct gen_row *row)
{
	struct flight_result	 fr;

	memset(&fr, 0, sizeof(fr));
	fr.kind = FLIGHT_ROW;
	fr.row = *row;
	fr.at_us = now_us();
	flight_publish(hash, &fr);
}

/*
 * Record g, after the fate of the job's last call. While the database
 * is away, this process's waiters get the result at once, and the
 * record is retried for as long as it takes (the claim's lease is
 * renewed meanwhile): the image exists, and giving up would make
 * another worker pay for it again. A record sent again after its answer
 * was lost is known as ours. Returns db_finish()'s answer, 1 or 0.
 */
static int
record(struct gen_worker *gw, const struct gen_result *g)
{
	const struct cfg	*c = gw->cfg;
	struct gen_row		 row;
	int64_t			 pause = RECORD_PAUSE_MS;
	int			 rc;

	book_settle(&gw->book, 0);
	pthread_mutex_lock(&mtx);
	gw->recording = 1;
	pthread_mutex_unlock(&mtx);
	while ((rc = db_finish(gw->db, gw->job.hash, g, gw->claim.token,
	    c->retry_backoff_ms, c->retry_backoff_max_ms)) == -1) {
		if (pause == RECORD_PAUSE_MS) {
			row_from_result(g, &row);
			publish(gw->job.hash, &row);
			log_warn(gw->rid, "%.12s: cannot record the result yet; "
			    "trying until the database is back", gw->job.hash);
		}
		sleep_ms(pause);
		pause = pause * 2 > RECORD_PAUSE_MAX_MS ? RECORD_PAUSE_MAX_MS :
		    pause * 2;
	}
	return rc;
}

/* What one call for the image of r may be billed: its estimate. */
static double
call_cost(const struct cfg *c, const struct img_req *r)
{
	return (double)r->w * r->h / 1e6 * c->cost_per_megapixel;
}

/* Can a worker follow the job u from the row, or must it pay anew? */
static int
resumable(const struct upstream_job *u)
{
	return u->image_url[0] != '\0' ||
	    (u->status_url[0] != '\0' && u->response_url[0] != '\0');
}

/*
 * Read the row's current call into *call until it says what to do: a
 * call whose fate never reached the row (its worker died, stopped, or
 * lost the database after sending it) is waited for up to a lease after
 * our claim, then counted as lost (paid); a job fal took is followed
 * when it can be, else it is over. Returns 0 with *call the row's call
 * now, or -1 when the database could not tell before deadline.
 */
static int
prepare(struct gen_worker *gw, struct db_call *call, int64_t deadline)
{
	const char	*hash = gw->job.hash;
	uint64_t	 token = gw->claim.token;
	double		 cost = call_cost(gw->cfg, &gw->job.req);
	int64_t		 grace_end = now_ms() + gw->cfg->queue_lease_ms;
	int		 rc, told = 0;

	for (;;) {
		if ((rc = db_call_get(gw->db, hash, call)) != 1) {
			if (rc == 0 || now_ms() + FATE_POLL_MS >= deadline)
				return -1;
			sleep_ms(FATE_POLL_MS);
			continue;
		}
		if ((call->state == CS_TAKEN && resumable(&call->job)) ||
		    (call->state != CS_SENDING && call->state != CS_TAKEN))
			return 0;
		if (call->state == CS_SENDING && now_ms() < grace_end) {
			if (!told++)
				log_info(gw->rid, "%.12s: waiting for the fate "
				    "of the call sent before the takeover",
				    hash);
			sleep_ms(FATE_POLL_MS);
			continue;
		}
		rc = db_call_supersede(gw->db, hash, call->id, token, cost);
		if (rc == 1) {
			rollup_call(1, cost);
			log_warn(gw->rid, "%.12s: the call sent before the "
			    "takeover never said what became of it: counted "
			    "as paid", hash);
		} else if (rc == -1 && now_ms() + FATE_POLL_MS >= deadline)
			return -1;
	}
}

/* Run the backend for gw->job; the result lands in *g. */
static void
generate(struct gen_worker *gw, struct gen_result *g)
{
	const struct cfg	*c = gw->cfg;
	struct gen_job		 job;
	struct db_call		 call;
	int64_t			 t0, us;

	memset(g, 0, sizeof(*g));
	job.hash = gw->job.hash;
	job.req = &gw->job.req;
	job.model = gw->job.model[0] ? gw->job.model : c->model;
	job.deadline_ms = now_ms() + c->gen_timeout_ms;
	job.rid = gw->rid;
	job.low_priority = gw->job.qc == QC_BATCH;
	job.calls = &gw->book.hooks;
	job.resume = NULL;
	job.store = gw->store;
	/*
	 * Never pay for an image that cannot be kept: a store that became
	 * unwritable since start-up (its owner or mount changed) fails the
	 * job before the backend is called.
	 */
	if (cfg_store_needed(c) && access(c->store_dir, W_OK | X_OK) == -1) {
		gen_result_fail(g, GE_STORE, "the image store is not writable; "
		    "no backend call was made");
		log_error(gw->rid, "%.12s: [store] dir %s: %s", job.hash,
		    c->store_dir, strerror(errno));
		return;
	}
	if (prepare(gw, &call, job.deadline_ms) == -1) {
		gen_result_fail(g, GE_INTERNAL, "the database could not say "
		    "what became of the job's last call; nothing was sent");
		return;
	}
	book_open(&gw->book, job.hash, gw->claim.token, call.id,
	    call_cost(c, job.req), job.deadline_ms);
	if (call.state == CS_TAKEN)
		job.resume = &call.job;
	metrics_generating(1);
	t0 = now_us();
	gw->backend->generate(gw->ctx, &job, g);
	us = now_us() - t0;
	metrics_generating(-1);
	metrics_generation(g->ok ? MG_COMPLETED :
	    g->err == GE_TIMEOUT ? MG_TIMEOUT : MG_FAILED, us, g->api_calls);
	g->upstream_ms = g->upstream_ms ? g->upstream_ms : us / 1000;
	/* A stored image is recorded under its public URL. */
	if (!g->ok)
		g->url[0] = '\0';
	else if (g->file[0] != '\0' &&
	    store_public_url(c, g->file, g->url, sizeof(g->url)) == -1)
		gen_result_fail(g, GE_INTERNAL, "image URL too long");
}

/* Run the claimed job to its end and tell this process's waiters. */
static void
run(struct gen_worker *gw)
{
	struct gen_result	 g;
	struct gen_row		 row;
	int64_t			 t0 = now_ms();
	int			 rc;

	if (gw->job.takeover) {
		log_info(gw->rid, "Generation Status: %.12s takeover",
		    gw->job.hash);
		metrics_takeover();
	}
	log_info(gw->rid, "Generation Status: %.12s generating",
	    gw->job.hash);
	generate(gw, &g);
	rc = record(gw, &g);
	rollup_generation(rc == 1, g.ok, g.err, now_ms() - t0);
	/* Filed for similar prompts; a missed one is filed by the builder. */
	if (rc == 1 && g.ok && gw->cfg->similar_threshold > 0 &&
	    db_similar_put(gw->db, gw->job.hash, &gw->job.req,
	    gw->job.model[0] ? gw->job.model : gw->cfg->model) == -1)
		log_warn(gw->rid, "%.12s: not in the similar index; "
		    "promptpix similar-index files it", gw->job.hash);
	set_running(gw, 0);
	if (db_slot_free(gw->db, gw->claim.owner) == -1)
		log_warn(gw->rid, "slot of %.12s not given back; its lease "
		    "will free it", gw->job.hash);
	/*
	 * rc 0: another worker finished first (answer with theirs), or took
	 * the job over and runs it still (it will answer: our failure is
	 * not the job's).
	 */
	if (rc == 1 || db_fetch(gw->db, gw->job.hash, &row) != 1)
		row_from_result(&g, &row);
	if (row.status == GS_COMPLETED || row.status == GS_FAILED)
		publish(gw->job.hash, &row);
	log_info(gw->rid, "Generation Status: %.12s %s%s%s ms=%lld calls=%u",
	    gw->job.hash, g.ok ? "completed" : "failed", g.ok ? "" : " ",
	    gen_err_name(g.err), (long long)(now_ms() - t0), g.api_calls);
}

static void *
worker_main(void *arg)
{
	struct gen_worker	*gw = arg;
	unsigned long		 seen;
	int			 rc;

	db_thread_init();
	gw->db = db_new(gw->cfg);
	gw->book.db = gw->db;
	gw->ctx = gw->backend->init(gw->cfg);
	gw->store = imgstore_open(gw->cfg);
	for (;;) {
		seen = kicks_now();
		if ((rc = set_busy(gw, 1) ? take(gw) : 0) == 1)
			run(gw);
		set_busy(gw, 0);
		if (rc != 1)
			idle_wait(seen, rc == -1 ? FAULT_PAUSE_MS : IDLE_POLL_MS);
	}
	return NULL;
}

int
runner_start(const struct cfg *c, const struct backend *be)
{
	pthread_condattr_t	 ca;
	pthread_t		 tid;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&kicked, &ca);
	pthread_condattr_destroy(&ca);
	nworkers = c->queue_workers ? c->queue_workers :
	    c->queue_max_concurrent;
	workers = xcalloc(nworkers, sizeof(*workers));
	for (unsigned i = 0; i < nworkers; i++) {
		workers[i].idx = (int)i;
		workers[i].cfg = c;
		workers[i].backend = be;
		snprintf(workers[i].rid, sizeof(workers[i].rid), "%x-g%u",
		    (unsigned)getpid(), i);
		book_init(&workers[i].book, c, NULL, workers[i].rid);
		if (pthread_create(&tid, NULL, worker_main, &workers[i]) != 0)
			return -1;
		pthread_detach(tid);
	}
	return 0;
}

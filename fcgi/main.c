/*
 * main.c: start-up and the accept loop.
 *
 * promptpix is a FastCGI responder. spawn-fcgi (or mod_fcgid) hands it
 * a listening socket as file descriptor 0; it runs cfg.threads worker
 * threads that each accept, answer and loop, each with its own database
 * connection.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "backend.h"
#include "cfg.h"
#include "cli.h"
#include "counts.h"
#include "db.h"
#include "dbpool.h"
#include "hitcache.h"
#include "http.h"
#include "httpc.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "ratelimit.h"
#include "runner.h"
#include "supervise.h"
#include "uri.h"
#include "util.h"
#include "waker.h"
#include "worker.h"

/*
 * A request thread's stack. Threads are many and small: a waiting client
 * holds one, but neither a database connection nor an accept slot, so a
 * process holds [server] threads clients at once. The deepest path (an
 * inline answer, a gen_row or two) uses well under half of this.
 */
#define REQUEST_STACK	(256 * 1024)

static struct cfg	 config;
static pthread_mutex_t	 accept_mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong	 request_seq;
static atomic_int	 inflight;
static const char	*conf_path;
static atomic_flag	 conf_param_seen = ATOMIC_FLAG_INIT;

static void
usage(void)
{
	fprintf(stderr, "usage: promptpix [-t] [-c config]\n"
	    "       promptpix key|sign [-c config] ARGS...\n"
	    "  -c FILE  configuration (default: $PROMPTPIX_CONF, then "
	    "promptpix.conf beside the program)\n"
	    "  -t       check the configuration and exit\n");
	exit(2);
}

/*
 * "SetEnv PROMPTPIX_CONF" in an .htaccess reaches us as a request
 * parameter, long after the configuration was read: mod_fcgid gives the
 * process only FcgidInitialEnv variables. Say so once instead of
 * silently using another file.
 */
static void
check_conf_param(FCGX_ParamArray env)
{
	const char	*p = FCGX_GetParam("PROMPTPIX_CONF", env);

	if (p == NULL || strcmp(p, conf_path) == 0 ||
	    atomic_flag_test_and_set(&conf_param_seen))
		return;
	log_warn(NULL, "PROMPTPIX_CONF=%s from the web server is not used: "
	    "the configuration was read from %s at start-up (use "
	    "FcgidInitialEnv, or promptpix.conf beside the program)", p,
	    conf_path);
}

static void
handle(struct worker *w)
{
	FCGX_ParamArray		 env = w->fcgx.envp;
	struct rq		 rq;
	struct uri_parts	 u;
	int			 rc;

	memset(&rq, 0, sizeof(rq));
	rq.wake_ms = -1;
	rq.w = w;
	rq.out = w->fcgx.out;
	rq.t0 = now_ms();
	snprintf(rq.id, sizeof(rq.id), "%x-%lx", (unsigned)getpid(),
	    atomic_fetch_add(&request_seq, 1) + 1);
	if ((rq.method = FCGX_GetParam("REQUEST_METHOD", env)) == NULL)
		rq.method = "GET";
	rq.head = strcmp(rq.method, "HEAD") == 0;
	check_conf_param(env);
	uri_client(FCGX_GetParam("REMOTE_ADDR", env),
	    FCGX_GetParam("HTTP_X_FORWARDED_FOR", env),
	    w->cfg->trusted_proxies, rq.client, sizeof(rq.client));
	if ((rc = uri_split(FCGX_GetParam("REQUEST_URI", env),
	    FCGX_GetParam("SCRIPT_NAME", env), w->cfg->base_path, &u)) != 0) {
		rq.outcome = OUT_NOT_FOUND;
		http_text(&rq, rc, NULL, NULL,
		    rc == 414 ? "request URI too long" : "not found");
	} else {
		rq.path = u.path;
		rq.query = u.query;
		page_dispatch(&rq);
	}
	if (rq.woke_us > 0)
		metrics_wakeup(now_us() - rq.woke_us);
	metrics_request(rq.outcome);
	log_info(rq.id, "request %s %.12s outcome=%s status=%d ms=%lld "
	    "waited_ms=%lld wake_ms=%lld", rq.method,
	    rq.hash[0] ? rq.hash : "-", outcome_name(rq.outcome),
	    rq.status, (long long)(now_ms() - rq.t0), (long long)rq.waited_ms,
	    (long long)rq.wake_ms);
	rq_db_release(&rq);
	free(rq.path);
}

struct db *
rq_db(struct rq *rq)
{
	const struct cfg	*c = rq->w->cfg;
	int64_t			 wait;

	if (rq->db != NULL)
		return rq->db;
	/*
	 * A burst of new clients can use up the pool for a moment: wait as
	 * long as the client would wait for an image, not as long as for a
	 * database that does not answer.
	 */
	wait = rq->t0 + c->max_wait_ms - now_ms();
	if (wait < c->db_connect_timeout_ms)
		wait = c->db_connect_timeout_ms;
	if ((rq->db = dbpool_get(wait)) != NULL)
		db_set_request(rq->db, rq->id);
	return rq->db;
}

void
rq_db_release(struct rq *rq)
{
	dbpool_put(rq->db);
	rq->db = NULL;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	int		 rc;

	db_thread_init();
	FCGX_InitRequest(&w->fcgx, 0, 0);
	for (;;) {
		/* libfcgi's accept is not safe to enter from two threads. */
		pthread_mutex_lock(&accept_mtx);
		rc = FCGX_Accept_r(&w->fcgx);
		pthread_mutex_unlock(&accept_mtx);
		if (rc < 0)
			break;
		atomic_fetch_add(&inflight, 1);
		metrics_requests_in_flight(1);
		handle(w);
		FCGX_Finish_r(&w->fcgx);
		metrics_requests_in_flight(-1);
		atomic_fetch_sub(&inflight, 1);
	}
	db_thread_end();
	return NULL;
}

/* Add the hits counted in memory to their rows, every interval. */
static void *
flusher_main(void *arg)
{
	struct db	*db;

	(void)arg;
	db_thread_init();
	db = db_new(&config);
	for (;;) {
		sleep_ms(config.count_flush_ms);
		counts_flush(db);
	}
	return NULL;
}

/*
 * SIGTERM, SIGINT and SIGUSR1 are blocked in every thread and taken
 * here. SIGUSR1 flushes the hit counts now. SIGTERM and SIGINT stop
 * accepting, let the requests in progress finish (a generation must get
 * recorded, not cut off), flush the counts, then leave. A stuck request
 * is abandoned after the generation timeout.
 */
static void *
signal_main(void *arg)
{
	sigset_t	*set = arg;
	struct db	*db;
	int64_t		 end;
	int		 sig = 0;

	db_thread_init();
	db = db_new(&config);
	for (;;) {
		sigwait(set, &sig);
		if (sig != SIGUSR1)
			break;
		log_info(NULL, "counts flushed on request: %d rows",
		    counts_flush(db));
	}
	log_info(NULL, "signal %d: finishing %d requests and %u generations",
	    sig, atomic_load(&inflight), runner_drain());
	FCGX_ShutdownPending();
	/* A generation cut off here would be paid again by a takeover. */
	end = now_ms() + config.gen_timeout_ms + 5000;
	while ((atomic_load(&inflight) > 0 || runner_drain() > 0) &&
	    now_ms() < end)
		sleep_ms(10);
	if (counts_flush(db) < 0)
		log_error(NULL, "exiting with %u hit counts unwritten",
		    counts_pending());
	_exit(0);
	return NULL;
}

/*
 * Every waiting client holds a socket: let the process have as many
 * descriptors as the hard limit allows.
 */
static void
raise_fd_limit(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	const char	*copt = NULL, *path;
	char		 err[512], buf[4096];
	struct worker	*ws;
	pthread_t	*tids, sigtid, flushtid;
	pthread_attr_t	 small;
	sigset_t	 stopset;
	unsigned	 slot = 0;
	int		 ch, check = 0;

	if (cli_is_command(argc, argv))
		return cli_run(argc, argv);
	while ((ch = getopt(argc, argv, "c:t")) != -1) {
		switch (ch) {
		case 'c':
			copt = optarg;
			break;
		case 't':
			check = 1;
			break;
		default:
			usage();
		}
	}
	path = conf_path = cli_conf_path(copt, argv[0], buf, sizeof(buf));
	if (cfg_load(path, &config, err, sizeof(err)) == -1) {
		fprintf(stderr, "promptpix: %s\n", err);
		return 1;
	}
	if (backend_find(config.backend) == NULL) {
		fprintf(stderr, "promptpix: %s: unknown backend \"%s\"\n", path,
		    config.backend);
		return 1;
	}
	if (check) {
		fprintf(stderr, "promptpix: %s: configuration ok\n", path);
		return 0;
	}
	log_set_level(config.log_level);
	signal(SIGPIPE, SIG_IGN);
	/* Shared by the children, so made before they are forked. */
	if (ratelimit_init(config.new_images_per_minute,
	    config.new_images_burst) == -1)
		return 1;
	if (metrics_init(config.processes) == -1)
		log_warn(NULL, "metrics: no shared memory; /metrics covers "
		    "one process only");
	if (config.processes > 1 && supervise(config.processes, &slot) != 0) {
		cfg_free(&config);
		return 0;
	}
	metrics_use_slot(slot);
	if (db_library_init() != 0 || FCGX_Init() != 0) {
		fprintf(stderr, "promptpix: library initialisation failed\n");
		return 1;
	}
	httpc_global_init();
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stopset, NULL);
	hitcache_init(config.hit_cache_entries, config.hit_cache_ttl_ms);
	if (pthread_create(&sigtid, NULL, signal_main, &stopset) != 0 ||
	    pthread_create(&flushtid, NULL, flusher_main, NULL) != 0) {
		log_error(NULL, "cannot start the service threads");
		return 1;
	}
	dbpool_init(&config, config.db_pool);
	if (runner_start(&config, backend_find(config.backend)) == -1 ||
	    waker_start(&config) == -1) {
		log_error(NULL, "cannot start the generation workers");
		return 1;
	}
	ws = xcalloc(config.threads, sizeof(*ws));
	tids = xcalloc(config.threads, sizeof(*tids));
	pthread_attr_init(&small);
	pthread_attr_setstacksize(&small, REQUEST_STACK);
	raise_fd_limit();
	log_info(NULL, "starting: %u threads, %u generation workers, backend "
	    "%s, delivery %s", config.threads, config.queue_workers ?
	    config.queue_workers : config.queue_max_concurrent, config.backend,
	    config.delivery == DELIVERY_INLINE ? "inline" : "redirect");
	for (unsigned i = 0; i < config.threads; i++) {
		ws[i].idx = (int)i;
		ws[i].cfg = &config;
		if (pthread_create(&tids[i], &small, worker_main, &ws[i]) != 0) {
			log_error(NULL, "cannot start thread %u", i);
			return 1;
		}
	}
	for (unsigned i = 0; i < config.threads; i++)
		pthread_join(tids[i], NULL);
	/*
	 * The request threads are done, but generations and hit counts may
	 * not be: the signal thread drains them and leaves the process (a
	 * signal it already took makes this one a no-op).
	 */
	pthread_kill(sigtid, SIGTERM);
	pthread_join(sigtid, NULL);
	return 0;
}

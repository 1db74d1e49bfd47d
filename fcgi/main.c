/*
 * main.c: start-up and the accept loop.
 *
 * promptpix is a FastCGI responder. spawn-fcgi (or mod_fcgid) hands it
 * a listening socket as file descriptor 0; it runs cfg.threads request
 * threads that each accept (accept.c), answer and loop, borrowing a
 * database connection from a pool (dbpool.c) while they need one. A
 * request that waits for a generation is parked (park.h) and answered
 * by one of a few answer threads; its request thread goes on.
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

#include "accept.h"
#include "backend.h"
#include "cfg.h"
#include "cfgcheck.h"
#include "cli.h"
#include "counts.h"
#include "db.h"
#include "dbhistory.h"
#include "dbpool.h"
#include "hitcache.h"
#include "httpc.h"
#include "imgstore.h"
#include "leaser.h"
#include "log.h"
#include "metrics.h"
#include "statcache.h"
#include "page.h"
#include "park.h"
#include "ratelimit.h"
#include "rollup.h"
#include "runner.h"
#include "supervise.h"
#include "util.h"
#include "waker.h"
#include "request.h"

/*
 * A request thread's stack. The deepest path (an inline answer, a
 * gen_row or two) uses well under half of this.
 */
#define REQUEST_STACK	(256 * 1024)

static struct cfg	 config;
static atomic_int	 serving;	/* request threads not yet done */
static const char	*conf_path;

/* The secrets that cfg_load() may take from the environment (cfg.h). */
static const char *const secret_env[] = {
	"PROMPTPIX_DB_PASSWORD", "FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"
};

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

/* A request's connection, for the next accept (see page_serve()). */
static FCGX_Request *
conn_new(void)
{
	FCGX_Request	*fcgx = xcalloc(1, sizeof(*fcgx));

	FCGX_InitRequest(fcgx, 0, 0);
	return fcgx;
}

/*
 * A request thread: take a connection (accept.h), answer its request,
 * and again, until the process stops taking requests. A connection
 * taken is always answered: the shutdown waits for this thread, and
 * then for the parked requests.
 */
static void *
request_main(void *arg)
{
	FCGX_Request	*fcgx = conn_new();
	int		 fd;

	(void)arg;
	db_thread_init();
	for (;;) {
		if (fcgx->ipcFd < 0) {
			if ((fd = accept_next()) < 0)
				break;
			/*
			 * FCGX_Accept_r() reads the request from a connection
			 * already open; "keep" stops it from closing that one
			 * first, as the end of the last request. The request
			 * itself then says whether to keep it.
			 */
			fcgx->ipcFd = fd;
			fcgx->keepConnection = 1;
		} else if (accept_stopping()) {
			/* A connection the web server kept open: let it go. */
			FCGX_Free(fcgx, 1);
			break;
		}
		/* < 0: a connection that broke before its request came. */
		if (FCGX_Accept_r(fcgx) < 0)
			continue;
		if (page_serve(fcgx, &config, conf_path) == 1)
			fcgx = conn_new();	/* that one waits, parked */
	}
	free(fcgx);
	atomic_fetch_sub(&serving, 1);
	db_thread_end();
	return NULL;
}

/* The flushes' senders: each batch, on the flusher's connection. */
static int
send_counts(void *db, uint64_t batch, const struct hit_count *list)
{
	return db_add_requests(db, batch, list);
}

static int
send_rollup(void *db, uint64_t batch, const struct rollup_delta *d, int n)
{
	return db_rollup_add(db, batch, d, n, config.cost_per_megapixel);
}

/*
 * Add the hits counted in memory to their rows, and what this process
 * served to the hourly rollup. Returns counts_flush()'s answer.
 */
static int
flush_counts(struct db *db)
{
	int	 n = counts_flush(send_counts, db);

	if (rollup_flush(send_rollup, db) == -1 && n >= 0)
		n = -1;
	return n;
}

/* Add the hits counted in memory to their rows, every interval. */
static void *
flusher_main(void *arg)
{
	struct db	*db;

	int64_t		 pruned_ms = 0;

	(void)arg;
	db_thread_init();
	db = db_new(&config);
	for (;;) {
		sleep_ms(config.count_flush_ms);
		flush_counts(db);
		/* Batch ids a flush sent again within a day, kept that long. */
		if (now_ms() - pruned_ms > 600000 && db_prune_flushes(db) == 0)
			pruned_ms = now_ms();
	}
	return NULL;
}

/* Wait until left() says none remain, or until end: how many remain. */
static int
drain_until(int64_t end, unsigned (*left)(void))
{
	unsigned	 n;

	while ((n = left()) > 0 && now_ms() < end)
		sleep_ms(10);
	return (int)n;
}

/*
 * The answer threads of parked requests: a quarter of the request
 * threads, at least one and at most 8. An answer is as short as a hit's
 * (the web server buffers it), so a few suffice; more than one, so that
 * one slow client does not hold the others.
 */
static unsigned
answer_threads(unsigned threads)
{
	unsigned	 n = threads / 4;

	return n < 1 ? 1 : n > 8 ? 8 : n;
}

static unsigned
threads_serving(void)
{
	return (unsigned)atomic_load(&serving);
}

/*
 * SIGTERM, SIGINT and SIGUSR1 are blocked in every thread and taken
 * here. SIGUSR1 flushes the hit counts now. SIGTERM and SIGINT end the
 * process in this order, so that nothing is cut off or left uncounted:
 *   1. stop taking connections, waking the thread that waits for one
 *      (accept.h); a connection it took is answered;
 *   2. wait until every request thread has answered or parked its last
 *      request and left;
 *   3. stop the workers taking jobs, and wait for the running ones to
 *      be recorded (a generation cut off would be paid again by a
 *      takeover), for at most [generation] timeout: their parked
 *      clients get their images meanwhile;
 *   4. answer the requests still parked 503 with Retry-After (their
 *      jobs stay queued, and their clients' next try finds them);
 *   5. flush the hit counts, and leave with _exit(): the other threads
 *      are still running, and nothing is freed under them.
 * A stuck request or generation is abandoned once its limit has passed.
 */
static void *
signal_main(void *arg)
{
	sigset_t	*set = arg;
	struct db	*db;
	int64_t		 limit;
	int		 sig = 0, n;

	db_thread_init();
	db = db_new(&config);
	for (;;) {
		sigwait(set, &sig);
		if (sig != SIGUSR1)
			break;
		log_info(NULL, "counts flushed on request: %d rows",
		    flush_counts(db));
	}
	log_info(NULL, "signal %d: finishing %u requests (%u waiting)", sig,
	    request_count(), park_count());
	FCGX_ShutdownPending();
	accept_stop();
	/* A request's statements, before it answers or parks. */
	limit = 2 * (int64_t)config.db_read_timeout_ms +
	    config.db_connect_timeout_ms + 5000;
	if ((n = drain_until(now_ms() + limit, threads_serving)) > 0)
		log_error(NULL, "leaving with %d request threads busy", n);
	n = drain_until(now_ms() + config.gen_timeout_ms + 5000, runner_drain);
	if (n > 0)
		log_error(NULL, "leaving with %d generations unrecorded", n);
	if ((n = (int)park_stop(now_ms() + limit)) > 0)
		log_error(NULL, "leaving with %d waiting requests unanswered",
		    n);
	if (flush_counts(db) < 0)
		log_error(NULL, "exiting with %u hit counts unwritten",
		    counts_pending());
	_exit(0);
	return NULL;
}

/*
 * Every waiting client holds a socket (parked, with no thread): let the
 * process have as many descriptors as the hard limit allows.
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

/*
 * The start-up self-check, once before any child, and all of
 * promptpix -t beyond the file itself: the store (its directory, or a
 * probe object written, read and deleted in its bucket), the font, the
 * database (dbcheck.c). A responder that would pay for images it cannot
 * store or record does not start. strict (-t): an unreachable database
 * fails too. Returns 0, or -1 after a one-line reason on stderr.
 */
static int
start_check(const char *path, int strict)
{
	char	 err[768], warn[512];

	if (cfg_check_host(&config, path, err, sizeof(err), warn,
	    sizeof(warn)) == -1) {
		fprintf(stderr, "promptpix: %s\n", err);
		return -1;
	}
	if (warn[0] != '\0')
		fprintf(stderr, "promptpix: warning: %s\n", warn);
	log_set_level(config.log_level);
	signal(SIGPIPE, SIG_IGN);
	httpc_global_init();
	if (imgstore_check(&config, err, sizeof(err)) == -1) {
		fprintf(stderr, "promptpix: %s: %s\n", path, err);
		return -1;
	}
	if (db_library_init() != 0) {
		fprintf(stderr, "promptpix: library initialisation failed\n");
		return -1;
	}
	if (db_start_check(&config, strict, err, sizeof(err)) == -1) {
		fprintf(stderr, "promptpix: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*copt = NULL, *path;
	char		 err[512], buf[4096];
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
	/*
	 * The secrets cfg_load() read from the environment: out of it now,
	 * before any thread or child (any process of the web server's user
	 * may read /proc/PID/environ).
	 */
	for (size_t i = 0; i < sizeof(secret_env) / sizeof(secret_env[0]); i++)
		env_wipe(secret_env[i]);
	if (backend_find(config.backend) == NULL) {
		fprintf(stderr, "promptpix: %s: unknown backend \"%s\"\n", path,
		    config.backend);
		return 1;
	}
	if (start_check(path, check) == -1)
		return 1;
	if (check) {
		fprintf(stderr, "promptpix: %s: configuration ok\n", path);
		return 0;
	}
	/* Shared by the children, so made before they are forked. */
	if (ratelimit_init(config.new_images_per_minute,
	    config.new_images_burst) == -1)
		return 1;
	/* A refresh outlasting two statement timeouts died with its process. */
	if (statcache_init(config.stats_cache_ms,
	    2 * (int64_t)config.db_read_timeout_ms + 1000) == -1)
		log_warn(NULL, "stats: no shared memory; each process reads "
		    "the figures on its own");
	if (metrics_init(config.processes) == -1)
		log_warn(NULL, "metrics: no shared memory; /metrics covers "
		    "one process only");
	waker_init();
	if (config.processes > 1 && supervise(config.processes, &slot) != 0) {
		cfg_free(&config);
		return 0;
	}
	metrics_use_slot(slot);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "promptpix: library initialisation failed\n");
		return 1;
	}
	httpc_global_init();
	/* Before any thread starts: each inherits the mask. */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stopset, NULL);
	if (accept_init(0) == -1)
		return 1;
	hitcache_init(config.hit_cache_entries, config.hit_cache_ttl_ms);
	if (pthread_create(&sigtid, NULL, signal_main, &stopset) != 0 ||
	    pthread_create(&flushtid, NULL, flusher_main, NULL) != 0) {
		log_error(NULL, "cannot start the service threads");
		return 1;
	}
	dbpool_init(&config, config.db_pool);
	if (runner_start(&config, backend_find(config.backend)) == -1 ||
	    leaser_start(&config) == -1 || waker_start(&config) == -1 ||
	    park_start(answer_threads(config.threads)) == -1) {
		log_error(NULL, "cannot start the generation workers");
		return 1;
	}
	tids = xcalloc(config.threads, sizeof(*tids));
	pthread_attr_init(&small);
	pthread_attr_setstacksize(&small, REQUEST_STACK);
	raise_fd_limit();
	log_info(NULL, "starting: %u threads, %u generation workers, backend "
	    "%s, delivery %s", config.threads, config.queue_workers ?
	    config.queue_workers : config.queue_max_concurrent, config.backend,
	    config.delivery == DELIVERY_INLINE ? "inline" : "redirect");
	atomic_store(&serving, (int)config.threads);
	for (unsigned i = 0; i < config.threads; i++) {
		if (pthread_create(&tids[i], &small, request_main, NULL) != 0) {
			log_error(NULL, "cannot start thread %u", i);
			return 1;
		}
	}
	for (unsigned i = 0; i < config.threads; i++)
		pthread_join(tids[i], NULL);
	/*
	 * The request threads are done (after a signal, or because the
	 * socket failed), but generations and hit counts may not be: the
	 * signal thread drains them and leaves the process. If it took a
	 * signal already, this one stays pending, unused.
	 */
	pthread_kill(sigtid, SIGTERM);
	pthread_join(sigtid, NULL);
	return 0;
}

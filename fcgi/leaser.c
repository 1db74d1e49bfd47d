/*
 * leaser.c: lease renewals and the fates of paid calls kept while the
 * database was away (see leaser.h).
 */
#include <pthread.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "leaser.h"
#include "log.h"
#include "runner.h"
#include "util.h"

#define MAX_CLAIMS	64

/*
 * Renew every running claim's job and slot. Returns 0, or -1 when the
 * database did not take a renewal (try again soon).
 */
static int
renew(struct db *db, const struct cfg *c)
{
	struct runner_claim	 cl[MAX_CLAIMS];
	unsigned		 n = runner_claims(cl, MAX_CLAIMS);
	int			 rc = 0, lease;

	for (unsigned i = 0; i < n; i++) {
		if ((lease = db_job_lease(db, cl[i].hash, cl[i].token,
		    c->queue_lease_ms)) == 0 && runner_claim_live(cl[i].token))
			log_warn(NULL, "lease of %.12s was lost: another worker "
			    "follows its job now", cl[i].hash);
		if (lease == -1 ||
		    db_slot_lease(db, cl[i].owner, c->queue_lease_ms) == -1)
			rc = -1;
	}
	return rc;
}

static void *
leaser_main(void *arg)
{
	const struct cfg	*c = arg;
	struct db		*db;
	int			 ok;

	db_thread_init();
	db = db_new(c);
	for (;;) {
		ok = renew(db, c) == 0;
		if (runner_write_fates(db) == -1)
			ok = 0;
		sleep_ms(ok ? c->queue_lease_ms / 3 : LEASER_RETRY_MS);
	}
	return NULL;
}

int
leaser_start(const struct cfg *c)
{
	pthread_t	 tid;

	if (pthread_create(&tid, NULL, leaser_main, (void *)c) != 0)
		return -1;
	pthread_detach(tid);
	return 0;
}

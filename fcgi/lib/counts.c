/*
 * counts.c: hits counted in memory per image, added to their rows by the
 * flusher thread, so that a hit never takes a row lock.
 *
 * Each flush sends one batch under a random id (through its sender:
 * db_add_requests()). A
 * batch whose answer did not come back is kept exactly as it was, id
 * and all, and sent first by the next flush: the database adds it at
 * most once, whether or not the lost answer had committed it. Hits that
 * arrive meanwhile wait for a batch of their own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "counts.h"
#include "hash.h"
#include "util.h"

#define BUCKETS	1024

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct hit_count	*table[BUCKETS];
static unsigned		 pending;

/* The batch whose answer was lost, to send again; under `flushing`. */
static struct hit_count	*unsent;
static uint64_t		 unsent_id;
static unsigned		 unsent_n;

static unsigned
bucket(const char *hash)
{
	return hash_prefix(hash, 4) % BUCKETS;
}

static struct hit_count *
entry_new(const char *hash, const struct img_req *r, const char *model,
    const struct gen_result *res)
{
	struct hit_count	*c = xcalloc(1, sizeof(*c));

	memcpy(c->hash, hash, HASH_HEX_LEN + 1);
	c->req = *r;
	c->req.prompt = xmalloc(r->prompt_len + 1);
	memcpy(c->req.prompt, r->prompt, r->prompt_len);
	c->req.prompt[r->prompt_len] = '\0';
	c->model = xstrdup(model);
	c->res = *res;
	return c;
}

static void
entry_free(struct hit_count *c)
{
	free(c->req.prompt);
	free(c->model);
	free(c);
}

static void
list_free(struct hit_count *list)
{
	struct hit_count	*next;

	for (; list != NULL; list = next) {
		next = list->next;
		entry_free(list);
	}
}

/*
 * With mtx held: count one more hit on hash in its bucket's list head.
 * Returns 1, or 0 when hash has no entry yet.
 */
static int
count_one(struct hit_count *head, const char *hash)
{
	for (struct hit_count *c = head; c != NULL; c = c->next)
		if (strcmp(c->hash, hash) == 0) {
			c->n++;
			return 1;
		}
	return 0;
}

void
counts_add(const char *hash, const struct img_req *r, const char *model,
    const struct gen_result *res)
{
	struct hit_count	*c, **head = &table[bucket(hash)];
	int			 counted;

	pthread_mutex_lock(&mtx);
	counted = count_one(*head, hash);
	pthread_mutex_unlock(&mtx);
	if (counted)
		return;
	/* Copied outside the lock; another thread may have added it meanwhile. */
	c = entry_new(hash, r, model, res);
	pthread_mutex_lock(&mtx);
	if ((counted = count_one(*head, hash)) == 0) {
		c->n = 1;
		c->next = *head;
		*head = c;
		pending++;
	}
	pthread_mutex_unlock(&mtx);
	if (counted)
		entry_free(c);
}

unsigned
counts_pending(void)
{
	unsigned	 n;

	pthread_mutex_lock(&mtx);
	n = pending + unsent_n;
	pthread_mutex_unlock(&mtx);
	return n;
}

/* Take the whole table, leaving an empty one for the request threads. */
static struct hit_count *
take_all(unsigned *n)
{
	struct hit_count	*list = NULL, *c, *next;

	pthread_mutex_lock(&mtx);
	for (int i = 0; i < BUCKETS; i++) {
		for (c = table[i]; c != NULL; c = next) {
			next = c->next;
			c->next = list;
			list = c;
		}
		table[i] = NULL;
	}
	*n = pending;
	pending = 0;
	pthread_mutex_unlock(&mtx);
	return list;
}

/*
 * One flush at a time: the final flush at SIGTERM must wait for a
 * periodic one that has taken counts but not written them yet.
 */
static pthread_mutex_t	 flushing = PTHREAD_MUTEX_INITIALIZER;

/* Send the unsent batch. Returns its entries, 0 if none, or -1 (kept). */
static int
send_unsent(counts_send_fn send, void *arg)
{
	int	 n = (int)unsent_n;

	if (unsent == NULL)
		return 0;
	if (send(arg, unsent_id, unsent) == -1)
		return -1;
	list_free(unsent);
	pthread_mutex_lock(&mtx);
	unsent = NULL;
	unsent_n = 0;
	pthread_mutex_unlock(&mtx);
	return n;
}

int
counts_flush(counts_send_fn send, void *arg)
{
	struct hit_count	*list;
	unsigned		 n;
	int			 done, more;

	pthread_mutex_lock(&flushing);
	if ((done = send_unsent(send, arg)) == -1) {
		pthread_mutex_unlock(&flushing);
		return -1;
	}
	if ((list = take_all(&n)) != NULL) {
		pthread_mutex_lock(&mtx);
		unsent = list;
		unsent_id = random_u64();
		unsent_n = n;
		pthread_mutex_unlock(&mtx);
		if ((more = send_unsent(send, arg)) == -1) {
			pthread_mutex_unlock(&flushing);
			return -1;
		}
		done += more;
	}
	pthread_mutex_unlock(&flushing);
	return done;
}

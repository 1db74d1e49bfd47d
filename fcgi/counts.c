/*
 * counts.c: hits counted in memory per image, added to their rows by the
 * flusher thread, so that a hit never takes a row lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "counts.h"
#include "db.h"
#include "hash.h"
#include "util.h"

struct count {
	char		 hash[HASH_HEX_LEN + 1];
	unsigned long	 n;
	struct count	*next;
};

#define BUCKETS	1024

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct count	*table[BUCKETS];
static unsigned		 pending;

static unsigned
bucket(const char *hash)
{
	return hash_prefix(hash, 4) % BUCKETS;
}

/* With mtx held: add n to hash's pending count. */
static void
add_locked(const char *hash, unsigned long n)
{
	struct count	*c, **head = &table[bucket(hash)];

	for (c = *head; c != NULL; c = c->next)
		if (strcmp(c->hash, hash) == 0) {
			c->n += n;
			return;
		}
	c = xmalloc(sizeof(*c));
	memcpy(c->hash, hash, HASH_HEX_LEN + 1);
	c->n = n;
	c->next = *head;
	*head = c;
	pending++;
}

void
counts_add(const char *hash)
{
	pthread_mutex_lock(&mtx);
	add_locked(hash, 1);
	pthread_mutex_unlock(&mtx);
}

unsigned
counts_pending(void)
{
	unsigned	 n;

	pthread_mutex_lock(&mtx);
	n = pending;
	pthread_mutex_unlock(&mtx);
	return n;
}

/* Take the whole table, leaving an empty one for the request threads. */
static struct count *
take_all(void)
{
	struct count	*list = NULL, *c, *next;

	pthread_mutex_lock(&mtx);
	for (int i = 0; i < BUCKETS; i++) {
		for (c = table[i]; c != NULL; c = next) {
			next = c->next;
			c->next = list;
			list = c;
		}
		table[i] = NULL;
	}
	pending = 0;
	pthread_mutex_unlock(&mtx);
	return list;
}

/*
 * One flush at a time: the final flush at SIGTERM must wait for a
 * periodic one that has taken counts but not written them yet.
 */
static pthread_mutex_t	 flushing = PTHREAD_MUTEX_INITIALIZER;

int
counts_flush(struct db *db)
{
	struct count	*list, *next;
	int		 done = 0, failed = 0;

	pthread_mutex_lock(&flushing);
	list = take_all();

	for (; list != NULL; list = next) {
		next = list->next;
		if (!failed && db_add_requests(db, list->hash, list->n) == -1)
			failed = 1;
		if (failed) {
			/* Keep it: the next flush tries again. */
			pthread_mutex_lock(&mtx);
			add_locked(list->hash, list->n);
			pthread_mutex_unlock(&mtx);
		} else
			done++;
		free(list);
	}
	pthread_mutex_unlock(&flushing);
	return failed ? -1 : done;
}

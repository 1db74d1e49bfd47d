/*
 * hitcache.c: the per-process cache of completed images, direct-mapped
 * and striped, so that a hit needs no database round trip.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hitcache.h"
#include "util.h"

struct slot {
	char		 hash[HASH_HEX_LEN + 1];
	char		 file[80];		/* store name, or "" */
	char		*url;			/* remote URL when file is "" */
	char		 content_type[32];
	int64_t		 file_size;
	int64_t		 completed_ms;
	int64_t		 expires;		/* now_ms() deadline */
	int		 alias;			/* a similar prompt's image */
};

#define STRIPES	64

static struct slot	*slots;
static unsigned		 nslots;
static unsigned		 ttl;
static pthread_mutex_t	 stripe[STRIPES];

void
hitcache_init(unsigned n, unsigned ttl_ms)
{
	nslots = n;
	ttl = ttl_ms;
	if (n == 0)
		return;
	slots = xcalloc(n, sizeof(*slots));
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&stripe[i], NULL);
}

void
hitcache_free(void)
{
	if (nslots == 0)
		return;
	for (unsigned i = 0; i < nslots; i++)
		free(slots[i].url);
	free(slots);
	slots = NULL;
	nslots = 0;
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&stripe[i]);
}

static unsigned
slot_of(const char *hash)
{
	return hash_prefix(hash, 8) % nslots;
}

int
hitcache_get(const char *hash, struct gen_row *row)
{
	struct slot	*s;
	unsigned	 i;
	int		 found = 0;

	if (nslots == 0)
		return 0;
	i = slot_of(hash);
	s = &slots[i];
	pthread_mutex_lock(&stripe[i % STRIPES]);
	if (strcmp(s->hash, hash) == 0 && now_ms() < s->expires) {
		memset(row, 0, sizeof(*row));
		row->status = GS_COMPLETED;
		row->res.ok = 1;
		memcpy(row->res.file, s->file, sizeof(s->file));
		if (s->url != NULL)
			strlcpy_chk(row->res.url, s->url, sizeof(row->res.url));
		memcpy(row->res.content_type, s->content_type,
		    sizeof(s->content_type));
		row->res.file_size = s->file_size;
		row->res.completed_ms = s->completed_ms;
		row->alias = s->alias;
		found = 1;
	}
	pthread_mutex_unlock(&stripe[i % STRIPES]);
	return found;
}

void
hitcache_put(const char *hash, const struct gen_row *row)
{
	struct slot	*s;
	unsigned	 i;

	if (nslots == 0 || row->status != GS_COMPLETED ||
	    strlen(row->res.file) >= sizeof(s->file))
		return;
	i = slot_of(hash);
	s = &slots[i];
	pthread_mutex_lock(&stripe[i % STRIPES]);
	free(s->url);
	s->url = row->res.file[0] == '\0' ? xstrdup(row->res.url) : NULL;
	memcpy(s->hash, hash, HASH_HEX_LEN + 1);
	strlcpy_chk(s->file, row->res.file, sizeof(s->file));
	strlcpy_chk(s->content_type, row->res.content_type,
	    sizeof(s->content_type));
	s->file_size = row->res.file_size;
	s->completed_ms = row->res.completed_ms;
	s->alias = row->alias;
	s->expires = now_ms() + ttl;
	pthread_mutex_unlock(&stripe[i % STRIPES]);
}

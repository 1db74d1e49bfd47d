/*
 * access.c: the check in front of every image request: signed URL or
 * bearer key, the key looked up (and cached a few seconds), its tier.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "access.h"
#include "cfg.h"
#include "db.h"
#include "log.h"
#include "request.h"
#include "sign.h"
#include "util.h"

/* Keys remembered per process, and for how long they are trusted. */
#define KEY_SLOTS	64
#define KEY_TTL_MS	10000
/* How often a key's last_used_at is written, at most. */
#define USED_EVERY_MS	60000

struct key_slot {
	char			 id[SIGN_KID_MAX + 1];
	int			 found;
	struct client_key	 key;
	int64_t			 fetched;	/* now_ms(), 0: empty */
	int64_t			 used_noted;
};

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct key_slot	 slots[KEY_SLOTS];

/* With mtx held: the slot of id, or the one to replace. */
static struct key_slot *
slot_for(const char *id)
{
	struct key_slot	*old = &slots[0];

	for (int i = 0; i < KEY_SLOTS; i++) {
		if (slots[i].fetched != 0 && strcmp(slots[i].id, id) == 0)
			return &slots[i];
		if (slots[i].fetched < old->fetched)
			old = &slots[i];
	}
	return old;
}

/*
 * Look key id up: from the cache while it is fresh, else the database.
 * Returns 1 found (in *k), 0 no such key, -1 the database is away and
 * the key not known.
 */
static int
key_lookup(struct rq *rq, const char *id, struct client_key *k)
{
	struct key_slot	*s, copy;
	struct db	*db;
	int64_t		 now = now_ms();
	int		 rc, note = 0;

	pthread_mutex_lock(&mtx);
	s = slot_for(id);
	copy = *s;
	pthread_mutex_unlock(&mtx);
	if (copy.fetched != 0 && strcmp(copy.id, id) == 0 &&
	    now - copy.fetched < KEY_TTL_MS)
		rc = copy.found;
	else if ((db = rq_db(rq)) == NULL ||
	    (rc = db_key_get(db, id, &copy.key)) == -1)
		return -1;
	else {
		pthread_mutex_lock(&mtx);
		s = slot_for(id);
		if (strcmp(s->id, id) != 0)
			s->used_noted = 0;
		strlcpy_chk(s->id, id, sizeof(s->id));
		s->found = rc;
		s->key = copy.key;
		s->fetched = now;
		copy = *s;
		pthread_mutex_unlock(&mtx);
	}
	if (rc == 1) {
		pthread_mutex_lock(&mtx);
		s = slot_for(id);
		if (strcmp(s->id, id) == 0 && now - s->used_noted >=
		    USED_EVERY_MS) {
			s->used_noted = now;
			note = 1;
		}
		pthread_mutex_unlock(&mtx);
		if (note && (db = rq_db(rq)) != NULL)
			db_key_used(db, id);
	}
	*k = copy.key;
	return rc;
}

/* The secret of key kid, from the master secret. */
static void
key_secret(const struct cfg *c, const char *kid,
    unsigned char out[SIGN_SECRET_LEN])
{
	sign_key_secret((const unsigned char *)c->access_secret,
	    strlen(c->access_secret), kid, out);
}

/*
 * Which key signed rq's URL, or stands behind its bearer token: its id
 * into kid. Returns 1 one did, 0 neither is there, or 401/403.
 */
static int
who_signed(struct rq *rq, const struct sign_parts *sp, const char *auth,
    char *kid, const char **reason)
{
	const struct cfg	*c = rq->w->cfg;
	unsigned char		 secret[SIGN_SECRET_LEN];
	int			 ok;

	if (!sp->has_sig && (auth == NULL || strncmp(auth, "Bearer ", 7) != 0))
		return 0;
	if (c->access_secret == NULL) {
		*reason = "signed URLs are not set up on this host";
		return 403;
	}
	if (sp->has_sig) {
		strlcpy_chk(kid, sp->kid[0] ? sp->kid : SIGN_DEFAULT_KID,
		    SIGN_KID_MAX + 1);
		key_secret(c, kid, secret);
		ok = sign_check(secret, rq->path, rq->query, sp->signed_len,
		    sp->sig);
		OPENSSL_cleanse(secret, sizeof(secret));
		if (!ok) {
			*reason = "bad signature";
			return 403;
		}
		if (sp->exp != 0 && sp->exp < (int64_t)time(NULL)) {
			*reason = "link expired";
			return 403;
		}
		return 1;
	}
	auth += 7;
	auth += strspn(auth, " ");
	if (sign_bearer_kid(auth, kid) == -1) {
		*reason = "bad key";
		return 401;
	}
	key_secret(c, kid, secret);
	ok = sign_bearer_check(secret, kid, auth);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (!ok) {
		*reason = "bad key";
		return 401;
	}
	return 1;
}

int
access_check(struct rq *rq, const char *auth, size_t *image_len,
    const char **reason)
{
	const struct cfg	*c = rq->w->cfg;
	struct sign_parts	 sp;
	struct client_key	 k;
	char			 kid[SIGN_KID_MAX + 1];
	int			 rc;

	rq->qclass = c->queue_class;
	rq->key[0] = '\0';
	if ((rc = sign_split(rq->query, &sp, reason)) != 0)
		return rc;
	*image_len = sp.image_len;
	if (!sp.has_sig && (sp.kid[0] != '\0' || sp.exp != 0)) {
		*reason = "kid and exp belong to a signed URL";
		return 403;
	}
	if ((rc = who_signed(rq, &sp, auth, kid, reason)) > 1)
		return rc;
	if (rc == 0) {
		if (c->access_mode == ACCESS_SIGNED) {
			*reason = "a signed URL is required on this host";
			return 403;
		}
		return 0;
	}
	/* The installation's own key: the default class, no row. */
	if (strcmp(kid, SIGN_DEFAULT_KID) == 0)
		return 0;
	if ((rc = key_lookup(rq, kid, &k)) == -1) {
		*reason = "database unavailable";
		return 503;
	}
	if (rc == 0 || !k.enabled) {
		*reason = rc == 0 ? "unknown key" : "key disabled";
		return 403;
	}
	rq->qclass = (int)k.tier;
	strlcpy_chk(rq->key, kid, sizeof(rq->key));
	return 0;
}

/*
 * keycmd.c: the `promptpix key` and `promptpix sign` commands: client
 * keys in the database, and signed image URLs for a world's creator.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "keycmd.h"
#include "req.h"
#include "sign.h"
#include "uri.h"
#include "util.h"

#define KID_LEN	10

static const char *const tier_names[QC__MAX] = {
	"premium", "standard", "batch"
};

static int
fail(const char *what)
{
	fprintf(stderr, "promptpix: %s\n", what);
	return 2;
}

static int
need_secret(const struct cfg *c)
{
	if (c->access_secret != NULL)
		return 0;
	fprintf(stderr, "promptpix: keys and signatures need [access] "
	    "secret_file in the configuration\n");
	return 1;
}

static int
tier_parse(const char *s, enum queue_class *out)
{
	for (int i = 0; i < QC__MAX; i++)
		if (strcmp(s, tier_names[i]) == 0) {
			*out = (enum queue_class)i;
			return 0;
		}
	return -1;
}

/* A new random key id: KID_LEN of [a-z0-9]. */
static int
new_kid(char *out)
{
	static const char	 alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char		 r[KID_LEN];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (int i = 0; i < KID_LEN; i++)
		out[i] = alpha[r[i] % (sizeof(alpha) - 1)];
	out[KID_LEN] = '\0';
	return 0;
}

static int
key_add(const struct cfg *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tier", required_argument, NULL, 't' },
		{ "daily-images", required_argument, NULL, 'i' },
		{ "daily-usd", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	enum queue_class	 tier = QC_STANDARD;
	long long		 images = -1;
	double			 usd = -1;
	unsigned char		 secret[SIGN_SECRET_LEN];
	char			 kid[SIGN_KID_MAX + 1], tok[SIGN_BEARER_MAX + 1];
	char			*end;
	struct db		*db;
	int			 ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (tier_parse(optarg, &tier) == -1)
				return fail("--tier is premium, standard or "
				    "batch");
			break;
		case 'i':
			images = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || images < 0)
				return fail("--daily-images is a whole number");
			break;
		case 'u':
			usd = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(usd >= 0))
				return fail("--daily-usd is an amount in USD");
			break;
		default:
			return fail("usage: promptpix key add NAME --tier T "
			    "[--daily-images N] [--daily-usd X]");
		}
	}
	if (optind != argc - 1 || argv[optind][0] == '\0' ||
	    strlen(argv[optind]) > 100)
		return fail("usage: promptpix key add NAME --tier T "
		    "[--daily-images N] [--daily-usd X]");
	if (need_secret(c) || (db = cli_db(c)) == NULL)
		return 1;
	do {
		if (new_kid(kid) == -1) {
			db_free(db);
			return fail("no random bytes");
		}
	} while ((rc = db_key_add(db, kid, argv[optind], tier, images,
	    usd)) == 0);
	db_free(db);
	if (rc == -1)
		return fail("the key was not added (is sql/007_access.sql "
		    "applied?)");
	sign_key_secret((const unsigned char *)c->access_secret,
	    strlen(c->access_secret), kid, secret);
	sign_bearer(secret, kid, tok);
	OPENSSL_cleanse(secret, sizeof(secret));
	printf("key %s (%s, %s)\n", kid, argv[optind], tier_names[tier]);
	printf("bearer token (shown once; derived, not stored):\n%s\n", tok);
	printf("sign URLs with: promptpix sign --key %s URL...\n", kid);
	OPENSSL_cleanse(tok, sizeof(tok));
	return 0;
}

static void
print_key(const struct client_key_row *k, void *arg)
{
	char	 images[24], usd[32];

	(void)arg;
	if (k->daily_images < 0)
		snprintf(images, sizeof(images), "-");
	else
		snprintf(images, sizeof(images), "%lld", k->daily_images);
	if (k->daily_usd < 0)
		snprintf(usd, sizeof(usd), "-");
	else
		snprintf(usd, sizeof(usd), "%.2f", k->daily_usd);
	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k->id, k->name,
	    k->tier < QC__MAX ? tier_names[k->tier] : "?", images, usd,
	    k->enabled ? "enabled" : "disabled", k->created,
	    k->last_used[0] ? k->last_used : "never");
}

static int
key_list(const struct cfg *c)
{
	struct db	*db;
	int		 n;

	if ((db = cli_db(c)) == NULL)
		return 1;
	printf("id\tname\ttier\tdaily_images\tdaily_usd\tstate\tcreated\t"
	    "last_used\n");
	n = db_key_list(db, print_key, NULL);
	db_free(db);
	return n < 0 ? 1 : 0;
}

static int
key_disable(const struct cfg *c, const char *id)
{
	struct db	*db;
	int		 rc;

	if (!sign_kid_valid(id))
		return fail("no such key");
	if ((db = cli_db(c)) == NULL)
		return 1;
	rc = db_key_disable(db, id);
	db_free(db);
	if (rc == 0)
		return fail("no such key");
	if (rc == -1)
		return 1;
	printf("key %s disabled\n", id);
	return 0;
}

int
keycmd_key(const struct cfg *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return key_add(c, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return key_list(c);
	if (argc == 3 && strcmp(argv[1], "disable") == 0)
		return key_disable(c, argv[2]);
	return fail("usage: promptpix key add NAME --tier T "
	    "[--daily-images N] [--daily-usd X] | key list | key disable ID");
}

char *
keycmd_sign_url(const struct cfg *c, const unsigned char *secret,
    const char *kid, int64_t exp, const char *url)
{
	struct uri_parts	 u;
	struct sign_parts	 sp;
	struct img_req		 r;
	const char		*why = NULL;
	char			 sig[SIGN_LEN + 1], *q, *out;
	size_t			 n;
	int			 rc;

	if ((rc = uri_split(url, NULL, c->base_path, &u)) != 0) {
		fprintf(stderr, "promptpix: %s: %s\n", url, rc == 414 ?
		    "too long" : "not an image URL under base_path");
		return NULL;
	}
	if (u.query == NULL || sign_split(u.query, &sp, &why) != 0 ||
	    sp.has_sig || sp.kid[0] || sp.exp ||
	    (rc = req_parse_image(u.path, u.query, &c->lim, &r, &why)) != 0) {
		fprintf(stderr, "promptpix: %s: %s\n", url, why ? why :
		    "already signed, or not an image URL");
		free(u.path);
		return NULL;
	}
	img_req_free(&r);
	n = strlen(u.query) + 64 + SIGN_KID_MAX;
	q = xmalloc(n);
	snprintf(q, n, "%s", u.query);
	if (exp != 0)
		snprintf(q + strlen(q), n - strlen(q), "&exp=%lld",
		    (long long)exp);
	if (strcmp(kid, SIGN_DEFAULT_KID) != 0)
		snprintf(q + strlen(q), n - strlen(q), "&kid=%s", kid);
	sign_make(secret, u.path, q, strlen(q), sig);
	/* The URL as given, up to its query, then the signed query. */
	n = (size_t)(strchr(url, '?') - url + 1);
	out = xmalloc(n + strlen(q) + sizeof("&sig=") + SIGN_LEN);
	sprintf(out, "%.*s%s&sig=%s", (int)n, url, q, sig);
	free(q);
	free(u.path);
	return out;
}

/* Print url signed (see keycmd_sign_url()). Returns 0, or 1. */
static int
sign_one(const struct cfg *c, const unsigned char *secret, const char *kid,
    int64_t exp, const char *url)
{
	char	*s;

	if ((s = keycmd_sign_url(c, secret, kid, exp, url)) == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

int
keycmd_signer(const struct cfg *c, const char *kid,
    unsigned char secret[SIGN_SECRET_LEN])
{
	struct client_key	 k;
	struct db		*db;
	int			 rc;

	if (!sign_kid_valid(kid))
		return fail("no such key");
	if (need_secret(c))
		return 1;
	if (strcmp(kid, SIGN_DEFAULT_KID) != 0) {
		/* A link for a key nobody can use would fail for players. */
		if ((db = cli_db(c)) == NULL)
			return 1;
		rc = db_key_get(db, kid, &k);
		db_free(db);
		if (rc != 1 || !k.enabled)
			return fail(rc == -1 ? "cannot read the key" :
			    "no such key, or it is disabled");
	}
	sign_key_secret((const unsigned char *)c->access_secret,
	    strlen(c->access_secret), kid, secret);
	return 0;
}

int
keycmd_sign(const struct cfg *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "expires", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*kid = SIGN_DEFAULT_KID;
	unsigned char		 secret[SIGN_SECRET_LEN];
	int64_t			 exp = 0;
	long long		 secs;
	char			*end;
	int			 ch, rc = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			kid = optarg;
			break;
		case 'e':
			secs = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || secs <= 0)
				return fail("--expires is a number of seconds");
			exp = (int64_t)time(NULL) + secs;
			break;
		default:
			return fail("usage: promptpix sign [--key ID] "
			    "[--expires SECONDS] URL...");
		}
	}
	if (optind >= argc)
		return fail("usage: promptpix sign [--key ID] "
		    "[--expires SECONDS] URL...");
	if ((rc = keycmd_signer(c, kid, secret)) != 0)
		return rc;
	for (int i = optind; i < argc; i++)
		rc |= sign_one(c, secret, kid, exp, argv[i]);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

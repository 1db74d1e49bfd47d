/*
 * sign.h: signed image URLs and client keys, without I/O. A signed link
 * is a capability: only links someone minted can start a paid image.
 *
 *   /{W}x{H}.{ext}?text=...[&seed=N][&exp=UNIX][&kid=ID]&sig=SIG
 *
 * The access parameters come after the image's own, sig last. SIG is
 * base64url (no padding) of the first 128 bits of HMAC-SHA256 under the
 * key's secret, over the path (below the base path) and the query up to
 * "&sig=": cut by position, never by search-and-replace. Each key's
 * secret is HMAC-SHA256(master secret, "promptpix key " ID): nothing in
 * the database can sign a URL or stand for a key.
 */
#ifndef PP_SIGN_H
#define PP_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_SECRET_LEN	32		/* bytes of a key's secret */
#define SIGN_LEN	22		/* base64url characters of a sig */
#define SIGN_KID_MAX	32		/* characters of a key id */
#define SIGN_DEFAULT_KID "default"	/* the installation's own key */
/* "pp_" KID "_" base64url(secret): what a programmatic client sends. */
#define SIGN_BEARER_MAX	(3 + SIGN_KID_MAX + 1 + 43)

/* What sign_split() found after the image's parameters. */
struct sign_parts {
	size_t		 image_len;	/* query[0..image_len): the image's */
	size_t		 signed_len;	/* query[0..signed_len): what is signed */
	int		 has_sig;
	char		 sig[SIGN_LEN + 1];
	char		 kid[SIGN_KID_MAX + 1];	/* "" when none was given */
	int64_t		 exp;		/* 0 when none was given */
};

/*
 * Find the access parameters at the end of query (NULL: none). Returns
 * 0 with *out filled, or 403 with a static one-line *reason: a sig that
 * is not last or not well formed, a repeated or empty access parameter,
 * an image parameter after an access one, a bad kid or exp.
 */
int	sign_split(const char *query, struct sign_parts *out,
	    const char **reason);

/* Is kid a well-formed key id ([a-z0-9], 1..SIGN_KID_MAX)? */
int	sign_kid_valid(const char *kid);

/* The secret of key kid under the master secret. */
void	sign_key_secret(const unsigned char *master, size_t master_len,
	    const char *kid, unsigned char out[SIGN_SECRET_LEN]);

/*
 * The sig of path "?" query[0..qlen) under secret, into out
 * (SIGN_LEN + 1 bytes).
 */
void	sign_make(const unsigned char secret[SIGN_SECRET_LEN],
	    const char *path, const char *query, size_t qlen, char *out);

/* Does sig sign path "?" query[0..qlen)? Compared in constant time. */
int	sign_check(const unsigned char secret[SIGN_SECRET_LEN],
	    const char *path, const char *query, size_t qlen, const char *sig);

/* The bearer token of key kid, into out (SIGN_BEARER_MAX + 1 bytes). */
void	sign_bearer(const unsigned char secret[SIGN_SECRET_LEN],
	    const char *kid, char *out);

/*
 * Read the key id of a bearer token into kid (SIGN_KID_MAX + 1 bytes).
 * Returns 0, or -1 if token is not shaped like one.
 */
int	sign_bearer_kid(const char *token, char *kid);

/* Is token the bearer token of the key whose secret this is? */
int	sign_bearer_check(const unsigned char secret[SIGN_SECRET_LEN],
	    const char *kid, const char *token);

#endif

/*
 * sign.c: signing and checking image URLs and bearer tokens with
 * HMAC-SHA256 (OpenSSL), and splitting the access parameters off a URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"
#include "util.h"

#define SIG_BYTES	16		/* 128 bits of the HMAC */
#define KEY_LABEL	"promptpix key "

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of in[0..n), no padding, into out (NUL-terminated). */
static void
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		 i, o = 0;
	unsigned	 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int
is_b64url(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(b64url, s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

int
sign_kid_valid(const char *kid)
{
	size_t	 n = strlen(kid);

	return n >= 1 && n <= SIGN_KID_MAX &&
	    strspn(kid, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* Parse a decimal Unix time of at most 12 digits into *v. 0 or -1. */
static int
parse_time(const char *s, size_t n, int64_t *v)
{
	*v = 0;
	if (n == 0 || n > 12)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/*
 * Take one access parameter p[0..n) ("exp=..", "kid=..", "sig=..") into
 * out. Returns 1 taken, 0 not an access parameter, 403 refused.
 */
static int
take_param(const char *p, size_t n, int last, struct sign_parts *out,
    const char **reason)
{
	if (n >= 4 && memcmp(p, "sig=", 4) == 0) {
		if (out->has_sig || !last) {
			*reason = "sig must be the last parameter, once";
			return 403;
		}
		if (n - 4 != SIGN_LEN || !is_b64url(p + 4, SIGN_LEN)) {
			*reason = "malformed signature";
			return 403;
		}
		memcpy(out->sig, p + 4, SIGN_LEN);
		out->sig[SIGN_LEN] = '\0';
		out->has_sig = 1;
		return 1;
	}
	if (n >= 4 && memcmp(p, "kid=", 4) == 0) {
		if (out->kid[0] != '\0' || n - 4 > SIGN_KID_MAX) {
			*reason = "bad or repeated kid";
			return 403;
		}
		memcpy(out->kid, p + 4, n - 4);
		out->kid[n - 4] = '\0';
		if (!sign_kid_valid(out->kid)) {
			*reason = "bad or repeated kid";
			return 403;
		}
		return 1;
	}
	if (n >= 4 && memcmp(p, "exp=", 4) == 0) {
		if (out->exp != 0 || parse_time(p + 4, n - 4, &out->exp) == -1 ||
		    out->exp == 0) {
			*reason = "bad or repeated exp";
			return 403;
		}
		return 1;
	}
	return 0;
}

int
sign_split(const char *query, struct sign_parts *out, const char **reason)
{
	size_t		 len, start, end;
	int		 rc, access = 0;

	memset(out, 0, sizeof(*out));
	if (query == NULL)
		return 0;
	len = strlen(query);
	out->image_len = out->signed_len = len;
	/* Walk the parameters; the access ones must all come last. */
	for (start = 0; start <= len; start = end + 1) {
		end = start + strcspn(query + start, "&");
		rc = take_param(query + start, end - start, end == len, out,
		    reason);
		if (rc == 403)
			return 403;
		if (rc == 1 && !access) {
			access = 1;
			out->image_len = start > 0 ? start - 1 : 0;
		} else if (rc == 0 && access) {
			*reason = "access parameters must come last";
			return 403;
		}
		if (rc == 1 && out->has_sig)
			out->signed_len = start > 0 ? start - 1 : 0;
		if (end == len)
			break;
	}
	return 0;
}

void
sign_key_secret(const unsigned char *master, size_t master_len,
    const char *kid, unsigned char out[SIGN_SECRET_LEN])
{
	char		 label[sizeof(KEY_LABEL) + SIGN_KID_MAX];
	unsigned	 n = SIGN_SECRET_LEN;

	snprintf(label, sizeof(label), "%s%.*s", KEY_LABEL, SIGN_KID_MAX, kid);
	HMAC(EVP_sha256(), master, (int)master_len, (unsigned char *)label,
	    strlen(label), out, &n);
}

/* The raw 128-bit tag of path "?" query[0..qlen). */
static void
tag(const unsigned char secret[SIGN_SECRET_LEN], const char *path,
    const char *query, size_t qlen, unsigned char out[SIG_BYTES])
{
	unsigned char	 full[EVP_MAX_MD_SIZE];
	unsigned	 n = sizeof(full);
	size_t		 plen = strlen(path);
	char		*msg = xmalloc(plen + 1 + qlen);

	memcpy(msg, path, plen);
	msg[plen] = '?';
	memcpy(msg + plen + 1, query, qlen);
	HMAC(EVP_sha256(), secret, SIGN_SECRET_LEN, (unsigned char *)msg,
	    plen + 1 + qlen, full, &n);
	free(msg);
	memcpy(out, full, SIG_BYTES);
	OPENSSL_cleanse(full, sizeof(full));
}

void
sign_make(const unsigned char secret[SIGN_SECRET_LEN], const char *path,
    const char *query, size_t qlen, char *out)
{
	unsigned char	 t[SIG_BYTES];

	tag(secret, path, query, qlen, t);
	b64url_encode(t, SIG_BYTES, out);
}

int
sign_check(const unsigned char secret[SIGN_SECRET_LEN], const char *path,
    const char *query, size_t qlen, const char *sig)
{
	char	 want[SIGN_LEN + 1];

	if (strlen(sig) != SIGN_LEN)
		return 0;
	sign_make(secret, path, query, qlen, want);
	return CRYPTO_memcmp(want, sig, SIGN_LEN) == 0;
}

void
sign_bearer(const unsigned char secret[SIGN_SECRET_LEN], const char *kid,
    char *out)
{
	char	 enc[44];

	b64url_encode(secret, SIGN_SECRET_LEN, enc);
	snprintf(out, SIGN_BEARER_MAX + 1, "pp_%.*s_%s", SIGN_KID_MAX, kid,
	    enc);
	OPENSSL_cleanse(enc, sizeof(enc));
}

int
sign_bearer_kid(const char *token, char *kid)
{
	const char	*us;
	size_t		 n;

	if (strncmp(token, "pp_", 3) != 0 ||
	    (us = strchr(token + 3, '_')) == NULL)
		return -1;
	n = (size_t)(us - (token + 3));
	if (n == 0 || n > SIGN_KID_MAX)
		return -1;
	memcpy(kid, token + 3, n);
	kid[n] = '\0';
	return sign_kid_valid(kid) ? 0 : -1;
}

int
sign_bearer_check(const unsigned char secret[SIGN_SECRET_LEN],
    const char *kid, const char *token)
{
	char	 want[SIGN_BEARER_MAX + 1];
	size_t	 n;
	int	 ok;

	sign_bearer(secret, kid, want);
	n = strlen(want);
	ok = strlen(token) == n && CRYPTO_memcmp(want, token, n) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

/*
 * token.c: the [stats] access token, from an Authorization header or a
 * token parameter, compared in constant time; the dashboard's session
 * cookies made from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hash.h"
#include "text.h"
#include "token.h"
#include "util.h"

/* The credentials of "Bearer TOKEN", or NULL for another scheme. */
static char *
from_header(const char *h)
{
	size_t	 n;

	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
		return NULL;
	h += 6;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n > 0 && h[n - 1] == ' ')
		n--;
	return n > 0 ? xstrndup(h, n) : NULL;
}

/* The decoded value of the first "token" parameter of q, or NULL. */
static char *
from_query(const char *q)
{
	char	*out;
	size_t	 n;
	long	 m;

	while (*q != '\0') {
		n = strcspn(q, "&");
		if (n > 6 && strncmp(q, "token=", 6) == 0) {
			out = xmalloc(n - 6 + 1);
			m = text_pct_decode(out, q + 6, n - 6);
			if (m <= 0 || (size_t)m != strlen(out)) {
				/* Malformed, or a NUL inside: no token. */
				free(out);
				return NULL;
			}
			return out;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return NULL;
}

int
token_check(const char *want, const char *authorization, const char *query)
{
	char	*got = NULL;
	int	 ok;

	if (want == NULL || *want == '\0')
		return 0;
	if (authorization != NULL)
		got = from_header(authorization);
	if (got == NULL && query != NULL)
		got = from_query(query);
	if (got == NULL)
		return 401;
	ok = token_equal(want, got);
	explicit_bzero(got, strlen(got));
	free(got);
	return ok ? 0 : 403;
}

int
token_equal(const char *want, const char *got)
{
	char	 a[HASH_HEX_LEN + 1], b[HASH_HEX_LEN + 1];

	/* Equal-length digests: neither length nor content leaks. */
	hash_sha256_hex(want, strlen(want), a);
	hash_sha256_hex(got, strlen(got), b);
	return CRYPTO_memcmp(a, b, HASH_HEX_LEN) == 0;
}

/* The MAC of a session cookie that ends at exp, as hex, into out. */
static void
cookie_mac(const char *want, int64_t exp, char out[2 * 32 + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 mac[32];
	unsigned int		 maclen = sizeof(mac);
	char			 msg[64];
	int			 n;

	n = snprintf(msg, sizeof(msg), "promptpix dashboard %lld",
	    (long long)exp);
	HMAC(EVP_sha256(), want, (int)strlen(want), (unsigned char *)msg,
	    (size_t)n, mac, &maclen);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

void
token_cookie(const char *want, int64_t exp, char *out, size_t outsz)
{
	char	 mac[65];

	cookie_mac(want, exp, mac);
	snprintf(out, outsz, "%lld.%s", (long long)exp, mac);
}

int
token_cookie_check(const char *want, const char *value, int64_t now)
{
	char	 mac[65], *end;
	long long exp;

	if (want == NULL || *want == '\0' || value == NULL)
		return 0;
	exp = strtoll(value, &end, 10);
	if (end == value || *end != '.' || exp <= now || strlen(end + 1) != 64)
		return 0;
	cookie_mac(want, exp, mac);
	return CRYPTO_memcmp(mac, end + 1, 64) == 0;
}

/*
 * token.c: the [stats] access token, from an Authorization header or a
 * token parameter, compared in constant time.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

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
	char	 a[HASH_HEX_LEN + 1], b[HASH_HEX_LEN + 1];
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
	/* Equal-length digests: neither length nor content leaks. */
	hash_sha256_hex(want, strlen(want), a);
	hash_sha256_hex(got, strlen(got), b);
	ok = CRYPTO_memcmp(a, b, HASH_HEX_LEN) == 0;
	explicit_bzero(got, strlen(got));
	free(got);
	return ok ? 0 : 403;
}

/*
 * token.c: the [stats] access token, from an Authorization header or a
 * token parameter, compared in constant time; the dashboard's session
 * cookies, each made from the secret of its role.
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

/* The letter of each role in a cookie, and the word in its MAC. */
static const char	 role_letter[TOKEN__MAX] = { 'r', 'o' };
static const char *const role_word[TOKEN__MAX] = { "read", "operator" };

/*
 * The MAC of a session cookie of role that ends at exp, as hex, into
 * out. The role is in the message as well as in the key: a cookie of
 * one role never checks as another's, even were the keys the same.
 */
static void
cookie_mac(enum token_role role, const char *key, int64_t exp,
    char out[2 * 32 + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 mac[32];
	unsigned int		 maclen = sizeof(mac);
	char			 msg[64];
	int			 n;

	n = snprintf(msg, sizeof(msg), "promptpix dashboard %s %lld",
	    role_word[role], (long long)exp);
	HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)msg,
	    (size_t)n, mac, &maclen);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

void
token_cookie(enum token_role role, const char *key, int64_t exp, char *out,
    size_t outsz)
{
	char	 mac[65];

	cookie_mac(role, key, exp, mac);
	snprintf(out, outsz, "%c.%lld.%s", role_letter[role], (long long)exp,
	    mac);
}

int
token_cookie_role(const char *const keys[TOKEN__MAX], const char *value,
    int64_t now)
{
	char		 mac[65], *end;
	long long	 exp;
	int		 role;

	if (value == NULL)
		return -1;
	for (role = 0; role < TOKEN__MAX; role++)
		if (value[0] == role_letter[role] && value[1] == '.')
			break;
	if (role == TOKEN__MAX || keys[role] == NULL || *keys[role] == '\0')
		return -1;
	exp = strtoll(value + 2, &end, 10);
	if (end == value + 2 || *end != '.' || exp <= now ||
	    strspn(value + 2, "0123456789") != (size_t)(end - value - 2) ||
	    strlen(end + 1) != 64)
		return -1;
	cookie_mac((enum token_role)role, keys[role], exp, mac);
	return CRYPTO_memcmp(mac, end + 1, 64) == 0 ? role : -1;
}

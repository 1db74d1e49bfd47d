#include <string.h>

#include "sign.h"
#include "t.h"

static const unsigned char master[] = "0123456789abcdef0123456789abcdef";

/* A query signed with key kid, the way `promptpix sign` makes it. */
static void
signed_query(const char *path, const char *image_query, const char *kid,
    char *out, size_t outsz)
{
	unsigned char	 secret[SIGN_SECRET_LEN];
	char		 sig[SIGN_LEN + 1];
	size_t		 n;

	sign_key_secret(master, sizeof(master) - 1, kid, secret);
	n = (size_t)snprintf(out, outsz, "%s&kid=%s", image_query, kid);
	sign_make(secret, path, out, n, sig);
	snprintf(out + n, outsz - n, "&sig=%s", sig);
}

/* Does query verify under key kid for path? */
static int
verifies(const char *path, const char *query, const char *kid)
{
	unsigned char		 secret[SIGN_SECRET_LEN];
	struct sign_parts	 sp;
	const char		*why;

	if (sign_split(query, &sp, &why) != 0 || !sp.has_sig)
		return 0;
	sign_key_secret(master, sizeof(master) - 1, kid, secret);
	return sign_check(secret, path, query, sp.signed_len, sp.sig);
}

static void
test_split(void)
{
	static const struct {
		const char	*q;
		int		 rc;
		size_t		 image_len;
	} cases[] = {
		{ "text=a", 0, 6 },
		{ "text=a&seed=1", 0, 13 },
		{ "text=a&sig=AAAAAAAAAAAAAAAAAAAAAA", 0, 6 },
		{ "text=a&exp=99&kid=k1&sig=AAAAAAAAAAAAAAAAAAAAAA", 0, 6 },
		{ "text=a&kid=k1&exp=99&sig=AAAAAAAAAAAAAAAAAAAAAA", 0, 6 },
		{ "text=a&sig=AAAAAAAAAAAAAAAAAAAAAA&seed=1", 403, 0 },
		{ "sig=AAAAAAAAAAAAAAAAAAAAAA&text=a", 403, 0 },
		{ "text=a&sig=AAAAAAAAAAAAAAAAAAAAA", 403, 0 },	/* short */
		{ "text=a&sig=AAAAAAAAAAAAAAAAAAAAAAA", 403, 0 },	/* long */
		{ "text=a&sig=AAAAAAAAAAAAAAAAAAAA+A", 403, 0 },	/* not b64url */
		{ "text=a&sig=AAAAAAAAAAAAAAAAAAAAAA&sig=AAAAAAAAAAAAAAAAAAAAAA",
		    403, 0 },
		{ "text=a&kid=k1&kid=k2&sig=AAAAAAAAAAAAAAAAAAAAAA", 403, 0 },
		{ "text=a&kid=K1&sig=AAAAAAAAAAAAAAAAAAAAAA", 403, 0 },
		{ "text=a&kid=&sig=AAAAAAAAAAAAAAAAAAAAAA", 403, 0 },
		{ "text=a&exp=x&sig=AAAAAAAAAAAAAAAAAAAAAA", 403, 0 },
		{ "text=a&exp=0&sig=AAAAAAAAAAAAAAAAAAAAAA", 403, 0 },
		{ "text=a&kid=k1&seed=2&sig=AAAAAAAAAAAAAAAAAAAAAA", 403, 0 },
		{ "kid=k1&text=a", 403, 0 },
	};
	struct sign_parts	 sp;
	const char		*why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		T_CHECK(sign_split(cases[i].q, &sp, &why) == cases[i].rc &&
		    (cases[i].rc != 0 || sp.image_len == cases[i].image_len) &&
		    (cases[i].rc == 0 || (why != NULL && why[0] != '\0')),
		    "split case %zu", i);
	}
	T_CHECK(sign_split(NULL, &sp, &why) == 0 && !sp.has_sig, "no query");
	T_CHECK(sign_split("text=a&exp=1700000000&kid=ab&sig="
	    "AAAAAAAAAAAAAAAAAAAAAA", &sp, &why) == 0 && sp.exp == 1700000000 &&
	    strcmp(sp.kid, "ab") == 0 && sp.signed_len == 28 && sp.image_len == 6, "fields read");
}

static void
test_signatures(void)
{
	char		 q[256], bad[512];
	const char	*path = "/512x512.jpg";
	size_t		 n;

	signed_query(path, "text=a%20cat&seed=7", "k1", q, sizeof(q));
	T_CHECK(verifies(path, q, "k1"), "a signed URL verifies: %s", q);
	T_CHECK(!verifies(path, q, "k2"), "not under another key");
	T_CHECK(!verifies("/512x512.png", q, "k1"), "not for another path");
	strcpy(bad, q);
	bad[strlen("text=a%20cat&seed=")] = '8';
	T_CHECK(!verifies(path, bad, "k1"), "a changed parameter");
	strcpy(bad, q);
	n = strlen(bad);
	bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
	T_CHECK(!verifies(path, bad, "k1"), "a forged signature");
	strcpy(bad, q);
	n = strlen(bad);
	for (size_t i = n - SIGN_LEN; i < n; i++)
		if (bad[i] >= 'a' && bad[i] <= 'z') {
			bad[i] = (char)(bad[i] - 'a' + 'A');
			break;
		}
	T_CHECK(strcmp(bad, q) == 0 || !verifies(path, bad, "k1"),
	    "a case-changed signature");
	strcpy(bad, q);
	bad[strlen(bad) - 1] = '\0';
	T_CHECK(!verifies(path, bad, "k1"), "a truncated signature");
	snprintf(bad, sizeof(bad), "%sA", q);
	T_CHECK(!verifies(path, bad, "k1"), "a lengthened signature");
	snprintf(bad, sizeof(bad), "%s&seed=1", q);
	T_CHECK(!verifies(path, bad, "k1"), "a parameter after sig");
}

static void
test_bearer(void)
{
	unsigned char	 s1[SIGN_SECRET_LEN], s2[SIGN_SECRET_LEN];
	char		 tok[SIGN_BEARER_MAX + 1], kid[SIGN_KID_MAX + 1];

	sign_key_secret(master, sizeof(master) - 1, "abc123", s1);
	sign_key_secret(master, sizeof(master) - 1, "abc124", s2);
	T_CHECK(memcmp(s1, s2, SIGN_SECRET_LEN) != 0, "one secret per key");
	sign_bearer(s1, "abc123", tok);
	T_CHECK(strncmp(tok, "pp_abc123_", 10) == 0 && strlen(tok) == 53,
	    "bearer shape %s", tok);
	T_CHECK(sign_bearer_kid(tok, kid) == 0 && strcmp(kid, "abc123") == 0,
	    "kid read back");
	T_CHECK(sign_bearer_check(s1, "abc123", tok), "bearer verifies");
	T_CHECK(!sign_bearer_check(s2, "abc124", tok), "not another key's");
	tok[20] = tok[20] == 'x' ? 'y' : 'x';
	T_CHECK(!sign_bearer_check(s1, "abc123", tok), "a forged bearer");
	T_CHECK(sign_bearer_kid("pp__x", kid) == -1 &&
	    sign_bearer_kid("Bearer x", kid) == -1 &&
	    sign_bearer_kid("pp_ABC_x", kid) == -1, "not bearer tokens");
	T_CHECK(sign_kid_valid("default") && !sign_kid_valid("") &&
	    !sign_kid_valid("a-b") &&
	    !sign_kid_valid("0123456789012345678901234567890123"), "kid shapes");
}

void
test_sign(void)
{
	test_split();
	test_signatures();
	test_bearer();
}

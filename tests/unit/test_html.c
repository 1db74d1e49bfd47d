/*
 * test_html.c: html.c's escaping and buffers, form.c's fields, and the
 * dashboard cookies of token.c.
 */
#include <string.h>

#include "form.h"
#include "html.h"
#include "t.h"
#include "token.h"

static const char *
text(const char *in)
{
	static char	 out[1024];
	struct hbuf	 b;

	hbuf_init(&b, 4096);
	html_text(&b, in);
	snprintf(out, sizeof(out), "%s", b.len ? b.p : "");
	hbuf_free(&b);
	return out;
}

static const char *
url_arg(const char *in)
{
	static char	 out[1024];
	struct hbuf	 b;

	hbuf_init(&b, 4096);
	html_url_arg(&b, in);
	snprintf(out, sizeof(out), "%s", b.len ? b.p : "");
	hbuf_free(&b);
	return out;
}

static void
escaping(void)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "", "" },
		{ "a red fox", "a red fox" },
		{ "<script>alert(1)</script>",
		  "&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "a \"quoted\" 'prompt' & <b>",
		  "a &quot;quoted&quot; &#39;prompt&#39; &amp; &lt;b&gt;" },
		{ "\"><img src=x onerror=alert(2)>",
		  "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" },
		{ "&amp;", "&amp;amp;" },
		{ "tab\there\nline", "tab\there\nline" },
		{ "bell\a\x1b[31mred\x7f", "bell[31mred" },
		{ "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\xa6\x8a", "caf\xc3\xa9 \xe2\x9c\x93 "
		  "\xf0\x9f\xa6\x8a" },
		/* Broken UTF-8: each bad byte one U+FFFD, never raw. */
		{ "a\xff" "b", "a\xef\xbf\xbd" "b" },
		{ "\xc0\xbc", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong '<' */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe2\x9c", "\xef\xbf\xbd\xef\xbf\xbd" },	/* cut short */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		  "\xef\xbf\xbd" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_CHECK(strcmp(text(cases[i].in), cases[i].out) == 0,
		    "html_text case %zu: got \"%s\"", i, text(cases[i].in));
	T_CHECK(strcmp(url_arg("a b&c=d/é~._-"), "a%20b%26c%3Dd%2F%C3%A9~._-") == 0,
	    "url_arg: %s", url_arg("a b&c=d/é~._-"));
	T_CHECK(strcmp(url_arg("<\"'>#?+%"), "%3C%22%27%3E%23%3F%2B%25") == 0,
	    "url_arg specials: %s", url_arg("<\"'>#?+%"));
	/* What url_arg makes is safe in an attribute as it is. */
	T_CHECK(strcmp(text(url_arg("\"><x>")), url_arg("\"><x>")) == 0,
	    "url_arg output needs no escaping");
}

static void
buffers(void)
{
	struct hbuf	 b;
	char		 big[600];

	hbuf_init(&b, 64);
	hbuf_puts(&b, "0123456789");
	hbuf_printf(&b, "%d-%s", 42, "x");
	T_CHECK(b.len == 14 && strcmp(b.p, "012345678942-x") == 0 && !b.overflow,
	    "hbuf: %zu %s", b.len, b.p);
	/* Past max: nothing more is added and overflow says so. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hbuf_puts(&b, big);
	T_CHECK(b.overflow && b.len == 14, "hbuf overflow: %zu", b.len);
	hbuf_puts(&b, "y");
	T_CHECK(b.len == 14, "no writes after an overflow");
	hbuf_free(&b);
	/* A long printf goes through the second vsnprintf. */
	hbuf_init(&b, 4096);
	hbuf_printf(&b, "<%s>", big);
	T_CHECK(b.len == strlen(big) + 2 && b.p[0] == '<' &&
	    b.p[b.len - 1] == '>', "long printf: %zu", b.len);
	hbuf_free(&b);
	/* Escaping grows text: a cap counts the escaped bytes. */
	hbuf_init(&b, 16);
	html_text(&b, "<<<<");
	T_CHECK(b.overflow && b.len <= 15, "escaped overflow: %zu", b.len);
	hbuf_free(&b);
}

static void
forms(void)
{
	const char	*f = "action=login&token=s3cr%65t+x&empty=&bare&t2=%zz";
	char		 out[16];

	T_CHECK(form_get(f, strlen(f), "action", out, sizeof(out)) == 1 &&
	    strcmp(out, "login") == 0, "action: %s", out);
	T_CHECK(form_get(f, strlen(f), "token", out, sizeof(out)) == 1 &&
	    strcmp(out, "s3cret x") == 0, "token: %s", out);
	T_CHECK(form_get(f, strlen(f), "empty", out, sizeof(out)) == 1 &&
	    out[0] == '\0', "empty");
	T_CHECK(form_get(f, strlen(f), "bare", out, sizeof(out)) == 1 &&
	    out[0] == '\0', "bare");
	T_CHECK(form_get(f, strlen(f), "t2", out, sizeof(out)) == -1, "bad escape");
	T_CHECK(form_get(f, strlen(f), "tok", out, sizeof(out)) == 0, "a prefix");
	T_CHECK(form_get(f, strlen(f), "missing", out, sizeof(out)) == 0, "absent");
	T_CHECK(form_get("a=%00b", 6, "a", out, sizeof(out)) == -1, "NUL inside");
	T_CHECK(form_get("a=0123456789abcdef", 18, "a", out, sizeof(out)) == -1,
	    "longer than out");
	/* len bounds the form: a field past it is not seen. */
	T_CHECK(form_get("a=1&b=2", 3, "b", out, sizeof(out)) == 0, "len");
	T_CHECK(form_get(NULL, 0, "a", out, sizeof(out)) == 0, "no form");
}

static void
cookies(void)
{
	const char	*keys[TOKEN__MAX] = { "s3cret", "op-secret" };
	const char	*none[TOKEN__MAX] = { NULL, "" };
	const char	*same[TOKEN__MAX] = { "s3cret", "s3cret" };
	char		 c[128], o[128], bad[160];

	token_cookie(TOKEN_READ, "s3cret", 2000000000, c, sizeof(c));
	T_CHECK(strncmp(c, "r.2000000000.", 13) == 0 && strlen(c) == 13 + 64,
	    "cookie shape: %s", c);
	T_CHECK(strstr(c, "s3cret") == NULL, "the token is not in it");
	T_CHECK(token_cookie_role(keys, c, 1999999999) == TOKEN_READ, "valid");
	T_CHECK(token_cookie_role(keys, c, 2000000000) == -1, "expired");
	keys[TOKEN_READ] = "other";
	T_CHECK(token_cookie_role(keys, c, 1) == -1, "another token's");
	keys[TOKEN_READ] = "s3cret";
	T_CHECK(token_cookie_role(none, c, 1) == -1, "no token configured");
	snprintf(bad, sizeof(bad), "r.2100000000%s", c + 12);
	T_CHECK(token_cookie_role(keys, bad, 1) == -1, "expiry moved");
	snprintf(bad, sizeof(bad), "r. 2000000000%s", c + 12);
	T_CHECK(token_cookie_role(keys, bad, 1) == -1, "expiry padded");
	snprintf(bad, sizeof(bad), "%s", c);
	bad[20] = bad[20] == 'a' ? 'b' : 'a';
	T_CHECK(token_cookie_role(keys, bad, 1) == -1, "mac changed");
	bad[strlen(bad) - 1] = '\0';
	T_CHECK(token_cookie_role(keys, bad, 1) == -1, "mac cut");
	T_CHECK(token_cookie_role(keys, "", 1) == -1 &&
	    token_cookie_role(keys, ".", 1) == -1 &&
	    token_cookie_role(keys, "r.x.y", 1) == -1 &&
	    token_cookie_role(keys, NULL, 1) == -1, "junk");

	/* The operator's: only its secret makes one; a read one never is. */
	token_cookie(TOKEN_OPERATOR, "op-secret", 2000000000, o, sizeof(o));
	T_CHECK(strncmp(o, "o.2000000000.", 13) == 0, "operator shape: %s", o);
	T_CHECK(token_cookie_role(keys, o, 1) == TOKEN_OPERATOR, "operator");
	snprintf(bad, sizeof(bad), "o%s", c + 1);
	T_CHECK(token_cookie_role(keys, bad, 1) == -1,
	    "read claiming operator");
	T_CHECK(token_cookie_role(same, bad, 1) == -1,
	    "read claiming operator, one secret for both");
	snprintf(bad, sizeof(bad), "r%s", o + 1);
	T_CHECK(token_cookie_role(keys, bad, 1) == -1, "operator as read");
	token_cookie(TOKEN_OPERATOR, "s3cret", 2000000000, bad, sizeof(bad));
	T_CHECK(token_cookie_role(keys, bad, 1) == -1,
	    "operator cookie made with the read token");
	keys[TOKEN_OPERATOR] = NULL;
	T_CHECK(token_cookie_role(keys, o, 1) == -1, "no operator secret");
	T_CHECK(token_equal("abc", "abc") && !token_equal("abc", "abcd") &&
	    !token_equal("abc", ""), "token_equal");
}

void
test_html(void)
{
	escaping();
	buffers();
	forms();
	cookies();
}

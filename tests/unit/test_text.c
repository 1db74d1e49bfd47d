#include <string.h>

#include "t.h"
#include "text.h"

void
test_text(void)
{
	static const struct {
		const char	*in;
		long		 len;
		const char	*out;
	} dec[] = {
		{ "abc", 3, "abc" },
		{ "a+b", 3, "a b" },
		{ "a%20b", 3, "a b" },
		{ "%41%62", 2, "Ab" },
		{ "%e2%82%AC", 3, "\xe2\x82\xac" },
		{ "%", -1, NULL },
		{ "%4", -1, NULL },
		{ "%zz", -1, NULL },
		{ "ab%2", -1, NULL },
		{ "%2525", 3, "%25" },		/* decoded once only */
	};
	static const struct {
		const char	*s;
		enum text_err	 e;
	} chk[] = {
		{ "hello", TEXT_OK },
		{ "caf\xc3\xa9", TEXT_OK },
		{ "\xf0\x9f\x8c\x85 sunset", TEXT_OK },
		{ "\xc0\xaf", TEXT_BAD_UTF8 },		/* overlong '/' */
		{ "\xe0\x80\xaf", TEXT_BAD_UTF8 },	/* overlong, 3 bytes */
		{ "\xed\xa0\x80", TEXT_BAD_UTF8 },	/* surrogate */
		{ "\xf4\x90\x80\x80", TEXT_BAD_UTF8 },	/* > U+10FFFF */
		{ "\xff", TEXT_BAD_UTF8 },
		{ "abc\xc3", TEXT_BAD_UTF8 },		/* truncated */
		{ "a\tb", TEXT_CONTROL },
		{ "a\r\nb", TEXT_CONTROL },
		{ "a\x7f", TEXT_CONTROL },
		{ "a\xc2\x85", TEXT_CONTROL },		/* C1 NEL */
	};
	char	 buf[64];
	long	 n;

	for (size_t i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
		n = text_pct_decode(buf, dec[i].in, strlen(dec[i].in));
		T_CHECK(n == dec[i].len, "decode %s: %ld", dec[i].in, n);
		if (n >= 0 && dec[i].out)
			T_CHECK(memcmp(buf, dec[i].out, n) == 0, "decode %s",
			    dec[i].in);
	}
	n = text_pct_decode(buf, "a%00b", 5);
	T_CHECK(n == 3 && text_check(buf, 3) == TEXT_CONTROL, "NUL refused");
	for (size_t i = 0; i < sizeof(chk) / sizeof(chk[0]); i++)
		T_CHECK(text_check(chk[i].s, strlen(chk[i].s)) == chk[i].e,
		    "check case %zu", i);

	strcpy(buf, "  a   beautiful  sunset ");
	n = (long)text_normalize(buf, strlen(buf));
	T_CHECK(n == 18 && strcmp(buf, "a beautiful sunset") == 0,
	    "normalize: [%s]", buf);
	strcpy(buf, "    ");
	T_CHECK(text_normalize(buf, 4) == 0, "all spaces");
}

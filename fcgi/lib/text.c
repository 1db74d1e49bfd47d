/*
 * text.c: text helpers for the request grammar: percent-decoding, UTF-8
 * checks and whitespace normalisation.
 */
#include "text.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
text_pct_decode(char *dst, const char *src, size_t len)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '+') {
			dst[o++] = ' ';
		} else if (src[i] == '%') {
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			dst[o++] = src[i];
	}
	dst[o] = '\0';
	return (long)o;
}

/*
 * Decode one UTF-8 sequence at s (n bytes left). Returns its length and
 * stores the code point, or returns 0 if it is malformed. Overlong forms,
 * surrogates and values past U+10FFFF are malformed (RFC 3629).
 */
static size_t
utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t		 len, i;
	unsigned long	 c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

enum text_err
text_check(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned long		 cp;
	size_t			 i = 0, n;

	while (i < len) {
		if ((n = utf8_next(p + i, len - i, &cp)) == 0)
			return TEXT_BAD_UTF8;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return TEXT_CONTROL;
		i += n;
	}
	return TEXT_OK;
}

size_t
text_normalize(char *s, size_t len)
{
	size_t	 i, o = 0;
	int	 space = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ') {
			space = 1;
			continue;
		}
		if (space && o > 0)
			s[o++] = ' ';
		space = 0;
		s[o++] = s[i];
	}
	s[o] = '\0';
	return o;
}

/*
 * text.h: pure byte-level helpers for request text: percent-decoding,
 * UTF-8 validation and prompt normalisation. No allocation, no I/O.
 */
#ifndef PP_TEXT_H
#define PP_TEXT_H

#include <stddef.h>

/*
 * Percent-decode src[0..len) into dst (at least len+1 bytes), turning '+'
 * into a space as HTML forms do. Returns the decoded length, or -1 on a
 * malformed escape ("%", "%4", "%zz"). dst is NUL-terminated; embedded
 * NULs (from "%00") stay in the output and are caught by text_check().
 */
long	text_pct_decode(char *dst, const char *src, size_t len);

enum text_err {
	TEXT_OK = 0,
	TEXT_BAD_UTF8,		/* malformed, overlong, surrogate, > U+10FFFF */
	TEXT_CONTROL,		/* C0, DEL or C1 control, NUL included */
};

/* Check that s[0..len) is valid UTF-8 without control characters. */
enum text_err	text_check(const char *s, size_t len);

/*
 * Trim ASCII spaces at both ends and collapse internal runs of spaces to
 * one, in place. Returns the new length. Run text_check() first: it has
 * already refused tabs and newlines, so a space is the only blank left.
 */
size_t	text_normalize(char *s, size_t len);

#endif

/*
 * fuzz_s3.c: libFuzzer target for the S3 client's readers of outside
 * bytes (fcgi/s3.h; the pure half, s3sign.c):
 *
 *   s3_error_detail(), s3_error_code(): an object store's error answer
 *   s3_creds_parse(): an AWS shared-credentials file
 *   s3_key_valid(), then s3_object_url() and s3_presign_get() on a key
 *   it lets through
 *
 * "s3" is in the Makefile's FUZZ_TARGETS (s3sign.c is in PURE, hence in
 * FUZZ_SRCS). Seeds: corpus/s3/.
 *
 * The input is used as received: not NUL-terminated where a parser is
 * given a length, so ASan reports any read past its end. Whatever the
 * bytes, the readers return and keep s3.h's promises: a message is
 * terminated and one line; credentials taken are printable without
 * spaces, and nothing is taken on failure; a key let through makes a
 * URL of printable ASCII without spaces, dot segments or a query.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3sign.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define TERMINATED(a)	(memchr((a), '\0', sizeof(a)) != NULL)

static int
token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void
check_key(const char *key)
{
	struct s3_cfg	 c;
	char		 url[S3_PRESIGN_MAX];

	if (!s3_key_valid(key))
		return;
	CHECK(strstr(key, "//") == NULL && key[0] != '/' &&
	    strstr(key, "/../") == NULL && strncmp(key, "../", 3) != 0);
	memset(&c, 0, sizeof(c));
	c.endpoint = xstrdup("https://s3.example:8443");
	c.bucket = xstrdup("pics");
	c.region = xstrdup("us-east-1");
	c.key_id = xstrdup("AKID");
	/* '!' and '*' are in no key and never left unencoded in a URL. */
	c.secret = xstrdup("s!e*c");
	for (c.vhost = 0; c.vhost <= 1; c.vhost++) {
		CHECK(s3_object_url(&c, key, url, sizeof(url)) == 0);
		CHECK(token(url) && strchr(url, '?') == NULL);
		CHECK(s3_presign_get(&c, key, 1700000000, 60, 600, url,
		    sizeof(url)) == 0);
		CHECK(token(url) && strstr(url, "s!e*c") == NULL);
	}
	s3_cfg_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;
	struct s3_cfg	 c;
	char		 msg[256], code[64], err[256], *key;

	memset(msg, 'x', sizeof(msg));
	s3_error_detail(p, size, msg, sizeof(msg));
	CHECK(TERMINATED(msg) && strpbrk(msg, "\r\n") == NULL);
	memset(code, 'x', sizeof(code));
	s3_error_code(p, size, code, sizeof(code));
	CHECK(TERMINATED(code) && (code[0] == '\0' || token(code)));

	memset(&c, 0, sizeof(c));
	memset(err, 'x', sizeof(err));
	err[0] = '\0';
	if (s3_creds_parse(p, size, "f", &c, err, sizeof(err)) == 0)
		CHECK(token(c.key_id) && token(c.secret));
	else
		CHECK(c.key_id == NULL && c.secret == NULL &&
		    TERMINATED(err) && err[0] != '\0' &&
		    strpbrk(err, "\r\n") == NULL);
	s3_cfg_free(&c);

	if (size <= S3_KEY_MAX + 1) {
		key = xstrndup(p, size);
		check_key(key);
		free(key);
	}
	return 0;
}

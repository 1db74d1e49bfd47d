/*
 * fuzz_fal.c: libFuzzer target for the fal.ai answer parsers of the
 * fal.ai backend (fcgi/backend/falparse.h, its pure half), and the URL
 * policy (fcgi/backend/urlpolicy.h) on the image URLs they return:
 *
 *   fal_parse_result(const char *json, size_t len, struct gen_result *)
 *   fal_parse_submit(), fal_parse_status(), fal_parse_error()
 *   fal_sse_feed(), the status stream's reader, and fal_parse_status()
 *   on each event it reads
 *   url_check()
 *
 * "fal" is in the Makefile's FUZZ_TARGETS (falparse.c and urlpolicy.c
 * are in PURE, hence in FUZZ_SRCS). Seeds: corpus/fal/.
 *
 * The input is an answer body exactly as received: not NUL-terminated
 * (each parser is given the length), so ASan reports any read past its
 * end. Whatever the body, the parsers must return, and keep the
 * promises of falparse.h that the rest of the responder relies on: every
 * string they fill is terminated inside its array; an error message is
 * one line of printable ASCII (it is logged and stored); a successful
 * result has a URL, and a URL that passes url_check() is printable
 * ASCII without spaces (it may become a Location header).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "falparse.h"
#include "urlpolicy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define TERMINATED(a)	(memchr((a), '\0', sizeof(a)) != NULL)

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * Read data as a status stream, in pieces of the sizes a small PRNG
 * seeded with seed gives (0: all at once); returns a hash of the events
 * it made, checking each on the way: the reader always moves on, never
 * reports more than it was given, and an event's data is terminated,
 * within the cap, without CR.
 */
static uint64_t
sse_hash(const char *data, size_t size, unsigned seed)
{
	static struct fal_sse	 s;
	enum fal_sse_got	 got;
	uint64_t		 h = 1469598103934665603ULL;
	size_t			 off = 0, n, k;
	char			 name[32];
	int			 whole = seed == 0;

	fal_sse_init(&s);
	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		n = whole ? size - off : 1 + (seed >> 16) % 64;
		n = n < size - off ? n : size - off;
		while (n > 0) {
			k = fal_sse_feed(&s, data + off, n, &got);
			CHECK(k > 0 && k <= n);
			off += k;
			n -= k;
			if (got == FAL_SSE_MORE)
				continue;
			h = (h ^ (uint64_t)got) * 1099511628211ULL;
			if (got != FAL_SSE_EVENT)
				continue;
			CHECK(s.len < sizeof(s.data) && s.data[s.len] == '\0');
			CHECK(memchr(s.data, '\r', s.len) == NULL);
			for (size_t i = 0; i < s.len; i++)
				h = (h ^ (unsigned char)s.data[i]) * 1099511628211ULL;
			name[0] = '\0';
			(void)fal_parse_status(s.data, s.len, name, sizeof(name));
			CHECK(TERMINATED(name) && printable(name));
		}
	}
	return h;
}

static void
check_result(const struct gen_result *res)
{
	CHECK(TERMINATED(res->url));
	CHECK(TERMINATED(res->file));
	CHECK(TERMINATED(res->content_type));
	CHECK(TERMINATED(res->upstream_id));
	CHECK((unsigned)res->err < GE__MAX);
	CHECK(TERMINATED(res->error_message));
	CHECK(printable(res->error_message));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*json = (const char *)data, *why = NULL;
	struct gen_result	 res;
	struct fal_queue	 q;
	char			 name[64], msg[256];
	int			 rc;

	memset(&res, 0, sizeof(res));	/* as the backend hands it over */
	rc = fal_parse_result(json, size, &res);
	CHECK(rc == 0 || rc == -1);
	check_result(&res);
	if (rc == 0)
		CHECK(res.url[0] != '\0');
	if (res.url[0] != '\0' &&
	    url_check(res.url, "fal.media", 0, &why) == 0)
		CHECK(printable(res.url) && strchr(res.url, ' ') == NULL &&
		    strlen(res.url) < 2048);

	memset(&res, 0, sizeof(res));
	memset(&q, 0, sizeof(q));
	rc = fal_parse_submit(json, size, &q, &res);
	CHECK(rc == 0 || rc == -1);
	check_result(&res);
	CHECK(TERMINATED(q.request_id) && TERMINATED(q.status_url) &&
	    TERMINATED(q.response_url) && TERMINATED(q.cancel_url));
	if (rc == 0)
		CHECK(q.status_url[0] != '\0' && q.response_url[0] != '\0');

	/* Unwritten, a name stays ""; written, it must be terminated. */
	memset(name, 'x', sizeof(name));
	name[0] = '\0';
	(void)fal_parse_status(json, size, name, sizeof(name));
	CHECK(TERMINATED(name) && printable(name));

	memset(msg, 'x', sizeof(msg));
	msg[0] = '\0';
	fal_parse_error(json, size, msg, sizeof(msg));
	CHECK(TERMINATED(msg));

	/* However the bytes arrive, the same events. */
	CHECK(sse_hash(json, size, 0) == sse_hash(json, size, (unsigned)size));
	return 0;
}

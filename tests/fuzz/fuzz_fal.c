/*
 * fuzz_fal.c: libFuzzer target for the fal.ai response parser,
 *
 *   fal_parse_result(const char *json, size_t len, struct gen_result *)
 *
 * in fcgi/fal.c (the fal.ai backend's branch). NOT BUILT YET: the
 * Makefile leaves it out until fal.c is merged; then add "fal" to
 * FUZZ_TARGETS and fal.o to FUZZ_OBJS there (see the comment beside
 * them). Seeds are in corpus/fal/.
 *
 * The input is the body exactly as received: not NUL-terminated (the
 * parser is given its length), so ASan reports any read past its end.
 * Whatever the body, the parser must return, and every string it leaves
 * in the result must be terminated inside its array, since gen.c, db.c
 * and the logs treat them as C strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define TERMINATED(a)	(memchr((a), '\0', sizeof(a)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gen_result	 res;

	memset(&res, 0, sizeof(res));	/* as the backend hands it over */
	(void)fal_parse_result((const char *)data, size, &res);
	CHECK(TERMINATED(res.url));
	CHECK(TERMINATED(res.file));
	CHECK(TERMINATED(res.content_type));
	CHECK(TERMINATED(res.upstream_id));
	CHECK(TERMINATED(res.error_kind));
	CHECK(TERMINATED(res.error_message));
	return 0;
}

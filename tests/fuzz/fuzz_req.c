/*
 * fuzz_req.c: libFuzzer target for the request grammar (req.c) and the
 * byte-level text helpers under it (text.c).
 *
 * The input up to its first NUL is a REQUEST_URI, split at the first '?'
 * into path and query exactly as main.c's split_uri() does, and parsed
 * with two sets of limits. The whole input, NULs included, also goes
 * straight through text_pct_decode(), text_check() and text_normalize().
 * Beyond memory errors (ASan) and undefined behaviour (UBSan), the
 * invariants the rest of the responder relies on are checked: a parsed
 * request is inside its limits, its prompt is clean UTF-8 without
 * controls or stray spaces (so the canonical string of hash.c stays
 * unambiguous), and a refusal carries a one-line reason and nothing to
 * free. A broken invariant aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "req.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const struct req_limits	 limits[] = {
	{ 64, 2048, 1000 },		/* the shipped defaults */
	{ 1, 8192, 8 },			/* tiny prompts, any size */
};

/* A normalised prompt: no leading, trailing or doubled space. */
static int
normalised(const char *s, size_t len)
{
	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (s[i] == ' ' && s[i - 1] == ' ')
			return 0;
	return 1;
}

static void
check_text(const uint8_t *data, size_t size)
{
	char		*dec, *enc, *again;
	long		 n, m;
	size_t		 k;
	enum text_err	 e;

	dec = malloc(size + 1);
	CHECK(dec != NULL);
	n = text_pct_decode(dec, (const char *)data, size);
	CHECK(n >= -1 && n <= (long)size);
	if (n < 0)
		goto out;
	CHECK(dec[n] == '\0');
	/* Every byte escaped, then decoded: the same bytes come back. */
	enc = malloc((size_t)n * 3 + 1);
	again = malloc((size_t)n + 1);
	CHECK(enc != NULL && again != NULL);
	for (long i = 0; i < n; i++) {
		enc[3 * i] = '%';
		enc[3 * i + 1] = "0123456789ABCDEF"[(uint8_t)dec[i] >> 4];
		enc[3 * i + 2] = "0123456789abcdef"[(uint8_t)dec[i] & 0xf];
	}
	m = text_pct_decode(again, enc, (size_t)n * 3);
	CHECK(m == n && memcmp(again, dec, (size_t)n) == 0);
	free(enc);
	free(again);

	e = text_check(dec, (size_t)n);
	CHECK(e == TEXT_OK || e == TEXT_BAD_UTF8 || e == TEXT_CONTROL);
	if (e != TEXT_OK)
		goto out;
	for (long i = 0; i < n; i++)
		CHECK((uint8_t)dec[i] >= 0x20 && (uint8_t)dec[i] != 0x7f);
	k = text_normalize(dec, (size_t)n);
	CHECK(k <= (size_t)n && dec[k] == '\0' && strlen(dec) == k);
	CHECK(normalised(dec, k) && text_check(dec, k) == TEXT_OK);
	CHECK(text_normalize(dec, k) == k);
out:
	free(dec);
}

static void
check_req(const char *path, const char *query, const struct req_limits *lim)
{
	struct img_req	 r;
	const char	*reason = NULL;
	char		*canon, hex[HASH_HEX_LEN + 1];
	size_t		 lines = 0;
	int		 rc;

	rc = req_parse_image(path, query, lim, &r, &reason);
	CHECK(rc == 0 || rc == 400 || rc == 404);
	CHECK((rc == 404) == !req_is_image_path(path));
	if (rc != 0) {
		CHECK(reason != NULL && strchr(reason, '\n') == NULL);
		CHECK(r.prompt == NULL);
		return;
	}
	CHECK(r.w >= lim->min_dim && r.w <= lim->max_dim);
	CHECK(r.h >= lim->min_dim && r.h <= lim->max_dim);
	CHECK(r.fmt == FMT_JPG || r.fmt == FMT_PNG);
	CHECK(r.prompt != NULL && strlen(r.prompt) == r.prompt_len);
	CHECK(r.prompt_len >= 1 && r.prompt_len <= lim->max_prompt);
	CHECK(text_check(r.prompt, r.prompt_len) == TEXT_OK);
	CHECK(normalised(r.prompt, r.prompt_len));
	/* Seven fields, six separators: the prompt adds no '\n'. */
	canon = hash_canonical(&r, "fal-ai/flux/schnell");
	for (const char *p = canon; *p != '\0'; p++)
		lines += *p == '\n';
	CHECK(lines == 6);
	free(canon);
	hash_image(&r, "fal-ai/flux/schnell", hex);
	CHECK(strlen(hex) == HASH_HEX_LEN);
	img_req_free(&r);
	CHECK(r.prompt == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*nul;
	char		*uri, *q;
	size_t		 n;

	check_text(data, size);

	/* A FastCGI parameter is a C string: it ends at the first NUL. */
	n = (nul = memchr(data, '\0', size)) ? (size_t)(nul - data) : size;
	uri = malloc(n + 1);
	CHECK(uri != NULL);
	memcpy(uri, data, n);
	uri[n] = '\0';
	if ((q = strchr(uri, '?')) != NULL)
		*q++ = '\0';
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		check_req(uri, q, &limits[i]);
	free(uri);
	return 0;
}

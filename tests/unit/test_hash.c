#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "req.h"
#include "t.h"

static const struct req_limits lim = { 64, 2048, 1000 };

static void
hash_of(const char *path, const char *q, char *hex)
{
	struct img_req	 r;
	const char	*reason;

	if (req_parse_image(path, q, &lim, &r, &reason) != 0) {
		strcpy(hex, "parse-error");
		return;
	}
	hash_image(&r, "fal-ai/flux/schnell", hex);
	img_req_free(&r);
}

void
test_hash(void)
{
	char		 a[65], b[65], *c;
	struct img_req	 r;
	const char	*reason;

	/* Known answer: SHA-256("abc"). */
	hash_sha256_hex("abc", 3, a);
	T_CHECK(strcmp(a, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad") == 0, "sha256(abc)");

	/* The documented canonical string. */
	req_parse_image("/1024x768.jpeg", "text=+A++beautiful%20sunset+&seed=7",
	    &lim, &r, &reason);
	c = hash_canonical(&r, "fal-ai/flux/schnell");
	T_CHECK(strcmp(c, "promptpix-v1\nA beautiful sunset\n1024\n768\njpg\n7\n"
	    "fal-ai/flux/schnell") == 0, "canonical: [%s]", c);
	free(c);
	img_req_free(&r);

	/* The same image however it is spelled. */
	hash_of("/1024x1024.jpg", "text=A%20beautiful%20sunset", a);
	hash_of("/1024x1024.jpeg", "text=++A+beautiful++sunset", b);
	T_CHECK(strcmp(a, b) == 0, "jpg = jpeg, spaces collapsed");
	hash_of("/1024x1024.JPG", "text=A%20beautiful%20sunset", b);
	T_CHECK(strcmp(a, b) == 0, "extension case");
	/* Different images. */
	hash_of("/1024x1024.png", "text=A%20beautiful%20sunset", b);
	T_CHECK(strcmp(a, b) != 0, "format differs");
	hash_of("/1024x1023.jpg", "text=A%20beautiful%20sunset", b);
	T_CHECK(strcmp(a, b) != 0, "height differs");
	hash_of("/1024x1024.jpg", "text=A%20beautiful%20sunset&seed=0", b);
	T_CHECK(strcmp(a, b) != 0, "seed 0 differs from no seed");
	hash_of("/1024x1024.jpg", "text=a%20beautiful%20sunset", b);
	T_CHECK(strcmp(a, b) != 0, "case matters");
	T_CHECK(strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64,
	    "64 hex digits");
	T_CHECK(hash_prefix("ff01abcd99", 2) == 0xff &&
	    hash_prefix("ff01abcd99", 8) == 0xff01abcd &&
	    hash_prefix("00000001", 8) == 1, "hash_prefix");
}

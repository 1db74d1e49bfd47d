/*
 * hash.c: the canonical string of an image request and its SHA-256, the
 * prompt_hash that names the image everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hash.h"
#include "util.h"

char *
hash_canonical(const struct img_req *r, const char *model)
{
	char	 seed[16];
	char	*s;
	size_t	 cap;
	int	 n;

	if (r->has_seed)
		snprintf(seed, sizeof(seed), "%u", (unsigned)r->seed);
	else
		strlcpy_chk(seed, "-", sizeof(seed));
	cap = r->prompt_len + strlen(model) + 64;
	s = xmalloc(cap);
	n = snprintf(s, cap, "promptpix-v1\n%s\n%u\n%u\n%s\n%s\n%s",
	    r->prompt, r->w, r->h, img_fmt_ext(r->fmt), seed, model);
	if (n < 0 || (size_t)n >= cap)
		abort();	/* cap covers every field; cannot happen */
	return s;
}

void
hash_sha256_hex(const void *data, size_t len, char *hex)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();	/* only fails on out-of-memory */
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * mdlen] = '\0';
}

void
hash_image(const struct img_req *r, const char *model, char *hex)
{
	char	*c = hash_canonical(r, model);

	hash_sha256_hex(c, strlen(c), hex);
	free(c);
}

uint32_t
hash_prefix(const char *hex, int digits)
{
	char	 pre[9];

	memcpy(pre, hex, (size_t)digits);
	pre[digits] = '\0';
	return (uint32_t)strtoul(pre, NULL, 16);
}

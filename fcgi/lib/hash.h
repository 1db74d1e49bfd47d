/*
 * hash.h: the image identity. Two URLs name the same image exactly when
 * their canonical strings are equal; prompt_hash is its SHA-256 in hex.
 *
 * Canonical string (fields joined by '\n'):
 *   "promptpix-v1", prompt (trimmed, spaces collapsed), W, H,
 *   format ("jpg" or "png"), seed (decimal, or "-" when absent), model.
 */
#ifndef PP_HASH_H
#define PP_HASH_H

#include <stdint.h>

#include "req.h"

#define HASH_HEX_LEN	64

/*
 * Write the canonical string of r for model into a fresh buffer (caller
 * frees) and return it.
 */
char	*hash_canonical(const struct img_req *r, const char *model);

/* Fill hex (HASH_HEX_LEN + 1 bytes) with the prompt_hash of r. */
void	 hash_image(const struct img_req *r, const char *model, char *hex);

/*
 * The value of the first digits (1..8) hex digits of a prompt_hash. The
 * hash is uniformly random, so this spreads images evenly over tables.
 */
uint32_t	 hash_prefix(const char *hex, int digits);

/* SHA-256 of data as lowercase hex (HASH_HEX_LEN + 1 bytes). */
void	 hash_sha256_hex(const void *data, size_t len, char *hex);

#endif

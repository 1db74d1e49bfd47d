/*
 * keycmd.h: the subcommands for client keys and signed URLs.
 *
 *   promptpix key add NAME --tier T [--daily-images N] [--daily-usd X]
 *   promptpix key list
 *   promptpix key disable ID
 *   promptpix sign [--key ID] [--expires SECONDS] URL...
 *
 * argv[0] is the subcommand's name. Each returns the exit status: 0,
 * 1 when the database or the secret is missing, 2 on bad usage, with a
 * one-line reason on stderr. Secrets are printed once (a new key's
 * bearer token) and never logged.
 */
#ifndef PP_KEYCMD_H
#define PP_KEYCMD_H

#include <stdint.h>

#include "sign.h"

struct cfg;

int	keycmd_key(const struct cfg *, int argc, char **argv);
int	keycmd_sign(const struct cfg *, int argc, char **argv);

/*
 * The secret that signs for key kid (SIGN_DEFAULT_KID: the
 * installation's own), after checking that the configuration has the
 * master secret and that the key exists and is enabled. Returns 0, or
 * the exit status (1, 2) with the reason on stderr.
 */
int	keycmd_signer(const struct cfg *, const char *kid,
	    unsigned char secret[SIGN_SECRET_LEN]);

/*
 * url signed with kid's secret (and exp, unless 0), as `promptpix sign`
 * prints it: the URL as given, the access parameters and the signature
 * appended. Returns a fresh string, or NULL with the reason on stderr.
 */
char	*keycmd_sign_url(const struct cfg *, const unsigned char *secret,
	    const char *kid, int64_t exp, const char *url);

#endif

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

struct cfg;

int	keycmd_key(const struct cfg *, int argc, char **argv);
int	keycmd_sign(const struct cfg *, int argc, char **argv);

#endif

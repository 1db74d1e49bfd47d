/*
 * cli.h: the subcommands of the promptpix binary. `promptpix` alone is
 * the FastCGI responder; `promptpix SUBCOMMAND [-c FILE] ARGS...` runs
 * one command with the same configuration and exits.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <stddef.h>

/* Is argv a subcommand's (argv[1] names one)? */
int	cli_is_command(int argc, char **argv);

/* Run the subcommand of argv; returns the exit status. */
int	cli_run(int argc, char **argv);

/*
 * Where the responder's configuration is: opt (-c), then
 * $PROMPTPIX_CONF, then promptpix.conf beside argv0 (mod_fcgid starts
 * it by its full path). The commands also look at the installed
 * /etc/promptpix/promptpix.conf first (cli_run). Returns opt, the
 * variable, or buf.
 */
const char	*cli_conf_path(const char *opt, const char *argv0, char *buf,
		    size_t bufsz);

struct cfg;
struct db;

/*
 * Connect to the database of c for one command. Returns the handle, or
 * NULL after saying why on stderr.
 */
struct db	*cli_db(const struct cfg *c);

#endif

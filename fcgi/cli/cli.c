/*
 * cli.c: the table of subcommands, and what they share: finding and
 * loading the configuration (-c FILE, as the responder does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "keycmd.h"
#include "simcmd.h"
#include "warmcmd.h"

static const struct command {
	const char	*name;
	int		 (*run)(const struct cfg *, int argc, char **argv);
} commands[] = {
	{ "key", keycmd_key },
	{ "sign", keycmd_sign },
	{ "similar-index", simcmd_index },
	{ "warm", warmcmd_warm },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static const struct command *
find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
cli_is_command(int argc, char **argv)
{
	return argc > 1 && argv[1][0] != '-';
}

const char *
cli_conf_path(const char *opt, const char *argv0, char *buf, size_t bufsz)
{
	const char	*env, *slash;

	if (opt != NULL)
		return opt;
	if ((env = getenv("PROMPTPIX_CONF")) != NULL && *env != '\0')
		return env;
	if ((slash = strrchr(argv0, '/')) != NULL)
		snprintf(buf, bufsz, "%.*s/promptpix.conf",
		    (int)(slash - argv0), argv0);
	else
		snprintf(buf, bufsz, "promptpix.conf");
	return buf;
}

struct db *
cli_db(const struct cfg *c)
{
	struct db	*db;

	if (db_library_init() != 0)
		return NULL;
	db = db_new(c);
	if (db_ensure(db) == -1) {
		fprintf(stderr, "promptpix: cannot reach the database\n");
		db_free(db);
		return NULL;
	}
	return db;
}

int
cli_run(int argc, char **argv)
{
	const struct command	*cmd;
	const char		*copt = NULL;
	struct cfg		 c;
	char			 err[512], buf[4096];
	int			 i, rc;

	if ((cmd = find(argv[1])) == NULL) {
		fprintf(stderr, "promptpix: no command \"%s\" (commands: "
		    "key, sign, similar-index, warm; none: the FastCGI "
		    "responder)\n", argv[1]);
		return 2;
	}
	/* -c FILE may come anywhere after the command's name. */
	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			copt = argv[i + 1];
			memmove(&argv[i], &argv[i + 2],
			    (size_t)(argc - i - 1) * sizeof(*argv));
			argc -= 2;
			break;
		}
	if (cfg_load(cli_conf_path(copt, argv[0], buf, sizeof(buf)), &c, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "promptpix: %s\n", err);
		cfg_free(&c);
		return 1;
	}
	rc = cmd->run(&c, argc - 1, argv + 1);
	cfg_free(&c);
	return rc;
}

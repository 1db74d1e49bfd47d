/*
 * cli.c: the table of subcommands, and what they share: finding and
 * loading the configuration, and reaching the database.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "util.h"
#include "keycmd.h"
#include "simcmd.h"
#include "storecmd.h"
#include "warmcmd.h"

static const struct command {
	const char	*name;
	int		 (*run)(const struct cfg *, int argc, char **argv);
} commands[] = {
	{ "key", keycmd_key },
	{ "sign", keycmd_sign },
	{ "similar-index", simcmd_index },
	{ "store", storecmd_store },
	{ "warm", warmcmd_warm },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* Where an installation keeps its configuration (make install, the package). */
#define CLI_INSTALLED_CONF	"/etc/promptpix/promptpix.conf"

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

/*
 * The directory of the running program, in buf: argv0's when it names a
 * path, else (the program found on PATH) the file /proc/self/exe links
 * to. Returns 0, or -1 when neither says (buf is then empty).
 */
static int
program_dir(const char *argv0, char *buf, size_t bufsz)
{
	const char	*slash;
	ssize_t		 n;

	buf[0] = '\0';
	if ((slash = strrchr(argv0, '/')) != NULL) {
		snprintf(buf, bufsz, "%.*s", (int)(slash - argv0), argv0);
		return 0;
	}
	if ((n = readlink("/proc/self/exe", buf, bufsz - 1)) <= 0)
		return buf[0] = '\0', -1;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return buf[0] = '\0', -1;
	buf[slash - buf] = '\0';
	return 0;
}

/*
 * The configuration a command reads: -c FILE, else $PROMPTPIX_CONF, else
 * the installed one, else promptpix.conf beside the program (a shared
 * host's upload directory), the first of the last two that exists.
 * Returns the path (opt, the variable, or buf), or NULL after saying on
 * stderr which files were tried.
 */
static const char *
command_conf(const char *opt, const char *argv0, char *buf, size_t bufsz)
{
	const char	*env;
	char		 dir[PATH_MAX];

	if (opt != NULL)
		return opt;
	if ((env = getenv("PROMPTPIX_CONF")) != NULL && *env != '\0')
		return env;
	if (access(CLI_INSTALLED_CONF, F_OK) == 0 || errno != ENOENT)
		return CLI_INSTALLED_CONF;
	if (program_dir(argv0, dir, sizeof(dir)) == 0) {
		snprintf(buf, bufsz, "%s/promptpix.conf", dir);
		if (access(buf, F_OK) == 0 || errno != ENOENT)
			return buf;
		fprintf(stderr, "promptpix: no configuration: tried %s and "
		    "%s ($PROMPTPIX_CONF is not set); name one with -c FILE\n",
		    CLI_INSTALLED_CONF, buf);
	} else
		fprintf(stderr, "promptpix: no configuration: tried %s "
		    "($PROMPTPIX_CONF is not set); name one with -c FILE\n",
		    CLI_INSTALLED_CONF);
	return NULL;
}

/*
 * A local database reached without a password is the service's account
 * over unix_socket (conf/setup.sh database), which only the OS user of
 * that name may use. Root runs the commands as the database's root over
 * the same socket instead, which a Debian MariaDB lets root do without a
 * password. Returns 1 when c was changed so, else 0.
 */
static int
root_over_socket(struct cfg *c)
{
	int	 local;

	local = c->db_socket != NULL || c->db_host == NULL ||
	    strcmp(c->db_host, "localhost") == 0;
	if (geteuid() != 0 || !local || c->db_password != NULL ||
	    c->db_password_file != NULL || strcmp(c->db_user, "root") == 0)
		return 0;
	free(c->db_user);
	c->db_user = xstrdup("root");
	return 1;
}

int
cli_run(int argc, char **argv)
{
	const struct command	*cmd;
	const char		*copt = NULL, *path;
	struct cfg		 c;
	char			 err[512], buf[4096];
	int			 i, rc;

	if ((cmd = find(argv[1])) == NULL) {
		fprintf(stderr, "promptpix: no command \"%s\" (commands: "
		    "key, sign, similar-index, store, warm; none: the FastCGI "
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
	if ((path = command_conf(copt, argv[0], buf, sizeof(buf))) == NULL)
		return 1;
	if (cfg_load(path, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "promptpix: %s\n", err);
		cfg_free(&c);
		return 1;
	}
	root_over_socket(&c);
	rc = cmd->run(&c, argc - 1, argv + 1);
	cfg_free(&c);
	return rc;
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "t.h"

/* Load text as a config file; return the error ("" if none). */
static const char *
load(const char *text, struct cfg *c)
{
	static char	 err[512];
	char		 path[] = "/tmp/pp-cfg-XXXXXX";
	int		 fd = mkstemp(path);

	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	err[0] = '\0';
	if (cfg_load(path, c, err, sizeof(err)) == 0)
		err[0] = '\0';
	unlink(path);
	/* Drop the temp path so expectations can name just ":line: ..." */
	return strchr(err, ':') ? strchr(err, ':') : err;
}

void
test_cfg(void)
{
	static const struct {
		const char	*text;
		const char	*err;		/* prefix; "" = loads */
	} cases[] = {
		{ "", "" },
		{ "[server]\nthreads = 4\nmax_wait = 0.5\n", "" },
		{ "[server]\nthreads = 0\n", ":2: threads: out of range" },
		{ "[server]\nthreads = four\n", ":2: threads: not a number" },
		{ "[server]\nthreads = 2.5\n", ":2: threads: not a whole" },
		{ "\n\n[server]\nthreadz = 4\n", ":4: unknown setting [server] threadz" },
		{ "[nosuch]\nx = 1\n", ":2: unknown setting [nosuch] x" },
		{ "[server]\nlog_level = loud\n", ":2: log_level: must be" },
		{ "[store]\ndelivery = email\n", ":2: delivery: must be" },
		{ "[store]\nurl = img/\n", ":2: url: must be" },
		{ "[store]\nurl = javascript:alert(1)/\n", ":2: url: must be" },
		{ "[store]\nurl = https://cdn.example/img/\n", "" },
		{ "[server]\nbase_path = pix\n", ":2: base_path: must" },
		{ "[limits]\nmin_dimension = 512\nmax_dimension = 256\n",
		    ":3: max_dimension is below" },
		{ "this is not ini\n", ":1: malformed line" },
		{ "[database]\npassword_file = /nonexistent/pw\n",
		    ": cannot read database password_file" },
		{ "[server]\nmax_wait = nan\n", ":2: max_wait: not a number" },
		{ "[server]\nthreads = -nan\n", ":2: threads: not a number" },
		{ "[generation]\ncost_per_megapixel = NAN\n",
		    ":2: cost_per_megapixel: not a number" },
		{ "[store]\ncache_max_age = inf\n", ":2: cache_max_age: not a" },
	};
	struct cfg	 c;
	const char	*e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = load(cases[i].text, &c);
		T_CHECK(strncmp(e, cases[i].err, strlen(cases[i].err)) == 0 &&
		    (cases[i].err[0] != '\0' || e[0] == '\0'),
		    "cfg case %zu: got [%s] want [%s]", i, e, cases[i].err);
		cfg_free(&c);
	}

	load("[server]\nmax_wait = 1.5\n[limits]\nmax_prompt_bytes = 20\n", &c);
	T_CHECK(c.max_wait_ms == 1500 && c.lim.max_prompt == 20 &&
	    c.threads == 8, "values and defaults");
	cfg_free(&c);

	setenv("PROMPTPIX_DB_PASSWORD", "from-env", 1);
	load("[database]\npassword = from-file\n", &c);
	T_CHECK(c.db_password && strcmp(c.db_password, "from-env") == 0,
	    "environment overrides the file");
	cfg_free(&c);
	unsetenv("PROMPTPIX_DB_PASSWORD");
}

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "t.h"
#include "util.h"

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

/* env_wipe(): the variable is unset, and the string getenv() gave is zeros. */
static void
wipe_env(void)
{
	const char	*v;
	int		 wiped = 1;

	setenv("PROMPTPIX_DB_PASSWORD", "s3cret-value", 1);
	setenv("PROMPTPIX_OTHER", "kept", 1);
	v = getenv("PROMPTPIX_DB_PASSWORD");
	env_wipe("PROMPTPIX_DB_PASSWORD");
	T_CHECK(getenv("PROMPTPIX_DB_PASSWORD") == NULL, "unset");
	/* glibc keeps setenv()'s strings: the old one is still readable. */
	for (size_t k = 0; k < strlen("s3cret-value"); k++)
		wiped &= v[k] == '\0';
	T_CHECK(wiped, "the value was wiped before unsetenv");
	T_CHECK(getenv("PROMPTPIX_OTHER") != NULL &&
	    strcmp(getenv("PROMPTPIX_OTHER"), "kept") == 0, "others kept");
	unsetenv("PROMPTPIX_OTHER");
	env_wipe("PROMPTPIX_DB_PASSWORD");	/* not set: nothing happens */
}

/* Write line into a new temporary file of mode; its path into path. */
static void
secret_file(char *path, const char *line, mode_t mode)
{
	int	 fd = mkstemp(path);

	if (fd == -1 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fchmod(fd, mode) == -1)
		abort();
	close(fd);
}

/* [pages] operator_token_file: its own, long enough, private. */
static void
operator_token(void)
{
	static const struct {
		const char	*line;
		mode_t		 mode;
		const char	*stats;		/* [stats] token, or NULL */
		const char	*err;		/* in the error; "" = loads */
	} cases[] = {
		{ "operator-secret-0123456789\n", 0600, "reader", "" },
		{ "operator-secret-0123456789\n", 0640, NULL, "" },
		{ "short\n", 0600, NULL, "fewer than 16 characters" },
		{ "operator-secret-0123456789\n", 0644, NULL,
		    "readable or writable by every user" },
		{ "operator-secret-0123456789\n", 0602, NULL,
		    "readable or writable by every user" },
		{ "operator-secret-0123456789\n", 0600,
		    "operator-secret-0123456789", "holds the [stats] token" },
	};
	struct cfg	 c;
	const char	*e;
	char		 path[] = "/tmp/pp-op-XXXXXX", text[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strlcpy_chk(path, "/tmp/pp-op-XXXXXX", sizeof(path));
		secret_file(path, cases[i].line, cases[i].mode);
		snprintf(text, sizeof(text), "[pages]\n"
		    "operator_token_file = %s\n%s%s\n", path,
		    cases[i].stats ? "[stats]\ntoken = " : "",
		    cases[i].stats ? cases[i].stats : "");
		e = load(text, &c);
		T_CHECK(cases[i].err[0] == '\0' ? e[0] == '\0' &&
		    c.operator_token != NULL && strcmp(c.operator_token,
		    "operator-secret-0123456789") == 0 :
		    strstr(e, cases[i].err) != NULL, "operator case %zu: %s",
		    i, e);
		T_CHECK(strstr(e, "operator-secret") == NULL && strstr(e,
		    "short") == NULL, "operator case %zu names no secret", i);
		cfg_free(&c);
		unlink(path);
	}
	e = load("[pages]\noperator_token_file = /nonexistent/op\n", &c);
	T_CHECK(strstr(e, "cannot read [pages] operator_token_file") != NULL,
	    "missing operator file: %s", e);
	cfg_free(&c);
	load("", &c);
	T_CHECK(c.operator_token == NULL, "no operator secret by default");
	cfg_free(&c);
}

/* [store] mode = s3: the bucket's settings, and the credentials' file. */
static void
s3_store(void)
{
	static const char	 creds[] = "[default]\naws_access_key_id = "
	    "AKIDEXAMPLE\naws_secret_access_key = s3-secret-of-the-test\n";
	static const struct {
		const char	*store;		/* [store] lines */
		const char	*err;		/* in the error; "" = loads */
	} cases[] = {
		{ "s3_endpoint = https://s3.eu-west-1.amazonaws.com\n"
		    "s3_bucket = pics\nurl = https://cdn.example/\n", "" },
		{ "s3_endpoint = http://127.0.0.1:8080\ns3_bucket = pics\n"
		    "s3_path_style = true\npresign = 3600\ns3_prefix = a/b\n",
		    "" },
		{ "s3_bucket = pics\n", "needs s3_endpoint, s3_bucket and "
		    "s3_credentials_file" },
		{ "s3_endpoint = https://h.example\n", "needs s3_endpoint" },
		{ "s3_endpoint = ftp://h.example\ns3_bucket = pics\n",
		    "s3 endpoint: must start with http:// or https://" },
		{ "s3_endpoint = http://127.0.0.1:8080\ns3_bucket = pics\n",
		    "virtual-hosted URLs (BUCKET.HOST) need a host name" },
		{ "s3_endpoint = https://h.example\ns3_bucket = Pics\n",
		    "s3 bucket: must be 3..63" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "s3_region = EU\n", "s3 region" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "s3_prefix = /img\n", "s3_prefix must be empty" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "s3_prefix = a/../b\n", "s3_prefix must be empty" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "presign = 1\n", "presign must be 0 (off) or 2" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "presign = 604801\n", "presign: out of range" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n",
		    "set url to the bucket's public URL" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "url = /img/\n", "set url to the bucket's public URL" },
		{ "s3_endpoint = https://h.example\ns3_bucket = pics\n"
		    "delivery = inline\n", "" },
	};
	struct cfg	 c;
	const char	*e;
	char		 path[] = "/tmp/pp-s3c-XXXXXX", text[1024];

	secret_file(path, creds, 0600);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[store]\nmode = s3\n%s%s%s\n",
		    cases[i].store, strstr(cases[i].err, "needs") ? "" :
		    "s3_credentials_file = ", strstr(cases[i].err, "needs") ?
		    "" : path);
		e = load(text, &c);
		T_CHECK(cases[i].err[0] == '\0' ? e[0] == '\0' :
		    strstr(e, cases[i].err) != NULL, "s3 case %zu: %s", i, e);
		T_CHECK(strstr(e, "s3-secret") == NULL, "s3 case %zu names no "
		    "secret", i);
		if (i == 0)
			T_CHECK(c.store_mode == STORE_S3 && c.s3.vhost &&
			    strcmp(c.s3.key_id, "AKIDEXAMPLE") == 0 &&
			    strcmp(c.s3.secret, "s3-secret-of-the-test") == 0 &&
			    strcmp(c.s3.region, "us-east-1") == 0 &&
			    strcmp(c.s3_prefix, "img") == 0 && c.s3_presign == 0,
			    "s3 settings and the credentials read");
		if (i == 1)
			T_CHECK(!c.s3.vhost && c.s3_presign == 3600 &&
			    strcmp(c.s3_prefix, "a/b") == 0, "path-style");
		cfg_free(&c);
	}
	/* The credentials' file: private, in AWS's format. */
	chmod(path, 0644);
	snprintf(text, sizeof(text), "[store]\nmode = s3\ns3_endpoint = "
	    "https://h.example\ns3_bucket = pics\ns3_credentials_file = %s\n",
	    path);
	e = load(text, &c);
	T_CHECK(strstr(e, "readable or writable by every user") != NULL,
	    "a credentials file others can read: %s", e);
	cfg_free(&c);
	unlink(path);
	strlcpy_chk(path, "/tmp/pp-s3c-XXXXXX", sizeof(path));
	secret_file(path, "[other]\naws_access_key_id = x\n", 0600);
	snprintf(text, sizeof(text), "[store]\nmode = s3\ns3_endpoint = "
	    "https://h.example\ns3_bucket = pics\ns3_credentials_file = %s\n",
	    path);
	e = load(text, &c);
	T_CHECK(strstr(e, "profile [default] has no aws_access_key_id") !=
	    NULL, "no [default] profile: %s", e);
	cfg_free(&c);
	unlink(path);
	/* presign is the bucket's: refused on a local store. */
	e = load("[store]\npresign = 60\n", &c);
	T_CHECK(strstr(e, "presign needs mode = s3") != NULL, "%s", e);
	cfg_free(&c);
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
		{ "[store]\ndir =\n", ": [store] dir must be an absolute path" },
		{ "[store]\ndir = img\n", ": [store] dir must be an absolute" },
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
		{ "[fal]\nmode = carrier\n", ":2: mode: must be queue or sync" },
		{ "[fal]\nenable_safety_checker = maybe\n",
		    ":2: enable_safety_checker: must be true or false" },
		{ "[fal]\nnsfw = shrug\n", ":2: nsfw: must be fail or blocked" },
		{ "[store]\nmode = cloud\n", ":2: mode: must be local, remote or s3" },
		{ "[store]\nmode = remote\n", "" },
		{ "[store]\ndelivery = inline\nmode = remote\n",
		    ": [store] delivery = inline needs mode = local or s3" },
		{ "[fal]\nqueue_base = http://127.0.0.1:9/\n",
		    ": [fal] queue_base and run_base must" },
		{ "[fal]\nrun_base = https://fal.run\n",
		    ": [fal] queue_base and run_base must" },
		{ "[fal]\nrun_base = https://fal .run/\n",
		    ": [fal] queue_base and run_base must" },
		{ "[fal]\nallow_http = true\nqueue_base = http://127.0.0.1:9/q/\n"
		    "run_base = https://fal.run/\n", "" },
		{ "[fal]\nretry_backoff = 5\nretry_backoff_max = 1\n",
		    ": [fal] retry_backoff_max is below" },
		{ "[fal]\nnsfw = blocked\n", ": [fal] nsfw = blocked needs" },
		{ "[fal]\nnsfw = blocked\nblocked_image = /x.png\n", "" },
		{ "[fal]\nmax_attempts = 0\n", ":2: max_attempts: out of range" },
		{ "[fal]\nkey_file = /nonexistent/key\n",
		    ": cannot read [fal] key_file" },
		{ "[generation]\nbackend = fal\n", ": backend fal needs a key" },
		{ "[fal]\nqueue_priority = urgent\n",
		    ":2: queue_priority: must be class, normal or off" },
		{ "[fal]\nstatus_stream = sometimes\n",
		    ":2: status_stream: must be true or false" },
		{ "[fal]\nstream_idle_timeout = 0\n",
		    ":2: stream_idle_timeout: out of range" },
		{ "[fal]\nstart_timeout = -1\n", ":2: start_timeout: out of range" },
		{ "[fal]\noutput_lifetime = 1.5\n",
		    ":2: output_lifetime: not a whole number" },
		{ "[fal]\noutput_lifetime = 30\n",
		    ": [fal] output_lifetime must be 0 (fal's default) or at least 60" },
		{ "[fal]\noutput_lifetime = 60\n", "" },
		{ "[fal]\nstore_payloads = nah\n",
		    ":2: store_payloads: must be true or false" },
	};
	struct cfg	 c;
	const char	*e;
	char		 keyfile[] = "/tmp/pp-key-XXXXXX", text[256];
	int		 fd;

	unsetenv("FAL_KEY");
	unsetenv("FAL_KEY_ID");
	unsetenv("FAL_KEY_SECRET");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = load(cases[i].text, &c);
		T_CHECK(strncmp(e, cases[i].err, strlen(cases[i].err)) == 0 &&
		    (cases[i].err[0] != '\0' || e[0] == '\0'),
		    "cfg case %zu: got [%s] want [%s]", i, e, cases[i].err);
		cfg_free(&c);
	}

	load("[server]\nmax_wait = 1.5\n[limits]\nmax_prompt_bytes = 20\n", &c);
	T_CHECK(c.max_wait_ms == 1500 && c.lim.max_prompt == 20 &&
	    c.threads == 32 && c.queue_max_concurrent == 2 && c.db_pool == 8,
	    "values and defaults");
	cfg_free(&c);

	setenv("PROMPTPIX_DB_PASSWORD", "from-env", 1);
	load("[database]\npassword = from-file\n", &c);
	T_CHECK(c.db_password && strcmp(c.db_password, "from-env") == 0,
	    "environment overrides the file");
	cfg_free(&c);
	unsetenv("PROMPTPIX_DB_PASSWORD");

	load("", &c);
	T_CHECK(c.fal_mode == FAL_QUEUE && c.fal_poll_ms == 500 &&
	    c.fal_steps == 4 && c.fal_safety == 1 && c.fal_nsfw == NSFW_FAIL &&
	    c.store_mode == STORE_LOCAL && c.fal_allow_http == 0 &&
	    strcmp(c.fal_allowed_hosts, "fal.media") == 0 &&
	    strcmp(c.fal_queue_base, "https://queue.fal.run/") == 0 &&
	    c.fal_key == NULL, "fal defaults");
	T_CHECK(c.fal_status_stream == 1 && c.fal_stream_idle_ms == 20000 &&
	    c.fal_priority == FAL_PRIO_CLASS && c.fal_start_timeout_ms == 0 &&
	    c.fal_output_lifetime == 0 && c.fal_store_payloads == 1,
	    "fal stream and header defaults");
	cfg_free(&c);
	load("[fal]\nstatus_stream = false\nstream_idle_timeout = 0.3\n"
	    "queue_priority = off\nstart_timeout = 12.5\n"
	    "output_lifetime = 3600\nstore_payloads = no\n", &c);
	T_CHECK(c.fal_status_stream == 0 && c.fal_stream_idle_ms == 300 &&
	    c.fal_priority == FAL_PRIO_OFF && c.fal_start_timeout_ms == 12500 &&
	    c.fal_output_lifetime == 3600 && c.fal_store_payloads == 0,
	    "fal stream and header settings");
	cfg_free(&c);
	load("[fal]\nenable_safety_checker = off\nallow_http = yes\n"
	    "poll_interval = 0.05\n", &c);
	T_CHECK(c.fal_safety == 0 && c.fal_allow_http == 1 &&
	    c.fal_poll_ms == 50, "booleans and seconds");
	cfg_free(&c);

	fd = mkstemp(keyfile);
	if (write(fd, "file-key:123\nsecond line\n", 26) != 26)
		abort();
	close(fd);
	snprintf(text, sizeof(text), "[generation]\nbackend = fal\n"
	    "[fal]\nkey_file = %s\n", keyfile);
	e = load(text, &c);
	T_CHECK(e[0] == '\0' && c.fal_key &&
	    strcmp(c.fal_key, "file-key:123") == 0, "key_file: %s", e);
	T_CHECK(strcmp(c.model, "fal-ai/flux/schnell") == 0, "fal's model");
	cfg_free(&c);
	/* The placeholder's images are its own, whatever model is set. */
	load("[generation]\nmodel = fal-ai/flux/dev\n", &c);
	T_CHECK(strcmp(c.model, PLACEHOLDER_MODEL) == 0, "placeholder's model");
	cfg_free(&c);
	setenv("FAL_KEY_ID", "id", 1);
	setenv("FAL_KEY_SECRET", "secret", 1);
	load(text, &c);
	T_CHECK(c.fal_key && strcmp(c.fal_key, "id:secret") == 0,
	    "FAL_KEY_ID:FAL_KEY_SECRET over key_file");
	cfg_free(&c);
	setenv("FAL_KEY", "env-key", 1);
	load(text, &c);
	T_CHECK(c.fal_key && strcmp(c.fal_key, "env-key") == 0,
	    "FAL_KEY first");
	cfg_free(&c);
	setenv("FAL_KEY", "bad key-zz9", 1);
	e = load(text, &c);
	T_CHECK(strstr(e, "holds a space") != NULL &&
	    strstr(e, "key-zz9") == NULL, "bad key refused, unnamed: %s", e);
	cfg_free(&c);
	unsetenv("FAL_KEY");
	unsetenv("FAL_KEY_ID");
	unsetenv("FAL_KEY_SECRET");
	unlink(keyfile);
	wipe_env();

	operator_token();
	s3_store();

	load("[database]\nread_timeout = 2.5\n", &c);
	T_CHECK(c.db_read_timeout_ms == 2500, "read_timeout");
	cfg_free(&c);
	load("", &c);
	T_CHECK(c.db_read_timeout_ms == 5000, "read_timeout default");
	cfg_free(&c);
	e = load("[database]\nread_timeout = 0.5\n", &c);
	T_CHECK(strstr(e, "read_timeout: out of range") != NULL,
	    "read_timeout under a second: %s", e);
	cfg_free(&c);
}

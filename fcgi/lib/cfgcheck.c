/*
 * cfgcheck.c: what a configuration must satisfy once it is read, and
 * the secrets it names: read from their files or the environment.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "s3sign.h"
#include "util.h"

/* An S3 exchange's bounds; a PUT's are cut by its generation's deadline. */
#define S3_CONNECT_TIMEOUT_MS	5000
#define S3_TIMEOUT_MS		30000
/* Keys' prefix: a few segments, as a key's (s3_key_valid()). */
#define S3_PREFIX_MAX		200

/* Read the first line of path into *out, without its newline. */
static int
read_secret_file(const char *path, char **out)
{
	char	 buf[512];
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	free(*out);
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * Replace *out with a (length an) followed, if b is given, by ':' and b
 * (length bn), wiping the old value.
 */
static void
set_secret(char **out, const char *a, size_t an, const char *b,
    size_t bn)
{
	char	*s = xmalloc(an + 1 + bn + 1);

	memcpy(s, a, an);
	s[an] = '\0';
	if (b != NULL) {
		s[an] = ':';
		memcpy(s + an + 1, b, bn);
		s[an + 1 + bn] = '\0';
	}
	if (*out != NULL) {
		explicit_bzero(*out, strlen(*out));
		free(*out);
	}
	*out = s;
}

/* An API base URL: https:// (http:// only with allow_http), ends in '/'. */
static int
valid_api_base(const char *v, int allow_http)
{
	size_t	 n = strlen(v);

	if (n == 0 || v[n - 1] != '/')
		return 0;
	for (const char *s = v; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return (strncmp(v, "https://", 8) == 0 && n > 9) ||
	    (allow_http && strncmp(v, "http://", 7) == 0 && n > 8);
}

/* A key goes into a header: printable ASCII without spaces. */
static int
valid_key(const char *k)
{
	size_t	 n = strlen(k);

	if (n == 0 || n > 256)
		return 0;
	for (; *k != '\0'; k++)
		if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f)
			return 0;
	return 1;
}

/*
 * A file that holds a secret: readable by the service, not by every
 * user. Returns 0, or -1 with "path: ... WHAT FILE: why" in err.
 */
static int
secret_file_ok(const char *f, const char *what, const char *path, char *err,
    size_t errlen)
{
	struct stat	 st;

	if (stat(f, &st) == -1) {
		snprintf(err, errlen, "%s: cannot read %s %s: %s", path, what, f,
		    strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "%s: %s %s is readable or writable by "
		    "every user: chmod 600 it", path, what, f);
		return -1;
	}
	return 0;
}

/*
 * The fal.ai settings that depend on each other, and the key: FAL_KEY
 * wins over FAL_KEY_ID:FAL_KEY_SECRET, which win over key_file. Error
 * messages name where the key came from, never the key.
 */
static int
finish_fal(struct cfg *c, const char *path, char *err, size_t errlen)
{
	const char	*env, *id, *secret;

	if (c->delivery == DELIVERY_INLINE && c->store_mode == STORE_REMOTE) {
		snprintf(err, errlen, "%s: [store] delivery = inline needs "
		    "mode = local or s3 (inline answers send our own copy)", path);
		return -1;
	}
	if (!valid_api_base(c->fal_queue_base, c->fal_allow_http) ||
	    !valid_api_base(c->fal_run_base, c->fal_allow_http)) {
		snprintf(err, errlen, "%s: [fal] queue_base and run_base must "
		    "be https://host/... URLs ending in '/'", path);
		return -1;
	}
	if (c->fal_backoff_max_ms < c->fal_backoff_ms) {
		snprintf(err, errlen, "%s: [fal] retry_backoff_max is below "
		    "retry_backoff", path);
		return -1;
	}
	if (c->fal_output_lifetime > 0 && c->fal_output_lifetime < 60) {
		snprintf(err, errlen, "%s: [fal] output_lifetime must be 0 "
		    "(fal's default) or at least 60 seconds (time to fetch "
		    "the image)", path);
		return -1;
	}
	if (c->fal_nsfw == NSFW_BLOCKED && c->fal_blocked_image == NULL) {
		snprintf(err, errlen, "%s: [fal] nsfw = blocked needs "
		    "blocked_image", path);
		return -1;
	}
	if (c->fal_key_file != NULL &&
	    read_secret_file(c->fal_key_file, &c->fal_key) == -1) {
		snprintf(err, errlen, "%s: cannot read [fal] key_file %s: %s",
		    path, c->fal_key_file, strerror(errno));
		return -1;
	}
	id = getenv("FAL_KEY_ID");
	secret = getenv("FAL_KEY_SECRET");
	if ((env = getenv("FAL_KEY")) != NULL && *env != '\0')
		set_secret(&c->fal_key, env, strlen(env), NULL, 0);
	else if (id != NULL && secret != NULL && *id != '\0')
		set_secret(&c->fal_key, id, strlen(id), secret, strlen(secret));
	if (c->fal_key != NULL && *c->fal_key != '\0' &&
	    !valid_key(c->fal_key)) {
		snprintf(err, errlen, "%s: the fal.ai key holds a space or a "
		    "control character", path);
		return -1;
	}
	if (strcmp(c->backend, "fal") == 0 &&
	    (c->fal_key == NULL || *c->fal_key == '\0')) {
		snprintf(err, errlen, "%s: backend fal needs a key: set FAL_KEY "
		    "or [fal] key_file", path);
		return -1;
	}
	return 0;
}

/*
 * The master secret that signs URLs and derives the client keys: from
 * [access] secret_file, at least ACCESS_SECRET_MIN characters. Signed
 * mode cannot run without one.
 */
static int
finish_access(struct cfg *c, const char *path, char *err, size_t errlen)
{
	if (c->access_secret_file != NULL &&
	    read_secret_file(c->access_secret_file, &c->access_secret) == -1) {
		snprintf(err, errlen, "%s: cannot read [access] secret_file "
		    "%s: %s", path, c->access_secret_file, strerror(errno));
		return -1;
	}
	if (c->access_secret != NULL &&
	    strlen(c->access_secret) < ACCESS_SECRET_MIN) {
		snprintf(err, errlen, "%s: [access] secret_file holds fewer "
		    "than %d characters", path, ACCESS_SECRET_MIN);
		return -1;
	}
	if (c->access_mode == ACCESS_SIGNED && c->access_secret == NULL) {
		snprintf(err, errlen, "%s: [access] mode = signed needs "
		    "secret_file", path);
		return -1;
	}
	return 0;
}

/*
 * The operator's secret, which may mint signed URLs from the dashboard:
 * from [pages] operator_token_file, a file other users cannot read, at
 * least OPERATOR_TOKEN_MIN characters, and not the [stats] token (that
 * one is handed to scrapers, and may only look).
 */
static int
finish_operator(struct cfg *c, const char *path, char *err, size_t errlen)
{
	const char	*f = c->operator_token_file;

	if (f == NULL)
		return 0;
	if (secret_file_ok(f, "[pages] operator_token_file", path, err,
	    errlen) == -1)
		return -1;
	if (read_secret_file(f, &c->operator_token) == -1) {
		snprintf(err, errlen, "%s: cannot read [pages] "
		    "operator_token_file %s: %s", path, f, strerror(errno));
		return -1;
	}
	if (strlen(c->operator_token) < OPERATOR_TOKEN_MIN) {
		snprintf(err, errlen, "%s: [pages] operator_token_file holds "
		    "fewer than %d characters", path, OPERATOR_TOKEN_MIN);
		return -1;
	}
	if (c->stats_token != NULL &&
	    strcmp(c->stats_token, c->operator_token) == 0) {
		snprintf(err, errlen, "%s: [pages] operator_token_file holds "
		    "the [stats] token: the operator's secret must be its own",
		    path);
		return -1;
	}
	return 0;
}

/*
 * [store] mode = s3: the bucket's settings, and its key id and secret
 * from s3_credentials_file (AWS's shared-credentials format, profile
 * [default]): never in this file, so that the config may be shown and
 * the secret not. presign belongs to s3 alone.
 */
static int
finish_s3(struct cfg *c, const char *path, char *err, size_t errlen)
{
	char	 why[256];
	size_t	 n = strlen(c->s3_prefix);

	if (c->store_mode != STORE_S3) {
		if (c->s3_presign == 0)
			return 0;
		snprintf(err, errlen, "%s: [store] presign needs mode = s3",
		    path);
		return -1;
	}
	if (c->s3.endpoint == NULL || c->s3.bucket == NULL ||
	    c->s3_credentials_file == NULL) {
		snprintf(err, errlen, "%s: [store] mode = s3 needs s3_endpoint, "
		    "s3_bucket and s3_credentials_file", path);
		return -1;
	}
	if (secret_file_ok(c->s3_credentials_file, "[store] "
	    "s3_credentials_file", path, err, errlen) == -1)
		return -1;
	if (s3_creds_load(c->s3_credentials_file, &c->s3, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: [store] s3_credentials_file %s", path,
		    why);
		return -1;
	}
	c->s3.vhost = !c->s3_path_style;
	c->s3.connect_timeout_ms = S3_CONNECT_TIMEOUT_MS;
	c->s3.timeout_ms = S3_TIMEOUT_MS;
	if (s3_cfg_check(&c->s3, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: [store] %s", path, why);
		return -1;
	}
	if (n > S3_PREFIX_MAX || (n > 0 && !s3_key_valid(c->s3_prefix))) {
		snprintf(err, errlen, "%s: [store] s3_prefix must be empty or "
		    "'/'-separated segments of [A-Za-z0-9._-], without a "
		    "leading or trailing '/', at most %d bytes", path,
		    S3_PREFIX_MAX);
		return -1;
	}
	/* Each URL is the same for half its life (at most an hour). */
	if (c->s3_presign == 1) {
		snprintf(err, errlen, "%s: [store] presign must be 0 (off) or "
		    "2 to %d seconds", path, S3_EXPIRES_MAX);
		return -1;
	}
	/*
	 * A redirect without presigning goes to url + key: a path would
	 * send clients to this host's directory, which holds no images.
	 */
	if (c->delivery == DELIVERY_REDIRECT && c->s3_presign == 0 &&
	    strncmp(c->store_url, "http://", 7) != 0 &&
	    strncmp(c->store_url, "https://", 8) != 0) {
		snprintf(err, errlen, "%s: [store] mode = s3 redirects to url "
		    "followed by the key: set url to the bucket's public URL "
		    "(or its CDN's), or presign to redirect to presigned URLs",
		    path);
		return -1;
	}
	return 0;
}

int
cfg_check(struct cfg *c, const char *path, char *err, size_t errlen)
{
	const char	*env;

	if (c->store_dir[0] != '/') {
		snprintf(err, errlen, "%s: [store] dir must be an absolute path",
		    path);
		return -1;
	}
	if (c->db_password_file != NULL &&
	    read_secret_file(c->db_password_file, &c->db_password) == -1) {
		snprintf(err, errlen, "%s: cannot read database password_file "
		    "%s: %s", path, c->db_password_file, strerror(errno));
		return -1;
	}
	if ((env = getenv("PROMPTPIX_DB_PASSWORD")) != NULL) {
		free(c->db_password);
		c->db_password = xstrdup(env);
	}
	if (finish_access(c, path, err, errlen) == -1 ||
	    finish_operator(c, path, err, errlen) == -1 ||
	    finish_s3(c, path, err, errlen) == -1)
		return -1;
	return finish_fal(c, path, err, errlen);
}

/* The name of this process's user, for a message. */
static const char *
user_name(char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)geteuid());
	return buf;
}

int
cfg_store_needed(const struct cfg *c)
{
	/*
	 * fal with mode = remote keeps no copy, and s3 keeps it in the
	 * bucket; everything else writes here.
	 */
	return c->store_mode == STORE_LOCAL || (c->store_mode == STORE_REMOTE &&
	    strcmp(c->backend, "fal") != 0);
}

int
cfg_dir_needed(const struct cfg *c)
{
	/* s3's inline answers are sent from local copies. */
	return cfg_store_needed(c) || (c->store_mode == STORE_S3 &&
	    c->delivery == DELIVERY_INLINE);
}

int
cfg_check_host(const struct cfg *c, const char *path, char *err,
    size_t errlen, char *warn, size_t warnlen)
{
	struct stat	 st;
	char		 who[64];

	warn[0] = '\0';
	if (cfg_dir_needed(c)) {
		if (stat(c->store_dir, &st) == -1) {
			snprintf(err, errlen, "%s: [store] dir %s: %s: create "
			    "it, writable by the service's user (make install "
			    "does)", path, c->store_dir, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: [store] dir %s is not a "
			    "directory", path, c->store_dir);
			return -1;
		}
		/* Write to make files, search to make the ab/ ones. */
		if (access(c->store_dir, W_OK | X_OK) == -1) {
			snprintf(err, errlen, "%s: [store] dir %s is not "
			    "writable by %s, who runs promptpix: chown it to "
			    "the service's user", path, c->store_dir,
			    user_name(who, sizeof(who)));
			return -1;
		}
	}
	if (strcmp(c->backend, "placeholder") == 0 &&
	    c->placeholder_font[0] != '\0' &&
	    access(c->placeholder_font, R_OK) == -1)
		snprintf(warn, warnlen, "%s: [placeholder] font %s cannot be "
		    "read (%s): images get libgd's small built-in font "
		    "(Debian: apt-get install fonts-dejavu-core)", path,
		    c->placeholder_font, strerror(errno));
	return 0;
}

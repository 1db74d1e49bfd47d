/*
 * cfg.c: reading the INI configuration with libinih into struct cfg,
 * one table of settings with their types, ranges and defaults.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "log.h"
#include "util.h"

enum opt_type {
	OPT_UINT,
	OPT_SECONDS,		/* "2.5" seconds, stored as milliseconds */
	OPT_DOUBLE,
	OPT_STR,
	OPT_PATH_PREFIX,	/* a string that must start and end with '/' */
	OPT_URL_PREFIX,		/* "/x/" or "http(s)://host/x/", ends in '/' */
	OPT_LOGLEVEL,
	OPT_ENUM,		/* one of opt.names, stored as its index */
	OPT_BOOL,		/* true/false, yes/no, on/off, 1/0 */
};

/* The values of each enumerated setting, in the order of its enum. */
static const char *const delivery_names[DELIVERY__MAX + 1] = {
	"redirect", "inline", NULL
};
static const char *const send_names[SEND__MAX + 1] = {
	"stream", "x-accel-redirect", "x-sendfile", NULL
};
static const char *const store_mode_names[STORE__MAX + 1] = {
	"local", "remote", "s3", NULL
};
static const char *const fal_mode_names[FAL__MAX + 1] = {
	"queue", "sync", NULL
};
static const char *const fal_priority_names[FAL_PRIO__MAX + 1] = {
	"class", "normal", "off", NULL
};
static const char *const nsfw_names[NSFW__MAX + 1] = {
	"fail", "blocked", NULL
};

static const char *const queue_class_names[] = {
	"premium", "standard", "batch", NULL
};

static const char *const access_mode_names[ACCESS__MAX + 1] = {
	"open", "signed", NULL
};

struct opt {
	const char	*section;
	const char	*name;
	enum opt_type	 type;
	size_t		 off;
	double		 min;
	double		 max;
	const char *const *names;	/* OPT_ENUM: its values, NULL-ended */
};

#define O(f)	offsetof(struct cfg, f)

static const struct opt opts[] = {
	{ "server", "processes", OPT_UINT, O(processes), 1, 256, NULL },
	{ "server", "threads", OPT_UINT, O(threads), 1, 4096, NULL },
	{ "server", "max_wait", OPT_SECONDS, O(max_wait_ms), 0.05, 600, NULL },
	{ "server", "log_level", OPT_LOGLEVEL, O(log_level), 0, 0, NULL },
	{ "server", "base_path", OPT_PATH_PREFIX, O(base_path), 0, 0, NULL },
	{ "server", "hit_cache_entries", OPT_UINT, O(hit_cache_entries),
	    0, 10000000, NULL },
	{ "server", "hit_cache_ttl", OPT_SECONDS, O(hit_cache_ttl_ms),
	    0, 86400, NULL },
	{ "server", "count_flush_interval", OPT_SECONDS, O(count_flush_ms),
	    0.01, 60, NULL },
	{ "limits", "min_dimension", OPT_UINT, O(lim.min_dim), 1, 8192, NULL },
	{ "limits", "max_dimension", OPT_UINT, O(lim.max_dim), 1, 8192, NULL },
	{ "limits", "max_prompt_bytes", OPT_UINT, O(lim.max_prompt), 1, 8000, NULL },
	{ "limits", "new_images_per_minute", OPT_UINT,
	    O(new_images_per_minute), 0, 1000000, NULL },
	{ "limits", "new_images_burst", OPT_UINT, O(new_images_burst),
	    1, 1000000, NULL },
	{ "limits", "trusted_proxies", OPT_STR, O(trusted_proxies), 0, 0, NULL },
	{ "database", "host", OPT_STR, O(db_host), 0, 0, NULL },
	{ "database", "port", OPT_UINT, O(db_port), 0, 65535, NULL },
	{ "database", "socket", OPT_STR, O(db_socket), 0, 0, NULL },
	{ "database", "user", OPT_STR, O(db_user), 0, 0, NULL },
	{ "database", "password", OPT_STR, O(db_password), 0, 0, NULL },
	{ "database", "password_file", OPT_STR, O(db_password_file), 0, 0, NULL },
	{ "database", "name", OPT_STR, O(db_name), 0, 0, NULL },
	{ "database", "connect_timeout", OPT_SECONDS,
	    O(db_connect_timeout_ms), 0.1, 60, NULL },
	{ "database", "pool", OPT_UINT, O(db_pool), 1, 256, NULL },
	{ "database", "read_timeout", OPT_SECONDS, O(db_read_timeout_ms),
	    1, 3600, NULL },
	{ "queue", "max_concurrent", OPT_UINT, O(queue_max_concurrent),
	    1, 64, NULL },
	{ "queue", "workers", OPT_UINT, O(queue_workers), 0, 64, NULL },
	{ "queue", "default_class", OPT_ENUM, O(queue_class), 0, 0,
	    queue_class_names },
	{ "queue", "lease", OPT_SECONDS, O(queue_lease_ms), 0.5, 600, NULL },
	{ "budget", "daily_usd", OPT_DOUBLE, O(budget_daily_usd), 0, 1e9,
	    NULL },
	{ "similar", "threshold", OPT_DOUBLE, O(similar_threshold), 0, 1,
	    NULL },
	{ "access", "mode", OPT_ENUM, O(access_mode), 0, 0, access_mode_names },
	{ "access", "secret_file", OPT_STR, O(access_secret_file), 0, 0, NULL },
	{ "generation", "backend", OPT_STR, O(backend), 0, 0, NULL },
	{ "generation", "model", OPT_STR, O(model), 0, 0, NULL },
	{ "generation", "timeout", OPT_SECONDS, O(gen_timeout_ms), 0.1, 3600, NULL },
	/* Unused since jobs are queued; accepted so older files load. */
	{ "generation", "pending_lease", OPT_SECONDS,
	    O(pending_lease_ms), 0.1, 600, NULL },
	{ "generation", "retry_backoff", OPT_SECONDS, O(retry_backoff_ms),
	    0, 86400, NULL },
	{ "generation", "retry_backoff_max", OPT_SECONDS,
	    O(retry_backoff_max_ms), 0, 864000, NULL },
	{ "generation", "cost_per_megapixel", OPT_DOUBLE,
	    O(cost_per_megapixel), 0, 100, NULL },
	{ "placeholder", "delay", OPT_SECONDS, O(placeholder_delay_ms), 0, 600,
	    NULL },
	{ "placeholder", "font", OPT_STR, O(placeholder_font), 0, 0, NULL },
	{ "store", "dir", OPT_STR, O(store_dir), 0, 0, NULL },
	{ "store", "url", OPT_URL_PREFIX, O(store_url), 0, 0, NULL },
	{ "store", "delivery", OPT_ENUM, O(delivery), 0, 0, delivery_names },
	{ "store", "inline_send", OPT_ENUM, O(inline_send), 0, 0, send_names },
	{ "store", "x_accel_prefix", OPT_PATH_PREFIX, O(x_accel_prefix), 0, 0, NULL },
	{ "store", "cache_max_age", OPT_UINT, O(cache_max_age), 0, 315360000, NULL },
	{ "stats", "token", OPT_STR, O(stats_token), 0, 0, NULL },
	{ "stats", "cache", OPT_SECONDS, O(stats_cache_ms), 0, 60, NULL },
	{ "stats", "public", OPT_BOOL, O(stats_public), 0, 0, NULL },
	{ "pages", "home", OPT_BOOL, O(pages_home), 0, 0, NULL },
	{ "pages", "operator_token_file", OPT_STR, O(operator_token_file),
	    0, 0, NULL },
	{ "store", "mode", OPT_ENUM, O(store_mode), 0, 0, store_mode_names },
	{ "store", "max_image_bytes", OPT_UINT, O(max_image_bytes),
	    1024, 268435456, NULL },
	{ "store", "s3_endpoint", OPT_STR, O(s3.endpoint), 0, 0, NULL },
	{ "store", "s3_bucket", OPT_STR, O(s3.bucket), 0, 0, NULL },
	{ "store", "s3_region", OPT_STR, O(s3.region), 0, 0, NULL },
	{ "store", "s3_path_style", OPT_BOOL, O(s3_path_style), 0, 0, NULL },
	{ "store", "s3_credentials_file", OPT_STR, O(s3_credentials_file),
	    0, 0, NULL },
	{ "store", "s3_prefix", OPT_STR, O(s3_prefix), 0, 0, NULL },
	{ "store", "presign", OPT_UINT, O(s3_presign), 0, S3_EXPIRES_MAX,
	    NULL },
	{ "store", "s3_cache_mb", OPT_UINT, O(s3_cache_mb), 1, 16777216,
	    NULL },
	{ "fal", "mode", OPT_ENUM, O(fal_mode), 0, 0, fal_mode_names },
	{ "fal", "queue_base", OPT_STR, O(fal_queue_base), 0, 0, NULL },
	{ "fal", "run_base", OPT_STR, O(fal_run_base), 0, 0, NULL },
	{ "fal", "key_file", OPT_STR, O(fal_key_file), 0, 0, NULL },
	{ "fal", "poll_interval", OPT_SECONDS, O(fal_poll_ms), 0.01, 60, NULL },
	{ "fal", "connect_timeout", OPT_SECONDS,
	    O(fal_connect_timeout_ms), 0.05, 120, NULL },
	{ "fal", "request_timeout", OPT_SECONDS,
	    O(fal_request_timeout_ms), 0.1, 3600, NULL },
	{ "fal", "max_response_bytes", OPT_UINT, O(fal_max_response_bytes),
	    1024, 67108864, NULL },
	{ "fal", "num_inference_steps", OPT_UINT, O(fal_steps), 1, 50, NULL },
	{ "fal", "enable_safety_checker", OPT_BOOL, O(fal_safety), 0, 0, NULL },
	{ "fal", "nsfw", OPT_ENUM, O(fal_nsfw), 0, 0, nsfw_names },
	{ "fal", "blocked_image", OPT_STR, O(fal_blocked_image), 0, 0, NULL },
	{ "fal", "max_attempts", OPT_UINT, O(fal_max_attempts), 1, 10, NULL },
	{ "fal", "retry_backoff", OPT_SECONDS, O(fal_backoff_ms), 0, 60, NULL },
	{ "fal", "retry_backoff_max", OPT_SECONDS, O(fal_backoff_max_ms),
	    0, 600, NULL },
	{ "fal", "allowed_hosts", OPT_STR, O(fal_allowed_hosts), 0, 0, NULL },
	{ "fal", "allow_http", OPT_BOOL, O(fal_allow_http), 0, 0, NULL },
	{ "fal", "status_stream", OPT_BOOL, O(fal_status_stream), 0, 0, NULL },
	{ "fal", "stream_idle_timeout", OPT_SECONDS, O(fal_stream_idle_ms),
	    0.05, 3600, NULL },
	{ "fal", "queue_priority", OPT_ENUM, O(fal_priority), 0, 0,
	    fal_priority_names },
	{ "fal", "start_timeout", OPT_SECONDS, O(fal_start_timeout_ms),
	    0, 86400, NULL },
	{ "fal", "output_lifetime", OPT_UINT, O(fal_output_lifetime),
	    0, 315360000, NULL },
	{ "fal", "store_payloads", OPT_BOOL, O(fal_store_payloads), 0, 0,
	    NULL },
};

static const char *const bool_names[] = {
	"false", "true", "no", "yes", "off", "on", "0", "1"
};

/* Parsing state shared with the inih callbacks. */
struct parse {
	struct cfg	*cfg;
	FILE		*fp;
	int		 line;		/* of the line inih is handling */
	int		 err_line;
	char		 reason[256];
	int		 max_dim_line;
};

void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->processes = 2;
	c->threads = 32;
	c->max_wait_ms = 30000;
	c->log_level = LOG_INFO;
	c->base_path = xstrdup("/");
	c->hit_cache_entries = 10000;
	c->hit_cache_ttl_ms = 60000;
	c->count_flush_ms = 1000;
	c->stats_cache_ms = 1000;
	c->lim.min_dim = 64;
	c->lim.max_dim = 2048;
	c->lim.max_prompt = 1000;
	c->new_images_per_minute = 30;
	c->new_images_burst = 30;
	c->trusted_proxies = xstrdup("");
	c->db_host = xstrdup("localhost");
	c->db_port = 3306;
	c->db_user = xstrdup("promptpix");
	c->db_name = xstrdup("promptpix");
	c->db_connect_timeout_ms = 2000;
	c->db_pool = 8;
	c->db_read_timeout_ms = 5000;
	c->queue_max_concurrent = 2;
	c->queue_workers = 0;
	c->queue_class = 1;	/* standard */
	c->queue_lease_ms = 15000;
	c->backend = xstrdup("placeholder");
	c->model = xstrdup("fal-ai/flux/schnell");
	c->gen_timeout_ms = 30000;
	c->pending_lease_ms = 10000;
	c->retry_backoff_ms = 30000;
	c->retry_backoff_max_ms = 3600000;
	c->cost_per_megapixel = 0.003;
	c->placeholder_delay_ms = 2000;
	c->placeholder_font = xstrdup(
	    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf");
	c->store_dir = xstrdup("/var/lib/promptpix/img");
	c->store_url = xstrdup("/img/");
	c->delivery = DELIVERY_REDIRECT;
	c->pages_home = 1;
	c->inline_send = SEND_STREAM;
	c->x_accel_prefix = xstrdup("/_promptpix_store/");
	c->cache_max_age = 31536000;
	c->store_mode = STORE_LOCAL;
	c->max_image_bytes = 33554432;
	c->s3.region = xstrdup("us-east-1");
	c->s3_prefix = xstrdup("img");
	c->s3_cache_mb = 1024;
	c->fal_mode = FAL_QUEUE;
	c->fal_queue_base = xstrdup("https://queue.fal.run/");
	c->fal_run_base = xstrdup("https://fal.run/");
	c->fal_poll_ms = 500;
	c->fal_connect_timeout_ms = 5000;
	c->fal_request_timeout_ms = 15000;
	c->fal_max_response_bytes = 1048576;
	c->fal_steps = 4;
	c->fal_safety = 1;
	c->fal_nsfw = NSFW_FAIL;
	c->fal_max_attempts = 3;
	c->fal_backoff_ms = 1000;
	c->fal_backoff_max_ms = 8000;
	c->fal_allowed_hosts = xstrdup("fal.media");
	c->fal_allow_http = 0;
	c->fal_status_stream = 1;
	c->fal_stream_idle_ms = 20000;
	c->fal_priority = FAL_PRIO_CLASS;
	c->fal_start_timeout_ms = 0;
	c->fal_output_lifetime = 0;
	c->fal_store_payloads = 1;
}

/* Free a secret, wiping it first: freed memory is not cleared. */
static void
free_secret(char **sp)
{
	if (*sp == NULL)
		return;
	explicit_bzero(*sp, strlen(*sp));
	free(*sp);
	*sp = NULL;
}

void
cfg_free(struct cfg *c)
{
	free_secret(&c->db_password);
	free_secret(&c->fal_key);
	free_secret(&c->access_secret);
	free_secret(&c->operator_token);
	free_secret(&c->s3.secret);
	free_secret(&c->s3.key_id);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		switch (opts[i].type) {
		case OPT_STR:
		case OPT_PATH_PREFIX:
		case OPT_URL_PREFIX: {
			char	**sp = (char **)((char *)c + opts[i].off);

			free(*sp);
			*sp = NULL;
			break;
		}
		default:
			break;
		}
	}
}

static int
fail(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the first error (a long value is cut to fit reason). */
static int
fail(struct parse *p, const char *fmt, ...)
{
	va_list	 ap;

	if (p->err_line == 0) {
		p->err_line = p->line;
		va_start(ap, fmt);
		vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
		va_end(ap);
	}
	return 0;
}

/*
 * A finite decimal number. strtod() also takes "nan" and "inf"; a NaN
 * would pass every range check (all comparisons with it are false).
 */
static int
parse_number(const char *v, double *out)
{
	char	*end;

	errno = 0;
	*out = strtod(v, &end);
	return (end == v || *end != '\0' || errno != 0 || !isfinite(*out)) ?
	    -1 : 0;
}

static int
index_of(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

static int
valid_url_prefix(const char *v)
{
	size_t	 n = strlen(v);

	if (n == 0 || v[n - 1] != '/' || strpbrk(v, " \t\r\n\"'<>\\") != NULL)
		return 0;
	return v[0] == '/' || strncmp(v, "http://", 7) == 0 ||
	    strncmp(v, "https://", 8) == 0;
}

/* An enumerated setting: its index in o->names, or "must be a, b or c". */
static int
set_enum(struct parse *p, const struct opt *o, const char *v, void *field)
{
	char	 msg[200];
	size_t	 n = 0;
	int	 i;

	for (i = 0; o->names[i] != NULL; i++)
		if (strcmp(v, o->names[i]) == 0) {
			*(int *)field = i;	/* enums are int-sized here */
			return 1;
		}
	n = (size_t)snprintf(msg, sizeof(msg), "%s: must be", o->name);
	for (int k = 0; k < i && n < sizeof(msg); k++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s %s",
		    k == 0 ? "" : k == i - 1 ? " or" : ",", o->names[k]);
	return fail(p, "%s: %s", msg, v);
}

static int
set_opt(struct parse *p, const struct opt *o, const char *v)
{
	void	*field = (char *)p->cfg + o->off;
	double	 d;
	int	 i;

	switch (o->type) {
	case OPT_UINT:
	case OPT_SECONDS:
	case OPT_DOUBLE:
		if (parse_number(v, &d) == -1)
			return fail(p, "%s: not a number: \"%s\"", o->name, v);
		if (d < o->min || d > o->max)
			return fail(p, "%s: out of range: %s", o->name, v);
		if (o->type == OPT_UINT) {
			if (d != (double)(unsigned)d)
				return fail(p, "%s: not a whole number: %s",
				    o->name, v);
			if (o->off == O(lim.max_prompt))
				*(size_t *)field = (size_t)d;
			else
				*(unsigned *)field = (unsigned)d;
		} else if (o->type == OPT_SECONDS)
			*(unsigned *)field = (unsigned)(d * 1000 + 0.5);
		else
			*(double *)field = d;
		return 1;
	case OPT_PATH_PREFIX:
		if (v[0] != '/' || v[strlen(v) - 1] != '/' ||
		    strpbrk(v, " \t\r\n?#%") != NULL)
			return fail(p, "%s: must start and end with '/': %s",
			    o->name, v);
		break;
	case OPT_URL_PREFIX:
		if (!valid_url_prefix(v))
			return fail(p, "%s: must be /path/ or http(s)://host/path/"
			    " ending in '/': %s", o->name, v);
		break;
	case OPT_LOGLEVEL:
		if ((i = log_level_parse(v)) < 0)
			return fail(p, "%s: must be error, warn, info or debug: %s",
			    o->name, v);
		*(int *)field = i;
		return 1;
	case OPT_ENUM:
		return set_enum(p, o, v, field);
	case OPT_BOOL:
		if ((i = index_of(v, bool_names, (int)(sizeof(bool_names) /
		    sizeof(bool_names[0])))) < 0)
			return fail(p, "%s: must be true or false: %s",
			    o->name, v);
		*(int *)field = i % 2;
		return 1;
	case OPT_STR:
		break;
	}
	free(*(char **)field);
	*(char **)field = xstrdup(v);
	return 1;
}

static int
on_setting(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse	*p = user;

	if (p->err_line != 0)
		return 1;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strcmp(section, opts[i].section) != 0 ||
		    strcmp(name, opts[i].name) != 0)
			continue;
		if (opts[i].off == O(lim.max_dim))
			p->max_dim_line = p->line;
		return set_opt(p, &opts[i], value);
	}
	return fail(p, "unknown setting [%s] %s", section, name);
}

/* fgets() that counts lines, so that settings errors can name theirs. */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse	*p = stream;
	char		*r = fgets(str, num, p->fp);

	if (r != NULL)
		p->line++;
	return r;
}

/*
 * The placeholder draws pictures of its own: identified by the fal
 * model's name, they would be answered for that model's images once fal
 * is turned on, under the very URLs clients keep.
 */
static void
finish_model(struct cfg *c)
{
	if (strcmp(c->backend, "placeholder") == 0) {
		free(c->model);
		c->model = xstrdup(PLACEHOLDER_MODEL);
	}
}

static int
finish(struct parse *p, const char *path, char *err, size_t errlen)
{
	finish_model(p->cfg);
	if (p->cfg->lim.min_dim > p->cfg->lim.max_dim) {
		snprintf(err, errlen, "%s:%d: max_dimension is below "
		    "min_dimension", path, p->max_dim_line);
		return -1;
	}
	return cfg_check(p->cfg, path, err, errlen);
}

int
cfg_load(const char *path, struct cfg *c, char *err, size_t errlen)
{
	struct parse	 p;
	int		 rc;

	cfg_defaults(c);
	memset(&p, 0, sizeof(p));
	p.cfg = c;
	if ((p.fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(read_line, &p, on_setting, &p);
	fclose(p.fp);
	if (p.err_line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, p.err_line, p.reason);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: malformed line (expected "
		    "[section] or name = value)", path, rc);
		return -1;
	}
	return finish(&p, path, err, errlen);
}

/*
 * cfg.h: the configuration, read once at start-up from an INI file
 * (libinih) and read-only afterwards, so threads share it without locks.
 * conf/promptpix.conf documents every setting.
 */
#ifndef PP_CFG_H
#define PP_CFG_H

#include <stddef.h>

#include "req.h"

enum delivery {
	DELIVERY_REDIRECT,	/* 302 to the image's public URL */
	DELIVERY_INLINE,	/* 200 with the bytes at the requested URL */
	DELIVERY__MAX
};

enum inline_send {
	SEND_STREAM,		/* the responder writes the file itself */
	SEND_X_ACCEL,		/* nginx X-Accel-Redirect to an internal path */
	SEND_X_SENDFILE,	/* Apache mod_xsendfile */
	SEND__MAX
};

struct cfg {
	/* [server] */
	unsigned		 processes;
	unsigned		 threads;
	unsigned		 max_wait_ms;
	int			 log_level;
	char			*base_path;	/* URL prefix, ends in '/' */
	unsigned		 hit_cache_entries;
	unsigned		 hit_cache_ttl_ms;
	unsigned		 count_flush_ms;
	/* [limits] */
	struct req_limits	 lim;
	unsigned		 new_images_per_minute;
	unsigned		 new_images_burst;
	char			*trusted_proxies;
	/* [database] */
	char			*db_host;
	unsigned		 db_port;
	char			*db_socket;
	char			*db_user;
	char			*db_password;	/* never logged */
	char			*db_password_file;
	char			*db_name;
	unsigned		 db_connect_timeout_ms;
	/* [generation] */
	char			*backend;
	char			*model;
	unsigned		 gen_timeout_ms;
	unsigned		 pending_lease_ms;
	unsigned		 retry_backoff_ms;
	unsigned		 retry_backoff_max_ms;
	double			 cost_per_megapixel;
	/* [placeholder] */
	unsigned		 placeholder_delay_ms;
	/* [store] */
	char			*store_dir;
	char			*store_url;	/* public URL prefix, ends in '/' */
	enum delivery		 delivery;
	enum inline_send	 inline_send;
	char			*x_accel_prefix;
	unsigned		 cache_max_age;
	/* [stats] */
	char			*stats_token;	/* NULL: no token; never logged */
};

/*
 * Load path into *c (defaults first, then the file, then the environment:
 * PROMPTPIX_DB_PASSWORD). Returns 0, or -1 with "file:line: reason" in
 * err. On failure c must still be released with cfg_free().
 */
int	cfg_load(const char *path, struct cfg *c, char *err, size_t errlen);

/* Fill c with the built-in defaults only. */
void	cfg_defaults(struct cfg *c);

void	cfg_free(struct cfg *c);

#endif

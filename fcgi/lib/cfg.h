/*
 * cfg.h: the configuration, read once at start-up from an INI file
 * (libinih) and read-only afterwards, so threads share it without locks.
 * conf/promptpix.conf documents every setting.
 */
#ifndef PP_CFG_H
#define PP_CFG_H

#include <stddef.h>

#include "req.h"
#include "s3sign.h"

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

enum store_mode {
	STORE_LOCAL,		/* keep our own copy of each image */
	STORE_REMOTE,		/* redirect to the backend's URL */
	STORE_S3,		/* keep it in an S3 bucket every host reads */
	STORE__MAX
};

enum fal_mode {
	FAL_QUEUE,		/* submit, poll status, fetch the result */
	FAL_SYNC,		/* one POST that answers with the result */
	FAL__MAX
};

/* What X-Fal-Queue-Priority a queued job is sent with. */
enum fal_priority {
	FAL_PRIO_CLASS,		/* normal; low for jobs of the batch class */
	FAL_PRIO_NORMAL,	/* normal for every job */
	FAL_PRIO_OFF,		/* no header: fal's default */
	FAL_PRIO__MAX
};

enum fal_nsfw {
	NSFW_FAIL,		/* the generation fails, kind "nsfw" */
	NSFW_BLOCKED,		/* serve [fal] blocked_image instead */
	NSFW__MAX
};

enum access_mode {
	ACCESS_OPEN,		/* anyone may start an image */
	ACCESS_SIGNED,		/* only signed URLs and client keys may */
	ACCESS__MAX
};

/* Characters an [access] secret_file must hold at least. */
#define ACCESS_SECRET_MIN	32
/* ... and a [pages] operator_token_file. */
#define OPERATOR_TOKEN_MIN	16

/*
 * The model the placeholder backend's images are identified by, in
 * their hash and their rows, whatever [generation] model says.
 */
#define PLACEHOLDER_MODEL	"placeholder"

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
	unsigned		 db_pool;	/* request threads' connections */
	unsigned		 db_read_timeout_ms;	/* per statement read/write */
	/* [queue] */
	unsigned		 queue_max_concurrent;	/* on every host */
	unsigned		 queue_workers;	/* per process; 0: max_concurrent */
	int			 queue_class;	/* enum queue_class of requests */
	unsigned		 queue_lease_ms;
	/* [budget] */
	double			 budget_daily_usd;	/* 0: no cap */
	/* [similar] */
	double			 similar_threshold;	/* 0: off */
	/* [access] */
	enum access_mode	 access_mode;
	char			*access_secret_file;
	char			*access_secret;	/* never logged */
	/* [generation] */
	char			*backend;
	/*
	 * The model the images are made with, part of each one's identity
	 * (hash.h, and the rows' model column): [generation] model for fal,
	 * PLACEHOLDER_MODEL for the placeholder (set once the file is read).
	 */
	char			*model;
	unsigned		 gen_timeout_ms;
	unsigned		 pending_lease_ms;
	unsigned		 retry_backoff_ms;
	unsigned		 retry_backoff_max_ms;
	double			 cost_per_megapixel;
	/* [placeholder] */
	unsigned		 placeholder_delay_ms;
	char			*placeholder_font;	/* "" = built-in */
	/* [store] */
	char			*store_dir;
	char			*store_url;	/* public URL prefix, ends in '/' */
	enum delivery		 delivery;
	enum inline_send	 inline_send;
	char			*x_accel_prefix;
	unsigned		 cache_max_age;
	/* [stats] */
	char			*stats_token;	/* NULL: no token; never logged */
	unsigned		 stats_cache_ms; /* figures read at most this often */
	int			 stats_public;	/* /api/generation/stats open */
	/* [pages] */
	int			 pages_home;	/* GET / answers the home page */
	char			*operator_token_file;
	char			*operator_token;	/* never logged */
	/* [fal] */
	enum fal_mode		 fal_mode;
	char			*fal_queue_base;	/* ends in '/' */
	char			*fal_run_base;		/* ends in '/' */
	char			*fal_key_file;
	char			*fal_key;	/* FAL_KEY or key_file; never logged */
	unsigned		 fal_poll_ms;
	unsigned		 fal_connect_timeout_ms;
	unsigned		 fal_request_timeout_ms;
	unsigned		 fal_max_response_bytes;
	unsigned		 fal_steps;
	int			 fal_safety;
	enum fal_nsfw		 fal_nsfw;
	char			*fal_blocked_image;
	unsigned		 fal_max_attempts;
	unsigned		 fal_backoff_ms;
	unsigned		 fal_backoff_max_ms;
	char			*fal_allowed_hosts;	/* "a.b,c.d" */
	int			 fal_allow_http;	/* tests only */
	int			 fal_status_stream;	/* follow .../status/stream */
	unsigned		 fal_stream_idle_ms;	/* then poll */
	enum fal_priority	 fal_priority;
	unsigned		 fal_start_timeout_ms;	/* 0: not sent */
	unsigned		 fal_output_lifetime;	/* seconds; 0: not sent */
	int			 fal_store_payloads;	/* 0: X-Fal-Store-IO: 0 */
	/* [store], continued */
	enum store_mode		 store_mode;
	unsigned		 max_image_bytes;
	/*
	 * mode = s3: the bucket (s3.endpoint, bucket and region are the
	 * s3_* settings; key_id and secret come from s3_credentials_file,
	 * never from this file, and are wiped when freed).
	 */
	struct s3_cfg		 s3;
	int			 s3_path_style;	/* s3.vhost is its opposite */
	char			*s3_credentials_file;
	char			*s3_prefix;	/* keys' first segments, or "" */
	unsigned		 s3_presign;	/* seconds a presigned GET lives;
						   0: redirect to url */
	unsigned		 s3_cache_mb;	/* inline: local copies, at most */
};

/*
 * Load path into *c (defaults first, then the file, then the environment:
 * PROMPTPIX_DB_PASSWORD; FAL_KEY, or FAL_KEY_ID and FAL_KEY_SECRET).
 * Returns 0, or -1 with "file:line: reason" in err; the reason never
 * holds a secret. On failure c must still be released with cfg_free().
 */
int	cfg_load(const char *path, struct cfg *c, char *err, size_t errlen);

/* Fill c with the built-in defaults only. */
void	cfg_defaults(struct cfg *c);

void	cfg_free(struct cfg *c);

#endif

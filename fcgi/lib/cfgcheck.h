/*
 * cfgcheck.h: the checks of a configuration after its file is read
 * (cfg.c): paths, secrets, the fal.ai and access settings.
 */
#ifndef PP_CFGCHECK_H
#define PP_CFGCHECK_H

#include <stddef.h>

struct cfg;

/*
 * Check c, read from path, and load the secrets it names (password and
 * key files, PROMPTPIX_DB_PASSWORD, FAL_KEY...). Returns 0, or -1 with
 * "path: reason" in err (never a secret).
 */
int	cfg_check(struct cfg *c, const char *path, char *err, size_t errlen);

/*
 * What a responder needs of this host before it starts (and promptpix
 * -t checks): the store directory, where one is used (cfg_dir_needed()),
 * exists and this user may write it (else every new image would be paid
 * for and then thrown away). An S3 bucket is checked by the image
 * store (imgstore_check()), which needs the network. Returns
 * 0, or -1 with "path: reason" in err. A placeholder font that cannot
 * be read is only a warning, in warn ("" when none).
 */
int	cfg_check_host(const struct cfg *c, const char *path, char *err,
	    size_t errlen, char *warn, size_t warnlen);

/*
 * Whether images are kept in [store] dir (mode = local; remote with
 * another backend than fal, which has no URL to keep).
 */
int	cfg_store_needed(const struct cfg *c);

/*
 * Whether [store] dir is used at all: as the store, or (mode = s3,
 * delivery = inline) for the local copies inline answers are sent from.
 */
int	cfg_dir_needed(const struct cfg *c);

#endif

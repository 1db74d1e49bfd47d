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

#endif

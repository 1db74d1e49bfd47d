/*
 * store.h: the image store, a directory the web server serves as static
 * files. Images are named by hash ("ab/<hash>.jpg") and written
 * atomically: a temporary file in the same directory, then rename(2), so
 * a reader sees either nothing or the whole image.
 */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

struct cfg;

#define STORE_NAME_MAX	80

/* The store-relative file name of an image: "ab/<hash>.<ext>". */
void	store_file_name(const char *hash, enum img_fmt, char *out,
	    size_t outsz);

/*
 * Write data to file (store-relative) under dir atomically, unless the
 * file exists: the first image stored under a name is the one kept.
 * Returns 0 written, 1 kept what was there, -1 with errno set; *size is
 * the size of the file that stays.
 */
int	store_write(const char *dir, const char *file, const void *data,
	    size_t len, int64_t *size);

/*
 * The public URL of file: the configured store URL followed by file.
 * Returns -1 if it does not fit in out.
 */
int	store_public_url(const struct cfg *, const char *file, char *out,
	    size_t outsz);

/*
 * Is file a name this store hands out ("xx/<64 hex>.jpg|png")? Guards
 * every path built from a database value against traversal.
 */
int	store_name_valid(const char *file);

#endif

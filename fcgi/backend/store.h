/*
 * store.h: the image store's names and its directory (imgstore.h is
 * the store as the workers and pages use it, on disk or in a bucket).
 * Images are named by hash ("ab/<hash>.jpg") and written atomically: a
 * temporary file in the same directory, then link(2), so a reader sees
 * either nothing or the whole image. In a bucket, the same name is the
 * key, under a prefix.
 */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

struct cfg;
struct stat;

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
 * Write a local copy of an image kept elsewhere (a bucket's), as
 * store_write() does but without waiting for the disk (a copy lost in a
 * crash is fetched again), read-only for everyone: the mark of a copy,
 * which store_trim() may remove. Returns 0 written, 1 a file was there
 * already, -1 with errno set.
 */
int	store_copy(const char *dir, const char *file, const void *data,
	    size_t len);

/* Bytes of a key, NUL included: a prefix of at most 200, and the file. */
#define STORE_KEY_MAX	(200 + 1 + STORE_NAME_MAX)

/*
 * The key of file in the store: with mode = s3, "[store] s3_prefix/"
 * followed by file (file alone if the prefix is empty); else file.
 * Returns -1 if it does not fit in out.
 */
int	store_key(const struct cfg *, const char *file, char *out,
	    size_t outsz);

/*
 * The public URL of file: the configured store URL followed by its key.
 * Returns -1 if it does not fit in out.
 */
int	store_public_url(const struct cfg *, const char *file, char *out,
	    size_t outsz);

/*
 * Call fn(arg, dfd, file, st) for each image under dir ("xx/<hash>.jpg"
 * or ".png", a regular file; dfd is dir's descriptor, st the file's
 * metadata), until fn returns other than 0. Returns fn's last answer,
 * or -1 if dir cannot be opened.
 */
int	store_each(const char *dir, int (*fn)(void *arg, int dfd,
	    const char *file, const struct stat *st), void *arg);

/*
 * Keep the local copies under dir (store_copy()'s: images nobody may
 * write) within max_bytes: when they take more, remove the least
 * recently read (by atime) down to 90% of it. Images a local store kept
 * there are never removed, nor counted. Another process of the host
 * trimming at the same time (a lock file, dir/.trim.lock) makes this
 * one return at once. Returns the bytes removed, or -1 if dir cannot be
 * written. Reads every image's metadata: call it now and then.
 */
int64_t	store_trim(const char *dir, int64_t max_bytes);

/*
 * Is file a name this store hands out ("xx/<64 hex>.jpg|png")? Guards
 * every path built from a database value against traversal.
 */
int	store_name_valid(const char *file);

#endif

/*
 * store.c: the image store's names and its directory: file names from
 * the hash, atomic first-wins writes, a bucket's keys, the public URL
 * of a stored file, and the bounded directory of local copies of a
 * bucket's images.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "hash.h"
#include "store.h"
#include "util.h"

void
store_file_name(const char *hash, enum img_fmt fmt, char *out, size_t outsz)
{
	snprintf(out, outsz, "%.2s/%s.%s", hash, hash, img_fmt_ext(fmt));
}

int
store_name_valid(const char *file)
{
	size_t	 n = strlen(file);

	if (n != 3 + HASH_HEX_LEN + 4 || file[2] != '/' ||
	    strspn(file, "0123456789abcdef") != 2 ||
	    strspn(file + 3, "0123456789abcdef") != HASH_HEX_LEN ||
	    memcmp(file, file + 3, 2) != 0)
		return 0;
	return strcmp(file + 3 + HASH_HEX_LEN, ".jpg") == 0 ||
	    strcmp(file + 3 + HASH_HEX_LEN, ".png") == 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * store_write() and store_copy(); durable: fsync before the link; mode:
 * the file's.
 */
static int
write_file(const char *dir, const char *file, const void *data, size_t len,
    int64_t *size, int durable, mode_t mode)
{
	char		 path[4096], tmp[4096], sub[4096];
	struct stat	 st;
	int		 fd, saved, kept;

	errno = 0;
	*size = (int64_t)len;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path) ||
	    (size_t)snprintf(sub, sizeof(sub), "%s/%.2s", dir, file) >=
	    sizeof(sub) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%d", path,
	    (int)getpid(), (int)gettid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(sub, 0755) == -1 && errno != EEXIST)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		return -1;
	if (write_all(fd, data, len) == -1 || (durable && fsync(fd) == -1)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	/*
	 * link(), not rename(): the first image stored for a hash stays.
	 * Two workers run one job only when a lease ran out under a live
	 * one; both then answer with the one file.
	 */
	if (close(fd) == -1 || (link(tmp, path) == -1 && errno != EEXIST)) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	kept = errno == EEXIST && stat(path, &st) == 0;
	unlink(tmp);
	if (kept)
		*size = (int64_t)st.st_size;
	return kept;
}

int
store_write(const char *dir, const char *file, const void *data, size_t len,
    int64_t *size)
{
	return write_file(dir, file, data, len, size, 1, 0644);
}

int
store_copy(const char *dir, const char *file, const void *data, size_t len)
{
	int64_t	 size;

	/*
	 * A copy lost in a crash is fetched again: no fsync. No one may
	 * write it (0444): that marks it as a copy, which store_trim() may
	 * remove, unlike an image a local store kept here (0644).
	 */
	return write_file(dir, file, data, len, &size, 0, 0444);
}

int
store_key(const struct cfg *c, const char *file, char *out, size_t outsz)
{
	int	 n = c->store_mode != STORE_S3 || c->s3_prefix[0] == '\0' ?
	    snprintf(out, outsz, "%s", file) :
	    snprintf(out, outsz, "%s/%s", c->s3_prefix, file);

	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

int
store_public_url(const struct cfg *c, const char *file, char *out,
    size_t outsz)
{
	char	 key[STORE_KEY_MAX];
	int	 n;

	if (store_key(c, file, key, sizeof(key)) == -1)
		return -1;
	n = snprintf(out, outsz, "%s%s", c->store_url, key);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

int
store_each(const char *dir, int (*fn)(void *arg, int dfd, const char *file,
    const struct stat *st), void *arg)
{
	static const char	 hex[] = "0123456789abcdef";
	struct dirent		*de;
	struct stat		 st;
	DIR			*d;
	char			 sub[3], name[80];
	int			 dfd, fd, rc = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (int i = 0; i < 256 && rc == 0; i++) {
		sub[0] = hex[i >> 4];
		sub[1] = hex[i & 15];
		sub[2] = '\0';
		if ((fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0)
			continue;
		if ((d = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		while (rc == 0 && (de = readdir(d)) != NULL) {
			snprintf(name, sizeof(name), "%s/%.70s", sub,
			    de->d_name);
			if (store_name_valid(name) && fstatat(dirfd(d),
			    de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				rc = fn(arg, dfd, name, &st);
		}
		closedir(d);
	}
	close(dfd);
	return rc;
}

/* A local copy found by store_trim(): its name and when it was read. */
struct copy {
	char	 file[STORE_NAME_MAX];
	int64_t	 size;
	int64_t	 atime;		/* seconds */
};

/* The copies store_trim() looks at, and what they take. */
struct copies {
	struct copy	*v;
	size_t		 n, cap;
	int64_t		 total;
	int64_t		 freed;
};

static int
copy_cmp(const void *a, const void *b)
{
	const struct copy	*x = a, *y = b;

	return x->atime < y->atime ? -1 : x->atime > y->atime;
}

/* store_each()'s fn: note a copy (no one may write it: see store_copy()). */
static int
note_copy(void *arg, int dfd, const char *file, const struct stat *st)
{
	struct copies	*cs = arg;

	(void)dfd;
	if ((st->st_mode & 0222) != 0)
		return 0;
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 1024;
		cs->v = xrealloc(cs->v, cs->cap * sizeof(*cs->v));
	}
	strlcpy_chk(cs->v[cs->n].file, file, sizeof(cs->v[cs->n].file));
	cs->v[cs->n].size = (int64_t)st->st_size;
	cs->v[cs->n].atime = (int64_t)st->st_atim.tv_sec;
	cs->total += (int64_t)st->st_size;
	cs->n++;
	return 0;
}

int64_t
store_trim(const char *dir, int64_t max_bytes)
{
	struct copies	 cs;
	char		 path[4096];
	int		 lock;

	/* One trim at a time on the host: the others leave it to it. */
	if (snprintf(path, sizeof(path), "%s/.trim.lock", dir) >=
	    (int)sizeof(path) || (lock = open(path, O_RDWR | O_CREAT |
	    O_CLOEXEC, 0644)) < 0)
		return -1;
	if (flock(lock, LOCK_EX | LOCK_NB) == -1) {
		close(lock);
		return 0;
	}
	memset(&cs, 0, sizeof(cs));
	store_each(dir, note_copy, &cs);
	/* Down to 90% of the cap, the least recently read first. */
	if (cs.total > max_bytes) {
		qsort(cs.v, cs.n, sizeof(*cs.v), copy_cmp);
		for (size_t i = 0; i < cs.n && cs.total - cs.freed >
		    max_bytes / 10 * 9; i++)
			if (snprintf(path, sizeof(path), "%s/%s", dir,
			    cs.v[i].file) < (int)sizeof(path) &&
			    unlink(path) == 0)
				cs.freed += cs.v[i].size;
	}
	free(cs.v);
	close(lock);
	return cs.freed;
}

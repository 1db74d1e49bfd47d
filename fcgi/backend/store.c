/*
 * store.c: the image store on disk: file names from the hash, atomic
 * first-wins writes, and the public URL of a stored file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
store_write(const char *dir, const char *file, const void *data, size_t len,
    int64_t *size)
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
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1) {
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
store_public_url(const struct cfg *c, const char *file, char *out,
    size_t outsz)
{
	int	 n = snprintf(out, outsz, "%s%s", c->store_url, file);

	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

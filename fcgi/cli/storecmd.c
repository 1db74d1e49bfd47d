/*
 * storecmd.c: promptpix store migrate (see storecmd.h): the images under
 * [store] dir listed first, so that the progress knows its total, then
 * each read and handed to the image store, which writes it to the
 * bucket unless it is there.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "httpc.h"
#include "imgstore.h"
#include "progress.h"
#include "store.h"
#include "storecmd.h"
#include "util.h"

/* Tries of one image whose write may pass (a 5xx, a timeout), 1 s apart. */
#define TRIES		3
#define TRY_PAUSE_MS	1000

/* The images found under the directory. */
struct files {
	char	(*v)[STORE_NAME_MAX];
	size_t	 n, cap;
};

/* store_each()'s fn: note file. */
static int
collect(void *arg, int dfd, const char *file, const struct stat *st)
{
	struct files	*fs = arg;

	(void)dfd;
	(void)st;
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 1024;
		fs->v = xrealloc(fs->v, fs->cap * sizeof(*fs->v));
	}
	strlcpy_chk(fs->v[fs->n++], file, STORE_NAME_MAX);
	return 0;
}

/*
 * Read dir/file, at most max bytes. Returns its bytes (free them) and
 * their length in *len; NULL with errno set (EFBIG: over max).
 */
static char *
slurp(const char *dir, const char *file, size_t max, size_t *len)
{
	char		 path[4096];
	struct stat	 st;
	char		*buf;
	ssize_t		 got;
	int		 fd;

	*len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (*len < (size_t)st.st_size &&
	    (got = read(fd, buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)got;
	close(fd);
	return buf;
}

/*
 * Copy one image into the bucket: 0 written, 1 there already, -1 failed
 * (said on stderr, after the bar's line when tty).
 */
static int
migrate_one(const struct cfg *c, struct imgstore *st, const char *file,
    int tty)
{
	enum img_fmt	 fmt = strcmp(file + strlen(file) - 4, ".png") == 0 ?
	    FMT_PNG : FMT_JPG;
	char		 why[320];
	char		*data;
	size_t		 len;
	int64_t		 size;
	int		 rc = -2;

	if ((data = slurp(c->store_dir, file, c->max_image_bytes, &len)) ==
	    NULL)
		snprintf(why, sizeof(why), "cannot read it: %s", errno == EFBIG ?
		    "larger than [store] max_image_bytes" : strerror(errno));
	for (int n = 1; data != NULL; n++) {
		rc = imgstore_put(st, file, fmt, data, len, 0, &size, why,
		    sizeof(why));
		if (rc != -1 || n == TRIES)
			break;
		sleep_ms(TRY_PAUSE_MS);
	}
	free(data);
	if (rc >= 0)
		return rc;
	fprintf(stderr, "%spromptpix: store migrate: %s: %s\n", tty ? "\n" : "",
	    file, why);
	return -1;
}

int
storecmd_store(const struct cfg *c, int argc, char **argv)
{
	struct files	 fs = { NULL, 0, 0 };
	struct progress	 p = { .kind = PROGRESS_COPY, .decile = -1 };
	struct imgstore	*st;
	char		 err[768];
	int		 tty = isatty(STDERR_FILENO), rc;
	int64_t		 t0 = now_ms();

	if (argc != 2 || strcmp(argv[1], "migrate") != 0) {
		fprintf(stderr, "usage: promptpix store migrate [-c FILE]\n");
		return 2;
	}
	if (c->store_mode != STORE_S3) {
		fprintf(stderr, "promptpix: store migrate copies [store] dir "
		    "into the bucket of [store] mode = s3: set mode = s3 and "
		    "the bucket's settings first\n");
		return 2;
	}
	httpc_global_init();
	if (imgstore_check(c, err, sizeof(err)) == -1) {
		fprintf(stderr, "promptpix: %s\n", err);
		return 1;
	}
	if (store_each(c->store_dir, collect, &fs) == -1) {
		fprintf(stderr, "promptpix: [store] dir %s: %s\n", c->store_dir,
		    strerror(errno));
		return 1;
	}
	p.total = (unsigned)fs.n;
	p.t0_ms = p.moved_ms = now_ms();
	st = imgstore_open(c);
	progress_show(stderr, tty, &p, now_ms());
	for (size_t i = 0; i < fs.n; i++) {
		rc = migrate_one(c, st, fs.v[i], tty);
		p.copied += rc == 0;
		p.there += rc == 1;
		p.failed += rc == -1;
		p.done++;
		progress_show(stderr, tty, &p, now_ms());
	}
	progress_end(stderr, tty);
	imgstore_close(st);
	free(fs.v);
	printf("store migrate: %u images in %s: %u copied, %u there already, "
	    "%u failed, in %lld ms\n", p.total, c->store_dir, p.copied, p.there,
	    p.failed, (long long)(now_ms() - t0));
	return p.failed > 0 ? 1 : 0;
}

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "hash.h"
#include "store.h"
#include "t.h"
#include "util.h"

/* The first image written under a name is the one that stays. */
static void
test_store_first_wins(void)
{
	char	 dir[] = "/tmp/pp-store-XXXXXX", name[STORE_NAME_MAX], h[65];
	char	 path[256], buf[16] = "";
	int64_t	 size = -1;
	FILE	*f;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(0, "mkdtemp");
		return;
	}
	hash_sha256_hex("first", 5, h);
	store_file_name(h, FMT_JPG, name, sizeof(name));
	T_CHECK(store_write(dir, name, "first", 5, &size) == 0 && size == 5,
	    "written");
	T_CHECK(store_write(dir, name, "second!", 7, &size) == 1 && size == 5,
	    "a second image for the name is not stored (size %lld)",
	    (long long)size);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) != NULL) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
	}
	T_CHECK(strcmp(buf, "first") == 0, "the first bytes stay: %s", buf);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%.2s", dir, name);
	T_CHECK(rmdir(path) == 0 && rmdir(dir) == 0,
	    "no temporary file left behind");
}

/* A bucket's keys and public URLs carry the prefix; a directory's not. */
static void
test_store_keys(void)
{
	struct cfg	 c;
	char		 out[STORE_KEY_MAX + 64];

	cfg_defaults(&c);
	T_CHECK(store_key(&c, "ab/x.jpg", out, sizeof(out)) == 0 &&
	    strcmp(out, "ab/x.jpg") == 0, "local: the name %s", out);
	c.store_mode = STORE_S3;
	T_CHECK(store_key(&c, "ab/x.jpg", out, sizeof(out)) == 0 &&
	    strcmp(out, "img/ab/x.jpg") == 0, "s3: under img/: %s", out);
	free(c.store_url);
	c.store_url = xstrdup("https://cdn.example/");
	T_CHECK(store_public_url(&c, "ab/x.jpg", out, sizeof(out)) == 0 &&
	    strcmp(out, "https://cdn.example/img/ab/x.jpg") == 0, "url %s",
	    out);
	free(c.s3_prefix);
	c.s3_prefix = xstrdup("");
	T_CHECK(store_key(&c, "ab/x.jpg", out, sizeof(out)) == 0 &&
	    strcmp(out, "ab/x.jpg") == 0, "s3, no prefix: %s", out);
	T_CHECK(store_public_url(&c, "ab/x.jpg", out, 10) == -1, "too long");
	cfg_free(&c);
}

/* Write a copy of n bytes of the image named by seed, read at atime. */
static void
copy_at(const char *dir, const char *seed, size_t n, time_t atime,
    char *name)
{
	static const char	 bytes[300];
	char			 h[65], path[256];
	struct timespec		 ts[2] = { { atime, 0 }, { atime, 0 } };

	hash_sha256_hex(seed, strlen(seed), h);
	store_file_name(h, FMT_PNG, name, STORE_NAME_MAX);
	T_CHECK(store_copy(dir, name, bytes, n) == 0, "copy %s", seed);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	utimensat(AT_FDCWD, path, ts, 0);
}

/*
 * Local copies are read-only and trimmed to the cap, the least recently
 * read first; an image a local store kept there is never removed.
 */
static void
test_store_trim(void)
{
	char		 dir[] = "/tmp/pp-trim-XXXXXX", old[STORE_NAME_MAX];
	char		 mid[STORE_NAME_MAX], new[STORE_NAME_MAX];
	char		 kept[STORE_NAME_MAX], h[65], path[256], cmd[300];
	struct stat	 st;
	int64_t		 size;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(0, "mkdtemp");
		return;
	}
	hash_sha256_hex("kept", 4, h);
	store_file_name(h, FMT_JPG, kept, sizeof(kept));
	T_CHECK(store_write(dir, kept, "a local store's image", 21, &size) == 0,
	    "a kept image");
	copy_at(dir, "old", 100, 1000, old);
	copy_at(dir, "mid", 100, 2000, mid);
	copy_at(dir, "new", 100, 3000, new);
	snprintf(path, sizeof(path), "%s/%s", dir, new);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0444,
	    "a copy nobody may write: %o", (unsigned)(st.st_mode & 0777));
	T_CHECK(store_copy(dir, new, "other", 5) == 1, "a copy is kept");
	T_CHECK(store_trim(dir, 300) == 0, "within the cap: nothing removed");
	T_CHECK(store_trim(dir, 250) == 100, "over it: down to 90%%");
	snprintf(path, sizeof(path), "%s/%s", dir, old);
	T_CHECK(access(path, F_OK) == -1, "the least recently read went");
	snprintf(path, sizeof(path), "%s/%s", dir, mid);
	T_CHECK(access(path, F_OK) == 0, "the others stay");
	T_CHECK(store_trim(dir, 1) == 200, "a tiny cap: every copy");
	snprintf(path, sizeof(path), "%s/%s", dir, kept);
	T_CHECK(access(path, F_OK) == 0, "the local store's image stays");
	T_CHECK(store_trim("/nonexistent/dir", 1) == -1, "no directory");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	T_CHECK(system(cmd) == 0, "cleaned up");
}

void
test_store(void)
{
	char	 name[STORE_NAME_MAX], h[65];

	hash_sha256_hex("x", 1, h);
	store_file_name(h, FMT_PNG, name, sizeof(name));
	T_CHECK(strncmp(name, h, 2) == 0 && name[2] == '/' &&
	    strcmp(name + 67, ".png") == 0, "name %s", name);
	T_CHECK(store_name_valid(name), "own names are valid");
	T_CHECK(!store_name_valid("../etc/passwd"), "traversal");
	T_CHECK(!store_name_valid(""), "empty");
	name[0] = name[0] == 'a' ? 'b' : 'a';
	T_CHECK(!store_name_valid(name), "directory must match the hash");
	test_store_first_wins();
	test_store_keys();
	test_store_trim();
}

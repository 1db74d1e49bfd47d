#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "store.h"
#include "t.h"

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
}

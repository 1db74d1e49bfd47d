#include <string.h>

#include "hash.h"
#include "store.h"
#include "t.h"

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
}

/*
 * fuzz_cfg.c: libFuzzer target for the configuration parser (cfg.c on
 * top of libinih). The input is the whole file, handed over through a
 * memfd so that cfg_load() reads it by path as it does at start-up.
 * A loaded configuration must satisfy what the rest of the responder
 * assumes without checking again; a refusal must name a line in one
 * line of text. Inputs that set password_file are skipped: that setting
 * makes cfg_load() open a file of the input's choosing (/dev/stdin would
 * block the fuzzer), which is not parsing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static int
prefix_ok(const char *s)
{
	size_t	 n = s ? strlen(s) : 0;

	return n > 0 && s[n - 1] == '/';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg	 c;
	char		 path[64], err[512];
	int		 fd, rc;

	if (memmem(data, size, "password_file", 13) != NULL)
		return 0;
	if ((fd = memfd_create("fuzz_cfg", 0)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	rc = cfg_load(path, &c, err, sizeof(err));
	close(fd);
	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		cfg_free(&c);
		return 0;
	}
	CHECK(c.processes >= 1 && c.processes <= 256);
	CHECK(c.threads >= 1 && c.threads <= 256);
	CHECK(c.max_wait_ms >= 50 && c.max_wait_ms <= 600000);
	CHECK(c.lim.min_dim >= 1 && c.lim.min_dim <= c.lim.max_dim &&
	    c.lim.max_dim <= 8192);
	CHECK(c.lim.max_prompt >= 1 && c.lim.max_prompt <= 8000);
	CHECK(c.cost_per_megapixel >= 0 && c.cost_per_megapixel <= 100);
	CHECK(c.delivery < DELIVERY__MAX && c.inline_send < SEND__MAX);
	CHECK(c.base_path[0] == '/' && prefix_ok(c.base_path));
	CHECK(c.x_accel_prefix[0] == '/' && prefix_ok(c.x_accel_prefix));
	CHECK(prefix_ok(c.store_url) && strpbrk(c.store_url, "\r\n") == NULL);
	CHECK(c.db_host && c.db_user && c.db_name && c.backend && c.model &&
	    c.store_dir);
	cfg_free(&c);
	CHECK(c.base_path == NULL && c.store_url == NULL);
	return 0;
}

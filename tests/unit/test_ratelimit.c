#include <string.h>

#include "ratelimit.h"
#include "t.h"

void
test_ratelimit(void)
{
	static const struct {
		const char	*remote, *xff, *trusted, *want;
	} cases[] = {
		{ "192.0.2.1", NULL, "", "192.0.2.1" },
		{ "192.0.2.1", "10.0.0.1", "", "192.0.2.1" },	/* not trusted */
		{ "127.0.0.1", "10.0.0.1", "127.0.0.1", "10.0.0.1" },
		{ "127.0.0.1", "1.1.1.1, 2.2.2.2", "127.0.0.1", "2.2.2.2" },
		{ "127.0.0.1", "1.1.1.1, 2.2.2.2 ,9.9.9.9", "127.0.0.1,9.9.9.9",
		    "2.2.2.2" },
		{ "127.0.0.1", "9.9.9.9", "127.0.0.1, 9.9.9.9", "9.9.9.9" },
		{ "127.0.0.1", "", "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.1", " , ,", "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.10", "6.6.6.6", "127.0.0.1", "127.0.0.10" },
		/* 40 forged hops before the real one: still the real one. */
		{ "127.0.0.1", "10.9.9.0, 10.9.9.1, 10.9.9.2, 10.9.9.3, 10.9.9.4, "
		    "10.9.9.5, 10.9.9.6, 10.9.9.7, 10.9.9.8, 10.9.9.9, 10.9.9.10, "
		    "10.9.9.11, 10.9.9.12, 10.9.9.13, 10.9.9.14, 10.9.9.15, "
		    "10.9.9.16, 10.9.9.17, 10.9.9.18, 10.9.9.19, 10.9.9.20, "
		    "10.9.9.21, 10.9.9.22, 10.9.9.23, 10.9.9.24, 10.9.9.25, "
		    "10.9.9.26, 10.9.9.27, 10.9.9.28, 10.9.9.29, 10.9.9.30, "
		    "10.9.9.31, 10.9.9.32, 10.9.9.33, 10.9.9.34, 10.9.9.35, "
		    "10.9.9.36, 10.9.9.37, 10.9.9.38, 10.9.9.39, 203.0.113.7",
		    "127.0.0.1", "203.0.113.7" },
	};
	char	 out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ratelimit_client(cases[i].remote, cases[i].xff, cases[i].trusted,
		    out, sizeof(out));
		T_CHECK(strcmp(out, cases[i].want) == 0, "client case %zu: %s",
		    i, out);
	}
	T_CHECK(ratelimit_init(60, 2) == 0 && ratelimit_enabled(), "init");
	T_CHECK(ratelimit_take("a") == 0 && ratelimit_take("a") == 0,
	    "burst of 2");
	T_CHECK(ratelimit_take("a") >= 1, "third waits");
	T_CHECK(ratelimit_take("b") == 0, "another client has its own");
	ratelimit_refund("a");
	T_CHECK(ratelimit_take("a") == 0, "refund gives one back");
}

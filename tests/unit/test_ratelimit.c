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

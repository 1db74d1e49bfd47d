#include "ratelimit.h"
#include "t.h"

void
test_ratelimit(void)
{
	T_CHECK(ratelimit_init(60, 2) == 0 && ratelimit_enabled(), "init");
	T_CHECK(ratelimit_take("a") == 0 && ratelimit_take("a") == 0,
	    "burst of 2");
	T_CHECK(ratelimit_take("a") >= 1, "third waits");
	T_CHECK(ratelimit_take("b") == 0, "another client has its own");
	ratelimit_refund("a");
	T_CHECK(ratelimit_take("a") == 0, "refund gives one back");
}

/*
 * test_ratelimit.c: unit tests of the new-image rate limit
 * (ratelimit.c): bursts, refunds, collisions, and who counts as one client.
 */
#include <stdio.h>

#include "ratelimit.h"
#include "t.h"

/* Take tokens for client until refused (at most max); how many came. */
static int
drain(const char *client, int max)
{
	int	 n = 0;

	while (n < max && ratelimit_take(client) == 0)
		n++;
	return n;
}

/* Two clients of one set, taken in turn: neither resets the other. */
static void
colliding(void)
{
	char	 a[32], b[32], c[40][32];
	int	 got = 0, nc = 0;

	T_CHECK(ratelimit_init(1, 3) == 0, "init");
	snprintf(a, sizeof(a), "198.51.100.1");
	b[0] = '\0';
	for (unsigned i = 2; i < 60000 && b[0] == '\0'; i++) {
		snprintf(b, sizeof(b), "10.%u.%u.1", i / 250, i % 250);
		if (ratelimit_set(b) != ratelimit_set(a))
			b[0] = '\0';
	}
	T_CHECK(b[0] != '\0', "found two clients of one set");
	for (int i = 0; i < 100; i++) {
		got += ratelimit_take(a) == 0;
		got += ratelimit_take(b) == 0;
	}
	T_CHECK(got == 6, "two colliding clients in turn: %d tokens, want 3 "
	    "each", got);

	/* Fill the set: more clients than ways, each draining its bucket. */
	for (unsigned i = 60000; i < 400000 && nc < 40; i++) {
		snprintf(c[nc], sizeof(c[nc]), "172.%u.%u.%u", 16 + i / 62500,
		    i / 250 % 250, i % 250);
		if (ratelimit_set(c[nc]) == ratelimit_set(a))
			nc++;
	}
	T_CHECK(nc == 40, "found 40 more clients of the set: %d", nc);
	got = 0;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < nc; i++)
			got += drain(c[i], 10);
	/*
	 * a and b hold two ways; the other six ways take six clients (3
	 * tokens each); the 34 beyond share the overflow bucket (3 in all).
	 */
	T_CHECK(got == 6 * 3 + 3, "a full set: %d tokens for 40 clients, "
	    "want 21", got);
	T_CHECK(drain(a, 10) == 0 && drain(b, 10) == 0,
	    "the crowd did not reset the first two");
}

/* The addresses of one IPv6 /64 are one client; IPv4-mapped is IPv4. */
static void
prefixes(void)
{
	char	 v6[64];
	int	 got = 0;

	T_CHECK(ratelimit_init(1, 4) == 0, "init");
	for (unsigned i = 1; i <= 200; i++) {
		snprintf(v6, sizeof(v6), "2001:db8:1:2:%x:%x::%x", i * 7919 % 65536,
		    i, i * 31);
		got += ratelimit_take(v6) == 0;
	}
	T_CHECK(got == 4, "a /64 rotation got %d tokens, want 4", got);
	T_CHECK(ratelimit_take("2001:db8:1:3::1") == 0,
	    "the next /64 is another client");
	T_CHECK(ratelimit_take("2001:DB8:1:2::abcd") != 0,
	    "another spelling of the /64");
	T_CHECK(drain("192.0.2.7", 10) == 4, "an IPv4 client");
	T_CHECK(ratelimit_take("::ffff:192.0.2.7") != 0,
	    "IPv4-mapped IPv6 is the same client");
	T_CHECK(drain("::ffff:192.0.2.8", 10) == 4 &&
	    drain("192.0.2.9", 10) == 4,
	    "and not one bucket for every IPv4 client");
	T_CHECK(drain("not an address", 10) == 4 &&
	    drain("not an address", 10) == 0, "any other string");
}

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
	colliding();
	prefixes();
	T_CHECK(ratelimit_init(0, 1) == 0 && !ratelimit_enabled() &&
	    ratelimit_take("a") == 0, "off");
}

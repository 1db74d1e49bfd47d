#include <stddef.h>

#include "t.h"
#include "token.h"

void
test_token(void)
{
	static const struct {
		const char	*want, *auth, *query;
		int		 rc;
	} cases[] = {
		{ NULL, NULL, NULL, 0 },		/* no token configured */
		{ "", "Bearer x", "token=y", 0 },
		{ "s3cret", NULL, NULL, 401 },
		{ "s3cret", NULL, "", 401 },
		{ "s3cret", "Bearer s3cret", NULL, 0 },
		{ "s3cret", "bearer   s3cret  ", NULL, 0 },
		{ "s3cret", "Bearer s3cre", NULL, 403 },
		{ "s3cret", "Bearer s3cret2", NULL, 403 },
		{ "s3cret", "Bearer ", NULL, 401 },
		{ "s3cret", "Basic czNjcmV0", NULL, 401 },
		{ "s3cret", "Bearers3cret", NULL, 401 },
		{ "s3cret", NULL, "token=s3cret", 0 },
		{ "s3cret", NULL, "a=1&token=s3cret&b=2", 0 },
		{ "s3cret", NULL, "token=s3%63ret", 0 },
		{ "s3cret", NULL, "token=", 401 },
		{ "s3cret", NULL, "xtoken=s3cret", 401 },
		{ "s3cret", NULL, "token=wrong", 403 },
		{ "s3cret", NULL, "token=s3cret%00", 401 },
		{ "s3cret", NULL, "token=%zz", 401 },
		{ "s3cret", "Bearer wrong", "token=s3cret", 403 },	/* header wins */
		{ "s3cret", "Basic x", "token=s3cret", 0 },
		{ "a b", NULL, "token=a+b", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_CHECK(token_check(cases[i].want, cases[i].auth,
		    cases[i].query) == cases[i].rc, "token case %zu", i);
}

/*
 * token.h: the optional access token of the monitoring endpoints
 * ([stats] token), and the dashboard's session cookies. A client
 * presents the token as "Authorization: Bearer TOKEN" or as
 * ?token=TOKEN (percent-encoded); the header wins when both are there.
 * Pure: no I/O; no secret is ever logged.
 */
#ifndef PP_TOKEN_H
#define PP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Check the credentials of a request against want (NULL or "" means no
 * token is required). authorization is the Authorization header value
 * and query the query string, either NULL when absent. Returns 0 when
 * access is allowed, 401 when no token was presented, 403 when a wrong
 * one was. The comparison takes the same time wherever the two differ.
 */
int	token_check(const char *want, const char *authorization,
	    const char *query);

/* Is got the token want? In constant time, whatever their lengths. */
int	token_equal(const char *want, const char *got);

/* Who a dashboard session stands for. */
enum token_role {
	TOKEN_READ,		/* made with the [stats] token: may look */
	TOKEN_OPERATOR,		/* made with the operator secret: may act */
	TOKEN__MAX
};

/*
 * The dashboard's session cookie of role: "R.EXP.MAC", R the role's
 * letter (r, o), MAC the hex HMAC-SHA256 of the role and the expiry exp
 * (unix seconds) under key, the secret of that role. It stands for the
 * secret until exp without being it; only that secret makes a cookie
 * of its role, and every cookie of a role is void once its secret
 * changes. Into out (at least 96 bytes).
 */
void	token_cookie(enum token_role role, const char *key, int64_t exp,
	    char *out, size_t outsz);

/*
 * The role of value, a cookie that token_cookie() made under the key of
 * its role (keys[role]; NULL or "" when that role has none) and that is
 * not expired at now; or -1. MACs are compared in constant time.
 */
int	token_cookie_role(const char *const keys[TOKEN__MAX],
	    const char *value, int64_t now);

#endif

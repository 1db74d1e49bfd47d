/*
 * token.h: the optional access token of the monitoring endpoints
 * ([stats] token). A client presents it as "Authorization: Bearer TOKEN"
 * or as ?token=TOKEN (percent-encoded); the header wins when both are
 * there. Pure: no I/O; the token is never logged.
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

/*
 * The dashboard's session cookie: "EXP.MAC", MAC the hex HMAC-SHA256
 * under the token want of the expiry exp (unix seconds). It stands for
 * the token until exp without being it, and every cookie is void once
 * the token changes. Into out (at least 96 bytes).
 */
void	token_cookie(const char *want, int64_t exp, char *out, size_t outsz);

/* Is value a cookie of token_cookie(want, ...) not expired at now? */
int	token_cookie_check(const char *want, const char *value, int64_t now);

#endif

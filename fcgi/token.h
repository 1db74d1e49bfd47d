/*
 * token.h: the optional access token of the monitoring endpoints
 * ([stats] token). A client presents it as "Authorization: Bearer TOKEN"
 * or as ?token=TOKEN (percent-encoded); the header wins when both are
 * there. Pure: no I/O; the token is never logged.
 */
#ifndef PP_TOKEN_H
#define PP_TOKEN_H

/*
 * Check the credentials of a request against want (NULL or "" means no
 * token is required). authorization is the Authorization header value
 * and query the query string, either NULL when absent. Returns 0 when
 * access is allowed, 401 when no token was presented, 403 when a wrong
 * one was. The comparison takes the same time wherever the two differ.
 */
int	token_check(const char *want, const char *authorization,
	    const char *query);

#endif

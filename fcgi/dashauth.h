/*
 * dashauth.h: who may see the dashboard: the operator, holding the
 * [stats] token. A browser logs in once with a form (POST, never the
 * token in a URL a log would keep) and then holds a session cookie
 * (HttpOnly, SameSite=Strict, 12 hours; token.h makes it); a program
 * sends "Authorization: Bearer TOKEN".
 */
#ifndef PP_DASHAUTH_H
#define PP_DASHAUTH_H

struct rq;

#define DASH_COOKIE		"pp_dashboard"
#define DASH_SESSION_SECS	(12 * 3600)

/* Does rq come from the operator (cookie or bearer header)? */
int	dashauth_ok(struct rq *);

/*
 * Answer a login form's body: 303 to the dashboard with the cookie, or
 * 403 with the form again.
 */
void	dashauth_login(struct rq *, const char *body, unsigned len);

/* Answer a logout: 303 to the dashboard, the cookie cleared. */
void	dashauth_logout(struct rq *);

/* The login form (status 401, or 403 with msg). */
void	dashauth_login_page(struct rq *, int status, const char *msg);

/* /dashboard with no [stats] token: 404, saying how to turn it on. */
void	dashauth_off_page(struct rq *);

#endif

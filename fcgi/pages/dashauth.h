/*
 * dashauth.h: who may see the dashboard, and who may act on it. Two
 * secrets, two kinds of session:
 *   - the [stats] token, which also reads the stats, the metrics and the
 *     history (a scraper holds it): it may look, never act;
 *   - the operator's secret ([pages] operator_token_file): it may look
 *     and mint signed URLs, and is only ever typed into the login form.
 * A browser logs in once with a form (POST, never a secret in a URL a
 * log would keep) and then holds a session cookie of that kind
 * (HttpOnly, SameSite=Strict, 12 hours; token.h makes it, and only the
 * operator's secret makes an operator's); a program may send
 * "Authorization: Bearer TOKEN" with the [stats] token, to look.
 */
#ifndef PP_DASHAUTH_H
#define PP_DASHAUTH_H

struct cfg;
struct rq;

#define DASH_COOKIE		"pp_dashboard"
#define DASH_SESSION_SECS	(12 * 3600)

/* Who a request comes from. */
enum dash_who {
	DASH_NOBODY,
	DASH_READER,		/* the [stats] token: may look */
	DASH_OPERATOR,		/* the operator's secret: may look and act */
};

/* Is the dashboard on: is a [stats] token or an operator secret set? */
int		 dashauth_on(const struct cfg *);

/* Who rq comes from: its session cookie, or a bearer [stats] token. */
enum dash_who	 dashauth_who(struct rq *);

/*
 * Answer a login form's body: 303 to the dashboard with the cookie of
 * the secret given (an operator's, or a reader's), or 403 with the form
 * again.
 */
void	dashauth_login(struct rq *, const char *body, unsigned len);

/* Answer a logout: 303 to the dashboard, the cookie cleared. */
void	dashauth_logout(struct rq *);

/* The login form (status 401, or 403 with msg). */
void	dashauth_login_page(struct rq *, int status, const char *msg);

/* /dashboard with neither secret set: 404, saying how to turn it on. */
void	dashauth_off_page(struct rq *);

#endif

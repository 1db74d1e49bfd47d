/*
 * dashauth.c: the dashboard's login, its two kinds of session cookie
 * and the pages before it; see dashauth.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>
#include <openssl/crypto.h>

#include "cfg.h"
#include "dashauth.h"
#include "form.h"
#include "html.h"
#include "request.h"
#include "layout.h"
#include "token.h"
#include "util.h"

/* The value of cookie name in a Cookie header, into out; 1, or 0. */
static int
cookie(const char *h, const char *name, char *out, size_t outsz)
{
	size_t	 nlen = strlen(name), n;

	while (h != NULL && *h != '\0') {
		h += strspn(h, " ;");
		n = strcspn(h, ";");
		if (n > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
			if (n - nlen - 1 >= outsz)
				return 0;
			memcpy(out, h + nlen + 1, n - nlen - 1);
			out[n - nlen - 1] = '\0';
			return 1;
		}
		h += n;
	}
	return 0;
}

int
dashauth_on(const struct cfg *c)
{
	return (c->stats_token != NULL && *c->stats_token != '\0') ||
	    c->operator_token != NULL;
}

enum dash_who
dashauth_who(struct rq *rq)
{
	const struct cfg	*c = rq->w->cfg;
	const char		*keys[TOKEN__MAX];
	const char		*auth = http_authorization(rq);
	char			 v[128];

	keys[TOKEN_READ] = c->stats_token;
	keys[TOKEN_OPERATOR] = c->operator_token;
	if (!dashauth_on(c))
		return DASH_NOBODY;
	/*
	 * A program's header reads, with the [stats] token only: the
	 * operator's secret goes into the login form and nowhere else, and
	 * a token in the query would be in the logs.
	 */
	if (auth != NULL && c->stats_token != NULL && *c->stats_token != '\0' &&
	    token_check(c->stats_token, auth, NULL) == 0)
		return DASH_READER;
	if (!cookie(FCGX_GetParam("HTTP_COOKIE", rq->w->fcgx.envp),
	    DASH_COOKIE, v, sizeof(v)))
		return DASH_NOBODY;
	switch (token_cookie_role(keys, v, (int64_t)time(NULL))) {
	case TOKEN_OPERATOR:
		return DASH_OPERATOR;
	case TOKEN_READ:
		return DASH_READER;
	default:
		return DASH_NOBODY;
	}
}

/* Where the dashboard is, and the cookie's Path: base_path + name. */
static void
dash_path(struct rq *rq, char *out, size_t outsz)
{
	snprintf(out, outsz, "%sdashboard", rq->w->cfg->base_path);
}

static const char *
secure(struct rq *rq)
{
	const char	*https = FCGX_GetParam("HTTPS", rq->w->fcgx.envp);
	const char	*scheme = FCGX_GetParam("REQUEST_SCHEME",
	    rq->w->fcgx.envp);

	return (https != NULL && strcmp(https, "on") == 0) ||
	    (scheme != NULL && strcmp(scheme, "https") == 0) ? "; Secure" : "";
}

/* 303 to the dashboard at path, setting (or clearing) its cookie. */
static void
see_dashboard(struct rq *rq, const char *path, const char *cookie)
{
	rq->outcome = OUT_PAGE;
	http_begin(rq, 303);
	http_header(rq, "Location", path);
	http_header(rq, "Set-Cookie", cookie);
	http_header(rq, "Cache-Control", "no-store");
	http_header(rq, "Content-Length", "0");
	http_end_headers(rq);
}

/*
 * The role of the secret got, if it is one: the operator's first. Both
 * comparisons are made in constant time.
 */
static int
role_of(const struct cfg *c, const char *got)
{
	int	 op, rd;

	op = c->operator_token != NULL && token_equal(c->operator_token, got);
	rd = c->stats_token != NULL && *c->stats_token != '\0' &&
	    token_equal(c->stats_token, got);
	return op ? TOKEN_OPERATOR : rd ? TOKEN_READ : -1;
}

void
dashauth_login(struct rq *rq, const char *body, unsigned len)
{
	const struct cfg	*c = rq->w->cfg;
	char			 got[512], value[128], set[512], path[256];
	int64_t			 exp = (int64_t)time(NULL) + DASH_SESSION_SECS;
	int			 role = -1;

	if (form_get(body, len, "token", got, sizeof(got)) == 1 &&
	    got[0] != '\0')
		role = role_of(c, got);
	OPENSSL_cleanse(got, sizeof(got));
	if (role == -1) {
		rq->outcome = OUT_FORBIDDEN;
		dashauth_login_page(rq, 403, "That is not the token.");
		return;
	}
	dash_path(rq, path, sizeof(path));
	token_cookie((enum token_role)role, role == TOKEN_OPERATOR ?
	    c->operator_token : c->stats_token, exp, value, sizeof(value));
	snprintf(set, sizeof(set), DASH_COOKIE "=%s; Path=%s; Max-Age=%d; "
	    "HttpOnly; SameSite=Strict%s", value, path, DASH_SESSION_SECS,
	    secure(rq));
	see_dashboard(rq, path, set);
}

void
dashauth_logout(struct rq *rq)
{
	char	 set[512], path[256];

	dash_path(rq, path, sizeof(path));
	snprintf(set, sizeof(set), DASH_COOKIE "=; Path=%s; Max-Age=0; "
	    "HttpOnly; SameSite=Strict%s", path, secure(rq));
	see_dashboard(rq, path, set);
}

void
dashauth_login_page(struct rq *rq, int status, const char *msg)
{
	struct hbuf	 b;
	char		 path[256];

	if (status == 401)
		rq->outcome = OUT_UNAUTHORIZED;
	dash_path(rq, path, sizeof(path));
	hbuf_init(&b, HBUF_MAX);
	layout_begin(&b, rq->w->cfg, "Dashboard login");
	hbuf_puts(&b, "<h1>Dashboard</h1><p>The operator's view of this "
	    "host: requests, paid calls and what they saved. Log in with "
	    "the <code>[stats] token</code> of its configuration to look, "
	    "or with the operator's secret (<code>[pages] "
	    "operator_token_file</code>) to look and mint signed URLs.</p>");
	if (msg != NULL) {
		hbuf_puts(&b, "<p class=\"err\" id=\"loginerr\">");
		html_text(&b, msg);
		hbuf_puts(&b, "</p>");
	}
	hbuf_puts(&b, "<form id=\"login\" class=\"card grid\" method=\"post\" "
	    "action=\"");
	html_attr(&b, path);
	hbuf_puts(&b, "\"><input type=\"hidden\" name=\"action\" "
	    "value=\"login\"><label class=\"wide\">Token<input name=\"token\" "
	    "type=\"password\" required autocomplete=\"current-password\">"
	    "</label><button type=\"submit\">Log in</button></form>"
	    "<p class=\"mute\">The session lasts 12 hours, in a cookie only "
	    "this host's dashboard receives. Programs that read send "
	    "<code>Authorization: Bearer TOKEN</code> with the "
	    "<code>[stats] token</code> instead.</p>");
	layout_end(&b, NULL);
	layout_send(rq, status, &b, NULL, status == 401 ? "WWW-Authenticate" :
	    NULL, "Bearer realm=\"promptpix\"", NULL, NULL);
	hbuf_free(&b);
}

void
dashauth_off_page(struct rq *rq)
{
	struct hbuf	 b;

	rq->outcome = OUT_NOT_FOUND;
	hbuf_init(&b, HBUF_MAX);
	layout_begin(&b, rq->w->cfg, "Dashboard is off");
	hbuf_puts(&b, "<h1>The dashboard is off</h1><p>It shows this host's "
	    "traffic and money only to its operator, and neither of its "
	    "secrets is set. To turn it on, set one or both in "
	    "<code>promptpix.conf</code> and restart promptpix:</p>"
	    "<pre class=\"card\"><code>[stats]\n"
	    "token = (a long random string: openssl rand -hex 24)\n\n"
	    "[pages]\noperator_token_file = /etc/promptpix/operator-token"
	    "</code></pre><p>Then log in here. The <code>[stats] token"
	    "</code> may look: it also guards "
	    "<code>/api/generation/stats</code> (unless <code>[stats] public "
	    "= on</code>), <code>/api/generation/history</code> and "
	    "<code>/metrics</code>. The operator's secret, the first line of "
	    "a file only the service can read, may also mint signed URLs."
	    "</p>");
	layout_end(&b, NULL);
	layout_send(rq, 404, &b, NULL, NULL, NULL, NULL, NULL);
	hbuf_free(&b);
}


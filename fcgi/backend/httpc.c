/*
 * httpc.c: the HTTP client (see httpc.h): libcurl easy handles, the
 * limits every exchange runs under, and what a failed one was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "httpc.h"
#include "util.h"

/* Cap on a Retry-After we honour, in seconds. */
#define RETRY_AFTER_MAX	3600
/* Longest wait for a streamed answer's socket before its bounds are looked at. */
#define STREAM_TICK_MS	1000

struct httpc {
	struct httpc_opts	 o;
	CURL			*curl;
	CURLM			*multi;		/* for streamed answers; lazily */
	char			 errbuf[CURL_ERROR_SIZE];
};

struct httpc_hdrs {
	struct curl_slist	*l;
};

void
httpc_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "promptpix: curl_global_init failed\n");
		abort();
	}
}

struct httpc *
httpc_new(const struct httpc_opts *o)
{
	struct httpc	*h = xcalloc(1, sizeof(*h));

	h->o = *o;
	if ((h->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "promptpix: curl_easy_init failed\n");
		abort();
	}
	return h;
}

void
httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	curl_easy_cleanup(h->curl);
	free(h);
}

struct httpc_hdrs *
httpc_hdrs_add(struct httpc_hdrs *l, const char *line)
{
	struct curl_slist	*n;

	if (l == NULL)
		l = xcalloc(1, sizeof(*l));
	if ((n = curl_slist_append(l->l, line)) == NULL) {
		fprintf(stderr, "promptpix: out of memory (curl)\n");
		abort();
	}
	l->l = n;
	return l;
}

void
httpc_hdrs_free(struct httpc_hdrs *l)
{
	if (l == NULL)
		return;
	for (struct curl_slist *n = l->l; n != NULL; n = n->next)
		explicit_bzero(n->data, strlen(n->data));
	curl_slist_free_all(l->l);
	free(l);
}

void
httpc_failf(const struct httpc *h, struct gen_result *res, enum gen_err kind,
    const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->o.clean != NULL)
		h->o.clean(msg, sizeof(res->error_message), h->o.secret);
	gen_result_fail(res, kind, msg);
}

/*
 * curl's write callback: append to x->buf, keeping it NUL-terminated.
 * Past x->max it sets x->too_big and returns 0, which ends the transfer.
 */
static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct httpc_xfer	*x = arg;
	size_t			 add = sz * n;

	if (add > x->max - x->len) {
		x->too_big = 1;
		return 0;
	}
	if (x->len + add + 1 > x->cap) {
		x->cap = x->cap ? x->cap : 4096;
		while (x->cap < x->len + add + 1)
			x->cap *= 2;
		x->buf = xrealloc(x->buf, x->cap);
	}
	memcpy(x->buf + x->len, p, add);
	x->len += add;
	x->buf[x->len] = '\0';
	return add;
}

/*
 * Copy the header value v (n bytes), trimmed, into out. Returns 0; or
 * -1 if it is empty, does not fit, or holds a byte outside 0x21..0x7e
 * (0x20..0x7e if spaces_ok).
 */
static int
copy_value(const char *v, size_t n, int spaces_ok, char *out, size_t outsz)
{
	size_t	 i, j;

	for (i = 0; i < n && (v[i] == ' ' || v[i] == '\t'); i++)
		continue;
	for (j = n; j > i && strchr(" \t\r\n", v[j - 1]) != NULL; j--)
		continue;
	if (j - i == 0 || j - i >= outsz)
		return -1;
	for (size_t k = i; k < j; k++)
		if ((unsigned char)v[k] < (spaces_ok ? 0x20 : 0x21) ||
		    (unsigned char)v[k] > 0x7e)
			return -1;
	memcpy(out, v + i, j - i);
	out[j - i] = '\0';
	return 0;
}

/*
 * If header line (len bytes) is name's, copy its value, trimmed, into
 * out. Returns 0; or -1 if it is another header, or the value is empty,
 * does not fit, or holds a byte outside 0x21..0x7e.
 */
static int
header_value(const char *line, size_t len, const char *name, char *out,
    size_t outsz)
{
	size_t	 nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return -1;
	return copy_value(line + nl + 1, len - nl - 1, 0, out, outsz);
}

/*
 * curl's header callback: keep x->id_header's value and Retry-After,
 * the status as soon as it comes, and when a 2xx answer's headers end.
 */
static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct httpc_xfer	*x = arg;
	size_t			 len = sz * n;
	char			 v[16];
	unsigned long		 ra;
	char			*end;
	const char		*sp;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue): forget the last. */
		x->id[0] = '\0';
		x->retry_after = 0;
		sp = memchr(p, ' ', len);
		x->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') ||
	    (len == 1 && p[0] == '\n')) {
		if (x->status >= 200 && x->status < 300)
			x->head_at = now_ms();
		return len;
	}
	if (x->id_header != NULL &&
	    header_value(p, len, x->id_header, x->id, sizeof(x->id)) == 0)
		return len;
	if (header_value(p, len, "retry-after", v, sizeof(v)) == 0) {
		/* Seconds only; an HTTP-date is ignored (our backoff applies). */
		ra = strtoul(v, &end, 10);
		if (*end == '\0' && v[0] >= '0' && v[0] <= '9')
			x->retry_after = ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX :
			    (unsigned)ra;
	}
	return len;
}

/*
 * curl's write callback for a streamed answer: a 2xx answer's bytes go
 * to x->on_data, any other answer's into x->buf (for its message).
 */
static size_t
on_stream(char *p, size_t sz, size_t n, void *arg)
{
	struct httpc_xfer	*x = arg;

	if (x->status < 200 || x->status >= 300)
		return on_body(p, sz, n, arg);
	x->data_at = now_ms();
	if (x->on_data(x->arg, p, sz * n) != 0) {
		x->stopped = 1;
		return 0;		/* ends the transfer */
	}
	return sz * n;
}

/*
 * curl's read callback: the request body, once. Without a seek
 * callback libcurl cannot rewind it, so it never sends it twice.
 */
static size_t
on_read(char *buf, size_t sz, size_t n, void *arg)
{
	struct httpc_xfer	*x = arg;
	size_t			 k = sz * n < x->up_left ? sz * n : x->up_left;

	memcpy(buf, x->up, k);
	x->up += k;
	x->up_left -= k;
	return k;
}

/* When a streamed answer's next bytes are due (now_ms()); 0: no bound. */
static int64_t
stream_due(const struct httpc *hc, const struct httpc_xfer *x, int64_t t0,
    enum httpc_quiet *which)
{
	if (x->head_at == 0) {
		*which = HQ_ANSWER;
		return x->first_ms > 0 ?
		    t0 + hc->o.connect_timeout_ms + x->first_ms : 0;
	}
	if (x->data_at == 0) {
		*which = HQ_BODY;
		return x->first_ms > 0 ? x->head_at + x->first_ms : 0;
	}
	*which = HQ_PAUSE;
	return x->idle_ms > 0 ? x->data_at + x->idle_ms : 0;
}

/*
 * Run a streamed exchange on the handle's multi stack, waking for its
 * socket and for its bounds. Sets x->code, and x->quiet if a bound ran
 * out (the transfer is then abandoned, its connection closed).
 */
static void
perform_stream(struct httpc *hc, struct httpc_xfer *x)
{
	CURLMsg			*msg;
	enum httpc_quiet	 which;
	int64_t			 t0 = now_ms(), due, wait;
	int			 running = 1, left;

	if (hc->multi == NULL && (hc->multi = curl_multi_init()) == NULL) {
		fprintf(stderr, "promptpix: curl_multi_init failed\n");
		abort();
	}
	x->code = CURLE_OK;
	curl_multi_add_handle(hc->multi, hc->curl);
	for (;;) {
		if (curl_multi_perform(hc->multi, &running) != CURLM_OK) {
			x->code = CURLE_OUT_OF_MEMORY;
			break;
		}
		if (running == 0 || x->stopped)
			break;
		wait = STREAM_TICK_MS;
		if ((due = stream_due(hc, x, t0, &which)) != 0) {
			if ((wait = due - now_ms()) <= 0) {
				x->quiet = (int)which;
				x->code = CURLE_OPERATION_TIMEDOUT;
				break;
			}
			wait = wait < STREAM_TICK_MS ? wait : STREAM_TICK_MS;
		}
		curl_multi_poll(hc->multi, NULL, 0, (int)wait, NULL);
	}
	while ((msg = curl_multi_info_read(hc->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && !x->quiet)
			x->code = (int)msg->data.result;
	curl_multi_remove_handle(hc->multi, hc->curl);
}

void
httpc_run(struct httpc *hc, struct httpc_xfer *x)
{
	CURL	*h = hc->curl;
	long	 sent = 0;
	int64_t	 to = x->timeout_ms, cto, left;
	int	 head = strcmp(x->method, "HEAD") == 0;

	x->status = 0;
	x->reached = 0;
	x->too_big = 0;
	x->stopped = 0;
	x->quiet = HQ_NONE;
	x->head_at = x->data_at = 0;
	x->len = 0;
	x->id[0] = '\0';
	x->retry_after = 0;
	if (x->deadline_ms != 0 && (left = x->deadline_ms - now_ms()) < to)
		to = left;
	if (to <= 0) {
		x->code = CURLE_OPERATION_TIMEDOUT;
		return;
	}
	cto = hc->o.connect_timeout_ms < to ? hc->o.connect_timeout_ms : to;
	hc->errbuf[0] = '\0';
	/* Reset keeps the open connections and the DNS cache. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	    hc->o.allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cto);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)to);
	/* A HEAD's Content-Length is the size of what it did not send. */
	if (!head)
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)x->max);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION,
	    x->on_data != NULL ? on_stream : on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, hc->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "promptpix");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER,
	    x->hdrs != NULL ? x->hdrs->l : NULL);
	if (x->aws_sigv4 != NULL) {
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, x->aws_sigv4);
		curl_easy_setopt(h, CURLOPT_USERNAME, x->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, x->password);
	}
	if (head)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(x->method, "DELETE") == 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
	else if (strcmp(x->method, "GET") != 0) {
		x->up = x->body ? x->body : "";
		x->up_left = x->body_len > 0 ? x->body_len : strlen(x->up);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x->up_left);
		if (strcmp(x->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
	}
	if (x->on_data != NULL)
		perform_stream(hc, x);
	else
		x->code = (int)curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
	x->reached = sent > 0 || x->status != 0;
}

int
httpc_header(const struct httpc *hc, const char *name, char *out,
    size_t outsz)
{
	struct curl_header	*hh;

	if (curl_easy_header(hc->curl, name, 0, CURLH_HEADER, -1, &hh) !=
	    CURLHE_OK)
		return -1;
	return copy_value(hh->value, strlen(hh->value), 1, out, outsz);
}

void
httpc_xfer_free(struct httpc_xfer *x)
{
	free(x->buf);
	x->buf = NULL;
	x->len = x->cap = 0;
}

/* The kind of a transfer libcurl ended with cc (not CURLE_OK). */
static enum gen_err
transport_kind(CURLcode cc, int reached)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		/* No request sent: the connection never came up. */
		return reached ? GE_TIMEOUT : GE_UPSTREAM_DOWN;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return GE_BAD_URL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return GE_TLS;
	default:
		/* Refused, reset, cut short: the server is away. */
		return GE_UPSTREAM_DOWN;
	}
}

int
httpc_fail(const struct httpc *h, const struct httpc_xfer *x,
    const char *what, struct gen_result *res)
{
	CURLcode	 cc = (CURLcode)x->code;
	enum gen_err	 kind;
	char		 detail[300] = "";
	int64_t		 ms;

	if ((cc == CURLE_OK || x->stopped) && x->status >= 200 &&
	    x->status < 300)
		return 0;
	if (x->quiet != HQ_NONE) {
		ms = x->quiet == HQ_PAUSE ? x->idle_ms : x->first_ms;
		httpc_failf(h, res, GE_TIMEOUT, "%s: %s %lld ms", what,
		    x->quiet == HQ_ANSWER ? "no answer within the connect "
		    "timeout and" : x->quiet == HQ_BODY ? "an answer, then "
		    "nothing for" : "nothing more for", (long long)ms);
		return -1;
	}
	if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		httpc_failf(h, res, GE_BAD_RESPONSE, "%s: answer larger than "
		    "%zu bytes", what, x->max);
		return -1;
	}
	if (cc != CURLE_OK) {
		httpc_failf(h, res, transport_kind(cc, x->reached), "%s: %s",
		    what, h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
		return -1;
	}
	kind = h->o.status_kind(x->status);
	if (x->status >= 300 && x->status < 400) {
		httpc_failf(h, res, kind, "%s: unexpected redirect (HTTP %ld)",
		    what, x->status);
		return -1;
	}
	if (h->o.detail != NULL)
		h->o.detail(x->buf, x->len, detail, sizeof(detail));
	httpc_failf(h, res, kind, "%s: HTTP %ld%s%s", what, x->status,
	    detail[0] ? ": " : "", detail);
	return -1;
}

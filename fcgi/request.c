/*
 * request.c: the HTTP answer over FastCGI: status line, checked headers,
 * and the short text and byte bodies every page sends.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

#include "request.h"
#include "log.h"
#include "worker.h"

static const struct {
	int		 code;
	const char	*reason;
} reasons[] = {
	{ 200, "OK" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
};

const char *
http_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

void
http_begin(struct rq *rq, int status)
{
	rq->status = status;
	FCGX_FPrintF(rq->out, "Status: %d %s\r\n", status, http_reason(status));
}

int
http_value_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int
http_header(struct rq *rq, const char *name, const char *value)
{
	if (!http_value_safe(name) || !http_value_safe(value)) {
		log_error(rq->id, "refused to send an unsafe %s header", name);
		return -1;
	}
	FCGX_FPrintF(rq->out, "%s: %s\r\n", name, value);
	return 0;
}

void
http_end_headers(struct rq *rq)
{
	FCGX_PutS("\r\n", rq->out);
}

void
http_text(struct rq *rq, int status, const char *hname, const char *hvalue,
    const char *line)
{
	http_begin(rq, status);
	http_header(rq, "Content-Type", "text/plain; charset=utf-8");
	http_header(rq, "Cache-Control", "no-store");
	if (hname != NULL)
		http_header(rq, hname, hvalue);
	http_end_headers(rq);
	if (!rq->head) {
		FCGX_PutS(line, rq->out);
		FCGX_PutS("\n", rq->out);
	}
}

void
http_send(struct rq *rq, int status, const char *ctype, const char *hname,
    const char *hvalue, const char *body, size_t len)
{
	char	 n[24];

	http_begin(rq, status);
	http_header(rq, "Content-Type", ctype);
	http_header(rq, "Cache-Control", "no-store");
	snprintf(n, sizeof(n), "%zu", len);
	http_header(rq, "Content-Length", n);
	if (hname != NULL)
		http_header(rq, hname, hvalue);
	http_end_headers(rq);
	if (!rq->head)
		FCGX_PutStr(body, (int)len, rq->out);
}

const char *
http_authorization(struct rq *rq)
{
	FCGX_ParamArray	 env = rq->w->fcgx.envp;
	const char	*a = FCGX_GetParam("HTTP_AUTHORIZATION", env);

	if (a == NULL || *a == '\0')
		a = FCGX_GetParam("REDIRECT_HTTP_AUTHORIZATION", env);
	return a != NULL && *a != '\0' ? a : NULL;
}

void
http_date(int64_t t, char *out, size_t outsz)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

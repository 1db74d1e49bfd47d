/*
 * image.c: the image page. Parse, resolve (gen.c), and answer with a
 * redirect or the bytes, as configured.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "access.h"
#include "backend.h"
#include "cfg.h"
#include "gen.h"
#include "hash.h"
#include "imgstore.h"
#include "request.h"
#include "log.h"
#include "page.h"
#include "s3sign.h"
#include "similar.h"
#include "store.h"
#include "urlpolicy.h"
#include "util.h"

/* Did snprintf's result n fit a buffer of size sz? */
static int
fits(int n, size_t sz)
{
	return n >= 0 && (size_t)n < sz;
}

/*
 * The image of a similar prompt, and its score. The hash is checked to
 * be 64 hex digits by dbsimilar.c; http_value_safe() once more here.
 */
static void
similar_header(struct rq *rq, const struct similar_match *m)
{
	char	 v[100], score[16];

	if (m == NULL || m->hash[0] == '\0')
		return;
	sim_score_text(m->score, score, sizeof(score));
	snprintf(v, sizeof(v), "%.64s; score=%s", m->hash, score);
	if (http_value_safe(v))
		http_header(rq, "X-Promptpix-Similar", v);
}

/*
 * Headers common to both ways of answering with a finished image; the
 * answer may be cached for max_age seconds.
 */
static void
image_headers(struct rq *rq, const struct gen_row *row, const char *etag,
    const struct similar_match *sim, unsigned max_age)
{
	char			 v[64];

	similar_header(rq, sim);
	snprintf(v, sizeof(v), "public, max-age=%u", max_age);
	http_header(rq, "Cache-Control", v);
	http_header(rq, "ETag", etag);
	if (row->res.completed_ms > 0) {
		http_date(row->res.completed_ms / 1000, v, sizeof(v));
		http_header(rq, "Last-Modified", v);
	}
}

static int
not_modified(struct rq *rq, const char *etag)
{
	const char	*inm;

	inm = rq_param(rq, "HTTP_IF_NONE_MATCH");
	return inm != NULL && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0);
}

static void
answer_redirect(struct rq *rq, const struct gen_row *row, const char *etag,
    const struct similar_match *sim)
{
	const char	*why;
	char		 url[S3_PRESIGN_MAX];
	unsigned	 max_age = rq->cfg->cache_max_age;

	if (row->res.file[0] != '\0') {
		if (!store_name_valid(row->res.file) ||
		    imgstore_url(rq->cfg, row->res.file, wall_ms() / 1000,
		    url, sizeof(url), &max_age)) {
			http_text(rq, 500, NULL, NULL, "bad image record");
			return;
		}
	} else {
		/* Not our own file: only an https URL on the allowlist. */
		strlcpy_chk(url, row->res.url, sizeof(url));
		if (url_check(url, rq->cfg->fal_allowed_hosts,
		    rq->cfg->fal_allow_http, &why) == -1)
			url[0] = '\0';
	}
	if (url[0] == '\0' || !http_value_safe(url)) {
		log_error(rq->id, "refused to redirect to an unsafe URL");
		http_text(rq, 500, NULL, NULL, "bad image record");
		return;
	}
	http_begin(rq, 302);
	http_header(rq, "Location", url);
	image_headers(rq, row, etag, sim, max_age);
	http_header(rq, "Content-Type", "text/plain; charset=utf-8");
	http_end_headers(rq);
	if (!rq->head)
		FCGX_PutS("found\n", rq->out);
}

/* Copy the file to the client: used where no X-* offload is configured. */
static void
stream_file(struct rq *rq, int fd)
{
	char	 buf[65536];
	ssize_t	 n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (FCGX_PutStr(buf, (int)n, rq->out) < 0)
			break;
}

static void
answer_inline(struct rq *rq, const struct gen_row *row, const char *etag,
    const struct similar_match *sim)
{
	const struct cfg	*c = rq->cfg;
	char			 path[4096], accel[4096], v[32];
	struct stat		 st;
	int			 fd = -1, rc;

	if (!store_name_valid(row->res.file)) {
		http_text(rq, 502, NULL, NULL,
		    "image is not in the local store");
		return;
	}
	if (!fits(snprintf(accel, sizeof(accel), "%s%s", c->x_accel_prefix,
	    row->res.file), sizeof(accel))) {
		http_text(rq, 500, NULL, NULL, "image path too long");
		return;
	}
	/* A bucket's image is sent from this host's copy of it. */
	if ((rc = imgstore_local(c, row->res.file, rq->id, path,
	    sizeof(path))) != 0) {
		http_text(rq, rc == 503 ? 503 : 500, rc == 503 ? "Retry-After" :
		    NULL, rc == 503 ? "5" : NULL, rc == 503 ? "image store "
		    "unavailable; retry shortly" : "image file missing");
		return;
	}
	if (c->inline_send == SEND_STREAM || c->inline_send == SEND_X_SENDFILE) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(fd, &st) == -1) {
			log_error(rq->id, "open %s: %s", row->res.file,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			http_text(rq, 500, NULL, NULL, "image file missing");
			return;
		}
	}
	if (not_modified(rq, etag)) {
		http_begin(rq, 304);
		image_headers(rq, row, etag, sim, c->cache_max_age);
		http_end_headers(rq);
		if (fd >= 0)
			close(fd);
		return;
	}
	http_begin(rq, 200);
	http_header(rq, "Content-Type", row->res.content_type[0] ?
	    row->res.content_type : "application/octet-stream");
	image_headers(rq, row, etag, sim, c->cache_max_age);
	switch (c->inline_send) {
	case SEND_X_ACCEL:
		http_header(rq, "X-Accel-Redirect", accel);
		http_end_headers(rq);
		break;
	case SEND_X_SENDFILE:
		http_header(rq, "X-Sendfile", path);
		http_end_headers(rq);
		break;
	case SEND_STREAM:
	default:
		snprintf(v, sizeof(v), "%lld", (long long)st.st_size);
		http_header(rq, "Content-Length", v);
		http_end_headers(rq);
		if (!rq->head)
			stream_file(rq, fd);
		break;
	}
	if (fd >= 0)
		close(fd);
}

static void
answer_failed(struct rq *rq, const struct resolution *res)
{
	char		 line[320], ra[16];
	unsigned	 after;

	snprintf(line, sizeof(line), "generation failed: %s",
	    gen_err_name(res->row.res.err != GE_NONE ? res->row.res.err :
	    GE_UNKNOWN));
	/* Waiters and later requests know the kind, not the upstream's hint. */
	after = res->retry_after > 0 ? res->retry_after :
	    gen_err_retry_after(res->row.res.err);
	/* No sooner than the row's own backoff allows a new attempt. */
	if (after > 0 && res->row.retry_in > after)
		after = res->row.retry_in;
	if (after > 0) {
		snprintf(ra, sizeof(ra), "%u", after);
		http_text(rq, 503, "Retry-After", ra, line);
	} else if (res->row.retry_in > 0) {
		snprintf(ra, sizeof(ra), "%u", res->row.retry_in);
		http_text(rq, 502, "Retry-After", ra, line);
	} else
		http_text(rq, 502, NULL, NULL, line);
}

/* Answer rq as res says. */
static void
answer(struct rq *rq, const struct resolution *res)
{
	const struct cfg	*c = rq->cfg;
	const struct similar_match *sim;
	char			 etag[40], v[24];

	rq->outcome = res->outcome;
	if (res->outcome == OUT_WAITED && res->row.res.completed_ms > 0)
		rq->wake_ms = wall_ms() - res->row.res.completed_ms;
	snprintf(etag, sizeof(etag), "\"%.32s\"", rq->hash);
	switch (res->outcome) {
	case OUT_HIT:
	case OUT_SIMILAR:
	case OUT_GENERATED:
	case OUT_WAITED:
		sim = res->outcome == OUT_SIMILAR ? &res->similar : NULL;
		if (c->delivery == DELIVERY_INLINE)
			answer_inline(rq, &res->row, etag, sim);
		else
			answer_redirect(rq, &res->row, etag, sim);
		break;
	case OUT_FAILED:
		answer_failed(rq, res);
		break;
	case OUT_TIMEOUT:
		http_text(rq, 504, "Retry-After", "5",
		    "image is still being generated; retry shortly");
		break;
	case OUT_LIMITED:
		snprintf(v, sizeof(v), "%u", res->retry_after);
		http_text(rq, 429, "Retry-After", v,
		    "too many new images from your address; retry later");
		break;
	case OUT_BUDGET:
		/* Spent for today: until the next UTC day. */
		snprintf(v, sizeof(v), "%lld",
		    (long long)(86400 - wall_ms() / 1000 % 86400));
		http_text(rq, 429, "Retry-After", v, res->key_quota ?
		    "this key's daily quota is reached" :
		    "daily budget reached");
		break;
	case OUT_GONE:
		/* Nobody to answer: the log says so as nginx does. */
		rq->status = 499;
		break;
	case OUT_STOPPED:
		http_text(rq, 503, "Retry-After", "5",
		    "server restarting; retry shortly");
		break;
	case OUT_DBERR:
	default:
		http_text(rq, 503, "Retry-After", "5",
		    "database unavailable; retry shortly");
		break;
	}
}

/* request.h's waited(): the parked request's wait ended so. */
static void
image_waited(struct rq *rq, enum wait_end how, const struct gen_row *row)
{
	struct resolution	 res;

	gen_waited(rq, &rq->img, how, row, &res);
	answer(rq, &res);
}

void
page_image(struct rq *rq)
{
	const struct cfg	*c = rq->cfg;
	struct img_req		*r = &rq->img;
	struct resolution	 res;
	const char		*reason = NULL;
	char			*query;
	size_t			 qlen = 0;
	int			 rc;

	if ((rc = access_check(rq, http_authorization(rq), &qlen,
	    &reason)) != 0) {
		rq->outcome = rc == 503 ? OUT_DBERR : rc == 401 ?
		    OUT_UNAUTHORIZED : OUT_FORBIDDEN;
		http_text(rq, rc, rc == 503 ? "Retry-After" : NULL,
		    rc == 503 ? "5" : NULL, reason);
		return;
	}
	/* The image's own parameters: what is hashed and parsed. */
	query = rq->query ? xstrndup(rq->query, qlen) : NULL;
	rc = req_parse_image(rq->path, query, &c->lim, r, &reason);
	free(query);
	if (rc != 0) {
		rq->outcome = OUT_BAD_REQUEST;
		http_text(rq, rc, NULL, NULL, reason);
		return;
	}
	hash_image(r, c->model, rq->hash);
	log_debug(rq->id, "prompt %.12s: %s", rq->hash, r->prompt);
	rq->waited = image_waited;
	/* Parked: page_serve() hands it over, image_waited() answers. */
	if (gen_resolve(rq, r, &res) == 0)
		answer(rq, &res);
}

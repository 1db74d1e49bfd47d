/*
 * falparse.c: the pure half of the fal.ai backend (see falparse.h): the input
 * it sends, and reading fal's answers. No I/O.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "falparse.h"
#include "util.h"

/* Nesting deeper than this is not an answer from fal. */
#define JSON_DEPTH	16

/*
 * Parse exactly one JSON value from json[0..len), allowing only
 * whitespace after it. Returns a reference the caller puts, or NULL.
 */
static struct json_object *
parse(const char *json, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	size_t			 end;

	if (json == NULL || len == 0 || len > INT_MAX / 2)
		return NULL;
	if ((tok = json_tokener_new_ex(JSON_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		for (end = json_tokener_get_parse_end(tok); end < len; end++)
			if (strchr(" \t\r\n", json[end]) == NULL ||
			    json[end] == '\0')
				break;
		if (end < len) {
			json_object_put(o);
			o = NULL;
		}
	} else if (o != NULL) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static struct json_object *
member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* Is s[0..n) printable ASCII without NUL? */
static int
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Copy the string member key of o into out if it is printable ASCII
 * (spaces allowed only if spaces is set) and fits. Returns 0, or -1
 * leaving out as "".
 */
static int
get_str(struct json_object *o, const char *key, char *out, size_t outsz,
    int spaces)
{
	struct json_object	*v;
	const char		*s;
	size_t			 n;

	out[0] = '\0';
	if ((v = member(o, key, json_type_string)) == NULL)
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (s == NULL || n == 0 || n >= outsz || !printable(s, n) ||
	    (!spaces && memchr(s, ' ', n) != NULL))
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* An integer member within [lo, hi], else 0. */
static int64_t
get_int(struct json_object *o, const char *key, int64_t lo, int64_t hi)
{
	struct json_object	*v;
	int64_t			 n;

	if ((v = member(o, key, json_type_int)) == NULL)
		return 0;
	n = json_object_get_int64(v);
	return (n < lo || n > hi) ? 0 : n;
}

char *
fal_build_input(const struct img_req *r, unsigned steps, int safety)
{
	struct json_object	*o = xchk(json_object_new_object());
	struct json_object	*size = xchk(json_object_new_object());
	char			*s;

	json_object_object_add(o, "prompt",
	    xchk(json_object_new_string_len(r->prompt, (int)r->prompt_len)));
	json_object_object_add(size, "width",
	    xchk(json_object_new_int64(r->w)));
	json_object_object_add(size, "height",
	    xchk(json_object_new_int64(r->h)));
	json_object_object_add(o, "image_size", size);
	json_object_object_add(o, "num_inference_steps",
	    xchk(json_object_new_int64(steps)));
	if (r->has_seed)
		json_object_object_add(o, "seed",
		    xchk(json_object_new_int64(r->seed)));
	json_object_object_add(o, "num_images",
	    xchk(json_object_new_int64(1)));
	json_object_object_add(o, "enable_safety_checker",
	    xchk(json_object_new_boolean(safety != 0)));
	json_object_object_add(o, "output_format",
	    xchk(json_object_new_string(r->fmt == FMT_PNG ? "png" : "jpeg")));
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

int
fal_parse_result(const char *json, size_t len, struct gen_result *res)
{
	struct json_object	*root, *images, *img, *v;
	double			 d;
	int			 rc = -1;

	if ((root = parse(json, len)) == NULL) {
		gen_result_fail(res, GE_BAD_RESPONSE, "fal answered with malformed JSON");
		return -1;
	}
	if (!json_object_is_type(root, json_type_object)) {
		gen_result_fail(res, GE_BAD_RESPONSE, "fal's answer is not a JSON object");
		goto out;
	}
	if ((images = member(root, "images", json_type_array)) == NULL ||
	    json_object_array_length(images) == 0) {
		gen_result_fail(res, GE_BAD_RESPONSE, "fal's answer has no images");
		goto out;
	}
	img = json_object_array_get_idx(images, 0);
	if (get_str(img, "url", res->url, sizeof(res->url), 0) == -1) {
		gen_result_fail(res, GE_BAD_RESPONSE,
		    "fal's images[0].url is missing or unusable");
		goto out;
	}
	res->width = (unsigned)get_int(img, "width", 1, 65535);
	res->height = (unsigned)get_int(img, "height", 1, 65535);
	get_str(img, "content_type", res->content_type,
	    sizeof(res->content_type), 0);
	if ((v = member(member(root, "timings", json_type_object),
	    "inference", json_type_double)) != NULL ||
	    (v = member(member(root, "timings", json_type_object),
	    "inference", json_type_int)) != NULL) {
		d = json_object_get_double(v);
		if (isfinite(d) && d >= 0 && d < 86400)
			res->inference_ms = (int64_t)(d * 1000 + 0.5);
	}
	if (res->upstream_id[0] == '\0')
		get_str(root, "request_id", res->upstream_id,
		    sizeof(res->upstream_id), 0);
	if ((v = member(root, "has_nsfw_concepts", json_type_array)) != NULL &&
	    json_object_array_length(v) > 0 &&
	    json_object_is_type(json_object_array_get_idx(v, 0),
	    json_type_boolean) &&
	    json_object_get_boolean(json_object_array_get_idx(v, 0))) {
		gen_result_fail(res, GE_NSFW, "fal flagged the image as NSFW");
		goto out;
	}
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

int
fal_parse_submit(const char *json, size_t len, struct fal_queue *q,
    struct gen_result *res)
{
	struct json_object	*root;
	int			 rc = -1;

	memset(q, 0, sizeof(*q));
	if ((root = parse(json, len)) == NULL) {
		gen_result_fail(res, GE_BAD_RESPONSE,
		    "fal's submit answer is malformed JSON");
		return -1;
	}
	get_str(root, "request_id", q->request_id, sizeof(q->request_id), 0);
	get_str(root, "cancel_url", q->cancel_url, sizeof(q->cancel_url), 0);
	if (get_str(root, "status_url", q->status_url,
	    sizeof(q->status_url), 0) == -1 ||
	    get_str(root, "response_url", q->response_url,
	    sizeof(q->response_url), 0) == -1)
		gen_result_fail(res, GE_BAD_RESPONSE,
		    "fal's submit answer has no status_url or response_url");
	else
		rc = 0;
	json_object_put(root);
	return rc;
}

enum fal_status
fal_parse_status(const char *json, size_t len, char *name, size_t namesz)
{
	struct json_object	*root;
	enum fal_status		 st = FAL_ST_BAD;
	char			 s[32];

	name[0] = '\0';
	if ((root = parse(json, len)) == NULL)
		return FAL_ST_BAD;
	if (get_str(root, "status", s, sizeof(s), 0) == 0) {
		strlcpy_chk(name, s, namesz);
		if (strcmp(s, "IN_QUEUE") == 0)
			st = FAL_ST_QUEUED;
		else if (strcmp(s, "IN_PROGRESS") == 0)
			st = FAL_ST_RUNNING;
		else if (strcmp(s, "COMPLETED") == 0)
			st = FAL_ST_COMPLETED;
		else
			st = FAL_ST_UNKNOWN;
	} else if (member(root, "status", json_type_string) != NULL) {
		strlcpy_chk(name, "?", namesz);
		st = FAL_ST_UNKNOWN;
	}
	json_object_put(root);
	return st;
}

/* Where fal_sse_feed() is in a line. */
enum {
	SSE_START,		/* at its start */
	SSE_NAME,		/* in the field name */
	SSE_SPACE,		/* after "data:", where one space is dropped */
	SSE_VALUE,		/* in a data line's value */
	SSE_SKIP		/* in a comment or another field: ignored */
};

void
fal_sse_init(struct fal_sse *s)
{
	s->len = 0;
	s->data[0] = '\0';
	s->nlen = 0;
	s->state = SSE_START;
	s->cr = s->has_data = s->nl = s->too_long = s->done = 0;
}

/* Add c to the event's data, or note that it does not fit. */
static void
sse_add(struct fal_sse *s, char c)
{
	if (s->len + 1 < sizeof(s->data))
		s->data[s->len++] = c;
	else
		s->too_long = 1;
}

/*
 * A data line starts: lines are joined by '\n', which is added only
 * once another line comes (the last line's is no part of the data).
 */
static void
sse_data_line(struct fal_sse *s)
{
	if (s->nl)
		sse_add(s, '\n');
	s->has_data = 1;
	s->nl = 0;
}

/* A line ended. Returns what it made: an event if it was blank. */
static enum fal_sse_got
sse_line_end(struct fal_sse *s)
{
	enum fal_sse_got	 got = FAL_SSE_MORE;

	switch (s->state) {
	case SSE_START:
		/* A blank line ends the event, if it had data. */
		if (!s->has_data)
			break;
		s->data[s->len] = '\0';
		got = s->too_long ? FAL_SSE_TOO_LONG : FAL_SSE_EVENT;
		s->done = 1;
		break;
	case SSE_NAME:
		/* "data" alone: a data line with an empty value. */
		if (s->nlen == 4 && memcmp(s->name, "data", 4) == 0) {
			sse_data_line(s);
			s->nl = 1;
		}
		break;
	case SSE_SPACE:
	case SSE_VALUE:
		s->nl = 1;
		break;
	default:
		break;
	}
	s->state = SSE_START;
	s->nlen = 0;
	return got;
}

size_t
fal_sse_feed(struct fal_sse *s, const char *p, size_t n,
    enum fal_sse_got *got)
{
	size_t	 i;
	char	 c;

	*got = FAL_SSE_MORE;
	if (s->done) {
		/* The last event was handed out: start the next. */
		s->len = 0;
		s->data[0] = '\0';
		s->has_data = s->nl = s->too_long = s->done = 0;
	}
	for (i = 0; i < n; i++) {
		c = p[i];
		if (s->cr) {
			s->cr = 0;
			if (c == '\n')
				continue;
		}
		if (c == '\r' || c == '\n') {
			s->cr = c == '\r';
			if ((*got = sse_line_end(s)) != FAL_SSE_MORE)
				return i + 1;
			continue;
		}
		switch (s->state) {
		case SSE_START:
			s->state = c == ':' ? SSE_SKIP : SSE_NAME;
			if (c != ':')
				s->name[s->nlen++] = c;
			break;
		case SSE_NAME:
			if (c != ':') {
				/* A longer name is no field of ours. */
				if (s->nlen < sizeof(s->name))
					s->name[s->nlen++] = c;
			} else if (s->nlen == 4 && memcmp(s->name, "data", 4) == 0) {
				sse_data_line(s);
				s->state = SSE_SPACE;
			} else
				s->state = SSE_SKIP;
			break;
		case SSE_SPACE:
			s->state = SSE_VALUE;
			if (c != ' ')
				sse_add(s, c);
			break;
		case SSE_VALUE:
			sse_add(s, c);
			break;
		default:
			break;
		}
	}
	return n;
}

/* Append s to buf (size bufsz, holding a string), as much as fits. */
static void
append(char *buf, size_t bufsz, const char *s)
{
	size_t	 n = strlen(buf);

	if (n + 1 < bufsz)
		strlcpy_chk(buf + n, s, bufsz - n);
}

/* "body.prompt" from a loc array of strings and numbers. */
static void
loc_path(struct json_object *loc, char *out, size_t outsz)
{
	struct json_object	*e;
	char			 num[24];

	out[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(loc) && i < 8; i++) {
		e = json_object_array_get_idx(loc, i);
		if (i > 0)
			append(out, outsz, ".");
		if (json_object_is_type(e, json_type_string))
			append(out, outsz, json_object_get_string(e));
		else if (json_object_is_type(e, json_type_int)) {
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_object_get_int64(e));
			append(out, outsz, num);
		}
	}
}

void
fal_parse_error(const char *json, size_t len, char *msg, size_t msgsz)
{
	struct json_object	*root, *detail, *first, *v;
	char			 loc[128];

	msg[0] = '\0';
	if ((root = parse(json, len)) == NULL)
		return;
	if ((detail = member(root, "detail", json_type_string)) != NULL)
		append(msg, msgsz, json_object_get_string(detail));
	else if ((detail = member(root, "detail", json_type_array)) != NULL &&
	    json_object_array_length(detail) > 0) {
		first = json_object_array_get_idx(detail, 0);
		if ((v = member(first, "msg", json_type_string)) != NULL)
			append(msg, msgsz, json_object_get_string(v));
		if ((v = member(first, "loc", json_type_array)) != NULL) {
			loc_path(v, loc, sizeof(loc));
			if (loc[0] != '\0') {
				append(msg, msgsz, msg[0] ? " (" : "(");
				append(msg, msgsz, loc);
				append(msg, msgsz, ")");
			}
		}
	}
	if ((v = member(root, "error_type", json_type_string)) != NULL) {
		append(msg, msgsz, msg[0] ? " [" : "[");
		append(msg, msgsz, json_object_get_string(v));
		append(msg, msgsz, "]");
	}
	json_object_put(root);
}

enum gen_err
fal_status_kind(long st)
{
	if (st == 401 || st == 403)
		return GE_AUTH;
	if (st == 429)
		return GE_RATE_LIMITED;
	if (st >= 400 && st < 500)
		return GE_REJECTED;
	if (st == 502 || st == 503 || st == 504)
		return GE_UPSTREAM_DOWN;
	if (st >= 500 && st < 600)
		return GE_UPSTREAM_ERROR;
	return GE_BAD_RESPONSE;
}

int
fal_image_type(const void *data, size_t len)
{
	const unsigned char	*p = data;

	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return FMT_JPG;
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return FMT_PNG;
	return -1;
}

int
fal_content_type_fmt(const char *ct)
{
	size_t	 n = strcspn(ct, "; ");

	if ((n == 10 && strncasecmp(ct, "image/jpeg", n) == 0) ||
	    (n == 9 && strncasecmp(ct, "image/jpg", n) == 0))
		return FMT_JPG;
	if (n == 9 && strncasecmp(ct, "image/png", n) == 0)
		return FMT_PNG;
	return -1;
}

void
fal_clean_message(char *msg, size_t msgsz, const char *secret)
{
	size_t	 sl = secret ? strlen(secret) : 0, n;
	char	*p;

	if (msgsz == 0)
		return;
	/* In place: "[key]" is cut to the key's length if the key is shorter. */
	for (p = msg; sl > 0 && (p = strstr(p, secret)) != NULL; p += n) {
		n = sl < 5 ? sl : 5;
		memcpy(p, "[key]", n);
		memmove(p + n, p + sl, strlen(p + sl) + 1);
	}
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	/* Cut only now, so that no part of a key survives a cut through it. */
	if (strlen(msg) >= msgsz)
		msg[msgsz - 1] = '\0';
}

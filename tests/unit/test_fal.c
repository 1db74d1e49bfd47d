#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "backend.h"
#include "falparse.h"
#include "t.h"

static int
parse_result(const char *json, struct gen_result *res)
{
	memset(res, 0, sizeof(*res));
	return fal_parse_result(json, strlen(json), res);
}

static void
test_parse_result(void)
{
	static const char ok[] =
	    "{\"images\": [{\"url\": \"https://v3.fal.media/files/a/b.jpeg\","
	    " \"width\": 1024, \"height\": 768, \"content_type\": "
	    "\"image/jpeg\"}], \"timings\": {\"inference\": 1.2345},"
	    " \"seed\": 42, \"has_nsfw_concepts\": [false],"
	    " \"prompt\": \"a cat\"}\n";
	static const struct {
		const char	*json;
		const char	*kind;		/* NULL: parses */
	} bad[] = {
		{ "", "bad_response" },
		{ "not json", "bad_response" },
		{ "{\"images\": [{\"url\": \"https://x/\"}]", "bad_response" },
		{ "{\"images\": [{\"url\": \"https://x/\"}]} trailing",
		    "bad_response" },
		{ "[1, 2]", "bad_response" },
		{ "{}", "bad_response" },
		{ "{\"images\": []}", "bad_response" },
		{ "{\"images\": {}}", "bad_response" },
		{ "{\"images\": [1]}", "bad_response" },
		{ "{\"images\": [{}]}", "bad_response" },
		{ "{\"images\": [{\"url\": 7}]}", "bad_response" },
		{ "{\"images\": [{\"url\": \"\"}]}", "bad_response" },
		{ "{\"images\": [{\"url\": \"https://a/\\r\\nX: y\"}]}",
		    "bad_response" },
		{ "{\"images\": [{\"url\": \"https://a/b c\"}]}",
		    "bad_response" },
		{ "{\"images\": [{\"url\": \"https://a/\\u0000b\"}]}",
		    "bad_response" },
		{ "{\"images\": [{\"url\": \"https://a/\"}],"
		    " \"has_nsfw_concepts\": [true]}", "nsfw" },
		{ "{\"images\": [{\"url\": \"https://a/\"}],"
		    " \"has_nsfw_concepts\": [\"true\"]}", NULL },
		{ "{\"images\": [{\"url\": \"https://a/\"}],"
		    " \"has_nsfw_concepts\": []}", NULL },
		{ "{\"images\": [{\"url\": \"https://a/\", \"width\": -5,"
		    " \"height\": 1e999}], \"timings\": {\"inference\": -1}}",
		    NULL },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"
		    "]]]]]]]]]]]]]]]]]]]]", "bad_response" },
	};
	struct gen_result	 res;
	char			 big[4096];

	T_CHECK(parse_result(ok, &res) == 0, "good output parses");
	T_CHECK(strcmp(res.url, "https://v3.fal.media/files/a/b.jpeg") == 0,
	    "url: %s", res.url);
	T_CHECK(res.width == 1024 && res.height == 768, "size %ux%u",
	    res.width, res.height);
	T_CHECK(strcmp(res.content_type, "image/jpeg") == 0, "content type");
	T_CHECK(res.inference_ms == 1235, "inference %lld",
	    (long long)res.inference_ms);
	/* Not NUL-terminated: only len bytes are read. */
	memset(big, 'x', sizeof(big));
	memcpy(big, ok, strlen(ok));
	memset(&res, 0, sizeof(res));
	T_CHECK(fal_parse_result(big, strlen(ok), &res) == 0,
	    "length-bounded input");
	memset(&res, 0, sizeof(res));
	T_CHECK(fal_parse_result(ok, strlen(ok) / 2, &res) == -1 &&
	    res.err == GE_BAD_RESPONSE, "truncated");
	memset(&res, 0, sizeof(res));
	T_CHECK(fal_parse_result(NULL, 0, &res) == -1, "NULL input");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int	 rc = parse_result(bad[i].json, &res);

		if (bad[i].kind == NULL)
			T_CHECK(rc == 0, "case %zu should parse: %s", i,
			    res.error_message);
		else
			T_CHECK(rc == -1 && strcmp(gen_err_name(res.err),
			    bad[i].kind) == 0 && res.error_message[0] != '\0',
			    "case %zu: rc %d kind [%s] want [%s]", i, rc,
			    gen_err_name(res.err), bad[i].kind);
	}
	parse_result("{\"images\": [{\"url\": \"https://a/\", \"width\": -5,"
	    " \"height\": 99999999999}], \"request_id\": \"r-1\"}", &res);
	T_CHECK(res.width == 0 && res.height == 0, "out-of-range sizes ignored");
	T_CHECK(strcmp(res.upstream_id, "r-1") == 0, "request_id read");
	/* A request id from the header is kept. */
	memset(&res, 0, sizeof(res));
	snprintf(res.upstream_id, sizeof(res.upstream_id), "hdr");
	fal_parse_result(big, (size_t)snprintf(big, sizeof(big),
	    "{\"images\": [{\"url\": \"https://a/\"}], \"request_id\": "
	    "\"body\"}"), &res);
	T_CHECK(strcmp(res.upstream_id, "hdr") == 0, "header id wins");
	parse_result("{\"images\": [{\"url\": \"https://a/\"}],"
	    " \"has_nsfw_concepts\": [true]}", &res);
	T_CHECK(strcmp(res.url, "https://a/") == 0, "nsfw keeps the url");
}

static void
test_submit_status_error(void)
{
	static const char sub[] = "{\"request_id\": \"abc\", \"status_url\":"
	    " \"https://queue.fal.run/fal-ai/flux/requests/abc/status\","
	    " \"response_url\": \"https://queue.fal.run/fal-ai/flux/requests/"
	    "abc\", \"cancel_url\": \"https://queue.fal.run/fal-ai/flux/"
	    "requests/abc/cancel\", \"queue_position\": 0}";
	struct fal_queue	 q;
	struct gen_result	 res;
	char			 name[32], msg[256];

	memset(&res, 0, sizeof(res));
	T_CHECK(fal_parse_submit(sub, strlen(sub), &q, &res) == 0, "submit");
	T_CHECK(strcmp(q.request_id, "abc") == 0 &&
	    strstr(q.status_url, "/fal-ai/flux/requests/abc/status") &&
	    strstr(q.cancel_url, "/cancel"), "submit fields");
	T_CHECK(fal_parse_submit("{\"request_id\": \"abc\"}", 19, &q,
	    &res) == -1, "submit cut");
	T_CHECK(fal_parse_submit("{\"request_id\": \"abc\"}", 21, &q,
	    &res) == -1 && res.err == GE_BAD_RESPONSE,
	    "submit without URLs");

#define ST(s)	fal_parse_status(s, strlen(s), name, sizeof(name))
	T_CHECK(ST("{\"status\": \"IN_QUEUE\", \"queue_position\": 3}") ==
	    FAL_ST_QUEUED, "IN_QUEUE");
	T_CHECK(ST("{\"status\": \"IN_PROGRESS\", \"logs\": []}") ==
	    FAL_ST_RUNNING, "IN_PROGRESS");
	T_CHECK(ST("{\"status\": \"COMPLETED\"}") == FAL_ST_COMPLETED,
	    "COMPLETED");
	T_CHECK(ST("{\"status\": \"EXPLODED\"}") == FAL_ST_UNKNOWN &&
	    strcmp(name, "EXPLODED") == 0, "unknown status named");
	T_CHECK(ST("{\"status\": \"a\\nb\"}") == FAL_ST_UNKNOWN &&
	    strcmp(name, "?") == 0, "odd status not echoed");
	T_CHECK(ST("{\"status\": 3}") == FAL_ST_BAD, "status not a string");
	T_CHECK(ST("<html>") == FAL_ST_BAD, "status garbage");
#undef ST

#define ERR(s)	fal_parse_error(s, strlen(s), msg, sizeof(msg))
	ERR("{\"detail\": \"Unauthorized\"}");
	T_CHECK(strcmp(msg, "Unauthorized") == 0, "string detail: %s", msg);
	ERR("{\"detail\": [{\"loc\": [\"body\", \"prompt\"], \"msg\": "
	    "\"field required\", \"type\": \"value_error.missing\"}]}");
	T_CHECK(strcmp(msg, "field required (body.prompt)") == 0,
	    "array detail: %s", msg);
	ERR("{\"detail\": [{\"loc\": [\"body\", \"image_size\", 0], "
	    "\"msg\": \"bad\"}]}");
	T_CHECK(strcmp(msg, "bad (body.image_size.0)") == 0, "loc: %s", msg);
	ERR("{\"detail\": \"Runner failed\", \"error_type\": "
	    "\"runner_disconnected\"}");
	T_CHECK(strcmp(msg, "Runner failed [runner_disconnected]") == 0,
	    "error_type: %s", msg);
	ERR("upstream connect error");
	T_CHECK(msg[0] == '\0', "no JSON, no message");
	ERR("{\"detail\": []}");
	T_CHECK(msg[0] == '\0', "empty detail");
	fal_parse_error("{\"detail\": \"0123456789\"}", 24, msg, 6);
	T_CHECK(strcmp(msg, "01234") == 0, "error message cut: %s", msg);
#undef ERR
}

static void
test_kinds(void)
{
	T_CHECK(strcmp(gen_err_name(fal_status_kind(401)), "auth") == 0, "401");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(403)), "auth") == 0, "403");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(422)), "rejected") == 0, "422");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(404)), "rejected") == 0, "404");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(429)), "rate_limited") == 0, "429");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(500)), "upstream_error") == 0, "500");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(502)), "upstream_down") == 0, "502");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(503)), "upstream_down") == 0, "503");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(504)), "upstream_down") == 0, "504");
	T_CHECK(strcmp(gen_err_name(fal_status_kind(302)), "bad_response") == 0, "302");
	T_CHECK(gen_err_retryable(GE_RATE_LIMITED) &&
	    gen_err_retryable(GE_UPSTREAM_DOWN) &&
	    gen_err_retryable(GE_UPSTREAM_ERROR) &&
	    gen_err_retryable(GE_TIMEOUT), "retryable kinds");
	T_CHECK(!gen_err_retryable(GE_AUTH) && !gen_err_retryable(GE_REJECTED)
	    && !gen_err_retryable(GE_NSFW) &&
	    !gen_err_retryable(GE_BAD_RESPONSE), "final kinds");
}

static void
test_bytes_and_messages(void)
{
	char	 m[64];

	T_CHECK(fal_image_type("\xff\xd8\xff\xe0", 4) == FMT_JPG, "jpeg");
	T_CHECK(fal_image_type("\x89PNG\r\n\x1a\n....", 12) == FMT_PNG, "png");
	T_CHECK(fal_image_type("\x89PNG", 4) == -1, "short png");
	T_CHECK(fal_image_type("GIF89a", 6) == -1, "gif");
	T_CHECK(fal_image_type("", 0) == -1, "empty");
	T_CHECK(fal_content_type_fmt("image/jpeg") == FMT_JPG &&
	    fal_content_type_fmt("IMAGE/JPG") == FMT_JPG &&
	    fal_content_type_fmt("image/png; q=1") == FMT_PNG &&
	    fal_content_type_fmt("image/webp") == -1 &&
	    fal_content_type_fmt("image/pngx") == -1, "content types");

	snprintf(m, sizeof(m), "bad key sk-123456:abc in \x01here\xff");
	fal_clean_message(m, sizeof(m), "sk-123456:abc");
	T_CHECK(strcmp(m, "bad key [key] in ?here?") == 0, "redacted: %s", m);
	snprintf(m, sizeof(m), "abab");
	fal_clean_message(m, sizeof(m), "ab");
	T_CHECK(strcmp(m, "[k[k") == 0, "short key: %s", m);
	/* The cut comes after the redaction: no key prefix survives. */
	snprintf(m, sizeof(m), "0123456789 sk-123456:abc");
	fal_clean_message(m, 16, "sk-123456:abc");
	T_CHECK(strcmp(m, "0123456789 [key") == 0, "cut: %s", m);
	snprintf(m, sizeof(m), "plain");
	fal_clean_message(m, sizeof(m), NULL);
	T_CHECK(strcmp(m, "plain") == 0, "no secret");
}

static void
test_input(void)
{
	struct img_req		 r = { .w = 1024, .h = 768, .fmt = FMT_PNG,
	    .prompt = (char *)"a \"quoted\" caf\xc3\xa9", .prompt_len = 17 };
	struct json_object	*o, *v, *sz;
	char			*s;

	s = fal_build_input(&r, 4, 1);
	o = json_tokener_parse(s);
	T_CHECK(o != NULL, "input is JSON: %s", s);
	T_CHECK(json_object_object_get_ex(o, "prompt", &v) &&
	    strcmp(json_object_get_string(v), r.prompt) == 0, "prompt");
	T_CHECK(json_object_object_get_ex(o, "image_size", &sz) &&
	    json_object_object_get_ex(sz, "width", &v) &&
	    json_object_get_int(v) == 1024 &&
	    json_object_object_get_ex(sz, "height", &v) &&
	    json_object_get_int(v) == 768, "image_size");
	T_CHECK(json_object_object_get_ex(o, "num_inference_steps", &v) &&
	    json_object_get_int(v) == 4, "steps");
	T_CHECK(!json_object_object_get_ex(o, "seed", &v), "no seed");
	T_CHECK(json_object_object_get_ex(o, "num_images", &v) &&
	    json_object_get_int(v) == 1, "num_images");
	T_CHECK(json_object_object_get_ex(o, "enable_safety_checker", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v), "safety");
	T_CHECK(json_object_object_get_ex(o, "output_format", &v) &&
	    strcmp(json_object_get_string(v), "png") == 0, "format");
	json_object_put(o);
	free(s);

	r.fmt = FMT_JPG;
	r.has_seed = 1;
	r.seed = 4294967295u;
	s = fal_build_input(&r, 8, 0);
	o = json_tokener_parse(s);
	T_CHECK(json_object_object_get_ex(o, "seed", &v) &&
	    json_object_get_int64(v) == 4294967295LL, "seed");
	T_CHECK(json_object_object_get_ex(o, "output_format", &v) &&
	    strcmp(json_object_get_string(v), "jpeg") == 0, "jpeg");
	T_CHECK(json_object_object_get_ex(o, "enable_safety_checker", &v) &&
	    !json_object_get_boolean(v), "safety off");
	json_object_put(o);
	free(s);
}

/*
 * Feed text to a new reader in pieces of step bytes (0: all at once);
 * the events' data, each followed by '|' ("!" for one over the cap),
 * into out.
 */
static void
sse_events(const char *text, size_t len, size_t step, char *out,
    size_t outsz)
{
	static struct fal_sse	 s;
	enum fal_sse_got	 got;
	size_t			 off = 0, n, k;

	out[0] = '\0';
	fal_sse_init(&s);
	while (off < len) {
		n = step == 0 || len - off < step ? len - off : step;
		while (n > 0) {
			k = fal_sse_feed(&s, text + off, n, &got);
			T_CHECK(k > 0 && k <= n, "sse progress");
			off += k;
			n -= k;
			if (got == FAL_SSE_EVENT) {
				strncat(out, s.data, outsz - strlen(out) - 1);
				strncat(out, "|", outsz - strlen(out) - 1);
			} else if (got == FAL_SSE_TOO_LONG)
				strncat(out, "!|", outsz - strlen(out) - 1);
		}
	}
}

static void
test_sse(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "data: {\"status\": \"IN_QUEUE\"}\n\n", "{\"status\": \"IN_QUEUE\"}|" },
		{ "data:x\n\ndata: y\n\n", "x|y|" },
		{ "data:  two spaces\n\n", " two spaces|" },
		{ "data: a\r\n\r\ndata: b\r\rdata: c\n\n", "a|b|c|" },
		{ ": keep-alive\n\n: again\n\ndata: z\n\n", "z|" },
		{ "data: one\ndata: two\n\n", "one\ntwo|" },
		{ "event: status\nid: 7\nretry: 10\ndata: w\n\n", "w|" },
		{ "data\n\n", "|" },
		{ "data:\n\n", "|" },
		{ "datum: no\n\ndata : no\n\n\n\n", "" },
		{ "dataxyzzyplugh: no\n\n", "" },
		{ "data: unended\n", "" },
		{ "data: unended", "" },
		{ "\n\n\r\n", "" },
		{ "data: a:b: c\n\n", "a:b: c|" },
	};
	char		 got[256], whole[256], *big;
	size_t		 len, n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].in);
		sse_events(cases[i].in, len, 0, whole, sizeof(whole));
		T_CHECK(strcmp(whole, cases[i].want) == 0, "sse case %zu: [%s]",
		    i, whole);
		/* In pieces of every size, CR and LF apart included. */
		for (size_t step = 1; step <= len; step++) {
			sse_events(cases[i].in, len, step, got, sizeof(got));
			T_CHECK(strcmp(got, whole) == 0, "sse case %zu step %zu: "
			    "[%s]", i, step, got);
		}
	}
	/* One event over the cap is dropped; the next is read. */
	n = FAL_SSE_MAX + 100;
	big = malloc(n + 32);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n);
	len = 6 + n;
	len += (size_t)sprintf(big + len, "\n\ndata: after\n\n");
	sse_events(big, len, 0, got, sizeof(got));
	T_CHECK(strcmp(got, "!|after|") == 0, "sse too long: [%s]", got);
	sse_events(big, len, 1000, got, sizeof(got));
	T_CHECK(strcmp(got, "!|after|") == 0, "sse too long in pieces");
	/* Exactly the most that fits. */
	memset(big + 6, 'y', FAL_SSE_MAX - 1);
	len = 6 + FAL_SSE_MAX - 1;
	len += (size_t)sprintf(big + len, "\n\n");
	sse_events(big, len, 7, got, sizeof(got));
	T_CHECK(strlen(got) == sizeof(got) - 1 && got[0] == 'y', "sse at cap");
	free(big);
}

void
test_fal(void)
{
	test_parse_result();
	test_submit_status_error();
	test_kinds();
	test_bytes_and_messages();
	test_input();
	test_sse();
}

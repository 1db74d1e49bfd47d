#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3sign.h"
#include "t.h"
#include "util.h"

/* A complete, valid config (path-style, Swift-like). */
static void
cfg_fill(struct s3_cfg *c, const char *endpoint, int vhost)
{
	memset(c, 0, sizeof(*c));
	c->endpoint = xstrdup(endpoint);
	c->bucket = xstrdup("pics");
	c->region = xstrdup("us-east-1");
	c->vhost = vhost;
	c->key_id = xstrdup("test:tester");
	c->secret = xstrdup("s3cr3t-value");
	c->connect_timeout_ms = 1000;
	c->timeout_ms = 5000;
}

/* Parse text as a credentials file into c; the error ("" if none). */
static const char *
creds(const char *text, struct s3_cfg *c)
{
	static char	 err[256];

	err[0] = '\0';
	if (s3_creds_parse(text, strlen(text), "creds", c, err,
	    sizeof(err)) == 0)
		err[0] = '\0';
	return err;
}

static void
test_creds(void)
{
	static const struct {
		const char	*text;
		const char	*err;		/* prefix; "" = reads */
	} cases[] = {
		{ "[default]\naws_access_key_id = AKID\n"
		  "aws_secret_access_key = SECRET\n", "" },
		/* Other profiles, comments, blank lines, case of names. */
		{ "# mine\n[work]\naws_access_key_id = WORK\n"
		  "aws_secret_access_key = WSECRET\n\n; the default\n"
		  "[default]\nAWS_ACCESS_KEY_ID = AKID ; inline\n"
		  "aws_secret_access_key=SECRET\nregion = eu-west-1\n"
		  "[later]\naws_access_key_id = LATER\n", "" },
		/* CRLF line ends, no final newline, a BOM. */
		{ "\xef\xbb\xbf[default]\r\naws_access_key_id = AKID\r\n"
		  "aws_secret_access_key = SECRET", "" },
		{ "", "creds: profile [default] has no aws_access_key_id" },
		{ "[work]\naws_access_key_id = AKID\n"
		  "aws_secret_access_key = SECRET\n",
		  "creds: profile [default] has no aws_access_key_id" },
		{ "[default]\naws_access_key_id = AKID\n",
		  "creds: profile [default] has no aws_secret_access_key" },
		{ "[Default]\naws_access_key_id = AKID\n"
		  "aws_secret_access_key = SECRET\n",
		  "creds: profile [default] has no" },
		{ "[default]\naws_access_key_id =\n"
		  "aws_secret_access_key = SECRET\n",
		  "creds:2: aws_access_key_id: empty" },
		{ "[default]\naws_access_key_id = A\naws_access_key_id = B\n",
		  "creds:3: aws_access_key_id: repeated" },
		{ "[default]\naws_access_key_id = AKID\n"
		  "aws_secret_access_key = two words\n",
		  "creds:3: aws_secret_access_key: not printable" },
		{ "[default]\naws_access_key_id = AKID\n"
		  "aws_secret_access_key = SECRET\naws_session_token = T\n",
		  "creds:4: aws_session_token: temporary credentials" },
		{ "[default]\njunk\n", "creds:2: malformed line" },
		{ "[default\naws_access_key_id = A\n", "creds:1: malformed line" },
	};
	struct s3_cfg	 c;
	char		 longline[400];
	const char	*e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0, sizeof(c));
		e = creds(cases[i].text, &c);
		T_CHECK(strncmp(e, cases[i].err, strlen(cases[i].err)) == 0 &&
		    (cases[i].err[0] != '\0' || e[0] == '\0'),
		    "creds case %zu: got \"%s\", want \"%s\"", i, e,
		    cases[i].err);
		if (cases[i].err[0] == '\0')
			T_CHECK(c.key_id != NULL && c.secret != NULL &&
			    strcmp(c.key_id, "AKID") == 0 &&
			    strcmp(c.secret, "SECRET") == 0,
			    "creds case %zu: the [default] pair", i);
		else
			T_CHECK(c.key_id == NULL && c.secret == NULL,
			    "creds case %zu: nothing taken on failure", i);
		s3_cfg_free(&c);
	}

	/* A line inih cannot hold is refused, not cut. */
	snprintf(longline, sizeof(longline), "[default]\n"
	    "aws_access_key_id = %0300d\n", 1);
	e = creds(longline, &c);
	T_CHECK(strcmp(e, "creds:2: line too long") == 0, "long: %s", e);

	/* Values already there are replaced. */
	cfg_fill(&c, "http://127.0.0.1:9000", 0);
	e = creds("[default]\naws_access_key_id = NEW\n"
	    "aws_secret_access_key = NEWSECRET\n", &c);
	T_CHECK(e[0] == '\0' && strcmp(c.key_id, "NEW") == 0 &&
	    strcmp(c.secret, "NEWSECRET") == 0, "replaced: %s", e);
	s3_cfg_free(&c);
	T_CHECK(c.secret == NULL && c.key_id == NULL && c.endpoint == NULL,
	    "s3_cfg_free clears");
}

static void
test_creds_file(void)
{
	static const char	 text[] = "[default]\naws_access_key_id = AKID\n"
	    "aws_secret_access_key = SECRET\n";
	struct s3_cfg		 c;
	char			 path[] = "/tmp/pp-s3creds-XXXXXX", err[256];
	int			 fd = mkstemp(path);

	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	memset(&c, 0, sizeof(c));
	T_CHECK(s3_creds_load(path, &c, err, sizeof(err)) == 0 &&
	    strcmp(c.secret, "SECRET") == 0, "load: %s", err);
	s3_cfg_free(&c);
	unlink(path);
	T_CHECK(s3_creds_load(path, &c, err, sizeof(err)) == -1 &&
	    strstr(err, "No such file") != NULL && c.secret == NULL,
	    "missing file: %s", err);
	T_CHECK(s3_creds_load("/tmp", &c, err, sizeof(err)) == -1 &&
	    strstr(err, "not a file") != NULL, "a directory: %s", err);
}

static void
test_keys(void)
{
	static const char *const good[] = {
		"a", "a/b.png", "0123abcd/ef/0123.jpg", "A-Z_a.z-0/9",
		"promptpix-probe/0123456789abcdef", "..a/b..", ".hidden",
	};
	static const char *const bad[] = {
		"", "/a", "a/", "a//b", ".", "..", "./a", "a/./b", "a/../b",
		"a/..", "a b", "a?b", "a#b", "a%2Fb", "a+b", "caf\xc3\xa9",
		"a\\b", "a\nb",
	};
	char	 k[S3_KEY_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		T_CHECK(s3_key_valid(good[i]), "key \"%s\" valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CHECK(!s3_key_valid(bad[i]), "key \"%s\" refused", bad[i]);
	memset(k, 'k', S3_KEY_MAX);
	k[S3_KEY_MAX] = '\0';
	T_CHECK(s3_key_valid(k), "a key of S3_KEY_MAX bytes");
	k[S3_KEY_MAX] = 'k';
	k[S3_KEY_MAX + 1] = '\0';
	T_CHECK(!s3_key_valid(k), "a key of S3_KEY_MAX + 1 bytes");
}

static void
test_cfg_check(void)
{
	static const struct {
		const char	*endpoint;
		const char	*err;		/* prefix; NULL = valid */
	} eps[] = {
		{ "http://127.0.0.1:9000", NULL },
		{ "https://s3.eu-west-1.amazonaws.com/", NULL },
		{ "https://acct.r2.cloudflarestorage.com:443", NULL },
		{ "ftp://h", "s3 endpoint: must start with http" },
		{ "http://", "s3 endpoint: has no host" },
		{ "http://:80", "s3 endpoint: has no host" },
		{ "http://S3.Example.com", "s3 endpoint: host must be" },
		{ "http://[::1]:9000", "s3 endpoint: host must be" },
		{ "http://user@h", "s3 endpoint: host must be" },
		{ "http://h:0", "s3 endpoint: port" },
		{ "http://h:65536", "s3 endpoint: port" },
		{ "http://h:", "s3 endpoint: port" },
		{ "http://h:-1", "s3 endpoint: port" },
		{ "http://h/bucket", "s3 endpoint: must be only" },
		{ "http://h?x", "s3 endpoint: host must be" },
	};
	static const char *const buckets_bad[] = {
		"ab", "Pics", "-pics", "pics-", "pi..cs", "pi_cs",
		"a123456789012345678901234567890123456789012345678901234567890bcd",
	};
	struct s3_cfg	 c;
	char		 err[256];
	int		 rc;

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		cfg_fill(&c, eps[i].endpoint, 0);
		err[0] = '\0';
		rc = s3_cfg_check(&c, err, sizeof(err));
		T_CHECK(eps[i].err == NULL ? rc == 0 : rc == -1 &&
		    strncmp(err, eps[i].err, strlen(eps[i].err)) == 0,
		    "endpoint \"%s\": %s", eps[i].endpoint, err);
		s3_cfg_free(&c);
	}
	for (size_t i = 0; i < sizeof(buckets_bad) / sizeof(buckets_bad[0]);
	    i++) {
		cfg_fill(&c, "http://h", 0);
		free(c.bucket);
		c.bucket = xstrdup(buckets_bad[i]);
		T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == -1 &&
		    strncmp(err, "s3 bucket:", 10) == 0, "bucket \"%s\"",
		    buckets_bad[i]);
		s3_cfg_free(&c);
	}
	cfg_fill(&c, "http://h", 0);
	free(c.region);
	c.region = xstrdup("US-EAST-1");
	T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == -1 &&
	    strncmp(err, "s3 region:", 10) == 0, "region: %s", err);
	free(c.region);
	c.region = xstrdup("auto");
	T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == 0, "R2's auto: %s", err);
	free(c.secret);
	c.secret = xstrdup("has space");
	T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == -1 &&
	    strstr(err, "secret access key") != NULL &&
	    strstr(err, "has space") == NULL, "secret refused, not shown: %s",
	    err);
	free(c.secret);
	c.secret = NULL;
	T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == -1, "secret missing");
	c.secret = xstrdup("ok");
	free(c.key_id);
	c.key_id = xstrdup("");
	T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == -1 &&
	    strncmp(err, "s3 access key id", 16) == 0, "key id: %s", err);
	free(c.key_id);
	c.key_id = xstrdup("k");
	c.timeout_ms = 0;
	T_CHECK(s3_cfg_check(&c, err, sizeof(err)) == -1, "timeout 0");
	s3_cfg_free(&c);
}

static void
test_urls(void)
{
	static const struct {
		const char	*endpoint;
		int		 vhost;
		const char	*key;
		const char	*url;		/* NULL: refused */
	} cases[] = {
		{ "http://127.0.0.1:9000", 0, "a/b.png",
		  "http://127.0.0.1:9000/pics/a/b.png" },
		{ "http://127.0.0.1:9000/", 0, "k", "http://127.0.0.1:9000/pics/k" },
		{ "https://s3.amazonaws.com", 1, "a/b.png",
		  "https://pics.s3.amazonaws.com/a/b.png" },
		{ "https://store.example:8443", 1, "k",
		  "https://pics.store.example:8443/k" },
		/* The scheme's own port is left out, as in the Host header. */
		{ "https://s3.example:443", 0, "k", "https://s3.example/pics/k" },
		{ "http://s3.example:80/", 1, "k", "http://pics.s3.example/k" },
		{ "https://s3.example:80", 0, "k", "https://s3.example:80/pics/k" },
		{ "http://h", 0, "a/../b", NULL },
		{ "http://h", 0, "a b", NULL },
		{ "http://h/x", 0, "k", NULL },
	};
	struct s3_cfg	 c;
	char		 url[S3_URL_MAX], small[24];
	int		 rc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg_fill(&c, cases[i].endpoint, cases[i].vhost);
		url[0] = '\0';
		rc = s3_object_url(&c, cases[i].key, url, sizeof(url));
		T_CHECK(cases[i].url == NULL ? rc == -1 :
		    rc == 0 && strcmp(url, cases[i].url) == 0,
		    "url case %zu: %s", i, url);
		s3_cfg_free(&c);
	}
	cfg_fill(&c, "http://127.0.0.1:9000", 0);
	T_CHECK(s3_object_url(&c, "a/b.png", small, sizeof(small)) == -1,
	    "a URL that does not fit is refused");
	s3_cfg_free(&c);
}

/*
 * AWS's documented example of query-string authentication (the Amazon
 * S3 API Reference, "Authenticating Requests: Using Query Parameters",
 * example "GET object"): examplebucket/test.txt, virtual-hosted, signed
 * 2013-05-24T00:00:00Z for 86400 s. The signature is AWS's.
 */
#define AWS_EXAMPLE_URL "https://examplebucket.s3.amazonaws.com/test.txt" \
	"?X-Amz-Algorithm=AWS4-HMAC-SHA256" \
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3" \
	"%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400" \
	"&X-Amz-SignedHeaders=host&X-Amz-Signature=" \
	"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
#define AWS_EXAMPLE_TIME 1369353600	/* 2013-05-24T00:00:00Z */

static void
aws_example(struct s3_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->endpoint = xstrdup("https://s3.amazonaws.com");
	c->bucket = xstrdup("examplebucket");
	c->region = xstrdup("us-east-1");
	c->vhost = 1;
	c->key_id = xstrdup("AKIAIOSFODNN7EXAMPLE");
	c->secret = xstrdup("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	c->connect_timeout_ms = c->timeout_ms = 1000;
}

#define PATH_STYLE "http://127.0.0.1:9000/pics/a/b.png?" \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%3Atester" \
	"%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=" \
	"20130524T000000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&" \
	"X-Amz-Signature="

static void
test_presign(void)
{
	struct s3_cfg	 c;
	char		 a[S3_PRESIGN_MAX], b[S3_PRESIGN_MAX];
	int		 rc;

	aws_example(&c);
	rc = s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 1, 86400, a,
	    sizeof(a));
	T_CHECK(rc == 0 && strcmp(a, AWS_EXAMPLE_URL) == 0,
	    "AWS's example: %s", a);

	/* Within one window, one URL; its time is the window's start. */
	rc = s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME + 3599, 3600,
	    86400, b, sizeof(b));
	T_CHECK(rc == 0 && strcmp(a, b) == 0, "same window, same URL: %s", b);
	rc = s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME + 3600, 3600,
	    86400, b, sizeof(b));
	T_CHECK(rc == 0 && strstr(b, "X-Amz-Date=20130524T010000Z&"
	    "X-Amz-Expires=86400&") != NULL && strcmp(a, b) != 0,
	    "next window, next URL: %s", b);

	/* Each input is signed. */
	rc = s3_presign_get(&c, "test.txu", AWS_EXAMPLE_TIME, 1, 86400, b,
	    sizeof(b));
	T_CHECK(rc == 0 && strcmp(strstr(a, "Signature="),
	    strstr(b, "Signature=")) != 0, "the key is signed");
	rc = s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 1, 86399, b,
	    sizeof(b));
	T_CHECK(rc == 0 && strcmp(strstr(a, "Signature="),
	    strstr(b, "Signature=")) != 0, "the expiry is signed");
	c.secret[0] = 'v';
	rc = s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 1, 86400, b,
	    sizeof(b));
	T_CHECK(rc == 0 && strcmp(strstr(a, "Signature="),
	    strstr(b, "Signature=")) != 0 && strstr(b, c.secret) == NULL,
	    "the secret signs, and is not in the URL");

	/* Bounds. */
	T_CHECK(s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 0, 86400, b,
	    sizeof(b)) == -1, "window 0");
	T_CHECK(s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 600, 600, b,
	    sizeof(b)) == -1, "window not below expires");
	T_CHECK(s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 60,
	    S3_EXPIRES_MAX + 1, b, sizeof(b)) == -1, "expires over a week");
	T_CHECK(s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 60,
	    S3_EXPIRES_MAX, b, sizeof(b)) == 0, "expires a week");
	T_CHECK(s3_presign_get(&c, "../x", AWS_EXAMPLE_TIME, 60, 600, b,
	    sizeof(b)) == -1, "bad key");
	T_CHECK(s3_presign_get(&c, "test.txt", AWS_EXAMPLE_TIME, 60, 600, b,
	    100) == -1, "no room");
	s3_cfg_free(&c);

	/* Path-style: the bucket is in the path; a ':' of the key id is
	   encoded. */
	cfg_fill(&c, "http://127.0.0.1:9000", 0);
	rc = s3_presign_get(&c, "a/b.png", AWS_EXAMPLE_TIME, 60, 600, b,
	    sizeof(b));
	T_CHECK(rc == 0 && strncmp(b, PATH_STYLE, strlen(PATH_STYLE)) == 0,
	    "path-style: %s", b);
	s3_cfg_free(&c);
}

static void
test_errors(void)
{
	static const struct {
		const char	*body;
		const char	*msg;
		const char	*code;
	} cases[] = {
		{ "<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>"
		  "SignatureDoesNotMatch</Code><Message>The request signature "
		  "we calculated does not match.</Message></Error>",
		  "SignatureDoesNotMatch (the secret does not match the key id)"
		  ": The request signature we calculated does not match.",
		  "SignatureDoesNotMatch" },
		{ "<Error><Code>InvalidAccessKeyId</Code></Error>",
		  "InvalidAccessKeyId (unknown access key id)",
		  "InvalidAccessKeyId" },
		{ "<Error><Code>AuthorizationHeaderMalformed</Code><Message>"
		  "the region &apos;us-west-2&apos; is wrong; expecting "
		  "&apos;us-east-1&apos;</Message></Error>",
		  "AuthorizationHeaderMalformed (wrong region): the region "
		  "'us-west-2' is wrong; expecting 'us-east-1'",
		  "AuthorizationHeaderMalformed" },
		{ "<Error><Code>NoSuchBucket</Code><Message>a\r\nb &lt;c&gt; "
		  "&amp;d</Message></Error>",
		  "NoSuchBucket (no such bucket): a  b <c> &d", "NoSuchBucket" },
		{ "<Error><Code>SlowDown</Code><Message>Reduce</Message>",
		  "SlowDown: Reduce", "SlowDown" },
		{ "<Error><Code>Bad\"<x>Code</Code>", "BadxCode", "BadxCode" },
		{ "<Error><Code>NoEnd", "", "" },
		{ "<html>502 Bad Gateway</html>", "", "" },
		{ "", "", "" },
	};
	char	 msg[256], code[64], small[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s3_error_detail(cases[i].body, strlen(cases[i].body), msg,
		    sizeof(msg));
		s3_error_code(cases[i].body, strlen(cases[i].body), code,
		    sizeof(code));
		T_CHECK(strcmp(msg, cases[i].msg) == 0 &&
		    strcmp(code, cases[i].code) == 0,
		    "error case %zu: \"%s\" / \"%s\"", i, msg, code);
	}
	s3_error_detail(NULL, 0, msg, sizeof(msg));
	T_CHECK(msg[0] == '\0', "no body");
	s3_error_detail(cases[0].body, strlen(cases[0].body), small,
	    sizeof(small));
	T_CHECK(strcmp(small, "Signatu") == 0, "cut to fit: %s", small);
	/* Only len bytes are read: the Code's end is past them. */
	s3_error_code(cases[1].body, 30, code, sizeof(code));
	T_CHECK(code[0] == '\0', "bounded by len: %s", code);
}

void
test_s3(void)
{
	test_creds();
	test_creds_file();
	test_keys();
	test_cfg_check();
	test_urls();
	test_presign();
	test_errors();
}

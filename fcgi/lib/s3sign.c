/*
 * s3sign.c: the pure half of the S3 client (see s3sign.h): its settings and
 * their check, the AWS shared-credentials file, keys, object URLs,
 * S3's error answers, and presigned GET URLs signed with SigV4's
 * query-string form (HMAC-SHA256, OpenSSL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hash.h"
#include "hbuf.h"
#include "s3sign.h"
#include "util.h"

#define CREDS_MAX	65536		/* bytes of a credentials file */
#define KEY_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789/._-"
#define HOST_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789.-"
#define BUCKET_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789.-"
#define REGION_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789-"
#define ALGORITHM	"AWS4-HMAC-SHA256"
#define SECRET_MAX	256		/* bytes of a key id or a secret */

/* An endpoint, split: pointers into the endpoint string. */
struct endpoint {
	const char	*scheme;	/* "http" or "https" */
	size_t		 scheme_len;
	const char	*host;		/* as the Host header sends it: the
					   name, and ":PORT" unless it is
					   the scheme's default */
	size_t		 host_len;
};

/*
 * Split ep into e. Returns 0; or -1 with a static reason: not http or
 * https, a host that is empty, not lowercase [a-z0-9.-] or too long, a
 * port that is not 1..65535, or anything after the authority but "/".
 */
static int
endpoint_split(const char *ep, struct endpoint *e, const char **why)
{
	const char	*p, *colon;
	size_t		 n;
	unsigned long	 port = 0;
	char		*end = NULL;

	if (strncmp(ep, "https://", 8) == 0)
		e->scheme_len = 5;
	else if (strncmp(ep, "http://", 7) == 0)
		e->scheme_len = 4;
	else {
		*why = "must start with http:// or https://";
		return -1;
	}
	e->scheme = ep;
	p = ep + e->scheme_len + 3;
	n = strcspn(p, ":/");
	if (n == 0 || n > 253) {
		*why = "has no host name, or one over 253 bytes";
		return -1;
	}
	if (strspn(p, HOST_CHARS) < n || p[0] == '.' || p[0] == '-') {
		*why = "host must be a lowercase name or IPv4 address";
		return -1;
	}
	e->host = p;
	e->host_len = n;
	colon = p + n;
	if (*colon == ':') {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (end == colon + 1 || colon[1] < '0' || colon[1] > '9' ||
		    errno != 0 || port == 0 || port > 65535) {
			*why = "port must be 1..65535";
			return -1;
		}
		p = end;
	} else
		p = colon;
	if (p[0] != '\0' && strcmp(p, "/") != 0) {
		*why = "must be only http[s]://HOST[:PORT], without a path";
		return -1;
	}
	/* Host header and URLs: a default port is left out, as curl does. */
	if (port != 0 && port != (e->scheme_len == 5 ? 443UL : 80UL))
		e->host_len = (size_t)(end - e->host);
	return 0;
}

/* Is s 1..SECRET_MAX bytes of printable ASCII without spaces? */
static int
token_ok(const char *s)
{
	size_t	 n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > SECRET_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Is b a bucket name as S3 makes them (3..63, no "..", alnum ends)? */
static int
bucket_ok(const char *b)
{
	size_t	 n = strlen(b);

	return n >= 3 && n <= 63 && strspn(b, BUCKET_CHARS) == n &&
	    strchr(".-", b[0]) == NULL && strchr(".-", b[n - 1]) == NULL &&
	    strstr(b, "..") == NULL;
}

int
s3_cfg_check(const struct s3_cfg *c, char *err, size_t errlen)
{
	struct endpoint	 e;
	const char	*why;
	size_t		 n;

	if (c->endpoint == NULL || endpoint_split(c->endpoint, &e, &why) != 0) {
		snprintf(err, errlen, "s3 endpoint: %s",
		    c->endpoint == NULL ? "not set" : why);
		return -1;
	}
	/* BUCKET.127.0.0.1 names no host: an address needs path-style. */
	if (c->vhost && strspn(e.host, "0123456789.") >= strcspn(e.host, ":/")) {
		snprintf(err, errlen, "s3 endpoint: virtual-hosted URLs "
		    "(BUCKET.HOST) need a host name, not an address: use "
		    "path-style");
		return -1;
	}
	if (c->bucket == NULL || !bucket_ok(c->bucket)) {
		snprintf(err, errlen, "s3 bucket: must be 3..63 of [a-z0-9.-], "
		    "a letter or digit at each end");
		return -1;
	}
	n = c->region != NULL ? strlen(c->region) : 0;
	if (n == 0 || n > 32 || strspn(c->region, REGION_CHARS) != n) {
		snprintf(err, errlen, "s3 region: must be 1..32 of [a-z0-9-] "
		    "(us-east-1; auto for R2)");
		return -1;
	}
	if (!token_ok(c->key_id)) {
		snprintf(err, errlen, "s3 access key id: must be 1..%d bytes "
		    "of printable ASCII, no spaces", SECRET_MAX);
		return -1;
	}
	if (!token_ok(c->secret)) {
		snprintf(err, errlen, "s3 secret access key: must be 1..%d "
		    "bytes of printable ASCII, no spaces", SECRET_MAX);
		return -1;
	}
	if (c->connect_timeout_ms <= 0 || c->timeout_ms <= 0) {
		snprintf(err, errlen, "s3 timeouts: must be above 0");
		return -1;
	}
	return 0;
}

/* Wipe and free *s, which may be NULL; *s is NULL after. */
static void
wipe_free(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
s3_cfg_free(struct s3_cfg *c)
{
	free(c->endpoint);
	free(c->bucket);
	free(c->region);
	free(c->key_id);
	c->endpoint = c->bucket = c->region = c->key_id = NULL;
	wipe_free(&c->secret);
}

/* Parsing state of a credentials file, shared with the inih callbacks. */
struct creds {
	const char	*name;		/* the file, for messages */
	const char	*p;		/* what is left of the text */
	const char	*end;
	int		 line;		/* of the line inih is handling */
	int		 err_line;
	char		 reason[128];
	char		*key_id;
	char		*secret;
};

/* Record the first failure, at the current line. Returns 0 (for inih). */
static int
creds_fail(struct creds *cr, const char *reason, const char *name)
{
	if (cr->err_line == 0) {
		cr->err_line = cr->line;
		snprintf(cr->reason, sizeof(cr->reason), "%s%s%s",
		    name != NULL ? name : "", name != NULL ? ": " : "", reason);
	}
	return 0;
}

/*
 * inih's reader: the next line of the text into str (num bytes),
 * counted. A line that does not fit, or holds a NUL, ends the parse.
 */
static char *
creds_line(char *str, int num, void *stream)
{
	struct creds	*cr = stream;
	const char	*nl;
	size_t		 n;

	if (cr->err_line != 0 || cr->p >= cr->end)
		return NULL;
	nl = memchr(cr->p, '\n', (size_t)(cr->end - cr->p));
	n = nl != NULL ? (size_t)(nl - cr->p) + 1 : (size_t)(cr->end - cr->p);
	cr->line++;
	if (n >= (size_t)num) {
		creds_fail(cr, "line too long", NULL);
		return NULL;
	}
	if (memchr(cr->p, '\0', n) != NULL) {
		creds_fail(cr, "NUL byte", NULL);
		return NULL;
	}
	memcpy(str, cr->p, n);
	str[n] = '\0';
	cr->p += n;
	return str;
}

/* Take value into *slot (a copy) for setting name, once. */
static int
creds_take(struct creds *cr, char **slot, const char *name, const char *value)
{
	if (*slot != NULL)
		return creds_fail(cr, "repeated", name);
	if (value[0] == '\0')
		return creds_fail(cr, "empty", name);
	if (!token_ok(value))
		return creds_fail(cr, "not printable ASCII without spaces, or "
		    "too long", name);
	*slot = xstrdup(value);
	return 1;
}

/* inih's handler: keep [default]'s key id and secret. */
static int
creds_setting(void *arg, const char *section, const char *name,
    const char *value)
{
	struct creds	*cr = arg;

	if (cr->err_line != 0)
		return 0;
	if (strcmp(section, "default") != 0)
		return 1;
	if (strcasecmp(name, "aws_access_key_id") == 0)
		return creds_take(cr, &cr->key_id, "aws_access_key_id", value);
	if (strcasecmp(name, "aws_secret_access_key") == 0)
		return creds_take(cr, &cr->secret, "aws_secret_access_key",
		    value);
	if (strcasecmp(name, "aws_session_token") == 0)
		return creds_fail(cr, "temporary credentials are not "
		    "supported", "aws_session_token");
	return 1;
}

int
s3_creds_parse(const char *text, size_t len, const char *name,
    struct s3_cfg *c, char *err, size_t errlen)
{
	struct creds	 cr;
	int		 rc;

	memset(&cr, 0, sizeof(cr));
	cr.name = name;
	cr.p = text;
	cr.end = text + len;
	rc = ini_parse_stream(creds_line, &cr, creds_setting, &cr);
	if (cr.err_line != 0)
		snprintf(err, errlen, "%s:%d: %s", name, cr.err_line, cr.reason);
	else if (rc != 0)
		snprintf(err, errlen, "%s:%d: malformed line (expected "
		    "[profile] or name = value)", name, rc);
	else if (cr.key_id == NULL || cr.secret == NULL)
		snprintf(err, errlen, "%s: profile [default] has no %s", name,
		    cr.key_id == NULL ? "aws_access_key_id" :
		    "aws_secret_access_key");
	else {
		free(c->key_id);
		wipe_free(&c->secret);
		c->key_id = cr.key_id;
		c->secret = cr.secret;
		return 0;
	}
	free(cr.key_id);
	wipe_free(&cr.secret);
	return -1;
}

int
s3_creds_load(const char *path, struct s3_cfg *c, char *err, size_t errlen)
{
	struct stat	 st;
	char		*text;
	ssize_t		 got;
	size_t		 len = 0;
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CREDS_MAX) {
		snprintf(err, errlen, "%s: not a file of at most %d bytes",
		    path, CREDS_MAX);
		close(fd);
		return -1;
	}
	/* One byte more than the size: a file that grew is seen to. */
	text = xmalloc(CREDS_MAX + 1);
	while (len <= CREDS_MAX &&
	    (got = read(fd, text + len, CREDS_MAX + 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	if (len > CREDS_MAX)
		snprintf(err, errlen, "%s: not a file of at most %d bytes",
		    path, CREDS_MAX);
	rc = len > CREDS_MAX ? -1 :
	    s3_creds_parse(text, len, path, c, err, errlen);
	OPENSSL_cleanse(text, CREDS_MAX + 1);
	free(text);
	return rc;
}

int
s3_key_valid(const char *key)
{
	size_t	 n = strlen(key), seg;

	if (n == 0 || n > S3_KEY_MAX || strspn(key, KEY_CHARS) != n)
		return 0;
	for (const char *p = key; ; p += seg + 1) {
		seg = strcspn(p, "/");
		if (seg == 0 || (seg == 1 && p[0] == '.') ||
		    (seg == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (p[seg] == '\0')
			return 1;
	}
}

/*
 * The object's URL without query into b, and where its path starts
 * (*path: the canonical URI SigV4 signs). Returns 0, or -1 (bad key or
 * endpoint; b may hold part of a URL).
 */
static int
object_url(const struct s3_cfg *c, const char *key, struct hbuf *b,
    struct endpoint *e, size_t *path)
{
	const char	*why;

	if (!s3_key_valid(key) || endpoint_split(c->endpoint, e, &why) != 0)
		return -1;
	hbuf_put(b, e->scheme, e->scheme_len);
	hbuf_puts(b, "://");
	if (c->vhost) {
		hbuf_puts(b, c->bucket);
		hbuf_puts(b, ".");
	}
	hbuf_put(b, e->host, e->host_len);
	*path = b->len;
	if (!c->vhost) {
		hbuf_puts(b, "/");
		hbuf_puts(b, c->bucket);
	}
	hbuf_puts(b, "/");
	hbuf_puts(b, key);
	return 0;
}

/* Copy b into out (outsz bytes). Returns 0, or -1 if it did not fit. */
static int
hbuf_out(const struct hbuf *b, char *out, size_t outsz)
{
	if (b->overflow || b->len == 0 || b->len >= outsz)
		return -1;
	memcpy(out, b->p, b->len + 1);
	return 0;
}

int
s3_object_url(const struct s3_cfg *c, const char *key, char *out,
    size_t outsz)
{
	struct hbuf	 b;
	struct endpoint	 e;
	size_t		 path;
	int		 rc;

	hbuf_init(&b, S3_URL_MAX);
	rc = object_url(c, key, &b, &e, &path) == 0 ?
	    hbuf_out(&b, out, outsz) : -1;
	hbuf_free(&b);
	return rc;
}

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* out = HMAC-SHA256(key, msg): 32 bytes. */
static void
hmac(const void *key, size_t keylen, const char *msg, unsigned char *out)
{
	unsigned int	 n = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    strlen(msg), out, &n) == NULL || n != 32)
		abort();	/* only on out-of-memory */
}

/*
 * SigV4's signature of string-to-sign sts (hex, 65 bytes) under the
 * secret, for day date (YYYYMMDD) and region, service s3.
 */
static void
sigv4_sign(const char *secret, const char *date, const char *region,
    const char *sts, char *sig)
{
	unsigned char	 k[32], mac[32];
	char		 first[4 + SECRET_MAX + 1];

	snprintf(first, sizeof(first), "AWS4%s", secret);
	hmac(first, strlen(first), date, k);
	hmac(k, sizeof(k), region, k);
	hmac(k, sizeof(k), "s3", k);
	hmac(k, sizeof(k), "aws4_request", k);
	hmac(k, sizeof(k), sts, mac);
	hex(mac, sizeof(mac), sig);
	OPENSSL_cleanse(first, sizeof(first));
	OPENSSL_cleanse(k, sizeof(k));
}

/* A query parameter of a presigned URL. */
struct qparam {
	const char	*name;
	const char	*value;
};

static int
qparam_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qparam *)a)->name,
	    ((const struct qparam *)b)->name);
}

/*
 * SigV4's canonical query string of the n parameters q into b: sorted
 * by name (byte order), each name and value URI-encoded (everything
 * but unreserved characters, as %XX in capitals).
 */
static void
canonical_query(struct qparam *q, size_t n, struct hbuf *b)
{
	qsort(q, n, sizeof(*q), qparam_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			hbuf_puts(b, "&");
		hbuf_pct(b, q[i].name);
		hbuf_puts(b, "=");
		hbuf_pct(b, q[i].value);
	}
}

int
s3_presign_get(const struct s3_cfg *c, const char *key, int64_t now,
    unsigned window, unsigned expires, char *out, size_t outsz)
{
	struct hbuf	 url, canon;
	struct endpoint	 e;
	struct tm	 tm;
	struct qparam	 q[5];
	time_t		 t;
	size_t		 path;
	char		 amzdate[17], date[9], scope[96], cred[SECRET_MAX + 96];
	char		 exp[16], hash[HASH_HEX_LEN + 1], sts[256], sig[65];
	int		 rc = -1;

	if (window == 0 || window >= expires || expires > S3_EXPIRES_MAX ||
	    now < 0)
		return -1;
	t = (time_t)(now - now % window);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -1;
	memcpy(date, amzdate, 8);
	date[8] = '\0';
	snprintf(scope, sizeof(scope), "%s/%s/s3/aws4_request", date,
	    c->region);
	snprintf(cred, sizeof(cred), "%s/%s", c->key_id, scope);
	snprintf(exp, sizeof(exp), "%u", expires);
	q[0] = (struct qparam){ "X-Amz-Algorithm", ALGORITHM };
	q[1] = (struct qparam){ "X-Amz-Credential", cred };
	q[2] = (struct qparam){ "X-Amz-Date", amzdate };
	q[3] = (struct qparam){ "X-Amz-Expires", exp };
	q[4] = (struct qparam){ "X-Amz-SignedHeaders", "host" };
	hbuf_init(&url, S3_PRESIGN_MAX);
	hbuf_init(&canon, S3_PRESIGN_MAX * 2);
	if (object_url(c, key, &url, &e, &path) != 0)
		goto out;
	hbuf_puts(&url, "?");
	canonical_query(q, sizeof(q) / sizeof(q[0]), &url);
	if (url.overflow)
		goto out;
	/* The canonical request: a GET of that path and query, Host only. */
	hbuf_puts(&canon, "GET\n");
	hbuf_put(&canon, url.p + path, strcspn(url.p + path, "?"));
	hbuf_puts(&canon, "\n");
	hbuf_puts(&canon, strchr(url.p + path, '?') + 1);
	hbuf_puts(&canon, "\nhost:");
	if (c->vhost) {
		hbuf_puts(&canon, c->bucket);
		hbuf_puts(&canon, ".");
	}
	hbuf_put(&canon, e.host, e.host_len);
	hbuf_puts(&canon, "\n\nhost\nUNSIGNED-PAYLOAD");
	if (canon.overflow)
		goto out;
	hash_sha256_hex(canon.p, canon.len, hash);
	snprintf(sts, sizeof(sts), ALGORITHM "\n%s\n%s\n%s", amzdate, scope,
	    hash);
	sigv4_sign(c->secret, date, c->region, sts, sig);
	hbuf_puts(&url, "&X-Amz-Signature=");
	hbuf_puts(&url, sig);
	rc = hbuf_out(&url, out, outsz);
out:
	hbuf_free(&url);
	hbuf_free(&canon);
	return rc;
}

/*
 * The text of the first element tag (e.g. "<Code>") in body (len
 * bytes): where it starts, its length in *n. NULL if there is none.
 */
static const char *
xml_text(const char *body, size_t len, const char *open, const char *close,
    size_t *n)
{
	const char	*a, *b;

	if (body == NULL ||
	    (a = memmem(body, len, open, strlen(open))) == NULL)
		return NULL;
	a += strlen(open);
	if ((b = memmem(a, len - (size_t)(a - body), close,
	    strlen(close))) == NULL)
		return NULL;
	*n = (size_t)(b - a);
	return a;
}

void
s3_error_code(const char *body, size_t len, char *code, size_t codesz)
{
	const char	*v;
	size_t		 n = 0, o = 0;

	code[0] = '\0';
	if ((v = xml_text(body, len, "<Code>", "</Code>", &n)) == NULL)
		return;
	/* S3's codes are words: anything else is not one. */
	for (size_t i = 0; i < n && o + 1 < codesz; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789.", v[i]) != NULL && v[i] != '\0')
			code[o++] = v[i];
	code[o] = '\0';
}

/* What a setting may be wrong, by S3's error code. */
static const struct {
	const char	*code;
	const char	*hint;
} hints[] = {
	{ "SignatureDoesNotMatch", "the secret does not match the key "
	    "id" },
	{ "InvalidAccessKeyId", "unknown access key id" },
	{ "AuthorizationHeaderMalformed", "wrong region" },
	{ "NoSuchBucket", "no such bucket" },
	{ "AccessDenied", "the key may not do this" },
	{ "RequestTimeTooSkewed", "this host's clock is wrong" },
	{ "PermanentRedirect", "the bucket is in another region or "
	    "endpoint" },
};

/* Append XML text v (n bytes) to b, the five entities decoded. */
static void
xml_decode(struct hbuf *b, const char *v, size_t n)
{
	static const struct {
		const char	*ent;
		const char	*c;
	} ents[] = {
		{ "&lt;", "<" }, { "&gt;", ">" }, { "&amp;", "&" },
		{ "&quot;", "\"" }, { "&apos;", "'" },
	};
	size_t	 i = 0, k, el;

	while (i < n) {
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			el = strlen(ents[k].ent);
			if (n - i >= el && memcmp(v + i, ents[k].ent, el) == 0)
				break;
		}
		if (k < sizeof(ents) / sizeof(ents[0])) {
			hbuf_puts(b, ents[k].c);
			i += strlen(ents[k].ent);
			continue;
		}
		/* One line: clean() makes any other byte printable. */
		hbuf_put(b, strchr("\n\r\t", v[i]) != NULL ? " " : v + i, 1);
		i++;
	}
}

void
s3_error_detail(const char *body, size_t len, char *msg, size_t msgsz)
{
	struct hbuf	 b;
	char		 code[64];
	const char	*v;
	size_t		 n = 0;

	msg[0] = '\0';
	s3_error_code(body, len, code, sizeof(code));
	if (code[0] == '\0' || msgsz == 0)
		return;
	hbuf_init(&b, 1024);
	hbuf_puts(&b, code);
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(code, hints[i].code) == 0) {
			hbuf_puts(&b, " (");
			hbuf_puts(&b, hints[i].hint);
			hbuf_puts(&b, ")");
		}
	if ((v = xml_text(body, len, "<Message>", "</Message>", &n)) != NULL &&
	    n > 0) {
		hbuf_puts(&b, ": ");
		xml_decode(&b, v, n < 512 ? n : 512);
	}
	/* A cut, not a failure: the message is one line at most msgsz. */
	if (b.len > 0) {
		n = b.len < msgsz ? b.len : msgsz - 1;
		memcpy(msg, b.p, n);
		msg[n] = '\0';
	}
	hbuf_free(&b);
}

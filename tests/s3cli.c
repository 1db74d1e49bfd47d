/*
 * s3cli.c: a test helper, not a promptpix command: the S3 client
 * (fcgi/s3.h) driven from the command line, so that
 * tests/e2e/test_s3client.py can run each call against a real store.
 *
 *   s3cli put KEY CONTENT_TYPE < BYTES
 *   s3cli head KEY
 *   s3cli get KEY OUTFILE [IF_NONE_MATCH]
 *   s3cli stream KEY OUTFILE [IF_NONE_MATCH]
 *   s3cli delete KEY
 *   s3cli probe
 *   s3cli url KEY
 *   s3cli presign KEY NOW WINDOW EXPIRES
 *
 * The store is named by the environment: S3_ENDPOINT, S3_BUCKET,
 * S3_REGION, S3_VHOST (1: virtual-hosted URLs) and S3_CREDENTIALS (an
 * AWS shared-credentials file: the secret never is an argument); S3_MAX
 * caps what get and stream take (default 64 MiB). Each
 * call prints name=value lines (rc, status, size, etag, content_type,
 * cache_control, code, error; url for url and presign) and exits 0
 * (ok), 1 (not found), 2 (not modified) or 3 (failed, or bad usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "s3.h"
#include "util.h"

#define BODY_MAX	(64 * 1024 * 1024)

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: s3cli put|head|get|stream|delete|probe|url|"
	    "presign ... (see tests/s3cli.c)\n");
	exit(3);
}

/* The store from the environment, checked; exits 3 if it is not fit. */
static void
load(struct s3_cfg *c)
{
	const char	*creds = getenv("S3_CREDENTIALS");
	const char	*vhost = getenv("S3_VHOST");
	char		 err[512];

	memset(c, 0, sizeof(*c));
	c->endpoint = xstrdup(getenv("S3_ENDPOINT") ? getenv("S3_ENDPOINT") : "");
	c->bucket = xstrdup(getenv("S3_BUCKET") ? getenv("S3_BUCKET") : "");
	c->region = xstrdup(getenv("S3_REGION") ? getenv("S3_REGION") : "");
	c->vhost = vhost != NULL && strcmp(vhost, "1") == 0;
	c->connect_timeout_ms = 5000;
	c->timeout_ms = 30000;
	if (creds == NULL || s3_creds_load(creds, c, err, sizeof(err)) != 0 ||
	    s3_cfg_check(c, err, sizeof(err)) != 0) {
		printf("rc=fail\nerror=%s\n", creds == NULL ?
		    "S3_CREDENTIALS not set" : err);
		s3_cfg_free(c);
		exit(3);
	}
}

/* Standard input, whole (at most BODY_MAX bytes). */
static char *
read_stdin(size_t *len)
{
	size_t	 cap = 65536, n;
	char	*p = xmalloc(cap);

	*len = 0;
	while ((n = fread(p + *len, 1, cap - *len, stdin)) > 0) {
		*len += n;
		if (*len == cap) {
			if (cap >= BODY_MAX)
				usage();
			cap *= 2;
			p = xrealloc(p, cap);
		}
	}
	return p;
}

/* Print how a call went; its exit status. */
static int
report(int rc, const struct s3_res *r)
{
	static const char *const names[] = { "ok", "not_found",
	    "not_modified" };

	printf("rc=%s\nstatus=%ld\nsize=%lld\netag=%s\ncontent_type=%s\n"
	    "cache_control=%s\ncode=%s\nerror=%s\n",
	    rc == S3_FAIL ? "fail" : names[rc], r->status,
	    (long long)r->size, r->etag, r->content_type, r->cache_control,
	    r->code, r->error);
	return rc == S3_FAIL ? 3 : rc;
}

/* A streamed GET's reader: the bytes to a file; the headers must be in. */
struct sink {
	FILE			*fp;
	const struct s3_res	*r;
	int			 had_headers;	/* at the first bytes */
	int			 calls;
};

static int
sink_data(void *arg, const char *p, size_t n)
{
	struct sink	*k = arg;

	if (k->calls++ == 0)
		k->had_headers = k->r->content_type[0] != '\0' &&
		    k->r->size >= 0;
	return fwrite(p, 1, n, k->fp) == n ? 0 : 1;
}

static int
get(struct s3 *s, int argc, char **argv, int stream)
{
	struct s3_res	 r;
	struct sink	 k = { NULL, &r, 0, 0 };
	const char	*inm = argc > 4 ? argv[4] : NULL;
	const char	*max = getenv("S3_MAX");
	size_t		 cap = max != NULL ? strtoul(max, NULL, 10) : BODY_MAX;
	FILE		*fp;
	int		 rc;

	if (argc < 4 || (fp = fopen(argv[3], "wb")) == NULL)
		usage();
	if (stream) {
		k.fp = fp;
		rc = s3_get_stream(s, argv[2], cap, inm, sink_data, &k, &r);
		printf("stream_calls=%d\nheaders_first=%d\n", k.calls,
		    k.had_headers);
	} else {
		rc = s3_get(s, argv[2], cap, inm, &r);
		if (rc == S3_OK && fwrite(r.body, 1, r.len, fp) != r.len)
			rc = S3_FAIL;
	}
	fclose(fp);
	rc = report(rc, &r);
	s3_res_free(&r);
	return rc;
}

int
main(int argc, char **argv)
{
	struct s3_cfg	 c;
	struct s3	*s;
	struct s3_res	 r;
	char		 url[S3_PRESIGN_MAX], why[512];
	char		*body;
	size_t		 len;
	int		 rc;

	if (argc < 2)
		usage();
	load(&c);
	httpc_global_init();
	s = s3_new(&c);
	if (strcmp(argv[1], "put") == 0 && argc == 4) {
		body = read_stdin(&len);
		rc = report(s3_put(s, argv[2], body, len, argv[3], &r), &r);
		free(body);
	} else if (strcmp(argv[1], "head") == 0 && argc == 3)
		rc = report(s3_head(s, argv[2], &r), &r);
	else if (strcmp(argv[1], "get") == 0)
		rc = get(s, argc, argv, 0);
	else if (strcmp(argv[1], "stream") == 0)
		rc = get(s, argc, argv, 1);
	else if (strcmp(argv[1], "delete") == 0 && argc == 3)
		rc = report(s3_delete(s, argv[2], &r), &r);
	else if (strcmp(argv[1], "probe") == 0 && argc == 2) {
		rc = s3_probe(s, "", why, sizeof(why)) == 0 ? 0 : 3;
		printf("rc=%s\nerror=%s\n", rc == 0 ? "ok" : "fail",
		    rc == 0 ? "" : why);
	} else if (strcmp(argv[1], "url") == 0 && argc == 3) {
		rc = s3_object_url(&c, argv[2], url, sizeof(url)) == 0 ? 0 : 3;
		printf("rc=%s\nurl=%s\n", rc == 0 ? "ok" : "fail",
		    rc == 0 ? url : "");
	} else if (strcmp(argv[1], "presign") == 0 && argc == 6) {
		rc = s3_presign_get(&c, argv[2], strtoll(argv[3], NULL, 10),
		    (unsigned)strtoul(argv[4], NULL, 10),
		    (unsigned)strtoul(argv[5], NULL, 10), url,
		    sizeof(url)) == 0 ? 0 : 3;
		printf("rc=%s\nurl=%s\n", rc == 0 ? "ok" : "fail",
		    rc == 0 ? url : "");
	} else
		usage();
	s3_free(s);
	s3_cfg_free(&c);
	return rc;
}

/* test_warm.c: the pure parts of promptpix warm: the list, the cost, the
 * result line, the progress lines. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "progress.h"
#include "req.h"
#include "t.h"
#include "warmlist.h"

static const struct req_limits	 lim = { 64, 2048, 1000 };
static const struct warm_opts	 opts = { "/", &lim, "fal-ai/flux/schnell", 0 };

/* The hash a request for path?query would get. */
static void
request_hash(const char *path, const char *query, char *hex)
{
	struct img_req	 r;
	const char	*why;

	if (req_parse_image(path, query, &lim, &r, &why) != 0) {
		hex[0] = '\0';
		return;
	}
	hash_image(&r, "fal-ai/flux/schnell", hex);
	img_req_free(&r);
}

static void
test_parse(void)
{
	static const struct {
		const char	*line;
		int		 rc;
	} cases[] = {
		{ "/1024x1024.jpg?text=A%20sunset\n", 0 },
		{ "https://pix.example.org/1024x1024.jpg?text=A%20sunset\r\n", 0 },
		{ "HTTP://pix.example.org:8080/64x64.png?text=a&seed=7", 0 },
		{ "  /64x64.jpeg?text=a  \n", 0 },
		{ "/64x64.jpg?text=a&kid=k1&sig=AAAAAAAAAAAAAAAAAAAAAA", 0 },
		{ "\n", 1 },
		{ "   \t\n", 1 },
		{ "# the lobby\n", 1 },
		{ "/64x64.gif?text=a", -1 },
		{ "/64x64.jpg", -1 },
		{ "/64x64.jpg?text=", -1 },
		{ "/32x32.jpg?text=a", -1 },
		{ "/4096x64.jpg?text=a", -1 },
		{ "/64x64.jpg?text=a&size=2", -1 },
		{ "/64x64.jpg?text=a b", -1 },
		{ "ftp://host/64x64.jpg?text=a", -1 },
		{ "64x64.jpg?text=a", -1 },
		{ "/img/ab/cd.jpg", -1 },
		{ "/64x64.jpg?text=a&sig=AAAAAAAAAAAAAAAAAAAAAA&seed=1", -1 },
	};
	struct warm_item	 it;
	const char		*why;
	char			 want[65];
	int			 rc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		rc = warm_parse(&opts, cases[i].line, &it, &why);
		T_CHECK(rc == cases[i].rc, "warm_parse(%s) = %d", cases[i].line,
		    rc);
		T_CHECK(rc != -1 || (why != NULL && strchr(why, '\n') == NULL),
		    "a bad line has a one-line reason: %s", cases[i].line);
		free(it.url);
		img_req_free(&it.req);
	}
	/* The same hash as the request: absolute, relative, signed alike. */
	request_hash("/1024x1024.jpg", "text=A%20sunset", want);
	T_CHECK(warm_parse(&opts, "https://h.example/1024x1024.jpg?text="
	    "A%20sunset", &it, &why) == 0 && strcmp(it.hash, want) == 0,
	    "absolute line hashes as the request");
	T_CHECK(strcmp(it.url, "https://h.example/1024x1024.jpg?text="
	    "A%20sunset") == 0, "url kept as given: %s", it.url);
	free(it.url);
	img_req_free(&it.req);
	T_CHECK(warm_parse(&opts, "/1024x1024.jpeg?text=A++sunset&kid=k1"
	    "&sig=AAAAAAAAAAAAAAAAAAAAAA", &it, &why) == 0 &&
	    strcmp(it.hash, want) == 0, "signed, jpeg, spaces: same image");
	free(it.url);
	img_req_free(&it.req);
	/* With --sign, a signed line is refused. */
	{
		struct warm_opts	 o = opts;

		o.sign = 1;
		T_CHECK(warm_parse(&o, "/64x64.jpg?text=a&sig="
		    "AAAAAAAAAAAAAAAAAAAAAA", &it, &why) == -1 &&
		    strstr(why, "signed") != NULL, "--sign: already signed");
		free(it.url);
		img_req_free(&it.req);
	}
	/* Under a base path. */
	{
		struct warm_opts	 o = opts;

		o.base_path = "/pix/";
		T_CHECK(warm_parse(&o, "/pix/64x64.jpg?text=a", &it, &why) == 0,
		    "under base_path");
		free(it.url);
		img_req_free(&it.req);
		T_CHECK(warm_parse(&o, "/64x64.jpg?text=a", &it, &why) == -1,
		    "outside base_path");
		free(it.url);
		img_req_free(&it.req);
	}
}

static void
test_read(void)
{
	static const char list[] =
	    "# a world\n"
	    "/64x64.jpg?text=one\n"
	    "/64x64.jpg?text=two\n"
	    "\n"
	    "/64x64.gif?text=bad\n"
	    "/64x64.jpeg?text=one\n"
	    "http://h/128x64.png?text=three\n"
	    "/64x64.jpg?text=\n";
	struct warm_list	 l = { 0 };
	FILE			*in, *err;
	char			*msgs = NULL;
	size_t			 msglen = 0;
	long			 bad;

	in = fmemopen((void *)list, sizeof(list) - 1, "r");
	err = open_memstream(&msgs, &msglen);
	bad = warm_read(in, "world.txt", &opts, 0, &l, err);
	fclose(in);
	fclose(err);
	T_CHECK(bad == 2, "2 bad lines, got %ld", bad);
	T_CHECK(l.n == 4, "4 good lines kept, got %zu", l.n);
	T_CHECK(msgs && strstr(msgs, "promptpix: world.txt:5: ") != NULL &&
	    strstr(msgs, "promptpix: world.txt:8: ") != NULL,
	    "line numbers: %s", msgs ? msgs : "");
	T_CHECK(msgs && strstr(msgs, "gif") == NULL,
	    "the reason does not echo the line: %s", msgs ? msgs : "");
	T_CHECK(l.n == 4 && l.v[0].line == 2 && l.v[3].line == 7,
	    "line numbers kept");
	warm_dedupe(&l);
	T_CHECK(l.distinct == 3, "3 distinct, got %zu", l.distinct);
	T_CHECK(l.n == 4 && l.v[2].first == 0 && l.v[0].first == 0 &&
	    l.v[1].first == 1 && l.v[3].first == 3,
	    "the repeat points at its first line");
	warm_list_free(&l);
	free(msgs);

	/* --skip-bad keeps bad lines, as such, in their place. */
	in = fmemopen((void *)list, sizeof(list) - 1, "r");
	err = fopen("/dev/null", "w");
	bad = warm_read(in, "w", &opts, 1, &l, err);
	fclose(in);
	fclose(err);
	warm_dedupe(&l);
	T_CHECK(bad == 2 && l.n == 6 && l.v[2].state == WARM_BAD &&
	    l.v[5].state == WARM_BAD && l.distinct == 3,
	    "skip-bad: %ld bad, %zu kept, %zu distinct", bad, l.n, l.distinct);
	warm_list_free(&l);
}

static void
test_cost(void)
{
	char	 s[32];

	/* 42 images of 1024x1024 and 3 of 512x512 at $0.003 per MP. */
	snprintf(s, sizeof(s), "%.6f", warm_cost(42ULL * 1024 * 1024 +
	    3ULL * 512 * 512, 0.003));
	T_CHECK(strcmp(s, "0.134480") == 0, "cost %s", s);
	snprintf(s, sizeof(s), "%.6f", warm_cost(0, 0.003));
	T_CHECK(strcmp(s, "0.000000") == 0, "nothing costs nothing: %s", s);
	snprintf(s, sizeof(s), "%.6f", warm_cost(2048ULL * 2048, 0.003));
	T_CHECK(strcmp(s, "0.012583") == 0, "2048x2048: %s", s);
}

static void
test_result_line(void)
{
	struct warm_item	 it = { 0 };
	char			 out[256], *s;

	s = warm_image_url("https://h.example:8443/64x64.jpg?text=a",
	    "/img/ab/x.jpg");
	T_CHECK(strcmp(s, "https://h.example:8443/img/ab/x.jpg") == 0,
	    "store URL on the line's host: %s", s);
	free(s);
	s = warm_image_url("/64x64.jpg?text=a", "/img/ab/x.jpg");
	T_CHECK(strcmp(s, "/img/ab/x.jpg") == 0, "relative stays: %s", s);
	free(s);
	s = warm_image_url("http://h/64x64.jpg?text=a",
	    "https://cdn.example/img/x.jpg");
	T_CHECK(strcmp(s, "https://cdn.example/img/x.jpg") == 0,
	    "a store URL with a host stays: %s", s);
	free(s);
	it.state = WARM_OK;
	T_CHECK(warm_result_line(&it, "https://h/64x64.jpg?text=a",
	    "https://h/img/ab/x.jpg", out, sizeof(out)) > 0 && strcmp(out, "ok\thttps://h/64x64.jpg?text=a\t"
	    "https://h/img/ab/x.jpg\n") == 0, "ok line: %s", out);
	it.state = WARM_FAILED;
	strcpy(it.kind, "nsfw");
	T_CHECK(warm_result_line(&it, "/64x64.jpg?text=a", NULL, out,
	    sizeof(out)) > 0 && strcmp(out, "failed nsfw\t/64x64.jpg?text=a\t"
	    "-\n") == 0, "failed line: %s", out);
	it.state = WARM_EXISTS;
	T_CHECK(warm_result_line(&it, "/a", NULL, out, sizeof(out)) > 0 &&
	    strncmp(out, "exists\t", 7) == 0, "exists line: %s", out);
	it.state = WARM_BAD;
	T_CHECK(warm_result_line(&it, "/a", NULL, out, sizeof(out)) > 0 &&
	    strncmp(out, "failed bad_line\t", 16) == 0, "bad line: %s", out);
	T_CHECK(warm_result_line(&it, "/a", NULL, out, 8) == -1, "too small: -1");
}

static void
test_progress(void)
{
	struct progress	 p = { .total = 50, .done = 10, .failed = 1,
	    .queued = 38, .running = 2, .spent_usd = 0.031457, .t0_ms = 1000,
	    .done0 = 0, .decile = -1 };
	char		 line[512];
	FILE		*f;
	char		*buf = NULL;
	size_t		 len = 0;

	/* 10 done in 20 s: 40 more take 80 s. */
	T_CHECK(progress_eta(&p, 21000) == 80, "eta %lld",
	    (long long)progress_eta(&p, 21000));
	progress_eta_text(80, line, sizeof(line));
	T_CHECK(strcmp(line, "1m20s") == 0, "eta text %s", line);
	progress_eta_text(3725, line, sizeof(line));
	T_CHECK(strcmp(line, "1h02m") == 0, "eta text %s", line);
	progress_eta_text(-1, line, sizeof(line));
	T_CHECK(strcmp(line, "?") == 0, "unknown eta %s", line);
	p.done0 = 10;
	T_CHECK(progress_eta(&p, 21000) == -1, "nothing done since t0: ?");
	p.done0 = 0;

	progress_bar(&p, 21000, 79, line, sizeof(line));
	T_CHECK(strlen(line) <= 79, "bar fits 79 columns: %zu", strlen(line));
	T_CHECK(strstr(line, " 10/50 failed 1 queued 38 running 2 $0.0315 "
	    "ETA 1m20s") != NULL && line[0] == '[', "bar: %s", line);
	progress_bar(&p, 21000, 30, line, sizeof(line));
	T_CHECK(strlen(line) <= 30, "narrow: cut to 30: %zu", strlen(line));

	progress_plain(&p, 21000, line, sizeof(line));
	T_CHECK(strcmp(line, "warm: 20% 10/50 done, failed 1, queued 38, "
	    "running 2, $0.031457, ETA 1m20s\n") == 0, "plain: %s", line);

	/* store migrate's figures: copied and found there, no money. */
	p.kind = PROGRESS_COPY;
	p.copied = 7;
	p.there = 2;
	progress_bar(&p, 21000, 79, line, sizeof(line));
	T_CHECK(strstr(line, " 10/50 copied 7 there 2 failed 1 ETA 1m20s") !=
	    NULL && strchr(line, '$') == NULL, "copy bar: %s", line);
	progress_plain(&p, 21000, line, sizeof(line));
	T_CHECK(strcmp(line, "store migrate: 20% 10/50 done, copied 7, "
	    "there 2, failed 1, ETA 1m20s\n") == 0, "copy plain: %s", line);
	p.kind = PROGRESS_WARM;

	T_CHECK(progress_decile(0, 50) == 0 && progress_decile(4, 50) == 0 &&
	    progress_decile(5, 50) == 1 && progress_decile(49, 50) == 9 &&
	    progress_decile(50, 50) == 10 && progress_decile(0, 0) == 10,
	    "deciles");

	/* Not a terminal: one line per 10 % step, none in between. */
	f = open_memstream(&buf, &len);
	p.decile = -1;
	for (unsigned d = 0; d <= 50; d++) {
		p.done = d;
		progress_show(f, 0, &p, 21000);
	}
	fclose(f);
	{
		int	 lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		T_CHECK(lines == 11, "0%%..100%%: 11 lines, got %d", lines);
		T_CHECK(strstr(buf, "warm: 100% 50/50") != NULL &&
		    strchr(buf, '\r') == NULL, "plain lines: %s", buf);
	}
	free(buf);
	/* Nothing moving for 30 s: told once; movement resets the clock. */
	{
		struct progress	 s = { .total = 5, .queued = 5, .moved_ms = 0 };

		T_CHECK(!progress_stalled(&s, 29999, 30000), "not yet");
		T_CHECK(progress_stalled(&s, 30000, 30000), "stalled at 30 s");
		T_CHECK(!progress_stalled(&s, 90000, 30000), "told once");
		s.stall_told = 0;
		s.running = 1;
		T_CHECK(!progress_stalled(&s, 100000, 30000), "running: moving");
		s.running = 0;
		T_CHECK(!progress_stalled(&s, 129999, 30000) &&
		    progress_stalled(&s, 130000, 30000), "from the last move");
		s.stall_told = 0;
		s.done = 1;
		T_CHECK(!progress_stalled(&s, 200000, 30000), "one finished");
	}
	/* A terminal: redrawn in place. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	progress_show(f, 1, &p, 21000);
	fclose(f);
	T_CHECK(buf[0] == '\r' && strstr(buf, "\033[K") != NULL &&
	    strchr(buf, '\n') == NULL, "tty: \\r, bar, clear");
	free(buf);
}

void
test_warm(void)
{
	test_parse();
	test_read();
	test_cost();
	test_result_line();
	test_progress();
}

/*
 * warmcmd.c: `promptpix warm` (see warmcmd.h): read and check the list
 * (warmlist.c), look at what exists, estimate the cost and hold it
 * against today's budget, elect each distinct image as a request would
 * (ballot.h), then either leave the jobs to the responders or follow
 * them to the end (progress.c), and print one result line per input.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ballot.h"
#include "cfg.h"
#include "cli.h"
#include "db.h"
#include "keycmd.h"
#include "progress.h"
#include "sign.h"
#include "store.h"
#include "uri.h"
#include "util.h"
#include "warmcmd.h"
#include "warmlist.h"

#define USAGE	"usage: promptpix warm [-c FILE] [--dry-run] " \
		"[--sign [--key ID]] [--wait] [--skip-bad] LIST"

/* Between two looks at the unfinished images: more of them, slower. */
#define TICK_MS		250
#define TICK_MAX_MS	2000

struct warm {
	const struct cfg	*c;
	const char		*name;		/* the list, for messages */
	int			 dry_run, sign, wait, skip_bad;
	const char		*kid;		/* --key, or NULL */
	struct warm_list	 l;
	char			**final;	/* per item: the URL to bake */
	struct db		*db;
	unsigned		 retry;		/* failed, due for another try */
	uint64_t		 pixels;	/* of what would be paid for */
};

static volatile sig_atomic_t	 stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
usage(const char *why)
{
	fprintf(stderr, "promptpix: %s\n", why ? why : USAGE);
	return 2;
}

/* Ctrl-C and SIGTERM end the wait, never a job: the responders run them. */
static void
catch_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int
parse_args(struct warm *w, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "sign", no_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "wait", no_argument, NULL, 'w' },
		{ "skip-bad", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	optind = 1;
	opterr = 0;	/* one line of ours, not getopt's too */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			w->dry_run = 1;
			break;
		case 's':
			w->sign = 1;
			break;
		case 'k':
			w->kid = optarg;
			break;
		case 'w':
			w->wait = 1;
			break;
		case 'b':
			w->skip_bad = 1;
			break;
		default:
			return usage(NULL);
		}
	}
	if (optind != argc - 1)
		return usage(NULL);
	if (w->kid != NULL && !w->sign)
		return usage("--key ID goes with --sign");
	w->name = argv[optind];
	return 0;
}

/* Read and check the list. Returns 0, or the exit status. */
static int
read_list(struct warm *w)
{
	struct warm_opts	 o = { .base_path = w->c->base_path,
	    .lim = &w->c->lim, .model = w->c->model, .sign = w->sign };
	FILE			*in = stdin;
	long			 bad;

	if (strcmp(w->name, "-") != 0 && (in = fopen(w->name, "r")) == NULL) {
		fprintf(stderr, "promptpix: %s: %s\n", w->name,
		    strerror(errno));
		return 1;
	}
	bad = warm_read(in, strcmp(w->name, "-") ? w->name : "stdin", &o,
	    w->skip_bad, &w->l, stderr);
	if (in != stdin)
		fclose(in);
	if (bad < 0) {
		fprintf(stderr, "promptpix: %s: cannot read it\n", w->name);
		return 1;
	}
	if (bad > 0 && !w->skip_bad) {
		fprintf(stderr, "promptpix: %ld bad line%s in %s; nothing "
		    "queued (--skip-bad queues the others)\n", bad,
		    bad == 1 ? "" : "s", w->name);
		return 2;
	}
	if (w->l.n == (size_t)bad) {
		fprintf(stderr, "promptpix: %s: no image URL to warm\n",
		    w->name);
		return 2;
	}
	warm_dedupe(&w->l);
	return 0;
}

/* The URL of each line to bake: the line, signed with --sign. */
static int
final_urls(struct warm *w)
{
	unsigned char	 secret[SIGN_SECRET_LEN];
	const char	*kid = w->kid ? w->kid : SIGN_DEFAULT_KID;
	size_t		 bare = 0;
	int		 rc = 0;

	for (size_t i = 0; i < w->l.n; i++)
		bare += w->l.v[i].state != WARM_BAD && !w->l.v[i].is_signed;
	/* Warmed, but a player's request for such a URL would get 403. */
	if (!w->sign && bare > 0 && w->c->access_mode == ACCESS_SIGNED)
		fprintf(stderr, "promptpix: warning: %zu line%s not signed and "
		    "this host is [access] mode = signed: players get 403 for "
		    "them; --sign prints them signed\n", bare, bare == 1 ?
		    " is" : "s are");

	w->final = xmalloc((w->l.n + 1) * sizeof(*w->final));
	memset(w->final, 0, (w->l.n + 1) * sizeof(*w->final));
	if (w->sign && (rc = keycmd_signer(w->c, kid, secret)) != 0)
		return rc;
	for (size_t i = 0; i < w->l.n; i++) {
		const struct warm_item	*it = &w->l.v[i];

		if (!w->sign || it->state == WARM_BAD)
			w->final[i] = xstrdup(it->url);
		else if ((w->final[i] = keycmd_sign_url(w->c, secret, kid, 0,
		    it->url)) == NULL)
			w->final[i] = xstrdup(it->url);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return 0;
}

/* The public URL of a completed row's image, or NULL. */
static char *
image_url(const struct cfg *c, const struct gen_row *row)
{
	char	 url[2048];

	if (row->res.file[0] == '\0')
		return row->res.url[0] ? xstrdup(row->res.url) : NULL;
	if (store_public_url(c, row->res.file, url, sizeof(url)) == -1)
		return NULL;
	return xstrdup(url);
}

/* Set it's state from its row (found: db_fetch()'s 1 or 0). */
static void
from_row(struct warm *w, struct warm_item *it, int found,
    const struct gen_row *row, enum warm_state done)
{
	it->kind[0] = '\0';
	if (!found) {
		it->state = WARM_NEW;
		return;
	}
	switch (row->status) {
	case GS_PENDING:
		it->state = WARM_QUEUED;
		break;
	case GS_GENERATING:
		it->state = WARM_RUNNING;
		break;
	case GS_COMPLETED:
		it->state = done;
		free(it->image);
		it->image = image_url(w->c, row);
		break;
	case GS_FAILED:
	default:
		it->state = WARM_FAILED;
		snprintf(it->kind, sizeof(it->kind), "%s", gen_err_name(
		    row->res.err != GE_NONE ? row->res.err : GE_UNKNOWN));
		break;
	}
}

/* The distinct images of the list (their first lines), in order. */
#define EACH_FIRST(w, i, it)						\
	for (size_t i = 0; i < (w)->l.n; i++)				\
		if (((it) = &(w)->l.v[i])->state != WARM_BAD &&		\
		    (it)->first == i)

/* What exists already, what is new, and what those would cost. */
static int
survey(struct warm *w)
{
	struct warm_item	*it;
	struct gen_row		 row;
	int			 rc;

	EACH_FIRST(w, i, it) {
		if ((rc = db_fetch(w->db, it->hash, &row)) == -1)
			return -1;
		from_row(w, it, rc, &row, WARM_EXISTS);
		if (it->state == WARM_FAILED && row.retry_due)
			w->retry++;
		if (it->state == WARM_NEW || (it->state == WARM_FAILED &&
		    row.retry_due))
			w->pixels += (uint64_t)it->req.w * it->req.h;
	}
	return 0;
}

static unsigned
count(const struct warm *w, enum warm_state s)
{
	const struct warm_item	*it;
	unsigned		 n = 0;

	EACH_FIRST(w, i, it)
		n += it->state == s;
	return n;
}

static double
pos(double x)
{
	return x > 0 ? x : 0;
}

/*
 * Tell before starting if today's budget, or the key's quotas, cannot
 * pay for the new images: those past it would be refused.
 */
static void
budget_warning(struct warm *w, unsigned fresh, double cost)
{
	double		 reserved, spent, left, qusd = -1, usd = 0;
	long long	 qimg = -1, img = 0;
	char		 a[48], b[48];

	if (w->c->budget_daily_usd > 0 && cost > 0 &&
	    db_budget_today(w->db, &reserved, &spent) == 0 &&
	    cost > (left = pos(w->c->budget_daily_usd - spent - reserved)) +
	    5e-7)
		fprintf(stderr, "promptpix: warning: the new images cost about "
		    "$%.6f and today's budget ([budget] daily_usd = %.2f) has "
		    "$%.6f left: those past it are refused (failed budget) "
		    "until the next UTC day\n", cost,
		    w->c->budget_daily_usd, left);
	if (w->kid == NULL || fresh == 0 || db_key_today(w->db, w->kid, &qimg,
	    &qusd, &img, &usd) != 1)
		return;
	if (!((qimg >= 0 && img + fresh > qimg) ||
	    (qusd >= 0 && usd + cost > qusd + 5e-7)))
		return;
	if (qimg < 0)
		snprintf(a, sizeof(a), "no image quota");
	else
		snprintf(a, sizeof(a), "%lld image%s", qimg > img ?
		    qimg - img : 0, qimg - img == 1 ? "" : "s");
	if (qusd < 0)
		snprintf(b, sizeof(b), "no USD quota");
	else
		snprintf(b, sizeof(b), "$%.6f", pos(qusd - usd));
	fprintf(stderr, "promptpix: warning: key %s has %s and %s left "
	    "today, the list needs %u image%s and $%.6f: those past it are "
	    "refused (failed key_quota)\n", w->kid, a, b, fresh,
	    fresh == 1 ? "" : "s", cost);
}

static void
dry_run_report(const struct warm *w, double cost)
{
	size_t	 bad = 0;

	for (size_t i = 0; i < w->l.n; i++)
		bad += w->l.v[i].state == WARM_BAD;
	printf("lines: %zu\n", w->l.n);
	printf("distinct images: %zu\n", w->l.distinct);
	printf("new: %u\n", count(w, WARM_NEW));
	printf("exists: %u\n", count(w, WARM_EXISTS));
	printf("failed: %u (%u due for another attempt)\n",
	    count(w, WARM_FAILED), w->retry);
	printf("in progress: %u\n", count(w, WARM_QUEUED) +
	    count(w, WARM_RUNNING));
	if (bad > 0)
		printf("bad lines: %zu\n", bad);
	printf("megapixels: %.6f\n", (double)w->pixels / 1e6);
	printf("estimated cost: $%.6f (at $%g per megapixel)\n", cost,
	    w->c->cost_per_megapixel);
}

/*
 * Elect every distinct image. Returns 0, or 1 when the database failed
 * or a signal came (what was queued stays queued).
 */
static int
elect_all(struct warm *w, unsigned *queued)
{
	struct warm_item	*it;
	struct gen_row		 row;
	struct db_ballot	 b;
	const char		*kind = NULL;

	*queued = 0;
	EACH_FIRST(w, i, it) {
		if (stop)
			return 1;
		/* Elected as a request is, counted as a warm-up. */
		ballot_init(&b, w->c, it->hash, &it->req, QC_BATCH, w->kid, 1);
		switch (ballot_cast(w->db, &b, &row)) {
		case BALLOT_NEW:
		case BALLOT_NEW_UNCHECKED:
		case BALLOT_REQUEUED:
			(*queued)++;
			from_row(w, it, 1, &row, WARM_OK);
			if (it->state == WARM_FAILED || it->state == WARM_NEW)
				it->state = WARM_QUEUED;
			continue;
		case BALLOT_CACHED:
		case BALLOT_EXISTS:
			from_row(w, it, 1, &row, WARM_EXISTS);
			continue;
		case BALLOT_OVER:
			kind = "budget";
			break;
		case BALLOT_KEY_OVER:
			kind = "key_quota";
			break;
		default:
			fprintf(stderr, "promptpix: %s:%u: the database failed;"
			    " what is queued stays queued: run the command "
			    "again\n", w->name, it->line);
			return 1;
		}
		it->state = WARM_FAILED;
		snprintf(it->kind, sizeof(it->kind), "%s", kind);
	}
	return 0;
}

static int
unfinished(const struct warm_item *it)
{
	return it->state == WARM_NEW || it->state == WARM_QUEUED ||
	    it->state == WARM_RUNNING;
}

/* Look at every unfinished image once; add what finished to p. */
static void
refresh(struct warm *w, struct progress *p)
{
	struct warm_item	*it;
	struct gen_row		 row;
	double			 usd;
	int			 rc;

	if (db_ensure(w->db) == -1)
		return;		/* away for now: the next tick tries again */
	EACH_FIRST(w, i, it) {
		if (!unfinished(it) || (rc = db_fetch(w->db, it->hash,
		    &row)) == -1)
			continue;
		from_row(w, it, rc, &row, WARM_OK);
		if (rc == 0) {
			/* Deleted under us (an operator, a cleanup). */
			it->state = WARM_FAILED;
			snprintf(it->kind, sizeof(it->kind), "%s",
			    gen_err_name(GE_REMOVED));
		}
		if (!unfinished(it) && !it->counted &&
		    db_cost(w->db, it->hash, &usd) == 0) {
			it->counted = 1;
			p->spent_usd += usd;
		}
	}
}

static void
tally(const struct warm *w, struct progress *p)
{
	const struct warm_item	*it;

	p->done = p->failed = p->queued = p->running = 0;
	EACH_FIRST(w, i, it) {
		p->done += !unfinished(it);
		p->failed += it->state == WARM_FAILED;
		p->queued += it->state == WARM_QUEUED ||
		    it->state == WARM_NEW;
		p->running += it->state == WARM_RUNNING;
	}
}

/* After this long with nothing run, say that responders are needed. */
#define STALL_MS	30000

/* Follow the jobs until every image is finished or a signal came. */
static void
wait_all(struct warm *w)
{
	struct progress		 p = { .total = (unsigned)w->l.distinct,
	    .decile = -1 };
	struct timespec		 ts;
	int			 tty = isatty(STDERR_FILENO);
	int64_t			 tick;

	tally(w, &p);
	p.t0_ms = p.moved_ms = now_ms();
	p.done0 = p.moved_done = p.done;
	for (;;) {
		tally(w, &p);
		progress_show(stderr, tty, &p, now_ms());
		if (p.done == p.total || stop)
			break;
		/* The command generates nothing: the responders do. */
		if (progress_stalled(&p, now_ms(), STALL_MS))
			fprintf(stderr, "%spromptpix: nothing has run for %d s: "
			    "are the responders running on this database? (the "
			    "jobs wait for them)\n", tty ? "\n" : "",
			    STALL_MS / 1000);
		tick = TICK_MS + (int64_t)(p.total - p.done);
		if (tick > TICK_MAX_MS)
			tick = TICK_MAX_MS;
		ts.tv_sec = tick / 1000;
		ts.tv_nsec = tick % 1000 * 1000000;
		nanosleep(&ts, NULL);	/* a signal cuts it short */
		if (!stop)
			refresh(w, &p);
	}
	progress_end(stderr, tty);
}

/* Print one line per input; returns the exit status they make. */
static int
results(struct warm *w)
{
	/* The line, signed (a little longer), and an image URL. */
	static char	 line[2 * (URI_MAX + 256) + 2048];
	char		*image = NULL;
	int		 all_ok = 1, any_failed = 0;

	for (size_t i = 0; i < w->l.n; i++) {
		struct warm_item	*it = &w->l.v[i];
		const struct warm_item	*f = &w->l.v[it->first];

		if (f != it) {	/* a repeated image: its first line's lot */
			it->state = f->state;
			memcpy(it->kind, f->kind, sizeof(it->kind));
		}
		/* On this line's host, if the store URL has none. */
		free(image);
		image = f->image ? warm_image_url(it->url, f->image) : NULL;
		all_ok &= it->state == WARM_OK || it->state == WARM_EXISTS;
		any_failed |= it->state == WARM_FAILED ||
		    it->state == WARM_BAD;
		if (warm_result_line(it, w->final[i], image, line,
		    sizeof(line)) > 0)
			fputs(line, stdout);
	}
	free(image);
	fflush(stdout);
	if (w->wait)
		return all_ok ? 0 : 1;
	return any_failed ? 1 : 0;
}

static void
follow_hint(const struct warm *w, unsigned queued)
{
	fprintf(stderr, "promptpix: %u image%s queued at batch priority; the "
	    "responders generate them, %u at a time. Follow with: promptpix "
	    "warm --wait %s (it skips what is done), or SELECT * FROM "
	    "generation_queue;\n", queued, queued == 1 ? "" : "s",
	    w->c->queue_max_concurrent, w->name);
}

static int
run(struct warm *w)
{
	double		 cost;
	unsigned	 queued, left;
	int		 rc;

	if ((rc = read_list(w)) != 0 || (rc = final_urls(w)) != 0)
		return rc;
	if ((w->db = cli_db(w->c)) == NULL)
		return 1;
	catch_signals();
	if (survey(w) == -1) {
		fprintf(stderr, "promptpix: the database failed\n");
		return 1;
	}
	cost = warm_cost(w->pixels, w->c->cost_per_megapixel);
	budget_warning(w, count(w, WARM_NEW) + w->retry, cost);
	if (w->dry_run) {
		dry_run_report(w, cost);
		return 0;
	}
	if (elect_all(w, &queued) != 0) {
		if (!stop)
			return 1;
		fprintf(stderr, "promptpix: interrupted; what is queued stays "
		    "queued for the responders: run the command again\n");
		return 130;
	}
	if (!w->wait) {
		rc = results(w);
		follow_hint(w, count(w, WARM_QUEUED) + count(w, WARM_RUNNING));
		return rc;
	}
	wait_all(w);
	rc = results(w);
	if (stop) {
		left = count(w, WARM_QUEUED) + count(w, WARM_RUNNING);
		fprintf(stderr, "promptpix: interrupted; %u image%s left to "
		    "the responders: run the same command again to wait for "
		    "them\n", left, left == 1 ? "" : "s");
		return 130;
	}
	return rc;
}

int
warmcmd_warm(const struct cfg *c, int argc, char **argv)
{
	struct warm	 w = { .c = c };
	int		 rc;

	if ((rc = parse_args(&w, argc, argv)) != 0)
		return rc;
	rc = run(&w);
	if (w.db != NULL)
		db_free(w.db);
	if (w.final != NULL)
		for (size_t i = 0; i < w.l.n; i++)
			free(w.final[i]);
	free(w.final);
	warm_list_free(&w.l);
	return rc;
}

/*
 * progress.c: the progress bar and plain progress lines of the long
 * commands (see progress.h). Debian has no small C library for
 * a one-line bar that is not a whole curses program, so it is here:
 * "\r", the line, and "\033[K" to clear what a longer one left.
 */
#include <stdio.h>
#include <string.h>

#include "progress.h"

int64_t
progress_eta(const struct progress *p, int64_t now_ms)
{
	unsigned	 since = p->done > p->done0 ? p->done - p->done0 : 0;
	int64_t		 took = now_ms - p->t0_ms;

	if (p->done >= p->total)
		return 0;
	if (since == 0 || took <= 0)
		return -1;
	/* Rounded up: an ETA of 0 s while work is left would be a lie. */
	return ((int64_t)(p->total - p->done) * took + (int64_t)since * 1000 -
	    1) / ((int64_t)since * 1000);
}

void
progress_eta_text(int64_t eta, char *out, size_t outsz)
{
	if (eta < 0)
		snprintf(out, outsz, "?");
	else if (eta >= 3600)
		snprintf(out, outsz, "%lldh%02lldm", (long long)(eta / 3600),
		    (long long)(eta % 3600 / 60));
	else if (eta >= 60)
		snprintf(out, outsz, "%lldm%02llds", (long long)(eta / 60),
		    (long long)(eta % 60));
	else
		snprintf(out, outsz, "%llds", (long long)eta);
}

int
progress_decile(unsigned done, unsigned total)
{
	if (total == 0 || done >= total)
		return 10;
	return (int)((uint64_t)done * 10 / total);
}

void
progress_bar(const struct progress *p, int64_t now_ms, int width,
    char *out, size_t outsz)
{
	char		 eta[16], tail[160];
	int		 cells, full, n;

	progress_eta_text(progress_eta(p, now_ms), eta, sizeof(eta));
	if (p->kind == PROGRESS_COPY)
		n = snprintf(tail, sizeof(tail), " %u/%u copied %u there %u "
		    "failed %u ETA %s", p->done, p->total, p->copied, p->there,
		    p->failed, eta);
	else
		n = snprintf(tail, sizeof(tail), " %u/%u failed %u queued %u "
		    "running %u $%.4f ETA %s", p->done, p->total, p->failed,
		    p->queued, p->running, p->spent_usd, eta);
	/* The bar takes what the figures leave, 10..40 cells. */
	cells = width - n - 2;
	if (cells > 40)
		cells = 40;
	if (cells < 10)
		cells = 10;
	full = p->total ? (int)((uint64_t)p->done * (unsigned)cells /
	    p->total) : cells;
	if (outsz == 0)
		return;
	n = snprintf(out, outsz, "[%.*s%.*s]%s", full,
	    "########################################", cells - full,
	    "----------------------------------------", tail);
	/* A terminal narrower than all that: cut, never wrap. */
	if (width > 0 && n > width && (size_t)width < outsz)
		out[width] = '\0';
}

void
progress_plain(const struct progress *p, int64_t now_ms, char *out,
    size_t outsz)
{
	char	 eta[16];

	progress_eta_text(progress_eta(p, now_ms), eta, sizeof(eta));
	if (p->kind == PROGRESS_COPY)
		snprintf(out, outsz, "store migrate: %d%% %u/%u done, copied "
		    "%u, there %u, failed %u, ETA %s\n",
		    progress_decile(p->done, p->total) * 10, p->done, p->total,
		    p->copied, p->there, p->failed, eta);
	else
		snprintf(out, outsz, "warm: %d%% %u/%u done, failed %u, queued "
		    "%u, running %u, $%.6f, ETA %s\n",
		    progress_decile(p->done, p->total) * 10, p->done, p->total,
		    p->failed, p->queued, p->running, p->spent_usd, eta);
}

void
progress_show(FILE *f, int tty, struct progress *p, int64_t now_ms)
{
	char	 line[512];
	int	 d;

	if (tty) {
		progress_bar(p, now_ms, 79, line, sizeof(line));
		fprintf(f, "\r%s\033[K", line);
		fflush(f);
		return;
	}
	if ((d = progress_decile(p->done, p->total)) <= p->decile)
		return;
	p->decile = d;
	progress_plain(p, now_ms, line, sizeof(line));
	fputs(line, f);
	fflush(f);
}

void
progress_end(FILE *f, int tty)
{
	if (tty)
		fputc('\n', f);
}

int
progress_stalled(struct progress *p, int64_t now_ms, int64_t after_ms)
{
	if (p->done != p->moved_done || p->running > 0) {
		p->moved_done = p->done;
		p->moved_ms = now_ms;
		return 0;
	}
	if (p->stall_told || now_ms - p->moved_ms < after_ms)
		return 0;
	p->stall_told = 1;
	return 1;
}

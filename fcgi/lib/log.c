/*
 * log.c: one-line log records on stderr, with a level, a timestamp and
 * the request id; a control byte from a client becomes "?".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const level_names[LOG__MAX] = {
	"error", "warn", "info", "debug"
};

/* Set once at start-up, before threads exist; read-only afterwards. */
static enum log_level	 max_level = LOG_INFO;

void
log_set_level(enum log_level l)
{
	max_level = l;
}

int
log_enabled(enum log_level l)
{
	return l <= max_level;
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < LOG__MAX; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

/*
 * The record is formatted into one buffer and written with a single
 * write(2), so lines from concurrent threads and processes never
 * interleave. Over-long records are cut, never split.
 */
void
log_msg(enum log_level l, const char *rid, const char *fmt, ...)
{
	char		 line[2048];
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;
	int		 n, m;

	if (!log_enabled(l))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ promptpix[%d] %s %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(),
	    level_names[l], rid ? rid : "-");
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += ((size_t)m >= sizeof(line) - n - 1) ? (int)(sizeof(line) - n - 2) : m;
	/* One record, one line: a control byte from a client becomes '?'. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "t.h"

/* Does the rendered text hold this exact line? */
static int
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

void
test_metrics(void)
{
	static const char *const want[] = {
		"# TYPE promptpix_requests_total counter",
		"promptpix_requests_total{outcome=\"hit\"} 2",
		"promptpix_requests_total{outcome=\"waited\"} 1",
		"promptpix_requests_total{outcome=\"bad_request\"} 0",
		"promptpix_requests_total{outcome=\"other\"} 2",
		"promptpix_generations_total{result=\"completed\"} 1",
		"promptpix_generations_total{result=\"timeout\"} 1",
		"promptpix_upstream_calls_total{result=\"ok\"} 1",
		"promptpix_upstream_calls_total{result=\"error\"} 3",
		"promptpix_waiters 1",
		"promptpix_generations_in_flight 0",
		"promptpix_db_errors_total{kind=\"connect\"} 1",
		"promptpix_db_errors_total{kind=\"query\"} 0",
		"promptpix_takeovers_total 1",
		"# TYPE promptpix_waiter_wakeup_seconds histogram",
		"promptpix_waiter_wakeup_seconds_bucket{le=\"0.0005\"} 1",
		"promptpix_waiter_wakeup_seconds_bucket{le=\"0.001\"} 1",
		"promptpix_waiter_wakeup_seconds_bucket{le=\"0.0025\"} 2",
		"promptpix_waiter_wakeup_seconds_bucket{le=\"2.5\"} 2",
		"promptpix_waiter_wakeup_seconds_bucket{le=\"+Inf\"} 3",
		"promptpix_waiter_wakeup_seconds_sum 3.0023",
		"promptpix_waiter_wakeup_seconds_count 3",
		"promptpix_generation_seconds_bucket{le=\"1\"} 0",
		"promptpix_generation_seconds_bucket{le=\"2\"} 1",
		"promptpix_generation_seconds_bucket{le=\"30\"} 2",
		"promptpix_generation_seconds_sum 31.5",
		"promptpix_generation_seconds_count 2",
	};
	char	*text;
	size_t	 len;

	/* Shared memory for two processes; this one writes slot 1. */
	T_CHECK(metrics_init(2) == 0, "metrics_init");
	metrics_use_slot(1);
	metrics_request(OUT_HIT);
	metrics_request(OUT_HIT);
	metrics_request(OUT_WAITED);
	metrics_request((enum outcome)OUT__MAX);	/* out of range */
	metrics_request(OUT_OTHER);
	metrics_waiters(1);
	metrics_waiters(1);
	metrics_waiters(-1);
	metrics_generating(1);
	metrics_generating(-1);
	metrics_generation(MG_COMPLETED, 1500000, 1);
	metrics_generation(MG_TIMEOUT, 30000000, 3);
	metrics_takeover();
	metrics_wakeup(500);		/* on a bucket bound: counts in it */
	metrics_wakeup(1800);
	metrics_wakeup(3000000);
	metrics_db_error(MDB_CONNECT);
	text = metrics_render(&len);
	T_CHECK(strlen(text) == len && text[len - 1] == '\n', "render length");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		T_CHECK(has_line(text, want[i]), "metrics line: %s", want[i]);
	T_CHECK(metrics_waiters_now() == 1, "waiters now");
	free(text);

	/* A replacement process in slot 1: counters stay, gauges restart. */
	metrics_use_slot(1);
	text = metrics_render(&len);
	T_CHECK(has_line(text, "promptpix_waiters 0") &&
	    has_line(text, "promptpix_requests_total{outcome=\"hit\"} 2"),
	    "slot reuse");
	free(text);
}

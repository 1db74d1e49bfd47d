/*
 * park.c: parked requests on real threads and real sockets (socket
 * pairs stand in for the web server's connections). Each wait must end
 * exactly once, the right way: landed with its flight's result, at its
 * deadline, when its peer hangs up, or at the stop. Every wait for an
 * answer is bounded, so a lost one fails a check instead of hanging.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flight.h"
#include "hash.h"
#include "park.h"
#include "util.h"
#include "t.h"

#define WAIT_MS		10000
#define CHURN		400

struct req {
	struct parked	 p;
	int		 peer;		/* the web server's end */
	int		 answers;
	enum park_end	 end;
	int64_t		 tag;		/* the landed result's */
	int64_t		 at;		/* now_ms() when answered */
};

static pthread_mutex_t	 mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;
static int		 answered;

static void
answer(struct parked *p)
{
	struct req	*r = (struct req *)(void *)p;

	pthread_mutex_lock(&mx);
	r->answers++;
	r->end = p->end;
	r->tag = p->end == PARK_LANDED ? p->res->row.res.file_size : -1;
	r->at = now_ms();
	answered++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mx);
	free(p->res);
	close(p->fd);
}

/* Wait (bounded) until n answers in all were given. */
static int
await_answers(int n)
{
	int64_t	 end = now_ms() + WAIT_MS;
	int	 ok;

	pthread_mutex_lock(&mx);
	while (answered < n && now_ms() < end) {
		pthread_mutex_unlock(&mx);
		sleep_ms(1);
		pthread_mutex_lock(&mx);
	}
	ok = answered >= n;
	pthread_mutex_unlock(&mx);
	return ok ? 0 : -1;
}

static void
some_hash(char *hex, const char *tag, int i)
{
	char	 s[64];

	snprintf(s, sizeof(s), "park-%s-%d", tag, i);
	hash_sha256_hex(s, strlen(s), hex);
}

/* A connection for r: its end and the web server's. */
static void
connect_req(struct req *r)
{
	int	 sv[2];

	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		sv[0] = sv[1] = -1;
	r->p.fd = sv[0];
	r->peer = sv[1];
}

/*
 * Park r, connected, on hash's flight until deadline: 0 parked, 1
 * landed already.
 */
static int
park_conn(struct req *r, const char *hash, int64_t deadline,
    struct flight_result *res)
{
	flight_join(hash, &r->p.flight);
	r->p.deadline = deadline;
	r->p.answer = answer;
	return park(&r->p, res);
}

static int
park_on(struct req *r, const char *hash, int64_t deadline,
    struct flight_result *res)
{
	connect_req(r);
	return park_conn(r, hash, deadline, res);
}

static void
ends(void)
{
	static struct req	 r[6];
	struct flight_result	 fr = t_flight_row(41), got;
	struct flight		*f;
	char			 h[HASH_HEX_LEN + 1], h2[HASH_HEX_LEN + 1];
	int64_t			 t0, far = now_ms() + 60000;

	some_hash(h, "ends", 0);
	some_hash(h2, "ends", 1);
	T_CHECK(park_on(&r[0], h, far, &got) == 0 &&
	    park_on(&r[1], h, far, &got) == 0, "two parked on one flight");
	T_CHECK(flight_parked(h) == 2 && park_count() == 2, "both counted");
	flight_publish(h, &fr);
	T_CHECK(await_answers(2) == 0, "both answered");
	T_CHECK(r[0].answers == 1 && r[0].end == PARK_LANDED &&
	    r[0].tag == 41 && r[1].answers == 1 && r[1].tag == 41,
	    "with the flight's result");

	/* Its client hangs up: answered at once, the flight left. */
	T_CHECK(park_on(&r[2], h2, far, &got) == 0, "parked");
	T_CHECK(flight_parked(h2) == 1, "on its flight");
	close(r[2].peer);
	T_CHECK(await_answers(3) == 0 && r[2].end == PARK_GONE &&
	    r[2].answers == 1, "hung up: gone");
	T_CHECK(flight_parked(h2) == 0 && !flight_open(h2),
	    "its flight left with it");

	/* The deadline, not before it; the peer stays open. */
	t0 = now_ms();
	T_CHECK(park_on(&r[3], h2, t0 + 80, &got) == 0, "short deadline");
	T_CHECK(park_on(&r[4], h2, t0 + 40, &got) == 0,
	    "a shorter one parked after it");
	T_CHECK(await_answers(5) == 0 && r[3].end == PARK_DEADLINE &&
	    r[4].end == PARK_DEADLINE, "both at their deadlines");
	T_CHECK(r[4].at >= t0 + 40 && r[3].at >= t0 + 80 && r[4].at <= r[3].at,
	    "in deadline order, none early: %lld %lld",
	    (long long)(r[4].at - t0), (long long)(r[3].at - t0));
	close(r[3].peer);
	close(r[4].peer);

	/* Landed between the join and the park: not parked. */
	T_CHECK(flight_join(h2, &f) == 1, "a fresh flight");
	memset(&r[5], 0, sizeof(r[5]));
	r[5].p.flight = f;
	r[5].p.deadline = far;
	r[5].p.fd = -1;
	r[5].p.answer = answer;
	flight_publish(h2, &fr);
	T_CHECK(park(&r[5].p, &got) == 1 && got.row.res.file_size == 41,
	    "park says it landed, with the result");
	T_CHECK(park_count() == 0 && r[5].answers == 0, "and parks nothing");
	close(r[0].peer);
	close(r[1].peer);
}

/*
 * Parks, landings, hang-ups and deadlines at once from several threads:
 * every request answered exactly once. For the sanitizers.
 */
static struct req	 churn_req[CHURN];

static void *
churn_lander(void *arg)
{
	char			 h[HASH_HEX_LEN + 1];
	struct flight_result	 fr = t_flight_row(7);

	(void)arg;
	for (int i = 0; i < CHURN; i++) {
		some_hash(h, "churn", i % 8);
		flight_publish(h, &fr);
		if (i % 3 == 0)
			close(churn_req[i].peer);
		sched_yield();
	}
	return NULL;
}

static void
churn(void)
{
	struct flight_result	 got;
	char			 h[HASH_HEX_LEN + 1];
	pthread_t		 t;
	int			 base, inline_ = 0, bad = 0;

	pthread_mutex_lock(&mx);
	base = answered;
	pthread_mutex_unlock(&mx);
	/* All connected first: the lander closes peers at any time. */
	for (int i = 0; i < CHURN; i++)
		connect_req(&churn_req[i]);
	for (int i = 0; i < CHURN; i++) {
		some_hash(h, "churn", i % 8);
		if (park_conn(&churn_req[i], h, now_ms() + (i % 5) * 2 + 1,
		    &got) == 1) {
			inline_++;
			close(churn_req[i].p.fd);
		}
		if (i == CHURN / 4)
			pthread_create(&t, NULL, churn_lander, NULL);
	}
	pthread_join(t, NULL);
	T_CHECK(await_answers(base + CHURN - inline_) == 0,
	    "churn: all answered");
	pthread_mutex_lock(&mx);
	for (int i = 0; i < CHURN; i++)
		if (churn_req[i].answers > 1)
			bad++;
	pthread_mutex_unlock(&mx);
	T_CHECK(bad == 0 && park_count() == 0,
	    "churn: each once (%d twice), none left", bad);
	for (int i = 0; i < CHURN; i++)
		if (i % 3 != 0)
			close(churn_req[i].peer);
}

/* The stop: everything parked is answered, and what parks after it. */
static void
stop(void)
{
	static struct req	 r[3];
	struct flight_result	 got;
	char			 h[HASH_HEX_LEN + 1];
	int			 base;

	pthread_mutex_lock(&mx);
	base = answered;
	pthread_mutex_unlock(&mx);
	some_hash(h, "stop", 0);
	T_CHECK(park_on(&r[0], h, now_ms() + 60000, &got) == 0 &&
	    park_on(&r[1], h, now_ms() + 60000, &got) == 0, "two parked");
	T_CHECK(park_stop(now_ms() + WAIT_MS) == 0, "stop answers them");
	T_CHECK(r[0].end == PARK_STOPPED && r[1].end == PARK_STOPPED &&
	    r[0].answers == 1 && r[1].answers == 1, "as stopped");
	T_CHECK(park_on(&r[2], h, now_ms() + 60000, &got) == 0 &&
	    await_answers(base + 3) == 0 && r[2].end == PARK_STOPPED,
	    "parked after the stop: answered as stopped");
	T_CHECK(!flight_open(h), "no flight left");
	for (int i = 0; i < 3; i++)
		close(r[i].peer);
}

void
test_park(void)
{
	T_CHECK(park_start(2) == 0, "park starts");
	ends();
	churn();
	stop();
}

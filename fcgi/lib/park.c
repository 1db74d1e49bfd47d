/*
 * park.c: the parked requests (see park.h): a list in deadline order, a
 * keeper thread that ends waits at their deadline or when their client
 * hangs up, and the answer threads.
 *
 * Who ends a wait is settled by the flight: whoever takes the waiter off
 * it (flight_unpark(), or the landing) owns the request. One lock guards
 * the list, the queue of ended waits and the descriptor table; the
 * flight's lock is only ever taken inside it, never the other way round
 * (a landing lets go of the flight's lock before calling landed()).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "flight.h"
#include "log.h"
#include "park.h"
#include "util.h"

/* The keeper's epoll tag for its own wake-up descriptor. */
#define WAKE_TAG	UINT64_MAX
#define EVENTS		64

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ready = PTHREAD_COND_INITIALIZER;
static struct parked	*first, *last;		/* parked, by deadline */
static struct parked	*qhead, *qtail;		/* ended, to answer */
static struct parked	**byfd;			/* listed, by descriptor */
static size_t		 nbyfd;
static unsigned		 nopen;		/* parked, queued or answering */
static uint32_t		 tags;
static int		 epfd = -1, wakefd = -1;
static int		 stopping;

static struct parked *
of_waiter(struct flight_waiter *w)
{
	return (struct parked *)(void *)((char *)w -
	    offsetof(struct parked, fw));
}

static void
wake_keeper(void)
{
	uint64_t	 one = 1;

	if (write(wakefd, &one, sizeof(one)) != sizeof(one))
		log_error(NULL, "waking the parked requests' keeper: %s",
		    strerror(errno));
}

/* With mtx held: insert p by deadline (nearly always at the end). */
static void
list_insert(struct parked *p)
{
	struct parked	*after = last;

	while (after != NULL && after->deadline > p->deadline)
		after = after->prev;
	p->prev = after;
	p->next = after != NULL ? after->next : first;
	if (p->next != NULL)
		p->next->prev = p;
	else
		last = p;
	if (after != NULL)
		after->next = p;
	else
		first = p;
	p->listed = 1;
}

/*
 * With mtx held: watch p's connection for a hang-up. Only the peer's
 * close is asked for: the web server sends nothing more on it before
 * our answer. One-shot: one hang-up ends the wait once.
 */
static void
watch(struct parked *p)
{
	struct epoll_event	 ev;
	size_t			 n;

	if ((size_t)p->fd >= nbyfd) {
		n = nbyfd ? nbyfd : 1024;
		while (n <= (size_t)p->fd)
			n *= 2;
		byfd = xrealloc(byfd, n * sizeof(*byfd));
		memset(byfd + nbyfd, 0, (n - nbyfd) * sizeof(*byfd));
		nbyfd = n;
	}
	byfd[p->fd] = p;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLRDHUP | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)p->tag << 32 | (uint32_t)p->fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev) == -1)
		log_warn(NULL, "watching a parked connection: %s",
		    strerror(errno));
}

/* With mtx held: take p off the list and stop watching it. */
static void
list_remove(struct parked *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		first = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		last = p->prev;
	p->prev = p->next = NULL;
	p->listed = 0;
	byfd[p->fd] = NULL;
	epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd, NULL);
}

/* With mtx held: hand p, whose wait ended so, to an answer thread. */
static void
enqueue(struct parked *p, enum park_end end)
{
	p->end = end;
	p->next = NULL;
	if (qtail != NULL)
		qtail->next = p;
	else
		qhead = p;
	qtail = p;
	pthread_cond_signal(&ready);
}

/*
 * With mtx held: end p's wait so, unless its flight landed first; then
 * the landing's landed() queues it, and p only leaves the list here.
 */
static void
end_wait(struct parked *p, enum park_end end)
{
	int	 mine = flight_unpark(p->flight, &p->fw);

	list_remove(p);
	if (mine)
		enqueue(p, end);
}

/* The flight's landed(): called by whoever landed it, no lock held. */
static void
landed(struct flight_waiter *w, const struct flight_result *res)
{
	struct parked		*p = of_waiter(w);
	struct flight_result	*copy = xmalloc(sizeof(*copy));

	*copy = *res;
	pthread_mutex_lock(&mtx);
	p->res = copy;
	if (p->listed)
		list_remove(p);
	enqueue(p, PARK_LANDED);
	pthread_mutex_unlock(&mtx);
}

int
park(struct parked *p, struct flight_result *res)
{
	p->fw.landed = landed;
	p->res = NULL;
	p->listed = 0;
	pthread_mutex_lock(&mtx);
	nopen++;
	if (stopping) {
		flight_leave(p->flight);
		enqueue(p, PARK_STOPPED);
	} else if (flight_park(p->flight, &p->fw, res) == 1) {
		nopen--;
		pthread_mutex_unlock(&mtx);
		return 1;
	} else {
		p->tag = ++tags;
		list_insert(p);
		watch(p);
		if (first == p)
			wake_keeper();
	}
	pthread_mutex_unlock(&mtx);
	return 0;
}

/* With mtx held: end every wait whose deadline passed by now. */
static void
expire(int64_t now)
{
	while (first != NULL && first->deadline <= now)
		end_wait(first, PARK_DEADLINE);
}

/* With mtx held: the event ev came; a hang-up ends its wait. */
static void
hung_up(const struct epoll_event *ev)
{
	uint64_t	 fd = ev->data.u64 & UINT32_MAX;
	struct parked	*p;

	if (fd >= nbyfd || (p = byfd[fd]) == NULL ||
	    p->tag != (uint32_t)(ev->data.u64 >> 32))
		return;		/* answered since: the tag tells */
	end_wait(p, PARK_GONE);
}

static void *
keeper_main(void *arg)
{
	struct epoll_event	 ev[EVENTS];
	uint64_t		 v;
	int64_t			 now;
	int			 n, timeout;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mtx);
		expire(now = now_ms());
		timeout = first == NULL ? -1 : (int)(first->deadline - now);
		pthread_mutex_unlock(&mtx);
		if ((n = epoll_wait(epfd, ev, EVENTS, timeout)) == -1) {
			if (errno != EINTR)
				sleep_ms(10);
			continue;
		}
		pthread_mutex_lock(&mtx);
		for (int i = 0; i < n; i++)
			if (ev[i].data.u64 == WAKE_TAG) {
				if (read(wakefd, &v, sizeof(v)) < 0)
					continue;
			} else
				hung_up(&ev[i]);
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

static void *
answer_main(void *arg)
{
	struct parked	*p;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mtx);
		while ((p = qhead) == NULL)
			pthread_cond_wait(&ready, &mtx);
		if ((qhead = p->next) == NULL)
			qtail = NULL;
		pthread_mutex_unlock(&mtx);
		p->answer(p);
		pthread_mutex_lock(&mtx);
		nopen--;
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

int
park_start(unsigned n)
{
	struct epoll_event	 ev;
	pthread_t		 tid;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_error(NULL, "parked requests: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = WAKE_TAG;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) == -1 ||
	    pthread_create(&tid, NULL, keeper_main, NULL) != 0)
		return -1;
	pthread_detach(tid);
	for (unsigned i = 0; i < (n ? n : 1); i++) {
		if (pthread_create(&tid, NULL, answer_main, NULL) != 0)
			return -1;
		pthread_detach(tid);
	}
	return 0;
}

unsigned
park_count(void)
{
	unsigned	 n;

	pthread_mutex_lock(&mtx);
	n = nopen;
	pthread_mutex_unlock(&mtx);
	return n;
}

unsigned
park_stop(int64_t until_ms)
{
	unsigned	 n;

	pthread_mutex_lock(&mtx);
	stopping = 1;
	while (first != NULL)
		end_wait(first, PARK_STOPPED);
	pthread_mutex_unlock(&mtx);
	while ((n = park_count()) > 0 && now_ms() < until_ms)
		sleep_ms(10);
	return n;
}

/*
 * accept.c: the request threads' accept, which a shutdown can wake
 * (see accept.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accept.h"
#include "log.h"

/*
 * How long a new unix-socket connection may stay silent before it is
 * dropped: libfcgi's own figure (a web server that gave up waiting
 * leaves a connection with nothing to read).
 */
#define SILENT_MS	2000

static int		 lfd = -1, wake = -1;
static atomic_int	 stopping, broken;
static const char	*web_addrs;	/* FCGI_WEB_SERVER_ADDRS, or NULL */

/* The accepted connections, a ring; mtx guards it and done. */
static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ready = PTHREAD_COND_INITIALIZER;	/* not empty */
static pthread_cond_t	 room = PTHREAD_COND_INITIALIZER;	/* not full */
static struct conn {
	int	 fd;
	int	 local;		/* a unix-socket connection */
}			 queue[ACCEPT_QUEUE];
static unsigned		 qhead, qlen;
static unsigned		 idle;		/* request threads waiting for one */
static int		 done;		/* the accepting thread has ended */

/*
 * A process with no request thread free lets the others take what
 * comes for BUSY_MS first, then takes up to BUSY_BATCH before it holds
 * back again: a free thread elsewhere answers sooner, and in a burst
 * that keeps every process busy, each still empties the backlog fast.
 */
#define BUSY_MS		2
#define BUSY_BATCH	64

static void	*acceptor_main(void *);

int
accept_init(int listen_fd)
{
	pthread_t	 tid;
	int		 fl, rc;

	lfd = listen_fd;
	if ((fl = fcntl(lfd, F_GETFL)) == -1 ||
	    fcntl(lfd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (wake = eventfd(0, EFD_CLOEXEC)) == -1) {
		log_error(NULL, "listening socket: %s", strerror(errno));
		return -1;
	}
	if ((web_addrs = getenv("FCGI_WEB_SERVER_ADDRS")) != NULL &&
	    *web_addrs == '\0')
		web_addrs = NULL;
	if ((rc = pthread_create(&tid, NULL, acceptor_main, NULL)) != 0) {
		log_error(NULL, "accepting thread: %s", strerror(rc));
		return -1;
	}
	pthread_detach(tid);
	return 0;
}

void
accept_stop(void)
{
	uint64_t	 one = 1;

	atomic_store(&stopping, 1);
	/* Never read back: it stays readable for every poll() to see. */
	if (write(wake, &one, sizeof(one)) != sizeof(one))
		log_error(NULL, "waking the accepting thread: %s",
		    strerror(errno));
	pthread_mutex_lock(&mtx);
	pthread_cond_broadcast(&room);
	pthread_mutex_unlock(&mtx);
}

int
accept_stopping(void)
{
	return atomic_load(&stopping);
}

/* As libfcgi: may a TCP peer talk to us (FCGI_WEB_SERVER_ADDRS)? */
static int
peer_allowed(const struct sockaddr_storage *sa)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*p, *end;
	size_t		 n;

	if (web_addrs == NULL || sa->ss_family != AF_INET)
		return 1;
	inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
	    addr, sizeof(addr));
	n = strlen(addr);
	for (p = web_addrs; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		if ((size_t)(end - p) == n && memcmp(p, addr, n) == 0)
			return 1;
	}
	return 0;
}

/* Errors that concern one connection, not the socket: take the next. */
static int
passing(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR ||
	    err == ECONNABORTED || err == EPROTO || err == ECONNRESET ||
	    err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH ||
	    err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

/*
 * Wait for and accept one connection. Returns its descriptor, -1 when
 * stopping or when the socket failed.
 */
static int
take_one(struct sockaddr_storage *sa)
{
	struct pollfd	 pfd[2];
	socklen_t	 len;
	int		 fd;

	for (;;) {
		if (atomic_load(&stopping) || atomic_load(&broken))
			return -1;
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = wake;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			continue;	/* stopping: seen above */
		if (pfd[0].revents & (POLLERR | POLLNVAL)) {
			errno = EBADF;
			break;
		}
		len = sizeof(*sa);
		if ((fd = accept4(lfd, (struct sockaddr *)sa, &len,
		    SOCK_CLOEXEC)) >= 0)
			return fd;
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: let requests end first. */
			log_warn(NULL, "accept: %s", strerror(errno));
			poll(NULL, 0, 100);
		}
		if (!passing(errno))
			break;
	}
	log_error(NULL, "accept: %s; this process takes no more requests",
	    strerror(errno));
	atomic_store(&broken, 1);
	return -1;
}

/*
 * Accept one connection a request thread may take, into *c: 0, or -1
 * when stopping or when the socket failed. A peer not allowed is let
 * go here.
 */
static int
accept_one(struct conn *c)
{
	struct sockaddr_storage	 sa;
	int			 fd, one = 1;

	for (;;) {
		if ((fd = take_one(&sa)) < 0)
			return -1;
		if (!peer_allowed(&sa)) {
			close(fd);
			continue;
		}
		if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		c->fd = fd;
		c->local = sa.ss_family == AF_UNIX;
		return 0;
	}
}

/*
 * Wait until the queue has room, and while a free request thread is
 * about to take the last connection: one at a time while threads are
 * free, as each thread took its own before, so that the processes on
 * the socket share the connections. Returns whether a request thread
 * is free to take the next one at once.
 */
static int
wait_room(void)
{
	int	 free_thread;

	pthread_mutex_lock(&mtx);
	while ((qlen == ACCEPT_QUEUE || (qlen > 0 && idle > 0)) &&
	    !atomic_load(&stopping))
		pthread_cond_wait(&room, &mtx);
	free_thread = idle > qlen;
	pthread_mutex_unlock(&mtx);
	return free_thread;
}

/* Sleep ms, or less if the process stops meanwhile. */
static void
hold_back(int ms)
{
	struct pollfd	 pfd = { .fd = wake, .events = POLLIN };

	poll(&pfd, 1, ms);
}

/* The accepting thread: into the queue while it has room. */
static void *
acceptor_main(void *arg)
{
	struct conn	 c;
	int		 credit = 0;

	(void)arg;
	for (;;) {
		if (!wait_room() && credit == 0) {
			hold_back(BUSY_MS);
			credit = BUSY_BATCH;
		}
		if (accept_one(&c) < 0)
			break;
		if (credit > 0)
			credit--;
		pthread_mutex_lock(&mtx);
		queue[(qhead + qlen++) % ACCEPT_QUEUE] = c;
		pthread_cond_signal(&ready);
		pthread_mutex_unlock(&mtx);
	}
	pthread_mutex_lock(&mtx);
	done = 1;
	pthread_cond_broadcast(&ready);
	pthread_mutex_unlock(&mtx);
	return NULL;
}

/* The next accepted connection in *c: 0, or -1 once none will come. */
static int
queued(struct conn *c)
{
	int	 rc = -1;

	pthread_mutex_lock(&mtx);
	idle++;
	while (qlen == 0 && !done)
		pthread_cond_wait(&ready, &mtx);
	idle--;
	if (qlen > 0) {
		*c = queue[qhead];
		qhead = (qhead + 1) % ACCEPT_QUEUE;
		qlen--;
		pthread_cond_signal(&room);
		rc = 0;
	}
	pthread_mutex_unlock(&mtx);
	return rc;
}

int
accept_next(void)
{
	struct pollfd	 pfd;
	struct conn	 c;

	/*
	 * Like libfcgi: a unix-socket connection whose request does not
	 * come (a web server that gave up) is dropped. Waited for here,
	 * on the request thread, so a silent one holds no other.
	 */
	while (queued(&c) == 0) {
		pfd.fd = c.fd;
		pfd.events = POLLIN;
		if (!c.local || (poll(&pfd, 1, SILENT_MS) == 1 &&
		    (pfd.revents & POLLIN)))
			return c.fd;
		close(c.fd);
	}
	return -1;
}

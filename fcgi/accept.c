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

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static int		 lfd = -1, wake = -1;
static atomic_int	 stopping, broken;
static const char	*web_addrs;	/* FCGI_WEB_SERVER_ADDRS, or NULL */

int
accept_init(int listen_fd)
{
	int	 fl;

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
 * With mtx held: wait for and accept one connection. Returns its
 * descriptor, -1 when stopping or when the socket failed.
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

int
accept_next(void)
{
	struct sockaddr_storage	 sa;
	struct pollfd		 pfd;
	int			 fd, one = 1;

	for (;;) {
		pthread_mutex_lock(&mtx);
		fd = take_one(&sa);
		pthread_mutex_unlock(&mtx);
		if (fd < 0)
			return -1;
		if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (peer_allowed(&sa) && (sa.ss_family != AF_UNIX ||
		    (poll(&pfd, 1, SILENT_MS) == 1 && (pfd.revents & POLLIN))))
			return fd;
		close(fd);
	}
}

/*
 * accept.h: taking FastCGI connections off the listening socket (fd 0)
 * for the request threads, in place of libfcgi's blocking accept(),
 * which nothing can wake: FCGX_ShutdownPending() only stops the next
 * call, so a thread already blocked in accept() would take one more
 * connection after the process had decided to leave.
 *
 * One thread per process accepts, as fast as connections come, into a
 * queue the request threads take from. A burst of connects while every
 * request thread is busy then waits in that queue (ACCEPT_QUEUE per
 * process) and not only in the socket's listen backlog, whose overflow
 * the web server answers 502. The accepting thread waits in poll() on
 * the socket and on a wake-up descriptor, so accept_stop() ends its
 * wait at once; a connection accepted before that is answered like any
 * other.
 *
 * The listening socket is made non-blocking. It is shared with the
 * other processes on it (the supervisor's children), which all take
 * connections the same way; a connection another process took first
 * is no error.
 */
#ifndef PP_ACCEPT_H
#define PP_ACCEPT_H

/* Connections accepted and not yet taken, at most, per process. */
#define ACCEPT_QUEUE	8192

/*
 * Once, in the process that serves, before the request threads start:
 * start the accepting thread. 0, or -1 (logged).
 */
int	accept_init(int listen_fd);

/*
 * The next connection: its descriptor, accepted and (like libfcgi)
 * with its first bytes arrived, TCP_NODELAY on TCP, and its peer on
 * FCGI_WEB_SERVER_ADDRS if that is set. Returns -1 once accept_stop()
 * was called and every connection accepted before it was taken, or
 * when the socket failed (logged).
 */
int	accept_next(void);

/* No more connections: wake every thread in accept_next(). */
void	accept_stop(void);

/* Was accept_stop() called? */
int	accept_stopping(void);

#endif

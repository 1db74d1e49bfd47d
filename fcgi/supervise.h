/*
 * supervise.h: running several responder processes on one socket.
 * The parent forks n children that inherit the listening socket (fd 0)
 * and stderr, replaces any that dies, passes SIGUSR1 on to them, and on
 * SIGTERM or SIGINT stops them all and returns.
 */
#ifndef PP_SUPERVISE_H
#define PP_SUPERVISE_H

/*
 * Returns 0 in a child (which goes on to serve), with *slot set to its
 * place (0..n-1; a replacement takes the place of the child it
 * replaces), and 1 in the parent once it has stopped all children. A
 * fork that fails is tried again every second.
 */
int	supervise(unsigned n, unsigned *slot);

#endif

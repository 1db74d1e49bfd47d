/*
 * supervise.c: the supervisor of [server] processes: it forks the
 * children on the shared socket, replaces any that dies, passes signals on.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "supervise.h"
#include "util.h"

static volatile sig_atomic_t	 stopping, flushing;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		flushing = 1;
	else
		stopping = 1;
}

/* Fork one child. Returns its pid in the parent, 0 in the child. */
static pid_t
spawn(pid_t parent)
{
	pid_t	 pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		/* Do not outlive the supervisor, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
	}
	return pid;
}

int
supervise(unsigned n, unsigned *slot)
{
	struct sigaction	 sa;
	pid_t			*kids = xcalloc(n, sizeof(*kids));
	pid_t			 self = getpid(), pid;
	int			 status, err;
	unsigned		 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	while (!stopping) {
		/* Start every missing child; a failed fork is tried again. */
		for (i = 0; i < n && !stopping; i++) {
			if (kids[i] > 0)
				continue;
			if ((kids[i] = spawn(self)) == 0) {
				free(kids);
				*slot = i;
				return 0;
			}
			if (kids[i] < 0) {
				log_error(NULL, "fork: %s; trying again",
				    strerror(errno));
				kids[i] = 0;
				sleep_ms(1000);
			}
		}
		if ((pid = waitpid(-1, &status, 0)) < 0) {
			err = errno;
			/* EINTR: a signal. SIGUSR1 is passed on to all. */
			if (flushing) {
				flushing = 0;
				for (i = 0; i < n; i++)
					if (kids[i] > 0)
						kill(kids[i], SIGUSR1);
			}
			if (err == ECHILD)
				sleep_ms(1000);	/* none alive: forks failing */
			continue;
		}
		for (i = 0; i < n && kids[i] != pid; i++)
			continue;
		if (i == n || stopping)
			continue;
		log_warn(NULL, "responder %d ended (%s %d); starting another",
		    (int)pid, WIFSIGNALED(status) ? "signal" : "status",
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status));
		kids[i] = 0;
		sleep_ms(100);	/* no fork storm if children die at once */
	}
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (wait(&status) > 0 || errno == EINTR)
		continue;
	free(kids);
	return 1;
}

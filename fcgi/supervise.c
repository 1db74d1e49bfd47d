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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "supervise.h"
#include "util.h"

/* No fork storm when children die at once: the pause before a new one. */
#define RESPAWN_PAUSE_MS	100
/* After a fork failed, before the next try. */
#define FORK_RETRY_MS		1000

/*
 * Fork one child. Returns its pid in the parent, 0 in the child. The
 * supervisor's signals are blocked across the fork, and SIGTERM, SIGINT
 * and SIGUSR1 stay blocked in the child, where main() takes them with
 * sigwait(): one passed on to a child that has just been forked waits
 * for it instead of killing it. Otherwise the child gets back old, the
 * mask the supervisor started with.
 */
static pid_t
spawn(pid_t parent, const sigset_t *old)
{
	sigset_t	 mask;
	pid_t		 pid = fork();

	if (pid == 0) {
		mask = *old;
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGUSR1);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		/* Do not outlive the supervisor, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
	}
	return pid;
}

/* Reap every child that has ended; log and free the places of ours. */
static void
reap(pid_t *kids, unsigned n, int64_t *next_fork)
{
	pid_t		 pid;
	int		 status;
	unsigned	 i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n && kids[i] != pid; i++)
			continue;
		if (i == n)
			continue;
		kids[i] = 0;
		log_warn(NULL, "responder %d ended (%s %d); starting another",
		    (int)pid, WIFSIGNALED(status) ? "signal" : "status",
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status));
		*next_fork = now_ms() + RESPAWN_PAUSE_MS;
	}
}

/*
 * Wait for one of set, for at most ms (-1: no limit). Returns the
 * signal, or 0 when the time ran out.
 */
static int
wait_signal(const sigset_t *set, int64_t ms)
{
	struct timespec	 ts;
	int		 sig;

	do {
		if (ms < 0)
			sig = sigwaitinfo(set, NULL);
		else {
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (ms % 1000) * 1000000;
			sig = sigtimedwait(set, NULL, &ts);
		}
	} while (sig == -1 && errno == EINTR);
	return sig > 0 ? sig : 0;
}

int
supervise(unsigned n, unsigned *slot)
{
	pid_t		*kids = xcalloc(n, sizeof(*kids));
	pid_t		 self = getpid();
	sigset_t	 set, old;
	int64_t		 next_fork = 0, now;
	int		 stopping = 0, sig;
	unsigned	 i;

	/*
	 * Every signal the supervisor acts on stays blocked and is taken
	 * with sigwaitinfo(): one that comes while we fork or reap is
	 * pending, never lost, and there is no gap between looking at a
	 * flag and going to sleep.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	while (!stopping) {
		reap(kids, n, &next_fork);
		/* Start every missing child; a failed fork is tried again. */
		for (i = 0; i < n && (now = now_ms()) >= next_fork; i++) {
			if (kids[i] > 0)
				continue;
			if ((kids[i] = spawn(self, &old)) == 0) {
				free(kids);
				*slot = i;
				return 0;
			}
			if (kids[i] < 0) {
				log_error(NULL, "fork: %s; trying again",
				    strerror(errno));
				kids[i] = 0;
				next_fork = now + FORK_RETRY_MS;
			}
		}
		for (i = 0; i < n && kids[i] > 0; i++)
			continue;
		/* All there: sleep until a signal; else until the next fork. */
		now = now_ms();
		sig = wait_signal(&set, i == n ? -1 :
		    next_fork > now ? next_fork - now : 0);
		if (sig == SIGUSR1) {
			for (i = 0; i < n; i++)
				if (kids[i] > 0)
					kill(kids[i], SIGUSR1);
		} else if (sig == SIGTERM || sig == SIGINT)
			stopping = 1;
	}
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	/* Wait for them all; SIGCHLD and the rest stay blocked, unneeded. */
	while (wait(NULL) > 0 || errno == EINTR)
		continue;
	free(kids);
	return 1;
}

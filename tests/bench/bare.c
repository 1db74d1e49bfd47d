/*
 * bare.c: the benchmark's yardstick, the most trivial threaded libfcgi
 * responder: every request gets the same 302. promptpix's cache hits are
 * measured against it with the same processes and threads.
 *
 *   bare [threads]      (the listening socket is fd 0, as spawn-fcgi gives)
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <fcgiapp.h>

static pthread_mutex_t	 accept_mtx = PTHREAD_MUTEX_INITIALIZER;

static void *
serve(void *arg)
{
	FCGX_Request	 r;
	int		 rc;

	(void)arg;
	FCGX_InitRequest(&r, 0, 0);
	for (;;) {
		pthread_mutex_lock(&accept_mtx);
		rc = FCGX_Accept_r(&r);
		pthread_mutex_unlock(&accept_mtx);
		if (rc < 0)
			break;
		FCGX_PutS("Status: 302 Found\r\n"
		    "Location: /img/00/0000000000000000000000000000000000000000"
		    "000000000000000000000000.jpg\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\nfound\n",
		    r.out);
		FCGX_Finish_r(&r);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	int		 n = argc > 1 ? atoi(argv[1]) : 8;
	pthread_t	*t;

	if (n < 1 || FCGX_Init() != 0)
		return 1;
	/*
	 * libfcgi's handler only sets a flag that its accept() never looks
	 * at: without this, SIGTERM is ignored and make bench leaves the
	 * process running.
	 */
	signal(SIGTERM, SIG_DFL);
	t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, serve, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

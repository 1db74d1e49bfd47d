/* test_schema.c: the migrations the binary needs, and the first missing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "schema.h"
#include "t.h"

/* A database that has every version except *arg (0: all). */
static int
has_all_but(unsigned version, void *arg)
{
	return version != *(unsigned *)arg;
}

static int
has_fault(unsigned version, void *arg)
{
	(void)version;
	(void)arg;
	return -1;
}

static void
test_first_missing(void)
{
	const struct schema_migration	*m;
	unsigned			 gone = 0;
	int				 fault = 7;

	T_CHECK(schema_count() >= 8 && schema_newest() >= 11, "the list");
	m = schema_first_missing(has_all_but, &gone, &fault);
	T_CHECK(m == NULL && fault == 0, "nothing missing");
	gone = 3;
	m = schema_first_missing(has_all_but, &gone, &fault);
	T_CHECK(m != NULL && m->version == 3 &&
	    strcmp(m->file, "003_retry.sql") == 0 && fault == 0,
	    "003 is the one missing");
	m = schema_first_missing(has_fault, NULL, &fault);
	T_CHECK(m == NULL && fault == 1, "a fault is not a missing migration");
}

/* A database whose routines are all at version *arg or newer. */
static int
routines_at(const char *file, unsigned version, void *arg)
{
	(void)file;
	return version <= *(unsigned *)arg;
}

static int
routines_fault(const char *file, unsigned version, void *arg)
{
	(void)file;
	(void)version;
	(void)arg;
	return -1;
}

static void
test_first_stale(void)
{
	const struct schema_routines	*r;
	unsigned			 at = 1000;
	int				 fault = 7;

	r = schema_first_stale(routines_at, &at, &fault);
	T_CHECK(r == NULL && fault == 0, "routines new enough");
	at = 0;
	r = schema_first_stale(routines_at, &at, &fault);
	T_CHECK(r != NULL && strncmp(r->file, "R__", 3) == 0 &&
	    r->version >= 1 && fault == 0, "the first stale one is named");
	r = schema_first_stale(routines_fault, NULL, &fault);
	T_CHECK(r == NULL && fault == 1, "a fault is not a stale routine");
}

/* The store must exist and be writable; a missing font only warns. */
static void
test_host(void)
{
	struct cfg	 c;
	char		 dir[] = "/tmp/pp-host-XXXXXX", err[512], warn[512];
	char		 backend[] = "placeholder", font[] = "/nonexistent/font.ttf";

	memset(&c, 0, sizeof(c));
	c.backend = backend;
	c.store_mode = STORE_LOCAL;
	c.placeholder_font = font;
	if (mkdtemp(dir) == NULL) {
		T_CHECK(0, "mkdtemp");
		return;
	}
	c.store_dir = dir;
	T_CHECK(cfg_check_host(&c, "f", err, sizeof(err), warn,
	    sizeof(warn)) == 0 && strstr(warn, "font /nonexistent/font.ttf")
	    != NULL, "a missing font is a warning: %s", warn);
	rmdir(dir);
	T_CHECK(cfg_check_host(&c, "f", err, sizeof(err), warn,
	    sizeof(warn)) == -1 && strstr(err, "[store] dir") != NULL &&
	    strstr(err, "No such file") != NULL, "a missing store: %s", err);
}

void
test_schema(void)
{
	test_first_missing();
	test_first_stale();
	test_host();
}

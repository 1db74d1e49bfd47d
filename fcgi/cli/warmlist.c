/*
 * warmlist.c: reading, checking and summing the list of `promptpix warm`
 * (see warmlist.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "sign.h"
#include "uri.h"
#include "util.h"
#include "warmlist.h"

/* Cut trailing "\r\n", spaces and tabs, and leading spaces and tabs. */
static const char *
trim(const char *s, size_t *len)
{
	size_t	 n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	*len = n;
	return s;
}

/* Is s[0..n) in the form a world can bake: "/..." or http(s)://? */
static int
url_form(const char *s, size_t n)
{
	if (n > 0 && s[0] == '/')
		return 1;
	return (n > 7 && strncasecmp(s, "http://", 7) == 0) ||
	    (n > 8 && strncasecmp(s, "https://", 8) == 0);
}

/* Any space or control character in s[0..n)? A URL has none. */
static int
has_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* The image's own part of a parsed URL: parse it, as page_image() does. */
static int
parse_image(const struct warm_opts *o, const struct uri_parts *u,
    struct warm_item *it, const char **why)
{
	struct sign_parts	 sp;
	char			*query = NULL;
	int			 rc;

	if (u->query != NULL) {
		if (sign_split(u->query, &sp, why) != 0)
			return -1;
		if ((sp.has_sig || sp.kid[0] || sp.exp) && o->sign) {
			*why = "already signed (--sign signs it)";
			return -1;
		}
		it->is_signed = sp.has_sig;
		query = xstrndup(u->query, sp.image_len);
	}
	rc = req_parse_image(u->path, query, o->lim, &it->req, why);
	free(query);
	if (rc != 0)
		return -1;
	hash_image(&it->req, o->model, it->hash);
	return 0;
}

int
warm_parse(const struct warm_opts *o, const char *line,
    struct warm_item *it, const char **why)
{
	struct uri_parts	 u;
	const char		*s;
	size_t			 n;
	int			 rc;

	memset(it, 0, sizeof(*it));
	s = trim(line, &n);
	if (n == 0 || s[0] == '#')
		return 1;
	it->url = xstrndup(s, n);
	if (n > URI_MAX) {
		*why = "longer than 16 KiB";
		return -1;
	}
	if (!url_form(s, n)) {
		*why = "not an image URL: /WxH.ext?text=... or http(s)://";
		return -1;
	}
	if (has_blank(s, n)) {
		*why = "a URL holds no spaces or control characters "
		    "(write %20)";
		return -1;
	}
	if ((rc = uri_split(it->url, NULL, o->base_path, &u)) != 0) {
		*why = rc == 414 ? "longer than 16 KiB" :
		    "not an image URL under base_path";
		return -1;
	}
	if (!req_is_image_path(u.path)) {
		*why = "not an image path: /WxH.jpg, .jpeg or .png";
		free(u.path);
		return -1;
	}
	rc = parse_image(o, &u, it, why);
	free(u.path);
	return rc;
}

static void
push(struct warm_list *l, const struct warm_item *it)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n] = *it;
	l->v[l->n].first = l->n;
	l->n++;
}

long
warm_read(FILE *in, const char *name, const struct warm_opts *o,
    int keep_bad, struct warm_list *l, FILE *err)
{
	struct warm_item	 it;
	const char		*why;
	char			*line = NULL;
	size_t			 cap = 0;
	unsigned		 lineno = 0;
	long			 bad = 0;
	int			 rc;

	while (getline(&line, &cap, in) != -1) {
		lineno++;
		why = NULL;
		if ((rc = warm_parse(o, line, &it, &why)) == 1)
			continue;
		it.line = lineno;
		if (rc == 0) {
			push(l, &it);
			continue;
		}
		bad++;
		fprintf(err, "promptpix: %s:%u: %s\n", name, lineno,
		    why ? why : "bad line");
		if (keep_bad) {
			img_req_free(&it.req);
			memset(&it.req, 0, sizeof(it.req));
			it.state = WARM_BAD;
			push(l, &it);
		} else {
			free(it.url);
			img_req_free(&it.req);
		}
	}
	free(line);
	return ferror(in) ? -1 : bad;
}

/* Items ordered by hash, then by place, for warm_dedupe(). */
static const struct warm_list	*sorting;

static int
by_hash(const void *a, const void *b)
{
	const struct warm_item	*x = &sorting->v[*(const size_t *)a];
	const struct warm_item	*y = &sorting->v[*(const size_t *)b];
	int			 c = strcmp(x->hash, y->hash);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

void
warm_dedupe(struct warm_list *l)
{
	size_t	*ix, i, first = 0;
	int	 have = 0;

	l->distinct = 0;
	if (l->n == 0)
		return;
	ix = xmalloc(l->n * sizeof(*ix));
	for (i = 0; i < l->n; i++)
		ix[i] = i;
	sorting = l;
	qsort(ix, l->n, sizeof(*ix), by_hash);
	sorting = NULL;
	for (i = 0; i < l->n; i++) {
		struct warm_item	*it = &l->v[ix[i]];

		if (it->state == WARM_BAD) {
			it->first = ix[i];
			continue;
		}
		/* Sorted: the same hash follows its first, earliest line. */
		if (!have || strcmp(l->v[first].hash, it->hash) != 0) {
			first = ix[i];
			have = 1;
			l->distinct++;
		}
		it->first = first;
	}
	free(ix);
}

double
warm_cost(uint64_t pixels, double price)
{
	/* One product of exact integers: no sum of rounded parts. */
	return (double)pixels / 1e6 * price;
}

const char *
warm_state_name(enum warm_state s)
{
	switch (s) {
	case WARM_NEW:		return "new";
	case WARM_QUEUED:	return "queued";
	case WARM_RUNNING:	return "running";
	case WARM_OK:		return "ok";
	case WARM_EXISTS:	return "exists";
	case WARM_FAILED:	return "failed";
	case WARM_BAD:		return "failed bad_line";
	}
	return "?";
}

char *
warm_image_url(const char *line, const char *image)
{
	const char	*host;
	char		*out;
	size_t		 n;

	if (image[0] != '/' || line[0] == '/' ||
	    (host = strstr(line, "://")) == NULL)
		return xstrdup(image);
	n = (size_t)(host + 3 - line) + strcspn(host + 3, "/?#");
	out = xmalloc(n + strlen(image) + 1);
	memcpy(out, line, n);
	strcpy(out + n, image);
	return out;
}

int
warm_result_line(const struct warm_item *it, const char *final_url,
    const char *image, char *out, size_t outsz)
{
	int	 n;

	if (it->state == WARM_FAILED)
		n = snprintf(out, outsz, "failed %s\t%s\t%s\n",
		    it->kind[0] ? it->kind : "unknown", final_url,
		    image ? image : "-");
	else
		n = snprintf(out, outsz, "%s\t%s\t%s\n",
		    warm_state_name(it->state), final_url,
		    image ? image : "-");
	return n < 0 || (size_t)n >= outsz ? -1 : n;
}

void
warm_list_free(struct warm_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].url);
		free(l->v[i].image);
		img_req_free(&l->v[i].req);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

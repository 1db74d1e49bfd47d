/*
 * similar.c: prompts as word sets, their score, and their index keys
 * (see similar.h for the rules; README "Similar prompts" for examples).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "similar.h"
#include "util.h"

enum cls {
	C_SEP,		/* spaces, punctuation, symbols: between words */
	C_WORD,		/* letters, digits, marks: inside a word */
	C_SOLO,		/* a word by itself: Han, kana, emoji */
	C_APOS,		/* an apostrophe */
	C_DROP		/* nothing: variation selectors */
};

/* Decode one code point at s (n bytes left); *used its length. */
static uint32_t
utf8_next(const unsigned char *s, size_t n, size_t *used)
{
	uint32_t	 c = s[0];
	size_t		 k, i;

	if (c < 0x80) {
		*used = 1;
		return c;
	}
	k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
	if (k == 0 || k > n) {
		*used = 1;
		return 0xfffd;		/* not UTF-8: a separator */
	}
	c &= 0x3f >> (k - 1);
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*used = 1;
			return 0xfffd;
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	*used = k;
	return c;
}

static size_t
utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * Simple case folding for the scripts people write prompts in. A
 * folded letter is never longer in UTF-8 than the letter it folds.
 */
static uint32_t
fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0xc0)
		return c;
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7))
		return c + 32;
	if (c == 0x130)
		return 'i';
	if (c == 0x17f)
		return 's';
	if (c == 0x178)
		return 0xff;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c + 1 : c;
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 37;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 63;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c == 0x3c2)
		return 0x3c3;		/* final sigma */
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf))
		return c | 1;
	if (c >= 0x531 && c <= 0x556)
		return c + 48;
	if (c >= 0x1e00 && c <= 0x1e95)
		return c | 1;
	if (c >= 0x1ea0 && c <= 0x1eff)
		return c | 1;
	if (c >= 0xff21 && c <= 0xff3a)
		return c - 0xff21 + 'a';
	if (c >= 0xff41 && c <= 0xff5a)
		return c - 0xff41 + 'a';
	if (c >= 0xff10 && c <= 0xff19)
		return c - 0xff10 + '0';
	return c;
}

static int
is_emoji(uint32_t c)
{
	return (c >= 0x1f000 && c <= 0x1faff) || (c >= 0x2600 && c <= 0x27bf) ||
	    (c >= 0x2b00 && c <= 0x2bff) || c == 0x231a || c == 0x231b ||
	    (c >= 0x23e9 && c <= 0x23fa);
}

/* Emoji modifiers: the skin tones. */
static int
is_tone(uint32_t c)
{
	return c >= 0x1f3fb && c <= 0x1f3ff;
}

/* Regional indicators: a flag is two of them. */
static int
is_flag(uint32_t c)
{
	return c >= 0x1f1e6 && c <= 0x1f1ff;
}

static enum cls
classify(uint32_t c)
{
	if (c < 0x80) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			return C_WORD;
		return c == '\'' ? C_APOS : C_SEP;
	}
	if (c == 0x2019 || c == 0x2bc)
		return C_APOS;
	if (c == 0xfe0f || c == 0xfe0e)
		return C_DROP;
	if (is_emoji(c) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x3ffff) ||
	    (c >= 0x3041 && c <= 0x30ff))
		return C_SOLO;
	if (c == 0xaa || c == 0xb5 || c == 0xba)
		return C_WORD;
	if (c <= 0xbf || c == 0xd7 || c == 0xf7 ||
	    (c >= 0x2000 && c <= 0x2bff) || (c >= 0x2e00 && c <= 0x2e7f) ||
	    (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe6f) ||
	    (c >= 0xff01 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) ||
	    (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65) ||
	    c == 0xfffd || c == 0xfeff)
		return C_SEP;
	return C_WORD;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The words being collected: NUL-terminated runs in buf. */
struct collect {
	char		*buf;
	size_t		 len;		/* bytes used */
	size_t		 start;		/* of the word being built */
	size_t		 ntok;
	size_t		*off;
};

static int
is_article(const char *w)
{
	return strcmp(w, "a") == 0 || strcmp(w, "an") == 0 ||
	    strcmp(w, "the") == 0;
}

/* End the word being built, if any: keep it unless it is an article. */
static void
word_end(struct collect *k)
{
	if (k->len == k->start)
		return;
	k->buf[k->len] = '\0';
	if (is_article(k->buf + k->start)) {
		k->len = k->start;
		return;
	}
	k->off[k->ntok++] = k->start;
	k->start = ++k->len;
}

static void
put(struct collect *k, uint32_t c)
{
	k->len += utf8_put(c, k->buf + k->len);
}

/*
 * At an apostrophe after a word: "'s" that ends the word is a
 * possessive (dropped); inside a word the apostrophe is cut out
 * ("don't"); anywhere else it separates. Returns the bytes to skip.
 */
static size_t
apostrophe(struct collect *k, const unsigned char *s, size_t n, size_t used)
{
	size_t		 u2, u3;
	uint32_t	 next, after;

	if (k->len == k->start || used >= n)
		return used;
	next = utf8_next(s + used, n - used, &u2);
	if (classify(next) != C_WORD)
		return used;
	if (fold(next) == 's') {
		after = used + u2 < n ?
		    utf8_next(s + used + u2, n - used - u2, &u3) : ' ';
		if (classify(after) != C_WORD)
			return used + u2;	/* the possessive: gone */
	}
	return used;			/* a word goes on: cut out */
}

int
sim_terms(const char *prompt, size_t len, struct sim_terms *out)
{
	const unsigned char	*s = (const unsigned char *)prompt;
	struct collect		 k;
	size_t			 i = 0, used, w, u2;
	uint32_t		 c, next;
	enum cls		 cl;
	int			 emoji_open = 0, flag_half = 0;

	memset(out, 0, sizeof(*out));
	/* Every word takes at most its bytes plus a NUL. */
	k.buf = xmalloc(2 * len + 2);
	k.off = xmalloc((len + 1) * sizeof(*k.off));
	k.len = k.start = k.ntok = 0;
	while (i < len) {
		c = utf8_next(s + i, len - i, &used);
		cl = classify(c);
		if (cl == C_DROP) {
			i += used;
			continue;
		}
		/*
		 * An emoji keeps its tone, ZWJ joins the next emoji to it,
		 * and two regional indicators are one flag.
		 */
		if (emoji_open && (is_tone(c) || (is_flag(c) && flag_half))) {
			put(&k, c);
			flag_half = 0;
			i += used;
			continue;
		}
		if (emoji_open && c == 0x200d) {
			next = i + used < len ?
			    utf8_next(s + i + used, len - i - used, &u2) : 0;
			if (is_emoji(next)) {
				put(&k, c);
				put(&k, next);
				used += u2;
			}
			flag_half = 0;
			i += used;
			continue;
		}
		if (emoji_open) {
			word_end(&k);
			emoji_open = 0;
		}
		switch (cl) {
		case C_WORD:
			put(&k, fold(c));
			break;
		case C_SOLO:
			word_end(&k);
			put(&k, c);
			if (is_emoji(c)) {
				emoji_open = 1;
				flag_half = is_flag(c);
			} else
				word_end(&k);
			break;
		case C_APOS:
			/* Skipped; what follows ends the word or goes on. */
			used = apostrophe(&k, s + i, len - i, used);
			break;
		default:
			word_end(&k);
			break;
		}
		i += used;
	}
	word_end(&k);
	out->buf = k.buf;
	out->t = xmalloc((k.ntok + 1) * sizeof(*out->t));
	for (i = 0; i < k.ntok; i++)
		out->t[i] = k.buf + k.off[i];
	free(k.off);
	out->n = k.ntok;
	/* A set: sorted bytewise, repeats dropped. */
	qsort(out->t, out->n, sizeof(*out->t), cmp_str);
	for (i = w = 0; i < out->n; i++)
		if (w == 0 || strcmp(out->t[w - 1], out->t[i]) != 0)
			out->t[w++] = out->t[i];
	out->n = w;
	return 0;
}

void
sim_terms_free(struct sim_terms *t)
{
	free(t->buf);
	free(t->t);
	memset(t, 0, sizeof(*t));
}

double
sim_score_terms(const struct sim_terms *a, const struct sim_terms *b)
{
	size_t	 i = 0, j = 0, s = 0, u, d;
	double	 v;
	int	 c;

	if (a->n == 0 || b->n == 0)
		return 0;
	while (i < a->n && j < b->n) {
		if ((c = strcmp(a->t[i], b->t[j])) == 0) {
			s++;
			i++;
			j++;
		} else if (c < 0)
			i++;
		else
			j++;
	}
	u = a->n + b->n - s;
	v = (double)s / (double)u;
	for (d = u - s; d > 0 && v > 0; d--)
		v *= SIM_DIFF_FACTOR;
	return v;
}

double
sim_score(const char *a, const char *b)
{
	struct sim_terms	 ta, tb;
	double			 v;

	sim_terms(a, strlen(a), &ta);
	sim_terms(b, strlen(b), &tb);
	v = sim_score_terms(&ta, &tb);
	sim_terms_free(&ta);
	sim_terms_free(&tb);
	return v;
}

int
sim_shape(unsigned w, unsigned h, const char *fmt, long long seed,
    const char *model, char *out, size_t outsz)
{
	int	 n;

	if (seed >= 0)
		n = snprintf(out, outsz, "%ux%u\n%s\n%lld\n%s", w, h, fmt, seed,
		    model);
	else
		n = snprintf(out, outsz, "%ux%u\n%s\n-\n%s", w, h, fmt, model);
	return n >= 0 && (size_t)n < outsz ? 0 : -1;
}

/*
 * SHA-256 of "promptpix-similar-v1\n" shape "\n" and the words joined
 * by "\n", leaving out word skip (n: none); its first 8 bytes in hex.
 */
static void
key_of(const struct sim_terms *t, const char *shape, size_t skip,
    char out[17])
{
	static const char	 hex[] = "0123456789abcdef";
	static const char	 tag[] = "promptpix-similar-v1\n";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	size_t			 len = sizeof(tag) + strlen(shape) + 1, n;
	char			*buf, *p;

	for (size_t i = 0; i < t->n; i++)
		len += strlen(t->t[i]) + 1;
	p = buf = xmalloc(len);
	n = strlen(tag);
	memcpy(p, tag, n);
	p += n;
	n = strlen(shape);
	memcpy(p, shape, n);
	p += n;
	*p++ = '\n';
	for (size_t i = 0, first = 1; i < t->n; i++) {
		if (i == skip)
			continue;
		if (!first)
			*p++ = '\n';
		n = strlen(t->t[i]);
		memcpy(p, t->t[i], n);
		p += n;
		first = 0;
	}
	if (EVP_Digest(buf, (size_t)(p - buf), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		memset(md, 0, sizeof(md));	/* never: no key matches */
	free(buf);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[16] = '\0';
}

int
sim_key(const struct sim_terms *t, const char *shape, char out[17])
{
	if (t->n == 0)
		return -1;
	key_of(t, shape, t->n, out);
	return 0;
}

size_t
sim_lookup_keys(const struct sim_terms *t, const char *shape,
    double threshold, char keys[][17], size_t max)
{
	size_t	 n = 0;
	double	 best_less;

	if (t->n == 0 || max == 0)
		return 0;
	key_of(t, shape, t->n, keys[n++]);
	/* A candidate with one word fewer scores (n-1)/n * 0.75 at best. */
	best_less = (double)(t->n - 1) / (double)t->n * SIM_DIFF_FACTOR;
	if (t->n < 2 || t->n > SIM_MAX_DELETIONS || best_less < threshold)
		return n;
	for (size_t i = 0; i < t->n && n < max; i++)
		key_of(t, shape, i, keys[n++]);
	return n;
}

void
sim_score_text(double score, char *out, size_t outsz)
{
	snprintf(out, outsz, "%.2f", (double)(long long)(score * 100 + 1e-9) / 100);
}

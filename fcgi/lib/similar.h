/*
 * similar.h: the measure behind [similar] threshold, without I/O: how a
 * prompt becomes a set of words, how two sets are scored, and the keys
 * the index (sql/010_similar.sql) files an image under.
 *
 * Normalising (UTF-8 in; see README "Similar prompts"):
 *   - letters are case-folded (ASCII, Latin-1, Latin Extended-A and
 *     Additional, Greek, Cyrillic, Armenian, fullwidth forms);
 *   - punctuation, symbols and spaces separate words; letters, digits
 *     and combining marks of any script make them up;
 *   - a possessive 's (or ’s) is dropped, other apostrophes are cut out
 *     ("don't" is "dont");
 *   - every Han ideograph, kana and emoji is a word of its own (emoji
 *     keep their skin tone and ZWJ sequences, a flag's two regional
 *     indicators are one word; VS16 is dropped);
 *   - the articles "a", "an" and "the" are not words;
 *   - the words form a set: order and repeats do not count.
 *
 * The score of sets A and B, s = |A ∩ B|, u = |A ∪ B|, d = u - s:
 *
 *   score = s / u * 0.75^d
 *
 * so every word that differs costs a factor 0.75 on top of the overlap:
 * one differing word keeps any prompt below 0.75, however long. An empty
 * set (no words at all) scores 0 against anything.
 */
#ifndef PP_SIMILAR_H
#define PP_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#include "req.h"

/* What each differing word costs. */
#define SIM_DIFF_FACTOR	0.75
/* The index's keys of one prompt: its set, and the set less each word. */
#define SIM_MAX_DELETIONS	32
#define SIM_MAX_KEYS		(1 + SIM_MAX_DELETIONS)
/* "WxH\nfmt\nseed\nmodel": what must be equal for images to compare. */
#define SIM_SHAPE_MAX		160

/* A prompt's words: sorted bytewise, distinct. */
struct sim_terms {
	char		*buf;		/* the words, NUL-separated */
	const char	**t;
	size_t		 n;
};

/* Normalise prompt (len bytes) into *out (sim_terms_free()). 0, -1. */
int	sim_terms(const char *prompt, size_t len, struct sim_terms *out);
void	sim_terms_free(struct sim_terms *);

/* The score of two word sets, in [0, 1]. */
double	sim_score_terms(const struct sim_terms *, const struct sim_terms *);
/* The same for two prompts (NUL-terminated). */
double	sim_score(const char *a, const char *b);

/*
 * The shape of an image: its size, format, seed (-1: none) and model,
 * as the index hashes it. Returns 0, or -1 if it does not fit.
 */
int	sim_shape(unsigned w, unsigned h, const char *fmt, long long seed,
	    const char *model, char *out, size_t outsz);

/*
 * The index key of the word set t in shape: 64 bits of SHA-256, as 16
 * lowercase hex digits and a NUL in out[17]. Empty sets have no key:
 * returns -1.
 */
int	sim_key(const struct sim_terms *t, const char *shape, char out[17]);

/*
 * The keys to look up for a request whose words are t, at threshold:
 * its own set, and, when a candidate with one word fewer could still
 * reach the threshold, the set less each of its words (at most
 * SIM_MAX_DELETIONS words). Returns how many (0: t is empty).
 */
size_t	sim_lookup_keys(const struct sim_terms *t, const char *shape,
	    double threshold, char keys[][17], size_t max);

/* A score as the response header and the log show it: cut, not rounded. */
void	sim_score_text(double score, char *out, size_t outsz);

#endif

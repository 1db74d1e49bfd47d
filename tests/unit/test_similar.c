/* test_similar.c: the similar-prompt measure on the pairs of issue 15. */
#include <string.h>

#include "similar.h"
#include "t.h"

#define LONG_RED "a highly detailed oil painting of a red vintage car " \
	"parked on a quiet cobblestone street at dusk"

static const struct pair {
	const char	*a, *b;
	double		 score;		/* expected, to 1e-6 */
	int		 match;		/* at 0.8 */
} pairs[] = {
	/* Case and punctuation. */
	{ "A beautiful sunset", "a beautiful sunset!", 1, 1 },
	{ "Sunset, over the SEA...", "sunset over the sea", 1, 1 },
	{ "ＣＡＴ", "cat", 1, 1 },
	/* A dropped article; a possessive. */
	{ "cat wearing a wizard hat", "a cat wearing a wizard's hat", 1, 1 },
	{ "a cat on the sofa", "cat on sofa", 1, 1 },
	{ "wizard\xe2\x80\x99s hat", "wizard hat", 1, 1 },
	{ "don't stop", "dont stop", 1, 1 },
	/* Word order and repeats. */
	{ "red car in the rain", "in the rain, a red car", 1, 1 },
	{ "very very tall tower", "very tall tower", 1, 1 },
	/* A swapped colour, noun or number: never. */
	{ "red car", "blue car", 1.0 / 3 * 0.5625, 0 },
	{ LONG_RED, "a highly detailed oil painting of a blue vintage car "
	    "parked on a quiet cobblestone street at dusk",
	    14.0 / 16 * 0.5625, 0 },
	{ LONG_RED, "a highly detailed oil painting of a red vintage bus "
	    "parked on a quiet cobblestone street at dusk",
	    14.0 / 16 * 0.5625, 0 },
	{ "3 cats", "4 cats", 1.0 / 3 * 0.5625, 0 },
	/* One word added to a long prompt: below 0.8 too. */
	{ LONG_RED, LONG_RED " 4k", 15.0 / 16 * 0.75, 0 },
	/* Negation. */
	{ "a cat with a hat", "a cat without a hat", 0.5 * 0.5625, 0 },
	{ "portrait of an old sailor with a hat, oil painting, dramatic light",
	  "portrait of an old sailor without a hat, oil painting, dramatic "
	  "light", 9.0 / 11 * 0.5625, 0 },
	/* Non-Latin scripts. */
	{ "\xd0\x9a\xd1\x80\xd0\xb0\xd1\x81\xd0\xbd\xd0\xb0\xd1\x8f "
	  "\xd0\x9c\xd0\x90\xd0\xa8\xd0\x98\xd0\x9d\xd0\x90",	/* Красная МАШИНА */
	  "\xd0\xba\xd1\x80\xd0\xb0\xd1\x81\xd0\xbd\xd0\xb0\xd1\x8f "
	  "\xd0\xbc\xd0\xb0\xd1\x88\xd0\xb8\xd0\xbd\xd0\xb0!", 1, 1 },
	{ "\xce\x97 \xce\x93\xce\x86\xce\xa4\xce\x91",		/* Η ΓΆΤΑ */
	  "\xce\xb7 \xce\xb3\xce\xac\xcf\x84\xce\xb1", 1, 1 },	/* η γάτα */
	{ "\xe7\xba\xa2\xe8\x89\xb2\xe7\x9a\x84\xe8\xbd\xa6",	/* 红色的车 */
	  "\xe7\xba\xa2\xe8\x89\xb2\xe7\x9a\x84\xe8\xbd\xa6\xe3\x80\x82",
	  1, 1 },						/* 。 */
	{ "\xe7\xba\xa2\xe8\x89\xb2\xe7\x9a\x84\xe8\xbd\xa6",	/* 红色的车 */
	  "\xe8\x93\x9d\xe8\x89\xb2\xe7\x9a\x84\xe8\xbd\xa6",	/* 蓝色的车 */
	  3.0 / 5 * 0.5625, 0 },
	{ "\xe8\xb5\xa4\xe3\x81\x84\xe8\xbb\x8a",		/* 赤い車 */
	  "\xe8\xb5\xa4\xe3\x81\x84 \xe8\xbb\x8a", 1, 1 },
	{ "Caf\xc3\xa9 Cr\xc3\xa8me", "caf\xc3\xa9 cr\xc3\xa8me", 1, 1 },
	{ "caf\xc3\xa9", "cafe", 0, 0 },			/* accents count */
	{ "\xc4\xb0stanbul", "istanbul", 1, 1 },		/* İ */
	/* Emoji: each one a word; skin tones count, VS16 does not. */
	{ "cat \xf0\x9f\x90\xb1", "cat\xf0\x9f\x90\xb1", 1, 1 },
	{ "\xf0\x9f\x90\xb1 with hat", "\xf0\x9f\x90\xb6 with hat",
	  0.5 * 0.5625, 0 },
	{ "\xe2\x9d\xa4\xef\xb8\x8f love", "\xe2\x9d\xa4 love", 1, 1 },
	{ "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbf",
	  0, 0 },
	/* Very short prompts: decided by the same rule. */
	{ "cat", "a cat", 1, 1 },
	{ "cat", "cats", 0, 0 },
	{ "cat", "black cat", 0.5 * 0.75, 0 },
	/* No words: never similar, not even to itself. */
	{ "!!!", "???", 0, 0 },
	{ "the", "the", 0, 0 },
};

static void
test_pairs(void)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair *p = &pairs[i];
		double	 v = sim_score(p->a, p->b), w = sim_score(p->b, p->a);
		double	 e = v - p->score;

		T_CHECK(e < 1e-6 && e > -1e-6, "score(\"%s\", \"%s\") = %f, "
		    "want %f", p->a, p->b, v, p->score);
		T_CHECK(v == w, "score not symmetric: %s / %s", p->a, p->b);
		T_CHECK((v >= 0.8) == p->match, "decision at 0.8: %s / %s",
		    p->a, p->b);
	}
}

static void
terms_are(const char *prompt, const char *want)
{
	struct sim_terms t;
	char		 got[512] = "";

	sim_terms(prompt, strlen(prompt), &t);
	for (size_t i = 0; i < t.n; i++) {
		if (i)
			strcat(got, "|");
		strcat(got, t.t[i]);
	}
	T_CHECK(strcmp(got, want) == 0, "terms(\"%s\") = \"%s\", want \"%s\"",
	    prompt, got, want);
	sim_terms_free(&t);
}

static void
test_terms(void)
{
	terms_are("A Wizard's Hat!", "hat|wizard");
	terms_are("the wizards' hats", "hats|wizards");
	terms_are("'quoted' words", "quoted|words");
	terms_are("rock'n'roll", "rocknroll");
	terms_are("sci-fi city, 2049", "2049|city|fi|sci");
	terms_are("\xe7\x8c\xab\xe3\x81\xa8\xe7\x8a\xac", /* 猫と犬 */
	    "\xe3\x81\xa8|\xe7\x8a\xac|\xe7\x8c\xab");
	terms_are("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x92\xbb coding",
	    "coding|\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x92\xbb");
	/* Flags: two regional indicators each (FR, DE). */
	terms_are("\xf0\x9f\x87\xab\xf0\x9f\x87\xb7\xf0\x9f\x87\xa9"
	    "\xf0\x9f\x87\xaa", "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa|"
	    "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7");
	/* A ZWJ not followed by an emoji joins nothing, and drops nothing. */
	terms_are("\xf0\x9f\x90\xb1\xe2\x80\x8d" "cat",
	    "cat|\xf0\x9f\x90\xb1");
	terms_are("", "");
	terms_are("\xff\xfe bad", "bad");		/* not UTF-8: separators */
}

static void
test_keys(void)
{
	struct sim_terms a, b, c;
	char		 shape[SIM_SHAPE_MAX], other[SIM_SHAPE_MAX];
	char		 ka[17], kb[17], kc[17], keys[SIM_MAX_KEYS][17];
	size_t		 n;

	T_CHECK(sim_shape(1024, 1024, "jpg", -1, "fal-ai/flux/schnell",
	    shape, sizeof(shape)) == 0, "shape");
	T_CHECK(strcmp(shape, "1024x1024\njpg\n-\nfal-ai/flux/schnell") == 0,
	    "shape text: %s", shape);
	T_CHECK(sim_shape(512, 1024, "jpg", 7, "m", other, sizeof(other)) == 0 &&
	    strcmp(other, "512x1024\njpg\n7\nm") == 0, "shape with seed");
	sim_terms("A red car", 9, &a);
	sim_terms("car, red!", 9, &b);
	sim_terms("fast red car", 12, &c);
	sim_key(&a, shape, ka);
	sim_key(&b, shape, kb);
	T_CHECK(strcmp(ka, kb) == 0 && strlen(ka) == 16, "same set, same key");
	sim_key(&a, other, kb);
	T_CHECK(strcmp(ka, kb) != 0, "another size, another key");
	/* The key is SHA-256 of the documented text (sql can build it). */
	T_CHECK(strcmp(ka, "f502ef2ab8073078") == 0, "key text: %s", ka);
	/* At 0.8 only the set itself is looked up. */
	T_CHECK(sim_lookup_keys(&c, shape, 0.8, keys, SIM_MAX_KEYS) == 1,
	    "one key at 0.8");
	/* At 0.4 also the set less each word: "red car" among them. */
	n = sim_lookup_keys(&c, shape, 0.4, keys, SIM_MAX_KEYS);
	T_CHECK(n == 4, "keys at 0.4: %zu", n);
	sim_key(&a, shape, kc);
	{
		int	 found = 0;

		for (size_t i = 1; i < n; i++)
			found |= strcmp(keys[i], kc) == 0;
		T_CHECK(found, "a deletion key is the shorter prompt's key");
	}
	/* 0.5: a 3-word prompt less one word scores 0.5 at best. */
	T_CHECK(sim_lookup_keys(&c, shape, 0.5, keys, SIM_MAX_KEYS) == 4,
	    "keys at 0.5");
	T_CHECK(sim_lookup_keys(&c, shape, 0.51, keys, SIM_MAX_KEYS) == 1,
	    "keys at 0.51");
	sim_terms_free(&a);
	sim_terms_free(&b);
	sim_terms_free(&c);
	sim_terms("!!", 2, &a);
	T_CHECK(sim_key(&a, shape, ka) == -1 &&
	    sim_lookup_keys(&a, shape, 0.8, keys, SIM_MAX_KEYS) == 0,
	    "no words, no key");
	sim_terms_free(&a);
}

static void
test_score_text(void)
{
	char	 s[16];

	sim_score_text(1, s, sizeof(s));
	T_CHECK(strcmp(s, "1.00") == 0, "1 -> %s", s);
	sim_score_text(0.7999, s, sizeof(s));
	T_CHECK(strcmp(s, "0.79") == 0, "0.7999 -> %s (cut, not rounded)", s);
	sim_score_text(0.703125, s, sizeof(s));
	T_CHECK(strcmp(s, "0.70") == 0, "0.703125 -> %s", s);
}

/* &exact=0|1 is parsed, and is not part of the image. */
static void
test_exact_param(void)
{
	const struct req_limits lim = { 64, 2048, 1000 };
	struct img_req	 r;
	const char	*why = NULL;

	T_CHECK(req_parse_image("/64x64.jpg", "text=a&exact=1", &lim, &r,
	    &why) == 0 && r.exact == 1, "exact=1");
	img_req_free(&r);
	T_CHECK(req_parse_image("/64x64.jpg", "exact=0&text=a", &lim, &r,
	    &why) == 0 && r.exact == 0, "exact=0");
	img_req_free(&r);
	T_CHECK(req_parse_image("/64x64.jpg", "text=a", &lim, &r, &why) == 0 &&
	    r.exact == 0, "no exact");
	img_req_free(&r);
	T_CHECK(req_parse_image("/64x64.jpg", "text=a&exact=2", &lim, &r,
	    &why) == 400 && strcmp(why, "exact must be 0 or 1") == 0, "exact=2");
	T_CHECK(req_parse_image("/64x64.jpg", "text=a&exact=11", &lim, &r,
	    &why) == 400, "exact=11");
	T_CHECK(req_parse_image("/64x64.jpg", "text=a&exact=1&exact=1", &lim,
	    &r, &why) == 400 && strcmp(why, "repeated parameter: exact") == 0,
	    "exact twice");
}

void
test_similar(void)
{
	test_exact_param();
	test_pairs();
	test_terms();
	test_keys();
	test_score_text();
}

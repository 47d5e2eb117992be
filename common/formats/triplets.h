/* triplets.h — the triplets file (stl-triplets → stl-train, stl-eval, stl-report).
 *
 * One msgpack file, format "stlrec-triplets" (docs/formats.md, "## Triplets"),
 * holding: two key tables (scenes and products, each in order of first use in
 * the pairs file), the training triplets in training order (a seeded
 * permutation), the test triplets, the held-out test pairs (each test scene
 * with all its products, for Recall/HitRate@K) and the parameters and counts
 * that produced them. A triplet is three uint32 indices: scene into the scene
 * table, positive and negative into the product table.
 *
 * Building (triplets_build.c): triplets_build() turns a pair list and a
 * "was this key decoded?" predicate into a triplets_file in memory: dropped-
 * pair accounting, the train/test split, negative sampling and the shuffle.
 * I/O (triplets.c): triplets_write() writes one atomically; triplets_open()
 * reads and validates one (every index in range, every key valid) into owned
 * arrays; triplets_inspect() is stl-inspect's view of the file.
 * Whoever gets a triplets_file from triplets_build or triplets_open owns it
 * and frees it with triplets_free().
 */
#ifndef STL_TRIPLETS_H
#define STL_TRIPLETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "dataset/keys.h"
#include "dataset/pairs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TRIPLETS_FORMAT "stlrec-triplets"
#define TRIPLETS_VERSION 1u

typedef enum {
    TRIPLETS_SPLIT_SCENE = 0,   /* a seeded hash of the scene key picks the side */
    TRIPLETS_SPLIT_EVERY10 = 1, /* the book's: used pair i is test iff i % 10 == 0 */
} triplets_split;

typedef enum {
    TRIPLETS_NEG_PAIRS = 0,   /* the product of a uniformly drawn used pair (popularity) */
    TRIPLETS_NEG_UNIFORM = 1, /* uniform over distinct products */
} triplets_negatives;

typedef struct {
    uint64_t seed;
    uint32_t num_neg;          /* negatives (triplets) per positive pair, >= 1 */
    double test_fraction;      /* scene split only; [0, 1] */
    double val_fraction;       /* scene split only: of the other scenes, the share held
                                * out for validation (model selection); [0, 1) */
    triplets_split split;
    triplets_negatives negatives;
    double hard_fraction;      /* of the training negatives, the share drawn from the
                                * positive's catalog category (hard negatives); [0, 1] */
} triplets_params;

/* Where the pairs went. pairs_read = used + every dropped_*; a pair whose
 * scene and product both lack a crop counts under dropped_scene_missing. */
typedef struct {
    uint64_t lines;                   /* lines in the pairs file */
    uint64_t malformed;               /* malformed lines (skipped by pairs_read) */
    uint64_t pairs_read;              /* well-formed pairs */
    uint64_t dropped_scene_missing;   /* scene not decoded */
    uint64_t dropped_product_missing; /* scene decoded, product not */
    uint64_t dropped_duplicate;       /* same (scene, product) seen before */
    uint64_t used;                    /* pairs that made triplets */
    uint64_t train_pairs, test_pairs;
    uint64_t train_scenes, test_scenes; /* distinct scenes on each side */
    uint64_t val_pairs, val_scenes;     /* the validation side (0 without one) */
    uint64_t train_hard;      /* training negatives from the positive's category */
    uint64_t hard_fallback;   /* hard draws with no allowed product in the category
                               * (or a product without one): drawn as the others */
} triplets_counts;

typedef struct {
    uint32_t scene, pos, neg;
} triplet;

typedef struct {
    triplets_params params;
    triplets_counts counts;
    size_t n_scenes, n_products;
    stl_key *scenes;          /* n_scenes */
    stl_key *products;        /* n_products */
    size_t n_train, n_test, n_val;
    triplet *train;           /* n_train, in training order */
    triplet *test;            /* n_test, in pair order */
    triplet *val;             /* n_val, in pair order: validation scenes, never test ones */
    /* Held-out test pairs, CSR: test scene i is scenes[held_scene[i]] and
     * its products are held_product[held_offset[i] .. held_offset[i+1]). */
    size_t n_held_scenes;
    uint32_t *held_scene;     /* n_held_scenes */
    uint32_t *held_offset;    /* n_held_scenes + 1 */
    uint32_t *held_product;   /* held_offset[n_held_scenes] */
} triplets_file;

/* Fills p with the defaults (seed 1, 5 negatives, 0.1, scene, pairs, no
 * validation split, no hard negatives). */
void triplets_params_default(triplets_params *p);
const char *triplets_split_name(triplets_split s);
const char *triplets_negatives_name(triplets_negatives n);
/* Name -> enum; -1 (err filled) for an unknown name. */
int triplets_split_parse(const char *name, triplets_split *out, stl_error *err);
int triplets_negatives_parse(const char *name, triplets_negatives *out, stl_error *err);

/* "Was this key decoded?": non-zero when `key` (32 hex chars, NUL-terminated)
 * has a crop. */
typedef int (*triplets_decoded_fn)(void *ctx, const char *key);

/* Builds the triplets from pl (pairs in file order) using only pairs whose
 * scene and product are both decoded. Fails (naming the scene) when a
 * scene's products cover every product, and when no training pair is left. */
int triplets_build(const pair_list *pl, triplets_decoded_fn decoded, void *ctx,
                   const triplets_params *p, triplets_file **out, stl_error *err);

/* "What is this product's category?": the catalog's category path of `key`,
 * or NULL when the catalog has none. */
typedef const char *(*triplets_category_fn)(void *ctx, const char *key);

/* triplets_build with hard negatives: p->hard_fraction of the training
 * negatives (a seeded coin per negative) come from the products of the
 * positive's category, never a product of the scene. Validation and test
 * negatives stay as --negatives draws them, so their metrics keep their
 * meaning. category may be NULL only when p->hard_fraction is 0. */
int triplets_build_categories(const pair_list *pl, triplets_decoded_fn decoded, void *ctx,
                              triplets_category_fn category, void *category_ctx,
                              const triplets_params *p, triplets_file **out, stl_error *err);

/* Writes t to path atomically (byte-identical for identical t). */
int triplets_write(const char *path, const triplets_file *t, stl_error *err);
/* Reads and validates path; *out is owned by the caller. */
int triplets_open(const char *path, triplets_file **out, stl_error *err);
void triplets_free(triplets_file *t);

/* stl-inspect: a summary (counts, parameters), or with json the whole
 * content as one JSON object. */
int triplets_inspect(const char *path, int json, FILE *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* triplets_build.c — pairs → train/test triplets: what stl-triplets computes.
 *
 * triplets_build() (see triplets.h) in five passes over the pairs, all in
 * memory proportional to the data:
 *   1. keep a pair only when both keys were decoded and the (scene, product)
 *      pair is new, counting every dropped pair by its reason; scenes and
 *      products get dense indices in order of first use (key_index);
 *   2. each scene's set of products (sorted, CSR) — the products a negative
 *      for that scene must never be;
 *   3. the split: by scene (rng_hash of the scene key with the seed, compared
 *      with test_fraction, so a scene's pairs all go to one side and a
 *      scene's side does not change when other pairs are added), or the
 *      book's every10 (used pair i is a test pair iff i % 10 == 0);
 *   4. num_neg negatives per positive, train and test each from their own rng
 *      stream, by rejection (then, for a scene whose products cover nearly
 *      everything, by an exact draw over the allowed products); with hard
 *      negatives, a seeded coin per training negative sends that share to a
 *      draw among the products of the positive's category (same rule);
 *   5. a seeded Fisher–Yates permutation of the training triplets, and the
 *      held-out test pairs grouped by scene.
 * Unlike the book's reference code, a negative is never the positive or any
 * other product of its scene, the shuffle is a permutation (not sampling with
 * replacement), and the default split never puts a scene on both sides.
 */
#include "formats/triplets.h"

#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

/* rng streams (with params.seed): documented in docs/formats.md. */
enum { STREAM_TRAIN_NEG = 1, STREAM_TEST_NEG = 2, STREAM_SHUFFLE = 3, STREAM_VAL_NEG = 4 };
/* The side of a used pair. */
enum { SIDE_TRAIN = 0, SIDE_TEST = 1, SIDE_VAL = 2 };
/* Seeds the validation draw apart from the test draw. */
#define VAL_SEED_TWEAK 0x76616c69642d3031ull
/* Rejection draws before the exact fallback. */
enum { NEG_MAX_REJECTS = 64 };

typedef struct {
    uint32_t s, p;
} used_pair;

/* A set of uint64 (open addressing; value 0 is reserved, so keys are +1). */
typedef struct {
    uint64_t *slot;
    size_t n, cap; /* cap is a power of two */
} u64_set;

static int u64_set_init(u64_set *h, size_t expect, stl_error *err) {
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    h->slot = calloc(cap, sizeof *h->slot);
    h->n = 0;
    h->cap = cap;
    if (!h->slot) return stl_fail(err, "out of memory (pair set of %zu)", cap);
    return 0;
}

/* 1 when added, 0 when present. The table never grows: init sized it for
 * every pair, so it stays at most half full. */
static int u64_set_add(u64_set *h, uint64_t key) {
    uint64_t v = key + 1;
    size_t mask = h->cap - 1, i = (size_t)rng_mix64(v) & mask;
    while (h->slot[i]) {
        if (h->slot[i] == v) return 0;
        i = (i + 1) & mask;
    }
    h->slot[i] = v;
    h->n++;
    return 1;
}

/* No category: a product the catalog does not list. */
#define NO_CATEGORY UINT32_MAX

typedef struct {
    const triplets_params *p;
    const used_pair *up;
    size_t n_used, n_products;
    const uint32_t *sp_off, *sp; /* scene -> sorted products (CSR) */
    const uint32_t *pop;         /* used pairs per product */
    /* Hard negatives only: product -> category id (or NO_CATEGORY), and
     * category -> its products in index order (CSR). */
    const uint32_t *cat_of, *cat_off, *cat_members;
} neg_ctx;

static int scene_has(const neg_ctx *c, uint32_t s, uint32_t prod) {
    size_t lo = c->sp_off[s], hi = c->sp_off[s + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->sp[mid] < prod) lo = mid + 1;
        else if (c->sp[mid] > prod) hi = mid;
        else return 1;
    }
    return 0;
}

/* An exact draw over the products scene s does not have: the r-th allowed
 * product by count (uniform) or by popularity weight (pairs). */
static uint32_t neg_exact(const neg_ctx *c, rng_state *r, uint32_t s) {
    const uint32_t *ex = c->sp + c->sp_off[s];
    size_t k = c->sp_off[s + 1] - c->sp_off[s];
    if (c->p->negatives == TRIPLETS_NEG_UNIFORM) {
        uint64_t cand = rng_uniform(r, c->n_products - k);
        for (size_t i = 0; i < k && ex[i] <= cand; i++) cand++;
        return (uint32_t)cand;
    }
    uint64_t excluded = 0;
    for (size_t i = 0; i < k; i++) excluded += c->pop[ex[i]];
    uint64_t w = rng_uniform(r, c->n_used - excluded);
    size_t e = 0;
    for (uint32_t prod = 0;; prod++) {
        if (e < k && ex[e] == prod) {
            e++;
            continue;
        }
        if (w < c->pop[prod]) return prod;
        w -= c->pop[prod];
    }
}

static uint32_t neg_draw(const neg_ctx *c, rng_state *r, uint32_t s) {
    for (int t = 0; t < NEG_MAX_REJECTS; t++) {
        uint32_t cand = c->p->negatives == TRIPLETS_NEG_PAIRS
                            ? c->up[rng_uniform(r, c->n_used)].p
                            : (uint32_t)rng_uniform(r, c->n_products);
        if (!scene_has(c, s, cand)) return cand;
    }
    return neg_exact(c, r, s);
}

/* A product of the positive's category that scene s does not have, uniform
 * over those: by rejection, then exactly. NO_CATEGORY when there is none. */
static uint32_t neg_hard(const neg_ctx *c, rng_state *r, uint32_t s, uint32_t pos) {
    uint32_t cat = c->cat_of[pos];
    if (cat == NO_CATEGORY) return NO_CATEGORY;
    const uint32_t *m = c->cat_members + c->cat_off[cat];
    size_t n = c->cat_off[cat + 1] - c->cat_off[cat], allowed = 0;
    for (int t = 0; t < NEG_MAX_REJECTS; t++) {
        uint32_t cand = m[rng_uniform(r, n)];
        if (!scene_has(c, s, cand)) return cand;
    }
    for (size_t i = 0; i < n; i++) allowed += !scene_has(c, s, m[i]);
    if (allowed == 0) return NO_CATEGORY;
    uint64_t k = rng_uniform(r, allowed);
    for (size_t i = 0;; i++)
        if (!scene_has(c, s, m[i]) && k-- == 0) return m[i];
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void sort_u32(uint32_t *a, size_t n) {
    if (n > 16) {
        qsort(a, n, sizeof *a, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
        a[j] = v;
    }
}

/* The keys of one kind (scenes or products) seen in well-formed pairs: each
 * distinct key once, whether it was decoded (the predicate is asked once per
 * key, not once per pair), and its index in the output table (+1; 0 until a
 * used pair has it). */
typedef struct {
    key_index all;
    uint8_t *ok;
    uint32_t *out;
    size_t cap;     /* of ok and out */
    size_t n_out;   /* output table size */
} kind_table;

static long kind_lookup(kind_table *kt, const char *key, triplets_decoded_fn decoded, void *ctx,
                        stl_error *err) {
    int added;
    long a = key_index_add(&kt->all, key, &added, err);
    if (a < 0 || !added) return a;
    if ((size_t)a >= kt->cap) {
        size_t cap = kt->cap ? kt->cap * 2 : 1024;
        uint8_t *ok = realloc(kt->ok, cap);
        if (ok) kt->ok = ok;
        uint32_t *out = realloc(kt->out, cap * sizeof *out);
        if (out) kt->out = out;
        if (!ok || !out) return stl_fail(err, "out of memory (%zu keys)", cap);
        kt->cap = cap;
    }
    kt->ok[a] = decoded(ctx, key) != 0;
    kt->out[a] = 0;
    return a;
}

static uint32_t kind_use(kind_table *kt, long a) {
    if (!kt->out[a]) kt->out[a] = (uint32_t)++kt->n_out;
    return kt->out[a] - 1;
}

/* The output table: keys in order of first use. */
static stl_key *kind_keys(const kind_table *kt, stl_error *err) {
    stl_key *k = malloc((kt->n_out ? kt->n_out : 1) * sizeof *k);
    if (!k) {
        stl_fail(err, "out of memory (%zu keys)", kt->n_out);
        return NULL;
    }
    for (size_t a = 0; a < kt->all.n; a++)
        if (kt->out[a]) k[kt->out[a] - 1] = kt->all.keys[a];
    return k;
}

static void kind_free(kind_table *kt) {
    key_index_free(&kt->all);
    free(kt->ok);
    free(kt->out);
}

/* Pass 1: which pairs are used, counting the dropped ones by reason. */
static int select_pairs(const pair_list *pl, triplets_decoded_fn decoded, void *ctx,
                        kind_table *ks, kind_table *kp, used_pair *up, size_t *n_used,
                        triplets_counts *cnt, stl_error *err) {
    u64_set seen;
    if (u64_set_init(&seen, pl->n, err) != 0) return -1;
    size_t n = 0;
    long a = -1; /* a scene's pairs are usually consecutive: reuse its lookup */
    for (size_t i = 0; i < pl->n; i++) {
        const stl_pair *q = &pl->v[i];
        if (a < 0 || memcmp(q->scene.s, pl->v[i - 1].scene.s, STL_KEY_LEN) != 0)
            a = kind_lookup(ks, q->scene.s, decoded, ctx, err);
        long b = a < 0 ? -1 : kind_lookup(kp, q->product.s, decoded, ctx, err);
        if (b < 0) {
            free(seen.slot);
            return -1;
        }
        if (!ks->ok[a]) {
            cnt->dropped_scene_missing++;
            continue;
        }
        if (!kp->ok[b]) {
            cnt->dropped_product_missing++;
            continue;
        }
        if (!u64_set_add(&seen, ((uint64_t)a << 32) | (uint64_t)b)) {
            cnt->dropped_duplicate++;
            continue;
        }
        up[n].s = kind_use(ks, a);
        up[n].p = kind_use(kp, b);
        n++;
    }
    free(seen.slot);
    *n_used = n;
    cnt->used = n;
    return 0;
}

/* Pass 2: each scene's sorted products (CSR) and each product's popularity. */
static int scene_products(const used_pair *up, size_t n_used, size_t n_s,
                          uint32_t *off, uint32_t *sp, uint32_t *pop, stl_error *err) {
    uint32_t *fill = malloc((n_s ? n_s : 1) * sizeof *fill);
    if (!fill) return stl_fail(err, "out of memory (%zu scenes)", n_s);
    memset(off, 0, (n_s + 1) * sizeof *off);
    for (size_t i = 0; i < n_used; i++) {
        off[up[i].s + 1]++;
        pop[up[i].p]++;
    }
    for (size_t s = 0; s < n_s; s++) off[s + 1] += off[s];
    memcpy(fill, off, n_s * sizeof *fill);
    for (size_t i = 0; i < n_used; i++) sp[fill[up[i].s]++] = up[i].p;
    free(fill);
    for (size_t s = 0; s < n_s; s++) sort_u32(sp + off[s], off[s + 1] - off[s]);
    return 0;
}

/* Pass 3: the side of every used pair (SIDE_*). */
static int split_pairs(const triplets_params *p, const used_pair *up, size_t n_used,
                       const stl_key *keys, size_t n_s, uint8_t *is_test, stl_error *err) {
    if (p->split == TRIPLETS_SPLIT_EVERY10) {
        for (size_t i = 0; i < n_used; i++) is_test[i] = i % 10 == 0;
        return 0;
    }
    /* A scene's side depends only on its key and the seed: u in [0, 1) from
     * the top 53 bits of the hash, test when u < test_fraction. */
    uint8_t *scene_test = malloc(n_s ? n_s : 1);
    if (!scene_test) return stl_fail(err, "out of memory (%zu scenes)", n_s);
    for (size_t s = 0; s < n_s; s++) {
        double u = (double)(rng_hash(p->seed, keys[s].s, STL_KEY_LEN) >> 11) * 0x1.0p-53;
        double v = (double)(rng_hash(p->seed ^ VAL_SEED_TWEAK, keys[s].s, STL_KEY_LEN) >> 11) *
                   0x1.0p-53;
        scene_test[s] = u < p->test_fraction ? SIDE_TEST
                        : v < p->val_fraction ? SIDE_VAL
                                              : SIDE_TRAIN;
    }
    for (size_t i = 0; i < n_used; i++) is_test[i] = scene_test[up[i].s];
    free(scene_test);
    return 0;
}

/* Pass 5b: held-out test pairs grouped by scene (first-appearance order). */
static int held_out(triplets_file *t, const used_pair *up, size_t n_used,
                    const uint8_t *is_test, stl_error *err) {
    uint32_t *slot = malloc((t->n_scenes ? t->n_scenes : 1) * sizeof *slot);
    if (!slot) return stl_fail(err, "out of memory (held-out scenes)");
    for (size_t s = 0; s < t->n_scenes; s++) slot[s] = UINT32_MAX;
    size_t n_held = 0, n_prod = 0;
    for (size_t i = 0; i < n_used; i++) {
        if (is_test[i] != SIDE_TEST) continue;
        n_prod++;
        if (slot[up[i].s] == UINT32_MAX) slot[up[i].s] = (uint32_t)n_held++;
    }
    t->n_held_scenes = n_held;
    t->held_scene = malloc((n_held ? n_held : 1) * sizeof *t->held_scene);
    t->held_offset = calloc(n_held + 1, sizeof *t->held_offset);
    t->held_product = malloc((n_prod ? n_prod : 1) * sizeof *t->held_product);
    if (!t->held_scene || !t->held_offset || !t->held_product) {
        free(slot);
        return stl_fail(err, "out of memory (%zu held-out pairs)", n_prod);
    }
    for (size_t i = 0; i < n_used; i++) {
        if (is_test[i] != SIDE_TEST) continue;
        uint32_t h = slot[up[i].s];
        t->held_scene[h] = up[i].s;
        t->held_offset[h + 1]++;
    }
    for (size_t h = 0; h < n_held; h++) t->held_offset[h + 1] += t->held_offset[h];
    /* Fill in pair order, using slot[] as each scene's write cursor. */
    for (size_t h = 0; h < n_held; h++) slot[t->held_scene[h]] = t->held_offset[h];
    for (size_t i = 0; i < n_used; i++)
        if (is_test[i] == SIDE_TEST) t->held_product[slot[up[i].s]++] = up[i].p;
    free(slot);
    return 0;
}

typedef struct {
    const char *name;
    uint32_t product;
} named_product;

static int cmp_named(const void *a, const void *b) {
    const named_product *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->product > y->product) - (x->product < y->product);
}

/* Each product's category id (NO_CATEGORY when the catalog has none) and
 * each category's products in index order (CSR, n_products + 1 offsets at
 * most): what neg_hard draws from. */
static int product_categories(const triplets_file *t, triplets_category_fn category, void *cctx,
                              uint32_t **cat_of, uint32_t **cat_off, uint32_t **members,
                              stl_error *err) {
    size_t n = t->n_products, m = 0;
    named_product *np = malloc((n ? n : 1) * sizeof *np);
    *cat_of = malloc((n ? n : 1) * sizeof **cat_of);
    *cat_off = malloc((n + 1) * sizeof **cat_off);
    *members = malloc((n ? n : 1) * sizeof **members);
    if (!np || !*cat_of || !*cat_off || !*members) {
        free(np);
        return stl_fail(err, "out of memory (categories of %zu products)", n);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = category(cctx, t->products[i].s);
        (*cat_of)[i] = NO_CATEGORY;
        if (name) np[m++] = (named_product){name, (uint32_t)i};
    }
    qsort(np, m, sizeof *np, cmp_named);
    uint32_t n_cat = 0;
    for (size_t j = 0; j < m; j++) {
        if (j == 0 || strcmp(np[j].name, np[j - 1].name) != 0) (*cat_off)[n_cat++] = (uint32_t)j;
        (*cat_of)[np[j].product] = n_cat - 1;
        (*members)[j] = np[j].product;
    }
    (*cat_off)[n_cat] = (uint32_t)m;
    free(np);
    return 0;
}

int triplets_build(const pair_list *pl, triplets_decoded_fn decoded, void *ctx,
                   const triplets_params *p, triplets_file **out, stl_error *err) {
    return triplets_build_categories(pl, decoded, ctx, NULL, NULL, p, out, err);
}

int triplets_build_categories(const pair_list *pl, triplets_decoded_fn decoded, void *ctx,
                              triplets_category_fn category, void *category_ctx,
                              const triplets_params *p, triplets_file **out, stl_error *err) {
    *out = NULL;
    if (!(p->hard_fraction >= 0.0 && p->hard_fraction <= 1.0))
        return stl_fail(err, "hard-negative fraction %g is not in [0, 1]", p->hard_fraction);
    if (p->hard_fraction > 0 && !category)
        return stl_fail(err, "hard negatives need the catalog's categories");
    if (p->num_neg < 1) return stl_fail(err, "num_neg must be at least 1");
    if (!(p->test_fraction >= 0.0 && p->test_fraction <= 1.0))
        return stl_fail(err, "test fraction %g is not in [0, 1]", p->test_fraction);
    if (!(p->val_fraction >= 0.0 && p->val_fraction < 1.0))
        return stl_fail(err, "validation fraction %g is not in [0, 1)", p->val_fraction);
    if (p->val_fraction > 0 && p->split != TRIPLETS_SPLIT_SCENE)
        return stl_fail(err, "a validation split needs the scene split");
    if (pl->n >= UINT32_MAX) return stl_fail(err, "too many pairs (%zu)", pl->n);

    int rc = -1;
    kind_table ks = {0}, kp = {0};
    used_pair *up = malloc((pl->n ? pl->n : 1) * sizeof *up);
    uint32_t *sp_off = NULL, *sp = NULL, *pop = NULL;
    uint32_t *cat_of = NULL, *cat_off = NULL, *cat_members = NULL;
    uint8_t *is_test = NULL;
    triplets_file *t = calloc(1, sizeof *t);
    if (!up || !t) {
        stl_fail(err, "out of memory (%zu pairs)", pl->n);
        goto done;
    }
    t->params = *p;
    t->counts.lines = pl->lines;
    t->counts.malformed = pl->malformed;
    t->counts.pairs_read = pl->n;

    size_t n_used;
    if (select_pairs(pl, decoded, ctx, &ks, &kp, up, &n_used, &t->counts, err) != 0) goto done;
    if (n_used == 0) {
        stl_fail(err, "no usable pairs: none of the %zu pairs has both its scene and product "
                      "decoded (%llu scene missing, %llu product missing)", pl->n,
                 (unsigned long long)t->counts.dropped_scene_missing,
                 (unsigned long long)t->counts.dropped_product_missing);
        goto done;
    }
    t->n_scenes = ks.n_out;
    t->n_products = kp.n_out;
    t->scenes = kind_keys(&ks, err);
    t->products = t->scenes ? kind_keys(&kp, err) : NULL;
    if (!t->products) goto done;
    kind_free(&ks); /* the large tables go before the triplets are allocated */
    kind_free(&kp);
    memset(&ks, 0, sizeof ks);
    memset(&kp, 0, sizeof kp);
    const size_t n_s = t->n_scenes, n_p = t->n_products;

    sp_off = malloc((n_s + 1) * sizeof *sp_off);
    sp = malloc(n_used * sizeof *sp);
    pop = calloc(n_p, sizeof *pop);
    is_test = malloc(n_used);
    if (!sp_off || !sp || !pop || !is_test) {
        stl_fail(err, "out of memory (%zu used pairs)", n_used);
        goto done;
    }
    if (scene_products(up, n_used, n_s, sp_off, sp, pop, err) != 0) goto done;
    for (size_t s = 0; s < n_s; s++) {
        if (sp_off[s + 1] - sp_off[s] == n_p) {
            stl_fail(err, "scene %s: paired with all %zu products, so no negative can be "
                          "drawn for it (drop some of its pairs or add products)",
                     t->scenes[s].s, n_p);
            goto done;
        }
    }

    if (split_pairs(p, up, n_used, t->scenes, n_s, is_test, err) != 0) goto done;
    uint8_t *side_seen = calloc(n_s, 1); /* bit 0: train, bit 1: test, bit 2: validation */
    if (!side_seen) {
        stl_fail(err, "out of memory (%zu scenes)", n_s);
        goto done;
    }
    for (size_t i = 0; i < n_used; i++) {
        if (is_test[i] == SIDE_TEST) t->counts.test_pairs++;
        else if (is_test[i] == SIDE_VAL) t->counts.val_pairs++;
        else t->counts.train_pairs++;
        side_seen[up[i].s] |= (uint8_t)(1u << is_test[i]);
    }
    for (size_t s = 0; s < n_s; s++) {
        t->counts.train_scenes += side_seen[s] & 1;
        t->counts.test_scenes += (side_seen[s] >> 1) & 1;
        t->counts.val_scenes += (side_seen[s] >> 2) & 1;
    }
    free(side_seen);
    if (t->counts.train_pairs == 0) {
        stl_fail(err, "no training pairs: all %zu used pairs went to test (test fraction %g)",
                 n_used, p->test_fraction);
        goto done;
    }

    /* Pass 4: negatives, in pair order, each side from its own stream. */
    t->n_train = (size_t)t->counts.train_pairs * p->num_neg;
    t->n_test = (size_t)t->counts.test_pairs * p->num_neg;
    t->n_val = (size_t)t->counts.val_pairs * p->num_neg;
    t->train = malloc(t->n_train * sizeof *t->train);
    t->test = malloc((t->n_test ? t->n_test : 1) * sizeof *t->test);
    t->val = malloc((t->n_val ? t->n_val : 1) * sizeof *t->val);
    if (!t->train || !t->test || !t->val) {
        stl_fail(err, "out of memory (%zu triplets)", t->n_train + t->n_test + t->n_val);
        goto done;
    }
    if (p->hard_fraction > 0 &&
        product_categories(t, category, category_ctx, &cat_of, &cat_off, &cat_members, err) != 0)
        goto done;
    neg_ctx nc = {p, up, n_used, n_p, sp_off, sp, pop, cat_of, cat_off, cat_members};
    rng_state r_side[3];
    rng_stream(&r_side[SIDE_TRAIN], p->seed, STREAM_TRAIN_NEG);
    rng_stream(&r_side[SIDE_TEST], p->seed, STREAM_TEST_NEG);
    rng_stream(&r_side[SIDE_VAL], p->seed, STREAM_VAL_NEG);
    triplet *side_out[3] = {t->train, t->test, t->val};
    size_t side_n[3] = {0, 0, 0};
    for (size_t i = 0; i < n_used; i++) {
        int side = is_test[i];
        triplet *dst = side_out[side] + side_n[side];
        for (uint32_t k = 0; k < p->num_neg; k++) {
            dst[k].scene = up[i].s;
            dst[k].pos = up[i].p;
            uint32_t neg = NO_CATEGORY;
            if (side == SIDE_TRAIN && p->hard_fraction > 0 &&
                rng_double(&r_side[side]) < p->hard_fraction) {
                neg = neg_hard(&nc, &r_side[side], up[i].s, up[i].p);
                if (neg == NO_CATEGORY) t->counts.hard_fallback++;
                else t->counts.train_hard++;
            }
            dst[k].neg = neg != NO_CATEGORY ? neg : neg_draw(&nc, &r_side[side], up[i].s);
        }
        side_n[side] += p->num_neg;
    }

    /* Pass 5: the training order, and the held-out pairs. */
    rng_state r_shuffle;
    rng_stream(&r_shuffle, p->seed, STREAM_SHUFFLE);
    rng_shuffle(&r_shuffle, t->train, t->n_train, sizeof *t->train);
    if (held_out(t, up, n_used, is_test, err) != 0) goto done;
    rc = 0;

done:
    kind_free(&ks);
    kind_free(&kp);
    free(up);
    free(sp_off);
    free(sp);
    free(pop);
    free(cat_of);
    free(cat_off);
    free(cat_members);
    free(is_test);
    if (rc == 0) *out = t;
    else triplets_free(t);
    return rc;
}

/* test_triplets.c — unit tests of triplets_build (split, negatives, shuffle,
 * accounting) and of the triplets file (write → open round trip, rejection of
 * corrupt files, stl-inspect's view). Pair lists are made in memory; the
 * "decoded" predicate is a set of missing keys, so no crop shards are needed.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dataset/keys.h"
#include "io/mpk.h"
#include "io/mpk_writer.h"
#include "dataset/pairs.h"
#include "base/rng.h"
#include "formats/triplets.h"

static char tmpdir[] = "/tmp/test_triplets.XXXXXX";

static void make_key(stl_key *k, unsigned kind, unsigned i) {
    snprintf(k->s, sizeof k->s, "%08x%08x%016llx", kind, i,
             (unsigned long long)rng_mix64(((uint64_t)kind << 32) | i));
}

static void add_pair(pair_list *pl, unsigned scene, unsigned product) {
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 64;
        pl->v = realloc(pl->v, pl->cap * sizeof *pl->v);
    }
    stl_pair *p = &pl->v[pl->n++];
    memset(p, 0, sizeof *p);
    make_key(&p->scene, 1, scene);
    make_key(&p->product, 2, product);
    p->line = ++pl->lines;
}

/* Predicate: everything is decoded except keys in `missing`. */
static int not_missing(void *ctx, const char *key) {
    return key_index_find((const key_index *)ctx, key) < 0;
}

/* A random pair list: n pairs over n_s scenes and n_p products, each scene
 * with 1..4 products (popular products are the low numbers). */
static void random_pairs(pair_list *pl, unsigned n_s, unsigned n_p, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    for (unsigned s = 0; s < n_s; s++) {
        unsigned k = 1 + (unsigned)rng_uniform(&r, 4);
        for (unsigned j = 0; j < k; j++) {
            unsigned p = (unsigned)rng_uniform(&r, n_p);
            if (rng_uniform(&r, 2)) p = (unsigned)rng_uniform(&r, n_p / 10 + 1);
            add_pair(pl, s, p);
        }
    }
}

static triplets_params params(triplets_split split, triplets_negatives neg, double frac) {
    triplets_params p;
    triplets_params_default(&p);
    p.split = split;
    p.negatives = neg;
    p.test_fraction = frac;
    return p;
}

static triplets_file *build(const pair_list *pl, const triplets_params *p, key_index *missing) {
    key_index none;
    key_index_init(&none);
    stl_error err;
    triplets_file *t = NULL;
    if (triplets_build(pl, not_missing, missing ? missing : &none, p, &t, &err) != 0) {
        fprintf(stderr, "build failed: %s\n", err.msg);
        t = NULL;
    }
    key_index_free(&none);
    return t;
}

/* 1 if product index p (in t) is paired with scene index s anywhere in pl. */
static int paired(const triplets_file *t, const pair_list *pl, uint32_t s, uint32_t p) {
    for (size_t i = 0; i < pl->n; i++)
        if (strcmp(pl->v[i].scene.s, t->scenes[s].s) == 0 &&
            strcmp(pl->v[i].product.s, t->products[p].s) == 0)
            return 1;
    return 0;
}

static void test_scene_split_disjoint(void) {
    pair_list pl = {0};
    random_pairs(&pl, 400, 300, 7);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.3);
    triplets_file *t = build(&pl, &p, NULL);
    CHECK(t != NULL);
    if (!t) return;
    uint8_t *side = calloc(t->n_scenes, 1);
    for (size_t i = 0; i < t->n_train; i++) side[t->train[i].scene] |= 1;
    for (size_t i = 0; i < t->n_test; i++) side[t->test[i].scene] |= 2;
    size_t both = 0, n_test_scenes = 0;
    for (size_t s = 0; s < t->n_scenes; s++) {
        both += side[s] == 3;
        n_test_scenes += side[s] == 2;
    }
    CHECK_EQ_INT(both, 0);
    CHECK(n_test_scenes > 60 && n_test_scenes < 180); /* ~30% of 400 */
    CHECK_EQ_INT(t->counts.test_scenes, n_test_scenes);
    CHECK_EQ_INT(t->n_held_scenes, n_test_scenes);
    /* Held-out: only test scenes, and each with every product it has. */
    for (size_t h = 0; h < t->n_held_scenes; h++) {
        CHECK_EQ_INT(side[t->held_scene[h]], 2);
        size_t have = 0;
        for (size_t i = 0; i < t->n_test; i++)
            if (t->test[i].scene == t->held_scene[h]) have++;
        CHECK_EQ_INT(have, (t->held_offset[h + 1] - t->held_offset[h]) * p.num_neg);
    }
    CHECK_EQ_INT(t->held_offset[t->n_held_scenes], t->counts.test_pairs);
    free(side);
    triplets_free(t);
    pairs_free(&pl);
}

/* A validation split: its scenes are neither training nor test scenes, about
 * the asked share of the rest; the test side is exactly the one without a
 * validation split (the same scenes and triplets); the negatives never come
 * from the scene; and the file reads back with it. */
static void test_validation_split(void) {
    pair_list pl = {0};
    random_pairs(&pl, 400, 300, 7);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.3);
    triplets_file *plain = build(&pl, &p, NULL);
    p.val_fraction = 0.25;
    triplets_file *t = build(&pl, &p, NULL), *r = NULL;
    CHECK(plain && t);
    if (!plain || !t) return;
    CHECK(t->n_val > 0);
    uint8_t *side = calloc(t->n_scenes, 1);
    for (size_t i = 0; i < t->n_train; i++) side[t->train[i].scene] |= 1;
    for (size_t i = 0; i < t->n_test; i++) side[t->test[i].scene] |= 2;
    for (size_t i = 0; i < t->n_val; i++) side[t->val[i].scene] |= 4;
    size_t mixed = 0, n_val = 0, n_rest = 0;
    for (size_t s = 0; s < t->n_scenes; s++) {
        mixed += side[s] != 0 && side[s] != 1 && side[s] != 2 && side[s] != 4;
        n_val += side[s] == 4;
        n_rest += side[s] == 1 || side[s] == 4;
    }
    CHECK_EQ_INT(mixed, 0);
    CHECK_EQ_INT(t->counts.val_scenes, n_val);
    CHECK(n_val * 100 > n_rest * 15 && n_val * 100 < n_rest * 35); /* ~25% of the rest */
    CHECK_EQ_INT(t->n_test, plain->n_test);
    CHECK(memcmp(t->test, plain->test, t->n_test * sizeof *t->test) == 0);
    CHECK_EQ_INT(t->n_held_scenes, plain->n_held_scenes);
    CHECK_EQ_INT(t->n_train + t->n_val, plain->n_train);
    size_t own = 0;
    for (size_t i = 0; i < t->n_val; i++) own += paired(t, &pl, t->val[i].scene, t->val[i].neg);
    CHECK_EQ_INT(own, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/val.msgpack", tmpdir);
    stl_error err;
    CHECK(triplets_write(path, t, &err) == 0);
    CHECK(triplets_open(path, &r, &err) == 0 && r != NULL);
    if (r) {
        CHECK_EQ_INT(r->n_val, t->n_val);
        CHECK(memcmp(r->val, t->val, t->n_val * sizeof *t->val) == 0);
        CHECK(r->params.val_fraction == 0.25);
        triplets_free(r);
    }
    /* the book's every10 split has no room for one */
    p.split = TRIPLETS_SPLIT_EVERY10;
    triplets_file *bad = NULL;
    CHECK(triplets_build(&pl, not_missing, NULL, &p, &bad, &err) == -1 && !bad);
    free(side);
    triplets_free(t);
    triplets_free(plain);
    pairs_free(&pl);
}

static void check_negatives(triplets_negatives neg) {
    pair_list pl = {0};
    random_pairs(&pl, 300, 40, 11); /* few products: collisions are frequent */
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, neg, 0.2);
    triplets_file *t = build(&pl, &p, NULL);
    CHECK(t != NULL);
    if (!t) return;
    size_t bad = 0;
    for (size_t i = 0; i < t->n_train; i++)
        bad += paired(t, &pl, t->train[i].scene, t->train[i].neg) ||
               t->train[i].neg == t->train[i].pos;
    for (size_t i = 0; i < t->n_test; i++)
        bad += paired(t, &pl, t->test[i].scene, t->test[i].neg) ||
               t->test[i].neg == t->test[i].pos;
    CHECK_EQ_INT(bad, 0);
    CHECK(t->n_test > 0);
    triplets_free(t);
    pairs_free(&pl);
}

static void test_negatives_never_a_positive_pairs(void) { check_negatives(TRIPLETS_NEG_PAIRS); }
static void test_negatives_never_a_positive_uniform(void) { check_negatives(TRIPLETS_NEG_UNIFORM); }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Every used pair has exactly num_neg triplets, over train and test together
 * (so the shuffle lost and duplicated nothing), and the train order is not
 * the pair order. */
static void test_num_neg_and_permutation(void) {
    pair_list pl = {0};
    random_pairs(&pl, 500, 200, 3);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.1);
    p.num_neg = 3;
    triplets_file *t = build(&pl, &p, NULL);
    CHECK(t != NULL);
    if (!t) return;
    size_t n = t->n_train + t->n_test;
    uint64_t *k = malloc(n * sizeof *k);
    for (size_t i = 0; i < t->n_train; i++) k[i] = (uint64_t)t->train[i].scene << 32 | t->train[i].pos;
    for (size_t i = 0; i < t->n_test; i++)
        k[t->n_train + i] = (uint64_t)t->test[i].scene << 32 | t->test[i].pos;
    qsort(k, n, sizeof *k, cmp_u64);
    size_t runs = 0, wrong = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && k[j] == k[i]) j++;
        wrong += j - i != p.num_neg;
        runs++;
        i = j;
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(runs, t->counts.used);
    CHECK_EQ_INT(t->n_train, t->counts.train_pairs * 3);
    CHECK_EQ_INT(t->n_test, t->counts.test_pairs * 3);
    /* Shuffled: the scene sequence is not in first-use (non-decreasing) order. */
    size_t descents = 0;
    for (size_t i = 1; i < t->n_train; i++) descents += t->train[i].scene < t->train[i - 1].scene;
    CHECK(descents > t->n_train / 4);
    /* Another seed, another order (same multiset: checked by the counts). */
    triplets_params p2 = p;
    p2.seed = 2;
    triplets_file *t2 = build(&pl, &p2, NULL);
    CHECK(t2 != NULL);
    if (t2 && t2->n_train == t->n_train)
        CHECK(memcmp(t2->train, t->train, t->n_train * sizeof *t->train) != 0);
    triplets_free(t2);
    free(k);
    triplets_free(t);
    pairs_free(&pl);
}

/* every10: used pair i (file order, after drops) is test iff i % 10 == 0, and
 * test triplets come in pair order, num_neg each. */
static void test_every10_rule(void) {
    pair_list pl = {0};
    random_pairs(&pl, 120, 80, 5);
    add_pair(&pl, 3, 77777);  /* product missing (dropped) */
    add_pair(&pl, 0, 1);
    add_pair(&pl, 0, 1);      /* duplicate (dropped) */
    add_pair(&pl, 88888, 2);  /* scene missing (dropped) */
    add_pair(&pl, 5, 3);
    key_index missing;
    key_index_init(&missing);
    stl_key k;
    int added;
    make_key(&k, 2, 77777);
    key_index_add(&missing, k.s, &added, NULL);
    make_key(&k, 1, 88888);
    key_index_add(&missing, k.s, &added, NULL);
    triplets_params p = params(TRIPLETS_SPLIT_EVERY10, TRIPLETS_NEG_UNIFORM, 0.1);
    p.num_neg = 2;
    triplets_file *t = build(&pl, &p, &missing);
    CHECK(t != NULL);
    if (t) {
        /* Expected used list, recomputed independently. */
        size_t used = 0, ti = 0, mismatch = 0, n_test = 0, n_dup = 0;
        for (size_t i = 0; i < pl.n; i++) {
            const stl_pair *q = &pl.v[i];
            if (key_index_find(&missing, q->scene.s) >= 0 ||
                key_index_find(&missing, q->product.s) >= 0)
                continue;
            int dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = strcmp(pl.v[j].scene.s, q->scene.s) == 0 &&
                      strcmp(pl.v[j].product.s, q->product.s) == 0;
            if (dup) {
                n_dup++;
                continue;
            }
            if (used % 10 == 0) {
                n_test++;
                for (unsigned r = 0; r < p.num_neg; r++, ti++)
                    mismatch += ti >= t->n_test ||
                                strcmp(t->scenes[t->test[ti].scene].s, q->scene.s) != 0 ||
                                strcmp(t->products[t->test[ti].pos].s, q->product.s) != 0;
            }
            used++;
        }
        CHECK_EQ_INT(mismatch, 0);
        CHECK_EQ_INT(ti, t->n_test);
        CHECK_EQ_INT(t->counts.used, used);
        CHECK_EQ_INT(t->counts.test_pairs, n_test);
        CHECK_EQ_INT(t->counts.train_pairs, used - n_test);
        CHECK_EQ_INT(t->counts.dropped_duplicate, n_dup);
        CHECK(n_dup >= 1);
        CHECK_EQ_INT(t->counts.dropped_scene_missing, 1);
        CHECK_EQ_INT(t->counts.dropped_product_missing, 1);
    }
    key_index_free(&missing);
    triplets_free(t);
    pairs_free(&pl);
}

static int write_and_read(const triplets_file *t, const char *name, char **buf, long *len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    stl_error err;
    if (triplets_write(path, t, &err) != 0) {
        fprintf(stderr, "write: %s\n", err.msg);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    *buf = malloc((size_t)*len + 1);
    size_t got = fread(*buf, 1, (size_t)*len, f);
    fclose(f);
    return got == (size_t)*len ? 0 : -1;
}

static void test_deterministic_bytes(void) {
    pair_list pl = {0};
    random_pairs(&pl, 300, 100, 9);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.1);
    triplets_file *a = build(&pl, &p, NULL), *b = build(&pl, &p, NULL);
    p.seed = 99;
    triplets_file *c = build(&pl, &p, NULL);
    CHECK(a && b && c);
    if (a && b && c) {
        char *ba = NULL, *bb = NULL, *bc = NULL;
        long la = 0, lb = 0, lc = 0;
        CHECK(write_and_read(a, "a.msgpack", &ba, &la) == 0);
        CHECK(write_and_read(b, "b.msgpack", &bb, &lb) == 0);
        CHECK(write_and_read(c, "c.msgpack", &bc, &lc) == 0);
        CHECK(la > 0 && la == lb && memcmp(ba, bb, (size_t)la) == 0);
        CHECK(la != lc || memcmp(ba, bc, (size_t)la) != 0);
        free(ba);
        free(bb);
        free(bc);
    }
    triplets_free(a);
    triplets_free(b);
    triplets_free(c);
    pairs_free(&pl);
}

static void test_dropped_accounting(void) {
    pair_list pl = {0};
    key_index missing;
    key_index_init(&missing);
    stl_key k;
    int added;
    for (unsigned s = 0; s < 20; s++) add_pair(&pl, s, s % 7);     /* 20 good */
    add_pair(&pl, 100, 1);                                        /* scene missing */
    add_pair(&pl, 101, 2);                                        /* scene missing */
    add_pair(&pl, 100, 200);                                      /* both: scene */
    add_pair(&pl, 1, 200);                                        /* product missing */
    add_pair(&pl, 2, 201);                                        /* product missing */
    add_pair(&pl, 3, 3);                                          /* duplicate */
    add_pair(&pl, 4, 4);                                          /* duplicate */
    add_pair(&pl, 4, 4);                                          /* duplicate */
    add_pair(&pl, 4, 5);                                          /* good */
    for (unsigned s = 100; s <= 101; s++) {
        make_key(&k, 1, s);
        key_index_add(&missing, k.s, &added, NULL);
    }
    for (unsigned q = 200; q <= 201; q++) {
        make_key(&k, 2, q);
        key_index_add(&missing, k.s, &added, NULL);
    }
    pl.malformed = 4; /* as pairs_read would have counted them */
    pl.lines += 4;
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.1);
    triplets_file *t = build(&pl, &p, &missing);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(t->counts.pairs_read, 29);
        CHECK_EQ_INT(t->counts.dropped_scene_missing, 3);
        CHECK_EQ_INT(t->counts.dropped_product_missing, 2);
        CHECK_EQ_INT(t->counts.dropped_duplicate, 3);
        CHECK_EQ_INT(t->counts.used, 21);
        CHECK_EQ_INT(t->counts.malformed, 4);
        CHECK_EQ_INT(t->counts.lines, 33);
        CHECK_EQ_INT(t->counts.train_pairs + t->counts.test_pairs, 21);
        CHECK_EQ_INT(t->n_scenes, 20);
        CHECK_EQ_INT(t->n_products, 7);
    }
    key_index_free(&missing);
    triplets_free(t);
    pairs_free(&pl);
}

static void test_covering_scene_fails(void) {
    pair_list pl = {0};
    for (unsigned q = 0; q < 5; q++) add_pair(&pl, 0, q);
    add_pair(&pl, 1, 2);
    key_index none;
    key_index_init(&none);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.1);
    triplets_file *t = NULL;
    stl_error err = {{0}};
    CHECK(triplets_build(&pl, not_missing, &none, &p, &t, &err) == -1);
    CHECK(t == NULL);
    stl_key k;
    make_key(&k, 1, 0);
    CHECK(strstr(err.msg, k.s) != NULL);
    CHECK(strstr(err.msg, "all 5 products") != NULL);
    key_index_free(&none);
    pairs_free(&pl);
}

/* A scene paired with all products but one: its every negative is that one
 * (the rejection loop gives up and the exact draw answers), in both modes. */
static void test_nearly_covering_scene(void) {
    for (int mode = 0; mode < 2; mode++) {
        pair_list pl = {0};
        for (unsigned q = 0; q < 300; q++)
            if (q != 123) add_pair(&pl, 0, q);
        add_pair(&pl, 1, 123);
        add_pair(&pl, 2, 123);
        triplets_params p = params(TRIPLETS_SPLIT_SCENE, mode ? TRIPLETS_NEG_UNIFORM : TRIPLETS_NEG_PAIRS, 0.0);
        triplets_file *t = build(&pl, &p, NULL);
        CHECK(t != NULL);
        if (t) {
            stl_key want, s0;
            make_key(&want, 2, 123);
            make_key(&s0, 1, 0);
            size_t n0 = 0, wrong = 0;
            for (size_t i = 0; i < t->n_train; i++) {
                if (strcmp(t->scenes[t->train[i].scene].s, s0.s) != 0) continue;
                n0++;
                wrong += strcmp(t->products[t->train[i].neg].s, want.s) != 0;
            }
            CHECK_EQ_INT(n0, 299 * 5);
            CHECK_EQ_INT(wrong, 0);
            CHECK_EQ_INT(t->n_test, 0);
        }
        triplets_free(t);
        pairs_free(&pl);
    }
}

static void test_no_training_pairs_fails(void) {
    pair_list pl = {0};
    random_pairs(&pl, 20, 20, 1);
    key_index none;
    key_index_init(&none);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 1.0);
    triplets_file *t = NULL;
    stl_error err = {{0}};
    CHECK(triplets_build(&pl, not_missing, &none, &p, &t, &err) == -1);
    CHECK(strstr(err.msg, "no training pairs") != NULL);
    /* Nothing decoded at all: a clear failure too. */
    key_index all;
    key_index_init(&all);
    int added;
    for (size_t i = 0; i < pl.n; i++) key_index_add(&all, pl.v[i].scene.s, &added, NULL);
    p.test_fraction = 0.1;
    CHECK(triplets_build(&pl, not_missing, &all, &p, &t, &err) == -1);
    CHECK(strstr(err.msg, "no usable pairs") != NULL);
    key_index_free(&all);
    key_index_free(&none);
    pairs_free(&pl);
}

/* Adding pairs of new scenes does not move any existing scene across the split. */
static void test_split_stable_as_data_grows(void) {
    pair_list small = {0}, big = {0};
    random_pairs(&small, 300, 100, 21);
    random_pairs(&big, 300, 100, 21);
    for (unsigned s = 1000; s < 1300; s++) add_pair(&big, s, s % 100);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.25);
    triplets_file *a = build(&small, &p, NULL), *b = build(&big, &p, NULL);
    CHECK(a && b);
    if (a && b) {
        size_t moved = 0;
        /* Scenes are numbered by first use, so the small set's scenes keep their indices. */
        uint8_t *ta = calloc(a->n_scenes, 1), *tb = calloc(b->n_scenes, 1);
        for (size_t h = 0; h < a->n_held_scenes; h++) ta[a->held_scene[h]] = 1;
        for (size_t h = 0; h < b->n_held_scenes; h++) tb[b->held_scene[h]] = 1;
        for (size_t s = 0; s < a->n_scenes; s++) {
            CHECK(strcmp(a->scenes[s].s, b->scenes[s].s) == 0);
            moved += ta[s] != tb[s];
        }
        CHECK_EQ_INT(moved, 0);
        CHECK(b->n_held_scenes > a->n_held_scenes);
        free(ta);
        free(tb);
    }
    triplets_free(a);
    triplets_free(b);
    pairs_free(&small);
    pairs_free(&big);
}

/* pairs: negatives follow popularity; uniform: they do not. Product 0 is in
 * a third of all pairs (every even scene has it); seeds fixed, margins wide. */
static void test_negative_distributions(void) {
    pair_list pl = {0};
    for (unsigned s = 0; s < 2000; s++) {
        add_pair(&pl, s, 1 + s % 99);
        if (s % 2 == 0) add_pair(&pl, s, 0);
    }
    double share[2];
    for (int mode = 0; mode < 2; mode++) {
        triplets_params p = params(TRIPLETS_SPLIT_SCENE,
                                   mode ? TRIPLETS_NEG_UNIFORM : TRIPLETS_NEG_PAIRS, 0.0);
        triplets_file *t = build(&pl, &p, NULL);
        CHECK(t != NULL);
        if (!t) return;
        stl_key k0;
        make_key(&k0, 2, 0);
        uint8_t *has0 = calloc(t->n_scenes, 1);
        for (uint32_t sc = 0; sc < t->n_scenes; sc++)
            for (uint32_t q = 0; q < t->n_products; q++)
                if (strcmp(t->products[q].s, k0.s) == 0) has0[sc] = (uint8_t)paired(t, &pl, sc, q);
        size_t hit = 0, n = 0;
        for (size_t i = 0; i < t->n_train; i++) {
            if (has0[t->train[i].scene]) continue;
            n++;
            hit += strcmp(t->products[t->train[i].neg].s, k0.s) == 0;
        }
        share[mode] = n ? (double)hit / (double)n : 0;
        CHECK(n == 1000 * 5);
        free(has0);
        triplets_free(t);
    }
    /* Scenes without product 0 draw it ~1000/2980 of the time by pairs,
     * ~1/99 uniformly. */
    CHECK(share[0] > 0.25 && share[0] < 0.45);
    CHECK(share[1] < 0.05);
    pairs_free(&pl);
}

/* Every allowed product can be a negative: the last product and the product
 * of the last pair too (the book's sampler never draws the last pair). */
static void test_every_product_can_be_negative(void) {
    pair_list pl = {0};
    for (unsigned s = 0; s < 1500; s++) add_pair(&pl, s, s % 49);
    add_pair(&pl, 1500, 49); /* product 49: only in the last pair */
    for (int mode = 0; mode < 2; mode++) {
        triplets_params p = params(TRIPLETS_SPLIT_SCENE,
                                   mode ? TRIPLETS_NEG_UNIFORM : TRIPLETS_NEG_PAIRS, 0.0);
        triplets_file *t = build(&pl, &p, NULL);
        CHECK(t != NULL);
        if (!t) continue;
        uint8_t *drawn = calloc(t->n_products, 1);
        for (size_t i = 0; i < t->n_train; i++) drawn[t->train[i].neg] = 1;
        size_t never = 0;
        for (size_t q = 0; q < t->n_products; q++) never += !drawn[q];
        CHECK_EQ_INT(t->n_products, 50);
        CHECK_EQ_INT(never, 0); /* ~7500 draws: each product expected >= 100 times */
        free(drawn);
        triplets_free(t);
    }
    pairs_free(&pl);
}

static void test_roundtrip(void) {
    pair_list pl = {0};
    random_pairs(&pl, 200, 90, 13);
    triplets_params p = params(TRIPLETS_SPLIT_EVERY10, TRIPLETS_NEG_UNIFORM, 0.1);
    p.seed = 12345678901ULL;
    p.num_neg = 4;
    triplets_file *t = build(&pl, &p, NULL), *r = NULL;
    CHECK(t != NULL);
    if (!t) return;
    char path[256];
    snprintf(path, sizeof path, "%s/rt.msgpack", tmpdir);
    stl_error err;
    CHECK(triplets_write(path, t, &err) == 0);
    CHECK(triplets_open(path, &r, &err) == 0);
    if (r) {
        CHECK(memcmp(&r->params, &t->params, sizeof t->params) == 0 ||
              (r->params.seed == t->params.seed && r->params.num_neg == 4 &&
               r->params.split == t->params.split && r->params.negatives == t->params.negatives &&
               r->params.test_fraction == t->params.test_fraction));
        CHECK(memcmp(&r->counts, &t->counts, sizeof t->counts) == 0);
        CHECK_EQ_INT(r->n_scenes, t->n_scenes);
        CHECK_EQ_INT(r->n_products, t->n_products);
        CHECK_EQ_INT(r->n_train, t->n_train);
        CHECK_EQ_INT(r->n_test, t->n_test);
        CHECK_EQ_INT(r->n_held_scenes, t->n_held_scenes);
        CHECK(memcmp(r->scenes, t->scenes, t->n_scenes * sizeof *t->scenes) == 0);
        CHECK(memcmp(r->products, t->products, t->n_products * sizeof *t->products) == 0);
        CHECK(memcmp(r->train, t->train, t->n_train * sizeof *t->train) == 0);
        CHECK(memcmp(r->test, t->test, t->n_test * sizeof *t->test) == 0);
        CHECK(memcmp(r->held_scene, t->held_scene, t->n_held_scenes * 4) == 0);
        CHECK(memcmp(r->held_offset, t->held_offset, (t->n_held_scenes + 1) * 4) == 0);
        CHECK(memcmp(r->held_product, t->held_product, t->held_offset[t->n_held_scenes] * 4) == 0);
        CHECK_EQ_INT(r->params.seed, 12345678901LL);
    }
    triplets_free(r);
    triplets_free(t);
    pairs_free(&pl);
}

/* A file of another format with nothing but its header. */
static void no_fields(mpk_writer *w, const void *ctx) {
    (void)w;
    (void)ctx;
}

static void test_reader_rejects_corrupt(void) {
    pair_list pl = {0};
    random_pairs(&pl, 50, 30, 17);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.2);
    triplets_file *t = build(&pl, &p, NULL), *r = NULL;
    CHECK(t != NULL);
    if (!t) return;
    stl_error err;
    char path[256];
    /* An index out of range (the writer does not check; the reader must). */
    snprintf(path, sizeof path, "%s/bad_index.msgpack", tmpdir);
    uint32_t keep = t->train[0].neg;
    t->train[0].neg = (uint32_t)t->n_products;
    CHECK(triplets_write(path, t, &err) == 0);
    t->train[0].neg = keep;
    CHECK(triplets_open(path, &r, &err) == -1 && r == NULL);
    CHECK(strstr(err.msg, "out of range") != NULL);
    CHECK(strstr(err.msg, "stl-triplets") != NULL);
    /* Truncated file. */
    char *buf = NULL;
    long len = 0;
    CHECK(write_and_read(t, "good.msgpack", &buf, &len) == 0);
    snprintf(path, sizeof path, "%s/trunc.msgpack", tmpdir);
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, (size_t)len / 2, f);
    fclose(f);
    CHECK(triplets_open(path, &r, &err) == -1 && r == NULL);
    CHECK(strstr(err.msg, "trunc.msgpack") != NULL);
    free(buf);
    /* Another format. */
    snprintf(path, sizeof path, "%s/other.msgpack", tmpdir);
    CHECK(mpk_write(path, "stlrec-embeddings", 1, no_fields, NULL, &err) == 0);
    CHECK(triplets_open(path, &r, &err) == -1 && r == NULL);
    /* A negative equal to its positive (a triplet that teaches nothing). */
    snprintf(path, sizeof path, "%s/neg_is_pos.msgpack", tmpdir);
    keep = t->test[0].neg;
    t->test[0].neg = t->test[0].pos;
    CHECK(triplets_write(path, t, &err) == 0);
    t->test[0].neg = keep;
    CHECK(triplets_open(path, &r, &err) == -1 && r == NULL);
    CHECK(strstr(err.msg, "test triplet 0 has its positive as its negative") != NULL);
    /* The same scene key twice (two image indices for one image). */
    snprintf(path, sizeof path, "%s/dup_scene.msgpack", tmpdir);
    stl_key k1 = t->scenes[1];
    t->scenes[1] = t->scenes[0];
    CHECK(triplets_write(path, t, &err) == 0);
    t->scenes[1] = k1;
    CHECK(triplets_open(path, &r, &err) == -1 && r == NULL);
    CHECK(strstr(err.msg, "scenes key 1") && strstr(err.msg, "appears twice"));
    /* A held-out scene listed twice. */
    CHECK(t->n_held_scenes >= 2);
    if (t->n_held_scenes >= 2) {
        snprintf(path, sizeof path, "%s/dup_held.msgpack", tmpdir);
        uint32_t h1 = t->held_scene[1];
        t->held_scene[1] = t->held_scene[0];
        CHECK(triplets_write(path, t, &err) == 0);
        t->held_scene[1] = h1;
        CHECK(triplets_open(path, &r, &err) == -1 && r == NULL);
        CHECK(strstr(err.msg, "is listed twice") != NULL);
    }
    /* And the untouched file still reads. */
    snprintf(path, sizeof path, "%s/untouched.msgpack", tmpdir);
    CHECK(triplets_write(path, t, &err) == 0);
    CHECK(triplets_open(path, &r, &err) == 0 && r != NULL);
    triplets_free(r);
    triplets_free(t);
    pairs_free(&pl);
}

/* Fuzz the reader with a small valid file: every truncation must be refused,
 * and random byte flips must either be refused or give a file whose indices
 * are all in range (the reader's promise); never a crash (run under SAN=1). */
static void test_reader_fuzz(void) {
    pair_list pl = {0};
    random_pairs(&pl, 12, 10, 23);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.3);
    p.num_neg = 2;
    triplets_file *t = build(&pl, &p, NULL);
    CHECK(t != NULL);
    if (!t) return;
    char *good = NULL;
    long len = 0;
    CHECK(write_and_read(t, "fuzz_src.msgpack", &good, &len) == 0);
    char path[256];
    snprintf(path, sizeof path, "%s/fuzz.msgpack", tmpdir);
    stl_error err;
    size_t accepted_trunc = 0, bad_result = 0, accepted = 0;
    for (long n = 0; n < len; n++) {
        FILE *f = fopen(path, "wb");
        fwrite(good, 1, (size_t)n, f);
        fclose(f);
        triplets_file *r = NULL;
        if (triplets_open(path, &r, &err) == 0) accepted_trunc++;
        triplets_free(r);
    }
    rng_state rs;
    rng_seed(&rs, 5);
    char *buf = malloc((size_t)len);
    for (int it = 0; it < 1000; it++) {
        memcpy(buf, good, (size_t)len);
        int flips = 1 + (int)rng_uniform(&rs, 4);
        for (int k = 0; k < flips; k++)
            buf[rng_uniform(&rs, (uint64_t)len)] ^= (char)(1 + rng_uniform(&rs, 255));
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, (size_t)len, f);
        fclose(f);
        triplets_file *r = NULL;
        if (triplets_open(path, &r, &err) == 0) {
            accepted++;
            for (size_t i = 0; i < r->n_train; i++)
                bad_result += r->train[i].scene >= r->n_scenes || r->train[i].neg >= r->n_products ||
                              r->train[i].pos >= r->n_products;
            for (size_t h = 0; h < r->n_held_scenes; h++)
                bad_result += r->held_offset[h] > r->held_offset[h + 1];
            triplets_free(r);
        }
    }
    CHECK_EQ_INT(accepted_trunc, 0);
    CHECK_EQ_INT(bad_result, 0);
    CHECK(accepted < 1000); /* most flips are caught */
    free(buf);
    free(good);
    triplets_free(t);
    pairs_free(&pl);
}

static void test_inspect(void) {
    pair_list pl = {0};
    random_pairs(&pl, 60, 30, 19);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.3);
    triplets_file *t = build(&pl, &p, NULL);
    CHECK(t != NULL);
    if (!t) return;
    char path[256], jpath[256];
    snprintf(path, sizeof path, "%s/insp.msgpack", tmpdir);
    snprintf(jpath, sizeof jpath, "%s/insp.json", tmpdir);
    stl_error err;
    CHECK(triplets_write(path, t, &err) == 0);
    FILE *f = fopen(jpath, "w+");
    CHECK(triplets_inspect(path, 1, f, &err) == 0);
    fclose(f);
    json_error_t je;
    json_t *j = json_load_file(jpath, 0, &je);
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_INT(json_array_size(json_object_get(j, "train")), t->n_train);
        CHECK_EQ_INT(json_array_size(json_object_get(j, "scenes")), t->n_scenes);
        CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "counts"), "used")),
                     t->counts.used);
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "params"), "split")),
                     "scene");
        json_t *tr0 = json_array_get(json_object_get(j, "train"), 0);
        CHECK_EQ_INT(json_integer_value(json_array_get(tr0, 2)), t->train[0].neg);
        json_decref(j);
    }
    f = fopen(jpath, "w+");
    CHECK(triplets_inspect(path, 0, f, &err) == 0);
    rewind(f);
    char text[4096] = {0};
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    CHECK(got > 0 && strstr(text, "split scene") != NULL);
    CHECK(strstr(text, "num_neg 5") != NULL);
    triplets_free(t);
    pairs_free(&pl);
}

/* pairs_read counts malformed lines and bad keys; build reports them. */
static void test_pairs_file_malformed(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/pairs.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    stl_key s, q;
    for (unsigned i = 0; i < 30; i++) {
        make_key(&s, 1, i);
        make_key(&q, 2, i % 9);
        fprintf(f, "{\"product\": \"%s\", \"scene\": \"%s\", \"bbox\": [0.1, 0.2, 0.3, 0.4]}\n", q.s, s.s);
    }
    fprintf(f, "not json\n");
    fprintf(f, "{\"product\": \"XYZ\", \"scene\": \"%s\"}\n", s.s);
    fprintf(f, "{\"scene\": \"%s\"}\n", s.s);
    fclose(f);
    pair_list pl = {0};
    stl_error err;
    CHECK(pairs_read(path, &pl, &err) == 0);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.1);
    triplets_file *t = build(&pl, &p, NULL);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(t->counts.malformed, 3);
        CHECK_EQ_INT(t->counts.pairs_read, 30);
        CHECK_EQ_INT(t->counts.used, 30);
        CHECK_EQ_INT(t->counts.lines, 33);
    }
    triplets_free(t);
    pairs_free(&pl);
}

static void test_names(void) {
    triplets_split s;
    triplets_negatives n;
    stl_error err;
    CHECK(triplets_split_parse("every10", &s, &err) == 0 && s == TRIPLETS_SPLIT_EVERY10);
    CHECK(triplets_split_parse("pairs", &s, &err) == -1);
    CHECK(triplets_negatives_parse("uniform", &n, &err) == 0 && n == TRIPLETS_NEG_UNIFORM);
    CHECK_STR_EQ(triplets_split_name(TRIPLETS_SPLIT_SCENE), "scene");
    CHECK_STR_EQ(triplets_negatives_name(TRIPLETS_NEG_PAIRS), "pairs");
}

/* Hard negatives. A product's category comes from its number (the key's
 * second field): product i is in category i % 5, except every i % 7 == 6,
 * which the "catalog" does not list. */
static unsigned product_number(const char *key) {
    unsigned kind = 0, i = 0;
    sscanf(key, "%8x%8x", &kind, &i);
    return i;
}

static const char *category_mod5(void *ctx, const char *key) {
    static const char *names[] = {"A|a", "A|b", "B", "C|c|d", "E"};
    (void)ctx;
    unsigned i = product_number(key);
    return i % 7 == 6 ? NULL : names[i % 5];
}

static triplets_file *build_hard(const pair_list *pl, const triplets_params *p,
                                 triplets_category_fn category) {
    key_index none;
    key_index_init(&none);
    stl_error err;
    triplets_file *t = NULL;
    if (triplets_build_categories(pl, not_missing, &none, category, NULL, p, &t, &err) != 0) {
        fprintf(stderr, "build failed: %s\n", err.msg);
        t = NULL;
    }
    key_index_free(&none);
    return t;
}

static int same_category(const triplets_file *t, uint32_t a, uint32_t b) {
    const char *x = category_mod5(NULL, t->products[a].s), *y = category_mod5(NULL, t->products[b].s);
    return x && y && strcmp(x, y) == 0;
}

/* --hard-negatives 1: every training negative of a listed positive is of its
 * category and never a product of the scene; an unlisted positive falls back
 * (counted); validation and test triplets are those of the run without hard
 * negatives, byte for byte; every allowed category member is drawn. */
static void test_hard_negatives_all(void) {
    pair_list pl = {0};
    random_pairs(&pl, 400, 70, 21);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.2);
    p.val_fraction = 0.2;
    triplets_file *plain = build_hard(&pl, &p, category_mod5);
    p.hard_fraction = 1.0;
    triplets_file *t = build_hard(&pl, &p, category_mod5);
    CHECK(plain != NULL && t != NULL);
    if (!plain || !t) return;
    size_t wrong_cat = 0, in_scene = 0, unlisted = 0;
    uint8_t *drawn = calloc(t->n_products, 1);
    for (size_t i = 0; i < t->n_train; i++) {
        const triplet *x = &t->train[i];
        in_scene += paired(t, &pl, x->scene, x->neg) || x->neg == x->pos;
        if (!category_mod5(NULL, t->products[x->pos].s)) {
            unlisted++;
            continue;
        }
        wrong_cat += !same_category(t, x->pos, x->neg);
        drawn[x->neg] = 1;
    }
    CHECK_EQ_INT(in_scene, 0);
    CHECK_EQ_INT(wrong_cat, 0);
    CHECK(unlisted > 0);
    CHECK_EQ_INT(t->counts.hard_fallback, unlisted);
    CHECK_EQ_INT(t->counts.train_hard, t->n_train - unlisted);
    /* Every listed product of a category some positive has was drawn (each
     * of the ~12 members of a category is expected hundreds of times). */
    size_t never = 0;
    for (uint32_t q = 0; q < t->n_products; q++)
        if (category_mod5(NULL, t->products[q].s) && !drawn[q]) never++;
    CHECK_EQ_INT(never, 0);
    CHECK(t->n_test > 0 && t->n_val > 0);
    CHECK_EQ_INT(t->n_test, plain->n_test);
    CHECK_EQ_INT(t->n_val, plain->n_val);
    CHECK(memcmp(t->test, plain->test, t->n_test * sizeof *t->test) == 0);
    CHECK(memcmp(t->val, plain->val, t->n_val * sizeof *t->val) == 0);
    /* the positives and their order do not change, only the negatives */
    CHECK_EQ_INT(t->n_train, plain->n_train);
    free(drawn);
    triplets_free(t);
    triplets_free(plain);
    pairs_free(&pl);
}

/* --hard-negatives 0.5: about half the training negatives are drawn from
 * the category (the coin), the rest as before; a draw from the whole catalog
 * lands in the positive's category about a fifth of the time, so the share
 * of same-category negatives is about 0.5 + 0.5 / 5 = 0.6. ~5,000 draws:
 * the binomial sd is under 0.01, the margins 0.05. */
static void test_hard_negatives_share(void) {
    pair_list pl = {0};
    random_pairs(&pl, 400, 70, 22);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_UNIFORM, 0.1);
    p.hard_fraction = 0.5;
    triplets_file *t = build_hard(&pl, &p, category_mod5);
    CHECK(t != NULL);
    if (!t) return;
    size_t listed = 0, same = 0;
    for (size_t i = 0; i < t->n_train; i++) {
        if (!category_mod5(NULL, t->products[t->train[i].pos].s)) continue;
        listed++;
        same += same_category(t, t->train[i].pos, t->train[i].neg);
    }
    double coin = (double)(t->counts.train_hard + t->counts.hard_fallback) / (double)t->n_train;
    double share = (double)same / (double)listed;
    CHECK(coin > 0.45 && coin < 0.55);
    CHECK(share > 0.5 && share < 0.7);
    triplets_free(t);
    pairs_free(&pl);
}

/* The exact draw and the fallback: one category of 100 products (numbers
 * 0, 5, ... 495 but the unlisted ones); scene 0 has all of them but product
 * 5, so its hard negatives must all be product 5 (rejection fails nearly
 * always: the exact draw); scene 1 has every product of the category, so its
 * hard draws fall back to the catalog-wide draw, never a scene product. */
static void test_hard_negatives_exact_and_fallback(void) {
    pair_list pl = {0};
    for (unsigned i = 0; i < 500; i += 5) {
        if (i % 7 == 6) continue;
        if (i != 5) add_pair(&pl, 0, i);
        add_pair(&pl, 1, i);
    }
    for (unsigned s = 2; s < 300; s++) add_pair(&pl, s, (s * 13) % 500);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.0);
    p.hard_fraction = 1.0;
    triplets_file *t = build_hard(&pl, &p, category_mod5);
    CHECK(t != NULL);
    if (!t) return;
    stl_key s0, s1;
    make_key(&s0, 1, 0);
    make_key(&s1, 1, 1);
    size_t n0 = 0, bad0 = 0, n1 = 0, bad1 = 0;
    for (size_t i = 0; i < t->n_train; i++) {
        const triplet *x = &t->train[i];
        if (strcmp(t->scenes[x->scene].s, s0.s) == 0) {
            n0++;
            bad0 += product_number(t->products[x->neg].s) != 5;
        } else if (strcmp(t->scenes[x->scene].s, s1.s) == 0) {
            n1++;
            bad1 += paired(t, &pl, x->scene, x->neg);
        }
    }
    CHECK(n0 > 0 && n1 > 0);
    CHECK_EQ_INT(bad0, 0);
    CHECK_EQ_INT(bad1, 0);
    CHECK(t->counts.hard_fallback >= n1);
    triplets_free(t);
    pairs_free(&pl);
}

/* Hard negatives without categories, or a fraction out of [0, 1], are
 * refused; the fraction and counts survive the file round trip, and a file
 * without hard negatives has none of their keys. */
static void test_hard_negatives_file(void) {
    pair_list pl = {0};
    random_pairs(&pl, 200, 60, 23);
    triplets_params p = params(TRIPLETS_SPLIT_SCENE, TRIPLETS_NEG_PAIRS, 0.1);
    p.hard_fraction = 0.25;
    stl_error err;
    key_index none;
    key_index_init(&none);
    triplets_file *bad = NULL;
    CHECK(triplets_build_categories(&pl, not_missing, &none, NULL, NULL, &p, &bad, &err) == -1 &&
          !bad && strstr(err.msg, "categories"));
    p.hard_fraction = 1.5;
    CHECK(triplets_build_categories(&pl, not_missing, &none, category_mod5, NULL, &p, &bad, &err) ==
              -1 && !bad);
    key_index_free(&none);
    p.hard_fraction = 0.25;
    triplets_file *t = build_hard(&pl, &p, category_mod5);
    CHECK(t != NULL);
    if (!t) return;
    char path[256];
    snprintf(path, sizeof path, "%s/hard.mpk", tmpdir);
    CHECK(triplets_write(path, t, &err) == 0);
    triplets_file *back = NULL;
    CHECK(triplets_open(path, &back, &err) == 0);
    if (back) {
        CHECK(back->params.hard_fraction == 0.25);
        CHECK_EQ_INT(back->counts.train_hard, t->counts.train_hard);
        CHECK_EQ_INT(back->counts.hard_fallback, t->counts.hard_fallback);
        CHECK(t->counts.train_hard > 0);
        CHECK(memcmp(back->train, t->train, t->n_train * sizeof *t->train) == 0);
        triplets_free(back);
    }
    triplets_free(t);
    p.hard_fraction = 0;
    t = build_hard(&pl, &p, NULL);
    CHECK(t != NULL);
    if (t) {
        CHECK(triplets_write(path, t, &err) == 0);
        char cmd[600], buf[64] = "";
        snprintf(cmd, sizeof cmd, "grep -c -a -e hard_fraction -e train_hard '%s'", path);
        FILE *f = popen(cmd, "r");
        if (f) {
            if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
            pclose(f);
        }
        CHECK(atoi(buf) == 0);
        triplets_free(t);
    }
    pairs_free(&pl);
}

int main(void) {
    setenv("STL_QUIET", "1", 1);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_scene_split_disjoint);
    RUN(test_validation_split);
    RUN(test_negatives_never_a_positive_pairs);
    RUN(test_negatives_never_a_positive_uniform);
    RUN(test_num_neg_and_permutation);
    RUN(test_every10_rule);
    RUN(test_deterministic_bytes);
    RUN(test_dropped_accounting);
    RUN(test_covering_scene_fails);
    RUN(test_nearly_covering_scene);
    RUN(test_no_training_pairs_fails);
    RUN(test_split_stable_as_data_grows);
    RUN(test_negative_distributions);
    RUN(test_every_product_can_be_negative);
    RUN(test_roundtrip);
    RUN(test_reader_rejects_corrupt);
    RUN(test_reader_fuzz);
    RUN(test_inspect);
    RUN(test_pairs_file_malformed);
    RUN(test_names);
    RUN(test_hard_negatives_all);
    RUN(test_hard_negatives_share);
    RUN(test_hard_negatives_exact_and_fallback);
    RUN(test_hard_negatives_file);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary();
}

/* test_topk.c — the exact MIPS kernel (common/retrieval/topk.c) against brute force.
 *
 * Two kinds of data. Small-integer vectors make every dot product an exact
 * float whatever the summation order, so sgemm and the reference agree bit for
 * bit and the results must be identical, ties (many) broken by lower index.
 * Random floats exercise the real case: sgemm's rounding may differ from a
 * double reference in the last bits, so the comparison is tolerance-aware —
 * identical indices wherever the reference ranking is separated by more than
 * the rounding bound, and nothing better than the K-th missed anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/rng.h"
#include "retrieval/topk.h"

typedef struct {
    double s;
    uint32_t i;
} ref_ent;

static int ref_cmp(const void *pa, const void *pb) {
    const ref_ent *a = pa, *b = pb;
    if (a->s != b->s) return a->s > b->s ? -1 : 1;
    return a->i < b->i ? -1 : (a->i > b->i);
}

/* Full reference ranking of one query row (m entries, best first). */
static void ref_rank(const float *q, const float *p, size_t m, size_t d, ref_ent *out) {
    for (size_t j = 0; j < m; j++) {
        double s = 0;
        for (size_t c = 0; c < d; c++) s += (double)q[c] * p[j * d + c];
        out[j] = (ref_ent){s, (uint32_t)j};
    }
    qsort(out, m, sizeof *out, ref_cmp);
}

static float *small_ints(rng_state *r, size_t rows, size_t d, int range) {
    float *x = malloc(rows * d * sizeof *x);
    for (size_t e = 0; e < rows * d; e++)
        x[e] = (float)((int)rng_uniform(r, 2 * (uint64_t)range + 1) - range);
    return x;
}

static float *normals(rng_state *r, size_t rows, size_t d) {
    float *x = malloc(rows * d * sizeof *x);
    for (size_t e = 0; e < rows * d; e++) x[e] = (float)rng_normal(r);
    return x;
}

static int run(const float *q, size_t n, const float *p, size_t m, size_t d, size_t k,
               int threads, uint32_t **idx, float **sc) {
    size_t w = topk_width(k, m);
    *idx = malloc((n * w + 1) * sizeof **idx);
    *sc = malloc((n * w + 1) * sizeof **sc);
    topk_options opt = {.threads = threads};
    stl_error err = {{0}};
    int rc = topk_search(q, n, p, m, d, k, &opt, *idx, *sc, &err);
    if (rc != 0) fprintf(stderr, "topk_search: %s\n", err.msg);
    return rc;
}

/* Exact data: identical indices and scores to the reference. */
static void check_exact(size_t n, size_t m, size_t d, size_t k, int range, int threads,
                        uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    float *q = small_ints(&r, n, d, range), *p = small_ints(&r, m, d, range);
    uint32_t *idx;
    float *sc;
    CHECK_EQ_INT(run(q, n, p, m, d, k, threads, &idx, &sc), 0);
    size_t w = topk_width(k, m);
    ref_ent *ref = malloc(m * sizeof *ref);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        ref_rank(q + i * d, p, m, d, ref);
        for (size_t e = 0; e < w; e++)
            if (idx[i * w + e] != ref[e].i || sc[i * w + e] != (float)ref[e].s) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    free(ref); free(q); free(p); free(idx); free(sc);
}

static void test_exact_small_ints(void) {
    // 300 queries cross query blocks, 2500 products cross base tiles; values
    // in -3..3 over 16 dims give ~200 distinct scores: ties everywhere.
    check_exact(300, 2500, 16, 10, 3, 1, 1);
    check_exact(300, 2500, 16, 1, 3, 2, 2);
    check_exact(130, 2100, 8, 100, 2, 3, 3); // K larger than any tie group; heap depth
    check_exact(5, 3000, 4, 50, 1, 2, 4);    // few queries: the base is split
}

static void test_k_larger_than_products(void) {
    check_exact(20, 7, 8, 10, 3, 1, 5);
    check_exact(20, 7, 8, 10, 3, 4, 6);
    CHECK_EQ_INT(topk_width(10, 7), 7);
    CHECK_EQ_INT(topk_width(10, 0), 0);
    CHECK_EQ_INT(topk_width(3, 7), 3);
}

static void test_duplicates_and_ties(void) {
    // Every product the same vector: all scores tie, so the answer is 0..K-1.
    size_t n = 3, m = 2000, d = 8, k = 12;
    float *q = malloc(n * d * sizeof *q), *p = malloc(m * d * sizeof *p);
    for (size_t e = 0; e < n * d; e++) q[e] = (float)(e % 5) - 2;
    for (size_t c = 0; c < d; c++) q[c] = 1.0f; // row 0 points towards big vectors
    for (size_t j = 0; j < m; j++)
        for (size_t c = 0; c < d; c++) p[j * d + c] = 0.5f * (float)c;
    uint32_t *idx;
    float *sc;
    for (int t = 1; t <= 3; t++) {
        CHECK_EQ_INT(run(q, n, p, m, d, k, t, &idx, &sc), 0);
        for (size_t i = 0; i < n; i++)
            for (size_t e = 0; e < k; e++) CHECK_EQ_INT(idx[i * k + e], e);
        free(idx); free(sc);
    }
    // Duplicated best vector at indices 1500 and 7: 7 ranks first, then 1500.
    for (size_t c = 0; c < d; c++) p[1500 * d + c] = p[7 * d + c] = 10.0f + (float)c;
    CHECK_EQ_INT(run(q, 1, p, m, d, 3, 2, &idx, &sc), 0);
    CHECK_EQ_INT(idx[0], 7);
    CHECK_EQ_INT(idx[1], 1500);
    CHECK(sc[0] == sc[1] && sc[0] > sc[2]);
    free(idx); free(sc); free(q); free(p);
}

/* Random floats: tolerance-aware comparison with a double reference. */
static void test_random_floats(void) {
    size_t n = 260, m = 5000, d = 64, k = 10;
    rng_state r;
    rng_seed(&r, 42);
    float *q = normals(&r, n, d), *p = normals(&r, m, d);
    uint32_t *idx;
    float *sc;
    CHECK_EQ_INT(run(q, n, p, m, d, k, 2, &idx, &sc), 0);
    ref_ent *ref = malloc(m * sizeof *ref);
    size_t wrong_score = 0, missed = 0, order = 0, sep_mismatch = 0, separated = 0;
    for (size_t i = 0; i < n; i++) {
        const float *qi = q + i * d;
        ref_rank(qi, p, m, d, ref);
        // Bound on float32 rounding of a d-term dot: d * eps * sum |q_c p_c|,
        // with a generous bound on sum|q_c p_c| for N(0,1) data.
        double tol = (double)d * 1.2e-7 * 4.0 * (double)d;
        for (size_t e = 0; e < k; e++) {
            uint32_t j = idx[i * k + e];
            double exact = 0;
            for (size_t c = 0; c < d; c++) exact += (double)qi[c] * p[(size_t)j * d + c];
            if (j >= m || fabs(exact - sc[i * k + e]) > tol) wrong_score++;
            if (exact < ref[k - 1].s - 2 * tol) missed++;
            if (e > 0 && (sc[i * k + e] > sc[i * k + e - 1] ||
                          (sc[i * k + e] == sc[i * k + e - 1] && j < idx[i * k + e - 1])))
                order++;
            int sep = (e == 0 || ref[e - 1].s - ref[e].s > 2 * tol) &&
                      ref[e].s - ref[e + 1].s > 2 * tol;
            if (sep) {
                separated++;
                if (j != ref[e].i) sep_mismatch++;
            }
        }
    }
    CHECK_EQ_INT(wrong_score, 0);
    CHECK_EQ_INT(missed, 0);
    CHECK_EQ_INT(order, 0);
    CHECK_EQ_INT(sep_mismatch, 0);
    CHECK(separated > n * k * 9 / 10); // the check above really compared most ranks
    free(ref); free(q); free(p); free(idx); free(sc);
}

static void test_thread_count_independence(void) {
    rng_state r;
    rng_seed(&r, 7);
    size_t d = 32, k = 10;
    size_t sizes[][2] = {{700, 4100}, {3, 9000}, {129, 1025}};
    for (size_t s = 0; s < 3; s++) {
        size_t n = sizes[s][0], m = sizes[s][1];
        float *q = normals(&r, n, d), *p = normals(&r, m, d);
        uint32_t *i1, *it;
        float *s1, *st;
        CHECK_EQ_INT(run(q, n, p, m, d, k, 1, &i1, &s1), 0);
        for (int t = 2; t <= 5; t += 3) {
            CHECK_EQ_INT(run(q, n, p, m, d, k, t, &it, &st), 0);
            CHECK(memcmp(i1, it, n * k * sizeof *it) == 0);
            CHECK(memcmp(s1, st, n * k * sizeof *st) == 0);
            free(it); free(st);
        }
        free(i1); free(s1); free(q); free(p);
    }
}

/* A block-aligned subset of the queries gives exactly the full run's rows
 * (what stl-topk --shard relies on). */
static void test_aligned_subset(void) {
    rng_state r;
    rng_seed(&r, 9);
    size_t n = 600, m = 3000, d = 24, k = 7;
    float *q = normals(&r, n, d), *p = normals(&r, m, d);
    uint32_t *ia, *is;
    float *sa, *ss;
    CHECK_EQ_INT(run(q, n, p, m, d, k, 2, &ia, &sa), 0);
    size_t lo = 2 * TOPK_QUERY_BLOCK, cnt = n - lo;
    CHECK_EQ_INT(run(q + lo * d, cnt, p, m, d, k, 1, &is, &ss), 0);
    CHECK(memcmp(ia + lo * k, is, cnt * k * sizeof *is) == 0);
    CHECK(memcmp(sa + lo * k, ss, cnt * k * sizeof *ss) == 0);
    free(ia); free(sa); free(is); free(ss); free(q); free(p);
}

/* Any query, run alone or with any other queries at any position, gets the
 * same row, bit for bit (short blocks are padded to full ones): what
 * stl-recommend relies on to give one photo stl-topk's list. Rows from the
 * middle of full blocks and from the short last block are taken alone, and
 * a shuffled subset is run as a batch. */
static void test_any_subset(void) {
    rng_state r;
    rng_seed(&r, 13);
    size_t n = 300, m = 2100, d = 40, k = 6; /* blocks of 128, 128, 44 */
    float *q = normals(&r, n, d), *p = normals(&r, m, d);
    uint32_t *ia, *is;
    float *sa, *ss;
    CHECK_EQ_INT(run(q, n, p, m, d, k, 2, &ia, &sa), 0);
    static const size_t alone[] = {0, 77, 127, 128, 200, 256, 299};
    for (size_t a = 0; a < sizeof alone / sizeof alone[0]; a++) {
        size_t i = alone[a];
        CHECK_EQ_INT(run(q + i * d, 1, p, m, d, k, 1, &is, &ss), 0);
        CHECK(memcmp(ia + i * k, is, k * sizeof *is) == 0);
        CHECK(memcmp(sa + i * k, ss, k * sizeof *ss) == 0);
        free(is); free(ss);
    }
    size_t pick[50];
    float *qs = malloc(50 * d * sizeof *qs);
    for (size_t j = 0; j < 50; j++) {
        pick[j] = (j * 113 + 41) % n; /* a scattered, shuffled subset */
        memcpy(qs + j * d, q + pick[j] * d, d * sizeof *qs);
    }
    CHECK_EQ_INT(run(qs, 50, p, m, d, k, 3, &is, &ss), 0);
    size_t differ = 0;
    for (size_t j = 0; j < 50; j++)
        differ += memcmp(ia + pick[j] * k, is + j * k, k * sizeof *is) != 0 ||
                  memcmp(sa + pick[j] * k, ss + j * k, k * sizeof *ss) != 0;
    CHECK_EQ_INT(differ, 0);
    free(is); free(ss); free(qs); free(ia); free(sa); free(q); free(p);
}

static void test_refuses_non_finite(void) {
    float q[4] = {1, 2, 3, 4}, p[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    uint32_t idx[2];
    float sc[2];
    topk_options opt = {.threads = 1};
    stl_error err = {{0}};
    p[5] = NAN;
    CHECK_EQ_INT(topk_search(q, 1, p, 2, 4, 2, &opt, idx, sc, &err), -1);
    CHECK(strstr(err.msg, "base row 1") != NULL);
    p[5] = 0;
    q[0] = INFINITY;
    CHECK_EQ_INT(topk_search(q, 1, p, 2, 4, 2, &opt, idx, sc, &err), -1);
    CHECK(strstr(err.msg, "query row 0") != NULL);
    q[0] = 1;
    CHECK_EQ_INT(topk_search(q, 1, p, 2, 4, 2, &opt, idx, sc, &err), 0);
    CHECK_EQ_INT(idx[0], 0);
    CHECK_EQ_INT(idx[1], 1);
    CHECK(sc[0] == 10.0f && sc[1] == 0.0f);
    // nothing to do is not an error
    CHECK_EQ_INT(topk_search(q, 0, p, 2, 4, 2, &opt, idx, sc, &err), 0);
    CHECK_EQ_INT(topk_search(q, 1, p, 0, 4, 2, &opt, idx, sc, &err), 0);
}

int main(void) {
    RUN(test_exact_small_ints);
    RUN(test_k_larger_than_products);
    RUN(test_duplicates_and_ties);
    RUN(test_random_floats);
    RUN(test_thread_count_independence);
    RUN(test_aligned_subset);
    RUN(test_any_subset);
    RUN(test_refuses_non_finite);
    return check_summary();
}

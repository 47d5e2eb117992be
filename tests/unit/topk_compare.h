/* topk_compare.h — the GPU top-k's search against topk_search, shared by
 * test_topk_gpu.c (the host backend) and test_topk_gpu_cuda.c (the device):
 * the rows must be identical but where a row's k-th and k+1-th products tie
 * to within float rounding (the GEMMs sum in another order); every entry
 * that differs must be such a near tie, and at most 1% of the rows.
 */
#ifndef STL_TEST_TOPK_COMPARE_H
#define STL_TEST_TOPK_COMPARE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "check.h"
#include "model/gpu_backend.h"
#include "retrieval/topk.h"
#include "retrieval/topk_gpu.h"

static float *random_rows(size_t n, size_t d, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    float *x = malloc(sizeof(float) * n * d);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)(rng_uniform(&r, 1 << 20) / (double)(1 << 20) - 0.5);
    return x;
}
static double dot(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t c = 0; c < d; c++) s += (double)a[c] * b[c];
    return s;
}

/* topk_search_gpu through (be, select) against topk_search. */
static void compare_search(const gpu_backend *be, topk_select_fn select, size_t n, size_t m,
                           size_t d, size_t k, int dup) {
    stl_error err;
    float *q = random_rows(n, d, 11), *p = random_rows(m, d, 12);
    if (dup) /* exact duplicates: equal scores, ranked by index */
        for (size_t j = 1; j < m; j += 3) memcpy(p + j * d, p + (j - 1) * d, sizeof(float) * d);
    size_t w = topk_width(k, m);
    uint32_t *ic = malloc(sizeof(uint32_t) * n * w), *ig = malloc(sizeof(uint32_t) * n * w);
    float *sc = malloc(sizeof(float) * n * w), *sg = malloc(sizeof(float) * n * w);
    topk_options opt = {.threads = 2};
    CHECK(topk_search(q, n, p, m, d, k, &opt, ic, sc, &err) == 0);
    CHECK(topk_search_gpu(be, select, q, n, p, m, d, k, ig, sg, &err) == 0);
    size_t rows_differ = 0, not_near_tie = 0;
    for (size_t i = 0; i < n; i++) {
        if (!memcmp(ic + i * w, ig + i * w, sizeof(uint32_t) * w) &&
            !memcmp(sc + i * w, sg + i * w, sizeof(float) * w))
            continue;
        rows_differ++;
        /* a differing entry's exact score is within the two GEMMs' rounding
         * of the k-th best's: each float sum of d terms is off by at most
         * d 2^-24 sum |q_c p_c| (gamma_d), both paths together twice that */
        const float *pk = p + (size_t)ic[i * w + w - 1] * d;
        double kth = dot(q + i * d, pk, d), mag = 0;
        for (size_t c = 0; c < d; c++) mag += fabs((double)q[i * d + c] * pk[c]);
        double tol = 2.0 * (double)d * ldexp(1.0, -24) * mag;
        for (size_t e = 0; e < w; e++)
            if (ic[i * w + e] != ig[i * w + e]) {
                double s1 = dot(q + i * d, p + (size_t)ig[i * w + e] * d, d);
                if (fabs(s1 - kth) > tol) not_near_tie++;
            }
    }
    if (rows_differ) fprintf(stderr, "  n %zu m %zu k %zu: %zu rows differ (near ties)\n", n, m, k, rows_differ);
    CHECK_EQ_INT(not_near_tie, 0);
    CHECK(rows_differ <= n / 100 + 1);
    free(q), free(p), free(ic), free(ig), free(sc), free(sg);
}

#endif

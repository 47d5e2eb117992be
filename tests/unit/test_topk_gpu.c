/* test_topk_gpu.c — the GPU top-k (retrieval/topk_gpu.h, topk_select.h) on
 * any CPU: the selection body against a full sort, tile by tile, with ties;
 * and the whole search through the host backend (the GEMMs by OpenBLAS, the
 * selection by the same body the device kernel runs) against topk_search,
 * across query blocks and base tiles. The rows must be identical but where
 * a row's k-th and k+1-th products tie to within float rounding (the GEMMs
 * sum in another order): there the test checks that every entry that
 * differs is such a near tie.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "check.h"
#include "topk_compare.h"
#include "model/gpu_backend.h"
#include "retrieval/topk.h"
#include "retrieval/topk_gpu.h"
#include "retrieval/topk_select.h"

typedef struct {
    float s;
    uint32_t i;
} ent;
static int ent_cmp(const void *a, const void *b) {
    const ent *x = a, *y = b;
    if (gm_topk_better(x->s, x->i, y->s, y->i)) return -1;
    if (gm_topk_better(y->s, y->i, x->s, x->i)) return 1;
    return 0;
}

/* The selection, tile by tile, against a sort of the whole row; scores on a
 * coarse grid so that many tie. */
static void test_select_body(void) {
    enum { N = 3000 };
    rng_state r;
    rng_seed(&r, 3);
    float sc[N];
    ent all[N];
    for (int j = 0; j < N; j++) {
        sc[j] = (float)rng_uniform(&r, 50) - 25.0f;
        all[j] = (ent){sc[j], (uint32_t)j};
    }
    qsort(all, N, sizeof *all, ent_cmp);
    int ks[] = {1, 7, 64, N};
    int tiles[] = {N, 1000, 333, 1};
    for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
        for (size_t b = 0; b < sizeof tiles / sizeof *tiles; b++) {
            int k = ks[a], t = tiles[b];
            float *bs = malloc(sizeof(float) * (size_t)k);
            uint32_t *bi = malloc(sizeof(uint32_t) * (size_t)k);
            for (int t0 = 0; t0 < N; t0 += t) {
                int tn = N - t0 < t ? N - t0 : t;
                CHECK(topk_select_host(sc + t0, 1, tn, tn, (uint32_t)t0, k, t0 == 0, bs, bi, NULL) == 0);
            }
            int bad = 0;
            for (int j = 0; j < k; j++) bad += bs[j] != all[j].s || bi[j] != all[j].i;
            CHECK_EQ_INT(bad, 0);
            free(bs), free(bi);
        }
    float bs[2];
    uint32_t bi[2];
    CHECK(topk_select_host(sc, 1, 5, 4, 0, 2, 1, bs, bi, NULL) == -1); /* ld < n */
    CHECK(topk_select_host(sc, 1, 5, 5, 0, 0, 1, bs, bi, NULL) == -1); /* k < 1 */
}

static void test_search(void) {
    gpu_backend be;
    gpu_backend_host(&be);
    compare_search(&be, topk_select_host, 1500, 40000, 16, 10, 0); /* 2 query blocks, 2 tiles */
    compare_search(&be, topk_select_host, 50, 7, 8, 10, 0);       /* k > m: all, ranked */
    compare_search(&be, topk_select_host, 300, 3000, 32, 25, 1);  /* ties */
    stl_error err;
    float q[4] = {1, 2, NAN, 4}, p[4] = {1, 1, 1, 1};
    uint32_t ix[4];
    float s[4];
    CHECK(topk_search_gpu(&be, topk_select_host, q, 2, p, 2, 2, 1, ix, s, &err) != 0);
    CHECK(strstr(err.msg, "query row 1") != NULL);
}

int main(void) {
    RUN(test_select_body);
    RUN(test_search);
    return check_summary();
}

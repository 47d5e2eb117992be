/* topk_gpu.c — top-k through a gpu_backend (topk_gpu.h): per block of
 * queries, a GEMM per tile of the base and the selection kernel merging the
 * tile into the block's lists, then the lists back to the host and
 * topk.h's rescoring. */
#include "retrieval/topk_gpu.h"

#include <string.h>

#include "retrieval/topk.h"

typedef struct {
    const gpu_backend *be;
    float *base, *q, *scores, *bs;
    uint32_t *bi;
} topk_gpu_mem;

static void release(topk_gpu_mem *g) {
    void *p[] = {g->base, g->q, g->scores, g->bs, g->bi};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        if (p[i]) g->be->release(g->be->lib, p[i]);
}

int topk_search_gpu(const gpu_backend *be, topk_select_fn select, const float *queries, size_t n,
                    const float *base, size_t m, size_t d, size_t k, uint32_t *index,
                    float *score, stl_error *err) {
    size_t w = topk_width(k, m);
    if (n == 0 || w == 0) return 0;
    if (m >= (size_t)UINT32_MAX) return stl_fail(err, "top-k: %zu products: too many", m);
    if (topk_check_finite(queries, n, d, "top-k: query", err) ||
        topk_check_finite(base, m, d, "top-k: base", err))
        return -1;
    size_t qb = n < TOPK_GPU_QUERY_BLOCK ? n : TOPK_GPU_QUERY_BLOCK;
    size_t bt = m < TOPK_GPU_BASE_TILE ? m : TOPK_GPU_BASE_TILE;
    topk_gpu_mem g = {be, NULL, NULL, NULL, NULL, NULL};
    int rc = -1;
    if (!(g.base = be->alloc(be->lib, sizeof(float) * m * d, err)) ||
        !(g.q = be->alloc(be->lib, sizeof(float) * qb * d, err)) ||
        !(g.scores = be->alloc(be->lib, sizeof(float) * qb * bt, err)) ||
        !(g.bs = be->alloc(be->lib, sizeof(float) * qb * w, err)) ||
        !(g.bi = be->alloc(be->lib, sizeof(uint32_t) * qb * w, err)) ||
        be->upload(be->lib, g.base, base, sizeof(float) * m * d, err) != 0)
        goto done;
    for (size_t q0 = 0; q0 < n; q0 += qb) {
        size_t qn = n - q0 < qb ? n - q0 : qb;
        if (be->upload(be->lib, g.q, queries + q0 * d, sizeof(float) * qn * d, err) != 0) goto done;
        for (size_t t0 = 0; t0 < m; t0 += bt) {
            size_t tn = m - t0 < bt ? m - t0 : bt;
            /* scores (qn, tn) = queries (qn, d) x tile (tn, d)^T */
            if (be->gemm(be->lib, 0, 1, (long)qn, (long)tn, (long)d, g.q, g.base + t0 * d, 0.0f,
                         g.scores, err) != 0)
                goto done;
            int e = select(g.scores, (long)qn, (long)tn, (long)tn, (uint32_t)t0, (int)w, t0 == 0,
                           g.bs, g.bi, be->stream);
            if (e != 0) {
                stl_fail(err, "top-k (%s): selection kernel: %s (%d)", be->name,
                         be->kernel_error(e), e);
                goto done;
            }
        }
        if (be->download(be->lib, score + q0 * w, g.bs, sizeof(float) * qn * w, err) != 0 ||
            be->download(be->lib, index + q0 * w, g.bi, sizeof(uint32_t) * qn * w, err) != 0)
            goto done;
    }
    topk_rescore(queries, base, n, d, w, index, score);
    rc = 0;
done:
    release(&g);
    return rc;
}

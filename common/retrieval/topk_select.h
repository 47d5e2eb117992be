/* topk_select.h — the selection step of a top-k search on a GPU: for one
 * query row, the k best of a tile of scores merged into the row's list of
 * the k best so far, in topk.h's total order (higher score first, equal
 * scores by lower index). A `__host__ __device__` body (gpu_math.h's GM_FN):
 * one GPU thread runs it per row (topk_select.cu), and the host runs the
 * same loop (topk_select_host), so the tests check it on any CPU. Scores
 * must be finite: an empty slot is (-inf, UINT32_MAX), worse than any.
 */
#ifndef STL_TOPK_SELECT_H
#define STL_TOPK_SELECT_H

#include <stdint.h>

#include "model/gpu_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* (s1, i1) ranks before (s2, i2). */
GM_FN int gm_topk_better(float s1, uint32_t i1, float s2, uint32_t i2) {
    return s1 > s2 || (s1 == s2 && i1 < i2);
}

/* Row list (bs, bi)[0, k), best first, merged with the n scores of a tile
 * whose first entry is base index base0; first: the list starts empty. */
GM_FN void gm_topk_select_row(const float *scores, long n, uint32_t base0, int k, int first,
                              float *bs, uint32_t *bi) {
    if (first)
        for (int j = 0; j < k; j++) {
            bs[j] = -INFINITY;
            bi[j] = 0xFFFFFFFFu;
        }
    for (long j = 0; j < n; j++) {
        float s = scores[j];
        uint32_t id = base0 + (uint32_t)j;
        if (!gm_topk_better(s, id, bs[k - 1], bi[k - 1])) continue;
        int p = k - 1;
        while (p > 0 && gm_topk_better(s, id, bs[p - 1], bi[p - 1])) {
            bs[p] = bs[p - 1];
            bi[p] = bi[p - 1];
            p--;
        }
        bs[p] = s;
        bi[p] = id;
    }
}

/* The selection of a tile for `rows` rows: scores (rows, n) with row stride
 * ld, lists (rows, k). The host's form, and (topk_select.cu, CUDA build) the
 * device's, one thread per row on `stream` (a cudaStream_t); both return 0,
 * or -1 for sizes out of range, and the device's a CUDA error (> 0). */
typedef int (*topk_select_fn)(const float *scores, long rows, long n, long ld, uint32_t base0,
                              int k, int first, float *bs, uint32_t *bi, void *stream);
int topk_select_host(const float *scores, long rows, long n, long ld, uint32_t base0, int k,
                     int first, float *bs, uint32_t *bi, void *stream);
int gpu_topk_select(const float *scores, long rows, long n, long ld, uint32_t base0, int k,
                    int first, float *bs, uint32_t *bi, void *stream);

#ifdef __cplusplus
}
#endif

#endif

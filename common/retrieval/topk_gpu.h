/* topk_gpu.h — topk_search (topk.h) on a GPU: the same rows, found by
 * tiled GEMMs (the gpu_backend's: cuBLAS on the device) and a selection
 * kernel that keeps each query's k best in device memory across the base's
 * tiles (topk_select.h), then, on the host, topk.h's rescoring (the k
 * scores recomputed one dot product at a time, each row re-sorted). So a
 * row equals topk_search's, byte for byte, unless its k-th and k+1-th
 * products are within float rounding of each other (the GEMMs sum in
 * another order). The search runs through any gpu_backend with a matching
 * selection: the device's (stl-topk --device cuda) or, in the tests, the
 * host's.
 *
 * Memory on the backend: the base (m, d), a block of TOPK_GPU_QUERY_BLOCK
 * queries, its score tile against TOPK_GPU_BASE_TILE products, and its
 * lists: about 4 (m d + 1024 (32768 + 2 k + d)) bytes.
 */
#ifndef STL_TOPK_GPU_H
#define STL_TOPK_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/gpu_backend.h"
#include "retrieval/topk_select.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TOPK_GPU_QUERY_BLOCK = 1024, TOPK_GPU_BASE_TILE = 32768 };

/* topk_search's contract (topk.h) through be, with select the selection of
 * be's kind (topk_select_host for the host backend, gpu_topk_select for
 * the device's). */
int topk_search_gpu(const gpu_backend *be, topk_select_fn select, const float *queries, size_t n,
                    const float *base, size_t m, size_t d, size_t k, uint32_t *index,
                    float *score, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

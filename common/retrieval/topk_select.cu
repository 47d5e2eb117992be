/* topk_select.cu — the device's form of the top-k selection
 * (topk_select.h): one thread per query row, a grid-stride loop
 * (model/gpu_launch.h) over the rows. */
#include "retrieval/topk_select.h"

#include <cuda_runtime_api.h>

#include "model/gpu_launch.h"

namespace {

__global__ void k_topk_select(const float *scores, long long rows, long n, long ld,
                              uint32_t base0, int k, int first, float *bs, uint32_t *bi,
                              gm_launch l) {
    for (long long r = gm_1d_first(&l, blockIdx.x, threadIdx.x); r < rows; r += gm_1d_stride(&l))
        gm_topk_select_row(scores + r * ld, n, base0, k, first, bs + r * k, bi + r * k);
}

}  // namespace

extern "C" int gpu_topk_select(const float *scores, long rows, long n, long ld, uint32_t base0,
                               int k, int first, float *bs, uint32_t *bi, void *stream) {
    if (rows < 0 || n < 0 || ld < n || k < 1) return -1;
    if (rows == 0) return 0;
    gm_launch l;
    if (gm_launch_1d(rows, 128, 0, &l) != 0) return -1;
    k_topk_select<<<dim3(l.grid.x), dim3(l.block.x), 0, (cudaStream_t)stream>>>(
        scores, rows, n, ld, base0, k, first, bs, bi, l);
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? 0 : (int)e;
}

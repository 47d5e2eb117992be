/* gpu_launch.cuh — what every file of the model's own kernels shares (nvcc
 * only): the block size, a 1d grid-stride plan over n items, the launch's
 * own error as the launchers return it (0 or a cudaError_t > 0), and the
 * GRID_STRIDE / LAUNCH macros a kernel and its launcher are written with
 * (gpu_ops.cu, gpu_step_ops.cu). */
#ifndef STL_GPU_LAUNCH_CUH
#define STL_GPU_LAUNCH_CUH

#include <cuda_runtime_api.h>

#include "model/gpu_launch.h"

namespace gpu_launch_cu {

const int THREADS = 256;

/* A 1d launch over n items, or -1 when n is out of range. */
inline int plan(long long n, gm_launch *l) { return n < 0 ? -1 : gm_launch_1d(n, THREADS, 0, l); }

/* The launch's own error (a bad configuration). */
inline int launched() {
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? 0 : (int)e;
}

}  // namespace gpu_launch_cu

#define GRID_STRIDE(n) \
    for (long long i = gm_1d_first(&l, blockIdx.x, threadIdx.x); i < (n); i += gm_1d_stride(&l))

#define LAUNCH(kernel, n, ...)                                                                 \
    do {                                                                                       \
        gm_launch l;                                                                           \
        if (gpu_launch_cu::plan((n), &l) != 0) return -1;                                      \
        if ((n) == 0) return 0;                                                                \
        kernel<<<dim3(l.grid.x), dim3(l.block.x), 0, (cudaStream_t)stream>>>(__VA_ARGS__, l); \
        return gpu_launch_cu::launched();                                                      \
    } while (0)

#endif

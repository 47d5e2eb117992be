/* device_cuda.c — the GPU probe of the CUDA build (device_cuda.h), through
 * the CUDA runtime API. Compiled only with CUDA=1 (the Makefile leaves
 * common/ files named *_cuda.c out of the CPU build).
 */
#include "base/device_cuda.h"

#include <cuda_runtime_api.h>

int device_cuda_probe(int *count, stl_error *err) {
    /* cudaGetDeviceCount leaves its output alone when it fails. */
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    *count = 0;
    if (e != cudaSuccess)
        return stl_fail(err, "cudaGetDeviceCount: error %d, %s: %s", (int)e, cudaGetErrorName(e),
                        cudaGetErrorString(e));
    if (n < 1) return stl_fail(err, "cudaGetDeviceCount: no GPU");
    *count = n;
    return 0;
}

int device_cuda_select(int index, int *chosen, stl_error *err) {
    int n = 0;
    if (device_cuda_probe(&n, err) != 0) return -1;
    int d = (index < 0 ? 0 : index) % n;
    cudaError_t e = cudaSetDevice(d);
    if (e != cudaSuccess)
        return stl_fail(err, "cudaSetDevice(%d): error %d, %s: %s", d, (int)e, cudaGetErrorName(e),
                        cudaGetErrorString(e));
    *chosen = d;
    return 0;
}

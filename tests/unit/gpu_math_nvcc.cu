/* gpu_math_nvcc.cu — gpu_math.h compiled by nvcc: its table
 * (gpu_math_eval.h) on the host side, and a kernel that computes it on a
 * GPU. Compiling this file is itself a check that gpu_math.h and
 * gpu_launch.h are valid device code; test_gpu_math compares the results.
 */
#include "gpu_math_nvcc.h"

#include <stdio.h>

#include <cuda_runtime_api.h>

#include "model/gpu_launch.h"

extern "C" void gm_nvcc_eval_host(const float *z, int n, float *out) {
    for (int i = 0; i < n; i++) gm_eval_row(z, n, i, out);
}

__global__ void eval_kernel(const float *z, int n, float *out, gm_launch l) {
    for (long long i = gm_1d_first(&l, blockIdx.x, threadIdx.x); i < n; i += gm_1d_stride(&l))
        gm_eval_row(z, n, (int)i, out);
}

static int cuda_fail(cudaError_t e, const char *what, char *why, size_t whylen) {
    snprintf(why, whylen, "%s: error %d, %s: %s", what, (int)e, cudaGetErrorName(e),
             cudaGetErrorString(e));
    return -1;
}

extern "C" int gm_nvcc_gpu_present(char *why, size_t whylen) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return cuda_fail(e, "cudaGetDeviceCount", why, whylen), 0;
    if (count < 1) return snprintf(why, whylen, "cudaGetDeviceCount: no GPU"), 0;
    return 1;
}

extern "C" int gm_nvcc_eval_device(const float *z, int n, float *out, char *why, size_t whylen) {
    float *dz = NULL, *dout = NULL;
    size_t outb = sizeof(float) * GM_NVCC_OUTS * (size_t)n;
    gm_launch l;
    if (gm_launch_1d(n, 256, 0, &l) != 0) return snprintf(why, whylen, "bad launch"), -1;
    cudaError_t e = cudaMalloc(&dz, sizeof(float) * (size_t)n);
    if (e == cudaSuccess) e = cudaMalloc(&dout, outb);
    if (e == cudaSuccess) e = cudaMemcpy(dz, z, sizeof(float) * (size_t)n, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) {
        eval_kernel<<<dim3(l.grid.x), dim3(l.block.x)>>>(dz, n, dout, l);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpy(out, dout, outb, cudaMemcpyDeviceToHost);
    cudaFree(dz);
    cudaFree(dout);
    return e == cudaSuccess ? 0 : cuda_fail(e, "gpu_math kernel", why, whylen);
}

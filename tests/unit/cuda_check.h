/* cuda_check.h — what the CUDA tests of the own kernels and of the vendor
 * libraries share (test_gpu_ops_cuda.c, test_gpu_step_ops_cuda.c,
 * test_gpu_lib_cuda.c): a deterministic random source (a 64-bit LCG, so a
 * failure repeats), random float and double buffers, copies to and from
 * new device buffers, the bitwise comparison that names how many
 * elements differ, and whether there is a GPU to run on. Header-only, static inline: each test has its own
 * copy and uses what it needs. CUDA build only.
 */
#ifndef STL_TEST_CUDA_CHECK_H
#define STL_TEST_CUDA_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

static uint64_t cuda_check_lcg = 0x2545F4914F6CDD1Dull;

/* Uniform in [0, 1), 53 bits. */
static inline double urand(void) {
    cuda_check_lcg = cuda_check_lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(cuda_check_lcg >> 11) / 9007199254740992.0;
}
/* n floats (doubles) uniform in [lo, hi); NULL when out of memory. */
static inline float *frand(long n, double lo, double hi) {
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (long i = 0; x && i < n; i++) x[i] = (float)(lo + (hi - lo) * urand());
    return x;
}
static inline double *drand(long n, double lo, double hi) {
    double *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (long i = 0; x && i < n; i++) x[i] = lo + (hi - lo) * urand();
    return x;
}

/* A new device buffer holding the host bytes h (uninitialised when h is
 * NULL); NULL on a CUDA error. */
static inline void *up(const void *h, size_t bytes) {
    void *d = NULL;
    if (cudaMalloc(&d, bytes ? bytes : 1) != cudaSuccess) return NULL;
    if (h && cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
        cudaFree(d);
        return NULL;
    }
    return d;
}
/* The device bytes d into h once the device is idle; 1 ok, 0 a CUDA error. */
static inline int down(void *h, const void *d, size_t bytes) {
    return cudaDeviceSynchronize() == cudaSuccess &&
           cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost) == cudaSuccess;
}
/* Bitwise equal, n elements of elem bytes; the count that differ printed
 * when not. */
static inline int same(const char *what, const void *a, const void *b, long n, size_t elem) {
    long bad = 0;
    for (long i = 0; i < n; i++)
        bad += memcmp((const char *)a + i * elem, (const char *)b + i * elem, elem) != 0;
    if (bad) fprintf(stderr, "%s: %ld of %ld elements differ from the host's bits\n", what, bad, n);
    return bad == 0;
}

/* 1 where there is a usable GPU; else 0, having said what is skipped
 * ("skipped: no GPU (...): <skipped>"), the line scripts/gpu-check looks for. */
static inline int gpu_present(const char *skipped) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaSuccess && count > 0) return 1;
    printf("skipped: no GPU (cudaGetDeviceCount: %s): %s\n",
           e != cudaSuccess ? cudaGetErrorName(e) : "no device", skipped);
    return 0;
}

#endif

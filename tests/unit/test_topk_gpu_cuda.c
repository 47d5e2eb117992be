/* test_topk_gpu_cuda.c — the GPU top-k on the device (CUDA build): the
 * selection kernel bit for bit against its body on the host, and
 * stl-topk's search (cuBLAS GEMMs, the kernel, topk.h's rescoring) against
 * topk_search, the CPU's brute force, as topk_compare.h states. Without a
 * GPU only the launcher's argument checks run, and the test says "skipped:
 * no GPU" (scripts/gpu-check refuses that).
 */
#include <cuda_runtime_api.h>

#include "base/device_cuda.h"
#include "check.h"
#include "model/gpu_backend_cuda.h"
#include "retrieval/topk_select.h"
#include "topk_compare.h"

static void test_launcher_arguments(void) {
    float s[4] = {0};
    uint32_t i[4] = {0};
    CHECK(gpu_topk_select(s, -1, 4, 4, 0, 2, 1, s, i, NULL) == -1);
    CHECK(gpu_topk_select(s, 1, 4, 3, 0, 2, 1, s, i, NULL) == -1);
    CHECK(gpu_topk_select(s, 1, 4, 4, 0, 0, 1, s, i, NULL) == -1);
    CHECK(gpu_topk_select(s, 0, 4, 4, 0, 2, 1, s, i, NULL) == 0); /* nothing launched */
}

static void test_select_kernel(void) {
    enum { ROWS = 300, N = 5000, K = 20 };
    float *sc = random_rows(ROWS, N, 4), *hs = malloc(sizeof(float) * ROWS * K),
          *ds = malloc(sizeof(float) * ROWS * K);
    uint32_t *hi = malloc(sizeof(uint32_t) * ROWS * K), *di = malloc(sizeof(uint32_t) * ROWS * K);
    for (size_t j = 0; j < (size_t)ROWS * N; j += 7) sc[j] = 0.25f; /* ties */
    float *dsc, *dbs;
    uint32_t *dbi;
    CHECK(cudaMalloc((void **)&dsc, sizeof(float) * ROWS * N) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dbs, sizeof(float) * ROWS * K) == cudaSuccess);
    CHECK(cudaMalloc((void **)&dbi, sizeof(uint32_t) * ROWS * K) == cudaSuccess);
    CHECK(cudaMemcpy(dsc, sc, sizeof(float) * ROWS * N, cudaMemcpyHostToDevice) == cudaSuccess);
    for (int t0 = 0; t0 < N; t0 += 1500) { /* four tiles, the last short */
        int tn = N - t0 < 1500 ? N - t0 : 1500;
        CHECK(topk_select_host(sc + t0, ROWS, tn, N, (uint32_t)t0, K, t0 == 0, hs, hi, NULL) == 0);
        CHECK(gpu_topk_select(dsc + t0, ROWS, tn, N, (uint32_t)t0, K, t0 == 0, dbs, dbi, NULL) == 0);
    }
    CHECK(cudaDeviceSynchronize() == cudaSuccess);
    CHECK(cudaMemcpy(ds, dbs, sizeof(float) * ROWS * K, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(cudaMemcpy(di, dbi, sizeof(uint32_t) * ROWS * K, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(memcmp(hs, ds, sizeof(float) * ROWS * K) == 0);
    CHECK(memcmp(hi, di, sizeof(uint32_t) * ROWS * K) == 0);
    cudaFree(dsc), cudaFree(dbs), cudaFree(dbi);
    free(sc), free(hs), free(ds), free(hi), free(di);
}

static void test_search(void) {
    stl_error err;
    gpu_backend be;
    CHECK(gpu_backend_cuda_create(&be, 0, &err) == 0);
    compare_search(&be, gpu_topk_select, 2500, 100000, 64, 10, 0);
    compare_search(&be, gpu_topk_select, 50, 7, 8, 10, 0);
    compare_search(&be, gpu_topk_select, 300, 3000, 32, 25, 1);
    gpu_backend_cuda_free(&be);
}

int main(void) {
    RUN(test_launcher_arguments);
    int count;
    stl_error why;
    if (device_cuda_probe(&count, &why) != 0) {
        printf("skipped: no GPU (%s)\n", why.msg);
        return check_summary();
    }
    RUN(test_select_kernel);
    RUN(test_search);
    return check_summary();
}

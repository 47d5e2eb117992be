/* bench_topk.c — times the exact MIPS kernel (common/retrieval/topk.c) on raw data.
 *
 * Used by bench/bench_topk.sh, which runs it side by side with FAISS
 * IndexFlatIP on the same files. Reads queries and base as raw little-endian
 * float32 (n, d) / (m, d), runs topk_search `reps` times (the first run is a
 * warm-up and not timed), prints the best and mean time of the timed runs as
 * one line "topk n=.. m=.. d=.. k=.. threads=.. best_s=.. mean_s=.. gflops=..",
 * and writes the indices of the last run as raw uint32 (n, k) to OUT.
 * With DEVICE "cuda" (the CUDA build, on a GPU: bench/bench_topk_gpu.py)
 * it times stl-topk's GPU search instead (topk_search_gpu: cuBLAS GEMMs
 * over tiles, the selection kernel, the host's rescoring), the inputs'
 * upload included, as stl-topk runs it; the line then says "topk-cuda".
 *
 * usage: bench_topk QUERIES.f32 BASE.f32 D K THREADS REPS OUT.u32 [cpu|cuda]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/progress.h"
#include "base/timer.h"
#include "retrieval/topk.h"
#if STL_CUDA
#include "model/gpu_backend_cuda.h"
#include "retrieval/topk_gpu.h"
#endif

/* One search on the device asked for; 0 or -1 (err). */
static int search(int cuda, const float *q, size_t n, const float *p, size_t m, size_t d, size_t k,
                  const topk_options *opt, uint32_t *idx, float *sc, stl_error *err) {
    if (!cuda) return topk_search(q, n, p, m, d, k, opt, idx, sc, err);
#if STL_CUDA
    static gpu_backend be;
    static int made;
    if (!made && gpu_backend_cuda_create(&be, 0, err) != 0) return -1;
    made = 1;
    return topk_search_gpu(&be, gpu_topk_select, q, n, p, m, d, k, idx, sc, err);
#else
    return stl_fail(err, "no cuda in this build (make CUDA=1)");
#endif
}

static float *read_f32(const char *path, size_t d, size_t *rows) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    *rows = (size_t)bytes / (d * sizeof(float));
    float *x = malloc((size_t)bytes);
    if (!x || fread(x, 1, (size_t)bytes, f) != (size_t)bytes) {
        fprintf(stderr, "%s: read failed\n", path);
        free(x);
        x = NULL;
    }
    fclose(f);
    return x;
}

int main(int argc, char **argv) {
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: bench_topk QUERIES.f32 BASE.f32 D K THREADS REPS OUT.u32 [cpu|cuda]\n");
        return 2;
    }
    int cuda = argc == 9 && strcmp(argv[8], "cuda") == 0;
    size_t d = strtoul(argv[3], NULL, 10), k = strtoul(argv[4], NULL, 10), n, m;
    int threads = atoi(argv[5]), reps = atoi(argv[6]);
    float *q = read_f32(argv[1], d, &n), *p = read_f32(argv[2], d, &m);
    if (!q || !p) return 1;
    size_t w = topk_width(k, m);
    uint32_t *idx = malloc(n * w * sizeof *idx);
    float *sc = malloc(n * w * sizeof *sc);
    topk_options opt = {.threads = threads};
    stl_error err;
    double best = 1e30, sum = 0;
    for (int r = 0; r <= reps; r++) {
        double t0 = timer_now();
        if (search(cuda, q, n, p, m, d, k, &opt, idx, sc, &err) != 0) {
            fprintf(stderr, "bench_topk: %s\n", err.msg);
            return 1;
        }
        double t = timer_now() - t0;
        if (r == 0) continue; // warm-up: page faults, OpenBLAS buffers, cuBLAS's handle
        sum += t;
        if (t < best) best = t;
    }
    printf("%s n=%zu m=%zu d=%zu k=%zu threads=%d best_s=%.4f mean_s=%.4f gflops=%.1f\n",
           cuda ? "topk-cuda" : "topk", n, m, d, k, threads, best, sum / reps,
           2.0 * n * m * d / best / 1e9);
    FILE *f = fopen(argv[7], "wb");
    if (!f || fwrite(idx, sizeof *idx, n * w, f) != n * w || fclose(f) != 0) {
        perror(argv[7]);
        return 1;
    }
    free(q); free(p); free(idx); free(sc);
    return 0;
}

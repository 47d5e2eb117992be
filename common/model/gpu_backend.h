/* gpu_backend.h — the operations the GPU training step is built from, as a
 * table, so the step's orchestration (tower_gpu.c, model_gpu.c) runs on
 * either of two implementations:
 *
 * - the device (gpu_backend_cuda.c, CUDA build only): the model's own
 *   kernels (gpu_ops.h, gpu_step_ops.h, gpu_update_ops.h) on a stream, cuDNN's convolutions
 *   and cuBLAS's GEMM (gpu_lib.h), device memory;
 * - the host (gpu_backend_host.c, every build): the same per-thread bodies
 *   (gpu_kernels.h, gpu_step_kernels.h) run in loops over every element,
 *   OpenBLAS for the GEMM and direct loops for the 3x3 convolutions, host
 *   memory.
 *
 * The host backend is how the step's orchestration (which buffer feeds which
 * op, the order of the BatchNorm bookkeeping, the gradient accumulation over
 * the three tower calls, the weight repacks) is tested on every CPU against
 * the CPU path (tests/unit/test_model_gpu_host.c), and the reference a GPU
 * run is compared with op by op (scripts/gpu-check).
 *
 * The own kernels' entries have gpu_ops.h's signatures exactly (the device
 * table points at the launchers themselves): they return 0, -1 for
 * arguments out of range, or a positive error code that `kernel_error`
 * names; `stream` is the table's. Memory and library entries take the
 * table's `lib` and report through stl_error. All pointers are the
 * backend's memory, except where an entry says host.
 */
#ifndef STL_GPU_BACKEND_H
#define STL_GPU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gpu_backend gpu_backend;
struct gpu_backend {
    const char *name; /* "cuda" or "host" */
    void *stream;     /* the own kernels' stream */
    void *lib;        /* the memory and library entries' context */

    /* ---- memory (bytes); download waits for the work queued before it ---- */
    void *(*alloc)(void *lib, size_t bytes, stl_error *err);
    void (*release)(void *lib, void *p);
    int (*upload)(void *lib, void *dst, const void *host_src, size_t bytes, stl_error *err);
    int (*download)(void *lib, void *host_dst, const void *src, size_t bytes, stl_error *err);
    int (*zero)(void *lib, void *dst, size_t bytes, stl_error *err);
    int (*copy)(void *lib, void *dst, const void *src, size_t bytes, stl_error *err);
    /* bytes the backend could still allocate (the device's cudaMemGetInfo) */
    int (*mem_free)(void *lib, size_t *bytes, stl_error *err);
    /* host memory the device copies from at full speed (pinned), and an
     * upload on the backend's own copy stream, waited for: callable from
     * another thread than the one that queues the step (the loader's), so
     * the copy overlaps the step in progress */
    void *(*host_alloc)(void *lib, size_t bytes, stl_error *err);
    void (*host_free)(void *lib, void *p);
    int (*upload_copy)(void *lib, void *dst, const void *host_src, size_t bytes, stl_error *err);

    /* ---- the model's own kernels (gpu_ops.h, gpu_step_ops.h) ---- */
    const char *(*kernel_error)(int code);
    int (*pool_avg_bn_add_fwd)(const float *x, const float *a, const float *mul, const float *sub,
                               const float *add, int B, int H, int W, int C, float *y,
                               void *stream);
    int (*pool_avg_bwd)(const float *dy, int B, int H, int W, int C, float *dx, void *stream);
    int (*pool_mean_fwd)(const float *x, int B, int hw, int C, float *y, void *stream);
    int (*pool_mean_bwd)(const float *dy, int B, int hw, int C, float *dx, void *stream);
    int (*bn_swish_fwd)(const float *a, long rows, int C, const float *mean, const float *invstd,
                        const float *scale, float *h, void *stream);
    int (*bn_swish_bwd)(const float *dh, const float *a, long rows, int C, const float *mean,
                        const float *invstd, const float *scale, float *dz, void *stream);
    int (*bn_partials)(const float *a, long rows, int C, long R, double *psum, double *psumsq,
                       void *stream);
    int (*bn_stats)(const double *psum, const double *psumsq, long nblk, int C, double count,
                    float eps, float *mean, float *var, float *invstd, void *stream);
    int (*bn_bwd_partials)(const float *dz, const float *a, long rows, int C, const float *mean,
                           const float *invstd, long R, double *p1, double *p2, void *stream);
    int (*bn_bwd)(const float *dz, const float *a, long rows, int C, const float *mean,
                  const float *invstd, const float *scale, const float *s1, const float *s2,
                  double count, float *da, void *stream);
    int (*triplet)(const float *s, const float *p, const float *n, int B, int D, float reg,
                   int denom, float *ds, float *dp, float *dn, double *terms, void *stream);
    int (*triplet_loss)(const double *terms, int B, float reg, int denom, double *loss,
                        void *stream);
    int (*conv0_pixels)(const uint8_t *x, int B, int H, int W, int cin, const float *w, int cout,
                        float *y, void *stream);
    int (*bn_running)(const float *mean, const float *var, const float *bias, int C,
                      float momentum, float *rmean, float *rvar, void *stream);
    int (*bn_eval)(const float *rmean, const float *rvar, const float *bias, int C, float eps,
                   float *mean, float *var, float *invstd, void *stream);
    int (*bn_sums_float)(const double *psum, const double *psumsq, long nblk, int C, float *buf,
                         void *stream);
    int (*bn_stats_float)(const float *buf, int C, double count, float eps, float *mean,
                          float *var, float *invstd, void *stream);
    int (*bn_bwd_sums)(const double *p1, const double *p2, long nblk, int C, float *s1, float *s2,
                       float *dscale, float *dbias, void *stream);
    int (*colsum_partials)(const float *a, long rows, int C, long R, double *p, void *stream);
    int (*colsum_add)(const double *p, long nblk, int C, float *dst, void *stream);
    int (*bias_rows)(const float *bias, long rows, int C, float *y, void *stream);
    int (*vec_mul)(const float *a, const float *b, long n, float *out, void *stream);
    int (*gather_images)(const uint8_t *pool, const uint32_t *idx, int n, long img, uint8_t *dst,
                         void *stream);
    int (*conv0_wgrad_partials)(const uint8_t *x, int B, int H, int W, int cin, const float *dy,
                                int cout, long R, double *p, void *stream);
    int (*krsc_from_hwio)(const float *hwio, int k, int cin, int cout, float *krsc, void *stream);
    int (*hwio_from_krsc)(const float *krsc, int k, int cin, int cout, float *hwio, void *stream);
    /* the end of a step that keeps the model on the device (gpu_update_ops.h) */
    int (*loss_slot)(const double *loss, float *dst, void *stream);
    int (*finite_partials)(const float *x, long n, long R, float *p, void *stream);
    int (*finite_flag)(const float *p, long nblk, int *flag, void *stream);
    int (*adam_gated)(float *p, const float *g, float *mu, float *nu, long n, const float *hyper,
                      const int *skip, float b1, float b2, float eps, void *stream);

    /* ---- the library calls (gpu_lib.h) ---- */
    /* Row-major C (m, n) = op(A) op(B) + beta C; ta / tb: A stored (k, m),
     * B stored (n, k). */
    int (*gemm)(void *lib, int ta, int tb, long m, long n, long k, const float *A,
                const float *B, float beta, float *C, stl_error *err);
    /* A 3x3 stride-2 SAME convolution of (B, H, W, cin) into cout channels,
     * KRSC weights: planned once, then forward, input gradient (of one or
     * two output gradients through their weights) and filter gradient
     * (dw = beta dw + ..., one or two). */
    void *(*conv3_plan)(void *lib, int B, int H, int W, int cin, int cout, stl_error *err);
    void (*conv3_free)(void *plan);
    int (*conv3_fwd)(void *plan, const float *x, const float *w, float *y, stl_error *err);
    int (*conv3_bwd_data)(void *plan, const float *dy_a, const float *w_a, const float *dy_b,
                          const float *w_b, float *dx, stl_error *err);
    int (*conv3_bwd_filter)(void *plan, const float *x, const float *dy_a, float *dw_a,
                            const float *dy_b, float *dw_b, float beta, stl_error *err);

    /* ---- CUDA graphs (NULL where the backend cannot capture: the host's;
     * the step then runs op by op) ---- */
    /* Everything queued between begin and end is recorded, not run; end
     * gives the instantiated graph, which launch replays on the stream. */
    int (*capture_begin)(void *lib, stl_error *err);
    int (*capture_end)(void *lib, void **graph, stl_error *err);
    int (*graph_launch)(void *lib, void *graph, stl_error *err);
    void (*graph_free)(void *lib, void *graph);
};

/* The host backend (no state to free). */
void gpu_backend_host(gpu_backend *be);

#ifdef __cplusplus
}
#endif

#endif

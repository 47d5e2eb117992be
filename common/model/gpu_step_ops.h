/* gpu_step_ops.h — the GPU kernels of the training step's glue, callable
 * from C: one launcher per body of gpu_step_kernels.h (BatchNorm
 * bookkeeping, column sums, the bias broadcast, a vector product, block 0's
 * weight gradient) and of gpu_layout.h (the convolution kernels' repacking
 * HWIO <-> KRSC), CUDA build only (gpu_step_ops.cu).
 *
 * As gpu_ops.h: each launcher runs one `__global__` grid-stride kernel
 * (gpu_launch.h) whose threads call the body, so the arithmetic is the
 * body's, which tests/unit/test_gpu_step_kernels.c checks on the host
 * against the CPU path (batchnorm.h, linear.h, conv.h, tower_cpu.c).
 * gpu_step_ops.cu is compiled with --fmad=false, so a kernel's results equal
 * the host simulation of its body bit for bit: tests/unit/
 * test_gpu_step_ops_cuda.c checks that on a GPU. None waits on the host or
 * allocates: every pointer is device memory the caller owns, and `stream`
 * is a cudaStream_t (NULL: the default stream), so the step can be captured
 * in a CUDA graph.
 *
 * Each returns 0, -1 for arguments out of range (a negative count, a
 * channel count or kernel dimension below 1, a block size R below 1, count
 * not > 0, a launch too large; nothing launched), or the CUDA error of the
 * launch (a cudaError_t, > 0). Zero rows, elements, images: 0, nothing
 * launched. The per-channel ones run one thread per channel c < C.
 * Partial grids without atomics: row blocks of R rows (gm_bn_blocks(rows,
 * R) of them), each cell written by one thread, summed later in block
 * order, so the totals do not depend on the order the blocks run in.
 */
#ifndef STL_GPU_STEP_OPS_H
#define STL_GPU_STEP_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* BatchNorm, per channel. After a training forward: the running averages
 * rmean, rvar (C) move towards the batch's mean (of the bias-less conv;
 * bias folded in) and var. */
int gpu_bn_running(const float *mean, const float *var, const float *bias, int C, float momentum,
                   float *rmean, float *rvar, void *stream);
/* Inference: mean, var, invstd (C) from the running averages. */
int gpu_bn_eval(const float *rmean, const float *rvar, const float *bias, int C, float eps,
                float *mean, float *var, float *invstd, void *stream);
/* The forward sums as the all-reduce carries them: buf (2 C floats) =
 * block-order totals of the partials psum, psumsq (nblk, C) rounded to
 * float (sums, then sums of squares); then the statistics from the
 * (all-reduced) buf over count rows. */
int gpu_bn_sums_float(const double *psum, const double *psumsq, long nblk, int C, float *buf,
                      void *stream);
int gpu_bn_stats_float(const float *buf, int C, double count, float eps, float *mean, float *var,
                       float *invstd, void *stream);
/* The backward pass's sums of the partials p1 (sum dz), p2 (sum dz xhat)
 * (nblk, C): s1, s2 (C floats, for the all-reduce), dscale += s2 and, when
 * dbias is not NULL, dbias += s1. */
int gpu_bn_bwd_sums(const double *p1, const double *p2, long nblk, int C, float *s1, float *s2,
                    float *dscale, float *dbias, void *stream);

/* Column sums of a (rows, C) without atomics: p (ceil(rows / R), C) doubles
 * of row-block partials, then dst (C) += their block-order totals. */
int gpu_colsum_partials(const float *a, long rows, int C, long R, double *p, void *stream);
int gpu_colsum_add(const double *p, long nblk, int C, float *dst, void *stream);

/* y (rows, C) = bias in every row; out (n) = a * b elementwise. */
int gpu_bias_rows(const float *bias, long rows, int C, float *y, void *stream);
int gpu_vec_mul(const float *a, const float *b, long n, float *out, void *stream);

/* dst (n images of img bytes) = pool images idx[0..n) (idx device memory). */
int gpu_gather_images(const uint8_t *pool, const uint32_t *idx, int n, long img, uint8_t *dst,
                      void *stream);

/* Block 0's weight gradient from the uint8 images x (B, H, W, cin) and the
 * output gradient dy (B, Ho, Wo, cout), Ho = ceil(H / 2): p (ceil(rows /
 * R), 9 cin cout) doubles, rows = B Ho Wo, row j the partial over row
 * block j of the HWIO gradient (3, 3, cin, cout); summed with
 * gpu_colsum_add (C = 9 cin cout) into the gradient. */
int gpu_conv0_wgrad_partials(const uint8_t *x, int B, int H, int W, int cin, const float *dy,
                             int cout, long R, double *p, void *stream);

/* A k x k, cin -> cout convolution kernel repacked HWIO -> KRSC (before a
 * forward) and KRSC -> HWIO (a gradient after a backward): k k cin cout
 * elements, a permutation. */
int gpu_krsc_from_hwio(const float *hwio, int k, int cin, int cout, float *krsc, void *stream);
int gpu_hwio_from_krsc(const float *krsc, int k, int cin, int cout, float *hwio, void *stream);

#ifdef __cplusplus
}
#endif

#endif

/* gpu_ops.h — the GPU kernels of the model's own ops, callable from C: one
 * launcher per body of gpu_kernels.h (CUDA build only; gpu_ops.cu).
 *
 * Each launcher runs one `__global__` kernel whose threads walk the
 * elements with gpu_launch.h's grid-stride loop and call the body, so the
 * arithmetic is the body's, which tests/unit/test_gpu_kernels.c checks on
 * the host against the CPU ops. gpu_ops.cu is compiled with --fmad=false
 * (nvcc would otherwise contract a * b + c into FMAs the host does not
 * make), so a kernel's results equal the host simulation of its body bit
 * for bit: tests/unit/test_gpu_ops_cuda.c checks that on a GPU. None
 * waits on the host or allocates: every pointer is device memory the caller
 * owns, and `stream` is a cudaStream_t (NULL: the default stream), so the
 * training step can be captured in a CUDA graph.
 *
 * Each returns 0, -1 for arguments out of range (negative sizes, a launch
 * too large; nothing launched), or the CUDA error of the launch (a
 * cudaError_t, > 0). Shapes: NHWC, rows = B * H * W pixels; the pools'
 * outputs are SAME 3x3 stride-2 (Ho = ceil(H / 2)).
 */
#ifndef STL_GPU_OPS_H
#define STL_GPU_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Average pool (x -> y) and its backward (dy -> dx); fused with the
 * block's last BatchNorm and residual add: y = pool(x + (a - sub) * mul + add). */
int gpu_pool_avg_fwd(const float *x, int B, int H, int W, int C, float *y, void *stream);
int gpu_pool_avg_bn_add_fwd(const float *x, const float *a, const float *mul, const float *sub,
                            const float *add, int B, int H, int W, int C, float *y, void *stream);
int gpu_pool_avg_bwd(const float *dy, int B, int H, int W, int C, float *dx, void *stream);
/* Global mean over hw pixels: (B, hw, C) -> (B, C), and back. */
int gpu_pool_mean_fwd(const float *x, int B, int hw, int C, float *y, void *stream);
int gpu_pool_mean_bwd(const float *dy, int B, int hw, int C, float *dx, void *stream);

/* Elementwise over n values / rows x C. */
int gpu_swish_fwd(const float *z, long n, float *h, void *stream);
int gpu_swish_bwd(const float *dh, const float *z, long n, float *dz, void *stream);
int gpu_bn_fwd(const float *a, long rows, int C, const float *mean, const float *invstd,
               const float *scale, float *z, void *stream);
int gpu_bn_swish_fwd(const float *a, long rows, int C, const float *mean, const float *invstd,
                     const float *scale, float *h, void *stream);
int gpu_bn_swish_bwd(const float *dh, const float *a, long rows, int C, const float *mean,
                     const float *invstd, const float *scale, float *dz, void *stream);

/* BatchNorm statistics without atomics: partial sums of row blocks of R
 * rows (psum, psumsq: (ceil(rows / R), C) doubles), then per channel the
 * fixed-order sum and the finalisation (count rows; eps). */
int gpu_bn_partials(const float *a, long rows, int C, long R, double *psum, double *psumsq,
                    void *stream);
int gpu_bn_stats(const double *psum, const double *psumsq, long nblk, int C, double count,
                 float eps, float *mean, float *var, float *invstd, void *stream);
/* Backward: partial sums of dz and dz * xhat, then da from the summed s1, s2
 * (floats, as after the all-reduce). */
int gpu_bn_bwd_partials(const float *dz, const float *a, long rows, int C, const float *mean,
                        const float *invstd, long R, double *p1, double *p2, void *stream);
int gpu_bn_bwd(const float *dz, const float *a, long rows, int C, const float *mean,
               const float *invstd, const float *scale, const float *s1, const float *s2,
               double count, float *da, void *stream);

/* Adam over n parameters (c1, c2: this step's bias corrections). */
int gpu_adam(float *p, const float *g, float *mu, float *nu, long n, float lr, float b1, float b2,
             float eps, float c1, float c2, void *stream);

/* The triplet loss: one thread per triplet writes its gradient rows (any of
 * ds, dp, dn may be NULL) and its two terms (terms: (B, 2) doubles); then
 * one thread sums them in order into *loss. */
int gpu_triplet(const float *s, const float *p, const float *n, int B, int D, float reg, int denom,
                float *ds, float *dp, float *dn, double *terms, void *stream);
int gpu_triplet_loss(const double *terms, int B, float reg, int denom, double *loss, void *stream);

/* Block 0's 3x3 stride-2 SAME convolution of uint8 images (B, H, W, cin),
 * normalised as read, with the HWIO kernel w -> y (B, Ho, Wo, cout). */
int gpu_conv0_pixels(const uint8_t *x, int B, int H, int W, int cin, const float *w, int cout,
                     float *y, void *stream);

#ifdef __cplusplus
}
#endif

#endif

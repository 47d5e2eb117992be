/* pool.h — the model's pooling: 3x3 stride-2 average pooling with SAME
 * padding that always divides by 9 (padded zeros count, as the Flax model's
 * nn.avg_pool with padding "SAME"), and the global mean over H and W.
 * NHWC; forward and backward side by side. The backward of the windowed pool
 * is a gather over input pixels, so row ranges can run on separate threads.
 */
#ifndef STL_POOL_H
#define STL_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/* x (B, H, W, C) -> y (B, Ho, Wo, C), Ho = ceil(H / 2): output pixels
 * [r0, r1) of B * Ho * Wo, written at y + (r - r0) * C. */
void pool_avg_forward(const float *x, int H, int W, int C, long r0, long r1, float *y);
/* pool_avg_forward of y = x + (a - sub) * mul + add (per channel), y never
 * stored: a block's last BatchNorm, residual add and pooling in one pass.
 * C <= 256. */
void pool_avg_forward_bn_add(const float *x, const float *a, const float *mul, const float *sub,
                             const float *add, int H, int W, int C, long r0, long r1, float *y);
/* dx for input pixels [p0, p1) of B * H * W (dy: all of (B, Ho, Wo, C)),
 * written at dx + (p - p0) * C. */
void pool_avg_backward(const float *dy, int H, int W, int C, long p0, long p1, float *dx);

/* y[b] = mean over the hw pixels of image b; images [b0, b1). */
void pool_mean_forward(const float *x, int hw, int C, long b0, long b1, float *y);
/* dx[b, p] = dy[b] / hw; images [b0, b1). */
void pool_mean_backward(const float *dy, int hw, int C, long b0, long b1, float *dx);

#ifdef __cplusplus
}
#endif

#endif

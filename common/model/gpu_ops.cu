/* gpu_ops.cu — the launchers of gpu_ops.h: one `__global__` kernel per body
 * of gpu_kernels.h, each a grid-stride loop (gpu_launch.h) that calls the
 * body for its elements. Built with --fmad=false (Makefile), so the device
 * computes the body's expressions exactly as the host does.
 */
#include "model/gpu_ops.h"

#include <cuda_runtime_api.h>

#include "model/gpu_kernels.h"
#include "model/gpu_launch.cuh"

namespace {


__global__ void k_pool_avg_fwd(const float *x, int H, int W, int C, long long n, float *y,
                               gm_launch l) {
    GRID_STRIDE(n) y[i] = gm_pool_avg_fwd_at(x, H, W, C, (long)i);
}
__global__ void k_pool_avg_bn_add_fwd(const float *x, const float *a, const float *mul,
                                      const float *sub, const float *add, int H, int W, int C,
                                      long long n, float *y, gm_launch l) {
    GRID_STRIDE(n) y[i] = gm_pool_avg_bn_add_fwd_at(x, a, mul, sub, add, H, W, C, (long)i);
}
__global__ void k_pool_avg_bwd(const float *dy, int H, int W, int C, long long n, float *dx,
                               gm_launch l) {
    GRID_STRIDE(n) dx[i] = gm_pool_avg_bwd_at(dy, H, W, C, (long)i);
}
__global__ void k_pool_mean_fwd(const float *x, int hw, int C, long long n, float *y,
                                gm_launch l) {
    GRID_STRIDE(n) y[i] = gm_pool_mean_fwd_at(x, hw, C, (long)i);
}
__global__ void k_pool_mean_bwd(const float *dy, int hw, int C, long long n, float *dx,
                                gm_launch l) {
    GRID_STRIDE(n) dx[i] = gm_pool_mean_bwd_at(dy, hw, C, (long)i);
}
__global__ void k_swish_fwd(const float *z, long long n, float *h, gm_launch l) {
    GRID_STRIDE(n) h[i] = gm_swish_fwd_at(z, (long)i);
}
__global__ void k_swish_bwd(const float *dh, const float *z, long long n, float *dz,
                            gm_launch l) {
    GRID_STRIDE(n) dz[i] = gm_swish_bwd_at(dh, z, (long)i);
}
__global__ void k_bn_fwd(const float *a, int C, const float *mean, const float *invstd,
                         const float *scale, long long n, float *z, gm_launch l) {
    GRID_STRIDE(n) z[i] = gm_bn_fwd_at(a, C, mean, invstd, scale, (long)i);
}
__global__ void k_bn_swish_fwd(const float *a, int C, const float *mean, const float *invstd,
                               const float *scale, long long n, float *h, gm_launch l) {
    GRID_STRIDE(n) h[i] = gm_bn_swish_fwd_at(a, C, mean, invstd, scale, (long)i);
}
__global__ void k_bn_swish_bwd(const float *dh, const float *a, int C, const float *mean,
                               const float *invstd, const float *scale, long long n, float *dz,
                               gm_launch l) {
    GRID_STRIDE(n) dz[i] = gm_bn_swish_bwd_at(dh, a, C, mean, invstd, scale, (long)i);
}
/* One thread per (row block j, channel c): item i = j * C + c. */
__global__ void k_bn_partials(const float *a, long rows, int C, long R, long long n,
                              double *psum, double *psumsq, gm_launch l) {
    GRID_STRIDE(n) {
        long j = (long)(i / C);
        int c = (int)(i % C);
        gm_bn_partial_at(a, rows, C, R, j, c, &psum[i], &psumsq[i]);
    }
}
__global__ void k_bn_stats(const double *psum, const double *psumsq, long nblk, int C,
                           double count, float eps, long long n, float *mean, float *var,
                           float *invstd, gm_launch l) {
    GRID_STRIDE(n) {
        int c = (int)i;
        gm_bn_stats_at(psum, psumsq, nblk, C, c, count, eps, &mean[c], &var[c], &invstd[c]);
    }
}
__global__ void k_bn_bwd_partials(const float *dz, const float *a, long rows, int C,
                                  const float *mean, const float *invstd, long R, long long n,
                                  double *p1, double *p2, gm_launch l) {
    GRID_STRIDE(n) {
        long j = (long)(i / C);
        int c = (int)(i % C);
        gm_bn_bwd_partial_at(dz, a, rows, C, mean, invstd, R, j, c, &p1[i], &p2[i]);
    }
}
__global__ void k_bn_bwd(const float *dz, const float *a, int C, const float *mean,
                         const float *invstd, const float *scale, const float *s1,
                         const float *s2, double count, long long n, float *da, gm_launch l) {
    GRID_STRIDE(n) da[i] = gm_bn_bwd_at(dz, a, C, mean, invstd, scale, s1, s2, count, (long)i);
}
__global__ void k_adam(float *p, const float *g, float *mu, float *nu, float lr, float b1,
                       float b2, float eps, float c1, float c2, long long n, gm_launch l) {
    GRID_STRIDE(n) gm_adam_at(p, g, mu, nu, (long)i, lr, b1, b2, eps, c1, c2);
}
__global__ void k_triplet(const float *s, const float *p, const float *nn, int D, float reg,
                          int denom, float *ds, float *dp, float *dn, double *terms, long long n,
                          gm_launch l) {
    GRID_STRIDE(n) gm_triplet_at(s, p, nn, D, reg, denom, (int)i, ds, dp, dn, &terms[2 * i]);
}
/* One thread: the terms summed in triplet order. */
__global__ void k_triplet_loss(const double *terms, int B, float reg, int denom, double *loss) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *loss = gm_triplet_loss(terms, B, reg, denom);
}
__global__ void k_conv0_pixels(const uint8_t *x, int H, int W, int cin, const float *w, int cout,
                               long long n, float *y, gm_launch l) {
    GRID_STRIDE(n) y[i] = gm_conv0_pixels_at(x, H, W, cin, w, cout, (long)i);
}

bool bad(long long v) { return v < 0; }

} // namespace

extern "C" {

int gpu_pool_avg_fwd(const float *x, int B, int H, int W, int C, float *y, void *stream) {
    if (bad(B) || H < 1 || W < 1 || C < 1) return -1;
    long long n = (long long)B * gm_same_out(H, 2) * gm_same_out(W, 2) * C;
    LAUNCH(k_pool_avg_fwd, n, x, H, W, C, n, y);
}
int gpu_pool_avg_bn_add_fwd(const float *x, const float *a, const float *mul, const float *sub,
                            const float *add, int B, int H, int W, int C, float *y, void *stream) {
    if (bad(B) || H < 1 || W < 1 || C < 1) return -1;
    long long n = (long long)B * gm_same_out(H, 2) * gm_same_out(W, 2) * C;
    LAUNCH(k_pool_avg_bn_add_fwd, n, x, a, mul, sub, add, H, W, C, n, y);
}
int gpu_pool_avg_bwd(const float *dy, int B, int H, int W, int C, float *dx, void *stream) {
    if (bad(B) || H < 1 || W < 1 || C < 1) return -1;
    long long n = (long long)B * H * W * C;
    LAUNCH(k_pool_avg_bwd, n, dy, H, W, C, n, dx);
}
int gpu_pool_mean_fwd(const float *x, int B, int hw, int C, float *y, void *stream) {
    if (bad(B) || hw < 1 || C < 1) return -1;
    long long n = (long long)B * C;
    LAUNCH(k_pool_mean_fwd, n, x, hw, C, n, y);
}
int gpu_pool_mean_bwd(const float *dy, int B, int hw, int C, float *dx, void *stream) {
    if (bad(B) || hw < 1 || C < 1) return -1;
    long long n = (long long)B * hw * C;
    LAUNCH(k_pool_mean_bwd, n, dy, hw, C, n, dx);
}
int gpu_swish_fwd(const float *z, long n, float *h, void *stream) {
    LAUNCH(k_swish_fwd, (long long)n, z, (long long)n, h);
}
int gpu_swish_bwd(const float *dh, const float *z, long n, float *dz, void *stream) {
    LAUNCH(k_swish_bwd, (long long)n, dh, z, (long long)n, dz);
}
int gpu_bn_fwd(const float *a, long rows, int C, const float *mean, const float *invstd,
               const float *scale, float *z, void *stream) {
    if (bad(rows) || C < 1) return -1;
    long long n = (long long)rows * C;
    LAUNCH(k_bn_fwd, n, a, C, mean, invstd, scale, n, z);
}
int gpu_bn_swish_fwd(const float *a, long rows, int C, const float *mean, const float *invstd,
                     const float *scale, float *h, void *stream) {
    if (bad(rows) || C < 1) return -1;
    long long n = (long long)rows * C;
    LAUNCH(k_bn_swish_fwd, n, a, C, mean, invstd, scale, n, h);
}
int gpu_bn_swish_bwd(const float *dh, const float *a, long rows, int C, const float *mean,
                     const float *invstd, const float *scale, float *dz, void *stream) {
    if (bad(rows) || C < 1) return -1;
    long long n = (long long)rows * C;
    LAUNCH(k_bn_swish_bwd, n, dh, a, C, mean, invstd, scale, n, dz);
}
int gpu_bn_partials(const float *a, long rows, int C, long R, double *psum, double *psumsq,
                    void *stream) {
    if (bad(rows) || C < 1 || R < 1) return -1;
    long long n = (long long)gm_bn_blocks(rows, R) * C;
    LAUNCH(k_bn_partials, n, a, rows, C, R, n, psum, psumsq);
}
int gpu_bn_stats(const double *psum, const double *psumsq, long nblk, int C, double count,
                 float eps, float *mean, float *var, float *invstd, void *stream) {
    if (bad(nblk) || C < 1 || !(count > 0)) return -1;
    LAUNCH(k_bn_stats, (long long)C, psum, psumsq, nblk, C, count, eps, (long long)C, mean, var,
           invstd);
}
int gpu_bn_bwd_partials(const float *dz, const float *a, long rows, int C, const float *mean,
                        const float *invstd, long R, double *p1, double *p2, void *stream) {
    if (bad(rows) || C < 1 || R < 1) return -1;
    long long n = (long long)gm_bn_blocks(rows, R) * C;
    LAUNCH(k_bn_bwd_partials, n, dz, a, rows, C, mean, invstd, R, n, p1, p2);
}
int gpu_bn_bwd(const float *dz, const float *a, long rows, int C, const float *mean,
               const float *invstd, const float *scale, const float *s1, const float *s2,
               double count, float *da, void *stream) {
    if (bad(rows) || C < 1 || !(count > 0)) return -1;
    long long n = (long long)rows * C;
    LAUNCH(k_bn_bwd, n, dz, a, C, mean, invstd, scale, s1, s2, count, n, da);
}
int gpu_adam(float *p, const float *g, float *mu, float *nu, long n, float lr, float b1, float b2,
             float eps, float c1, float c2, void *stream) {
    LAUNCH(k_adam, (long long)n, p, g, mu, nu, lr, b1, b2, eps, c1, c2, (long long)n);
}
int gpu_triplet(const float *s, const float *p, const float *n, int B, int D, float reg, int denom,
                float *ds, float *dp, float *dn, double *terms, void *stream) {
    if (bad(B) || D < 1 || denom < 1) return -1;
    LAUNCH(k_triplet, (long long)B, s, p, n, D, reg, denom, ds, dp, dn, terms, (long long)B);
}
int gpu_triplet_loss(const double *terms, int B, float reg, int denom, double *loss,
                     void *stream) {
    if (bad(B) || denom < 1) return -1;
    k_triplet_loss<<<1, 1, 0, (cudaStream_t)stream>>>(terms, B, reg, denom, loss);
    return gpu_launch_cu::launched();
}
int gpu_conv0_pixels(const uint8_t *x, int B, int H, int W, int cin, const float *w, int cout,
                     float *y, void *stream) {
    if (bad(B) || H < 1 || W < 1 || cin < 1 || cout < 1) return -1;
    long long n = (long long)B * gm_same_out(H, 2) * gm_same_out(W, 2) * cout;
    LAUNCH(k_conv0_pixels, n, x, H, W, cin, w, cout, n, y);
}

} // extern "C"

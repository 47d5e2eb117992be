/* gpu_step_ops.cu — the launchers of gpu_step_ops.h: one `__global__`
 * kernel per body of gpu_step_kernels.h and gpu_layout.h, each a grid-stride
 * loop (gpu_launch.h) that calls the body for its elements, as gpu_ops.cu.
 * Built with --fmad=false (Makefile), so the device computes the body's
 * expressions exactly as the host does.
 */
#include "model/gpu_step_ops.h"

#include <cuda_runtime_api.h>

#include "model/gpu_launch.cuh"
#include "model/gpu_layout.h"
#include "model/gpu_step_kernels.h"

namespace {


/* ---- BatchNorm bookkeeping: one thread per channel ---- */

__global__ void k_bn_running(const float *mean, const float *var, const float *bias,
                             float momentum, long long n, float *rmean, float *rvar,
                             gm_launch l) {
    GRID_STRIDE(n) gm_bn_running_at(mean, var, bias, momentum, (int)i, rmean, rvar);
}
__global__ void k_bn_eval(const float *rmean, const float *rvar, const float *bias, float eps,
                          long long n, float *mean, float *var, float *invstd, gm_launch l) {
    GRID_STRIDE(n) gm_bn_eval_at(rmean, rvar, bias, eps, (int)i, mean, var, invstd);
}
__global__ void k_bn_sums_float(const double *psum, const double *psumsq, long nblk, int C,
                                long long n, float *buf, gm_launch l) {
    GRID_STRIDE(n) gm_bn_sums_float_at(psum, psumsq, nblk, C, (int)i, buf);
}
__global__ void k_bn_stats_float(const float *buf, int C, double count, float eps, long long n,
                                 float *mean, float *var, float *invstd, gm_launch l) {
    GRID_STRIDE(n) gm_bn_stats_float_at(buf, C, count, eps, (int)i, mean, var, invstd);
}
__global__ void k_bn_bwd_sums(const double *p1, const double *p2, long nblk, int C, long long n,
                              float *s1, float *s2, float *dscale, float *dbias, gm_launch l) {
    GRID_STRIDE(n) gm_bn_bwd_sums_at(p1, p2, nblk, C, (int)i, s1, s2, dscale, dbias);
}

/* ---- column sums: one thread per (row block j, column c), item i = j * C + c;
 * then one per column ---- */

__global__ void k_colsum_partials(const float *a, long rows, int C, long R, long long n,
                                  double *p, gm_launch l) {
    GRID_STRIDE(n) {
        long j = (long)(i / C);
        int c = (int)(i % C);
        p[i] = gm_colsum_partial_at(a, rows, C, R, j, c);
    }
}
__global__ void k_colsum_add(const double *p, long nblk, int C, long long n, float *dst,
                             gm_launch l) {
    GRID_STRIDE(n) gm_colsum_add_at(p, nblk, C, (int)i, dst);
}

/* ---- elementwise ---- */

__global__ void k_bias_rows(const float *bias, int C, long long n, float *y, gm_launch l) {
    GRID_STRIDE(n) y[i] = gm_bias_row_at(bias, C, (long)i);
}
__global__ void k_gather_images(const uint8_t *pool, const uint32_t *idx, long img, long long n,
                                uint8_t *dst, gm_launch l) {
    GRID_STRIDE(n) dst[i] = gm_gather_byte_at(pool, idx, img, (long)i);
}
__global__ void k_vec_mul(const float *a, const float *b, long long n, float *out, gm_launch l) {
    GRID_STRIDE(n) out[i] = gm_vec_mul_at(a, b, (long)i);
}

/* ---- block 0's weight gradient: one thread per (row block j, element e
 * of the HWIO gradient), item i = j * kn + e, kn = 9 cin cout ---- */

__global__ void k_conv0_wgrad_partials(const uint8_t *x, int H, int W, int cin, const float *dy,
                                       int cout, long rows, long R, long kn, long long n,
                                       double *p, gm_launch l) {
    GRID_STRIDE(n) {
        long j = (long)(i / kn), e = (long)(i % kn);
        p[i] = gm_conv0_wgrad_partial_at(x, H, W, cin, dy, cout, rows, R, j, e);
    }
}

/* ---- the weight layouts: one thread per element of the output kernel ---- */

__global__ void k_krsc_from_hwio(const float *hwio, int k, int cin, int cout, long long n,
                                 float *krsc, gm_launch l) {
    GRID_STRIDE(n) krsc[i] = gm_krsc_from_hwio(hwio, (long)i, k, cin, cout);
}
__global__ void k_hwio_from_krsc(const float *krsc, int k, int cin, int cout, long long n,
                                 float *hwio, gm_launch l) {
    GRID_STRIDE(n) hwio[i] = gm_hwio_from_krsc(krsc, (long)i, k, cin, cout);
}

bool bad(long long v) { return v < 0; }

} // namespace

extern "C" {

int gpu_bn_running(const float *mean, const float *var, const float *bias, int C, float momentum,
                   float *rmean, float *rvar, void *stream) {
    if (C < 1) return -1;
    LAUNCH(k_bn_running, (long long)C, mean, var, bias, momentum, (long long)C, rmean, rvar);
}
int gpu_bn_eval(const float *rmean, const float *rvar, const float *bias, int C, float eps,
                float *mean, float *var, float *invstd, void *stream) {
    if (C < 1) return -1;
    LAUNCH(k_bn_eval, (long long)C, rmean, rvar, bias, eps, (long long)C, mean, var, invstd);
}
int gpu_bn_sums_float(const double *psum, const double *psumsq, long nblk, int C, float *buf,
                      void *stream) {
    if (bad(nblk) || C < 1) return -1;
    LAUNCH(k_bn_sums_float, (long long)C, psum, psumsq, nblk, C, (long long)C, buf);
}
int gpu_bn_stats_float(const float *buf, int C, double count, float eps, float *mean, float *var,
                       float *invstd, void *stream) {
    if (C < 1 || !(count > 0)) return -1;
    LAUNCH(k_bn_stats_float, (long long)C, buf, C, count, eps, (long long)C, mean, var, invstd);
}
int gpu_bn_bwd_sums(const double *p1, const double *p2, long nblk, int C, float *s1, float *s2,
                    float *dscale, float *dbias, void *stream) {
    if (bad(nblk) || C < 1) return -1;
    LAUNCH(k_bn_bwd_sums, (long long)C, p1, p2, nblk, C, (long long)C, s1, s2, dscale, dbias);
}
int gpu_colsum_partials(const float *a, long rows, int C, long R, double *p, void *stream) {
    if (bad(rows) || C < 1 || R < 1) return -1;
    long long n = (long long)gm_bn_blocks(rows, R) * C;
    LAUNCH(k_colsum_partials, n, a, rows, C, R, n, p);
}
int gpu_colsum_add(const double *p, long nblk, int C, float *dst, void *stream) {
    if (bad(nblk) || C < 1) return -1;
    LAUNCH(k_colsum_add, (long long)C, p, nblk, C, (long long)C, dst);
}
int gpu_bias_rows(const float *bias, long rows, int C, float *y, void *stream) {
    if (bad(rows) || C < 1) return -1;
    long long n = (long long)rows * C;
    LAUNCH(k_bias_rows, n, bias, C, n, y);
}
int gpu_gather_images(const uint8_t *pool, const uint32_t *idx, int n, long img, uint8_t *dst,
                      void *stream) {
    if (n < 0 || img < 1) return -1;
    long long total = (long long)n * img;
    LAUNCH(k_gather_images, total, pool, idx, img, total, dst);
}
int gpu_vec_mul(const float *a, const float *b, long n, float *out, void *stream) {
    LAUNCH(k_vec_mul, (long long)n, a, b, (long long)n, out);
}
int gpu_conv0_wgrad_partials(const uint8_t *x, int B, int H, int W, int cin, const float *dy,
                             int cout, long R, double *p, void *stream) {
    if (bad(B) || H < 1 || W < 1 || cin < 1 || cout < 1 || R < 1) return -1;
    long rows = (long)B * gm_same_out(H, 2) * gm_same_out(W, 2), kn = 9L * cin * cout;
    long long n = (long long)gm_bn_blocks(rows, R) * kn;
    LAUNCH(k_conv0_wgrad_partials, n, x, H, W, cin, dy, cout, rows, R, kn, n, p);
}
int gpu_krsc_from_hwio(const float *hwio, int k, int cin, int cout, float *krsc, void *stream) {
    if (k < 1 || cin < 1 || cout < 1) return -1;
    long long n = (long long)k * k * cin * cout;
    LAUNCH(k_krsc_from_hwio, n, hwio, k, cin, cout, n, krsc);
}
int gpu_hwio_from_krsc(const float *krsc, int k, int cin, int cout, float *hwio, void *stream) {
    if (k < 1 || cin < 1 || cout < 1) return -1;
    long long n = (long long)k * k * cin * cout;
    LAUNCH(k_hwio_from_krsc, n, krsc, k, cin, cout, n, hwio);
}

} // extern "C"

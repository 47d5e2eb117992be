/* gpu_step_kernels.h — the per-thread bodies of the GPU training step's glue:
 * what sits between the ops of gpu_kernels.h and the library calls (cuDNN,
 * cuBLAS) in a tower's forward and backward pass. Like gpu_kernels.h they
 * are `__host__ __device__` (GM_FN), so the step's host backend
 * (gpu_backend_host.c) runs the very arithmetic the kernels run, and the
 * CPU tests check it (tests/unit/test_gpu_step_kernels.c).
 *
 * - per-channel BatchNorm bookkeeping, one channel per call: the running
 *   averages after a training forward (with the conv-bias folding of
 *   batchnorm.h), the statistics from the running averages for inference,
 *   the statistics from sums that crossed ranks as floats (the all-reduce
 *   carries floats, as tower_cpu.c's does), and the backward pass's sums
 *   turned into the floats the all-reduce carries plus this rank's scale
 *   and bias gradients;
 * - column sums without atomics (a bias gradient, block 0's weight
 *   gradient): fixed-grid partials in double, then a fixed-order sum added
 *   to the gradient in float;
 * - the broadcast of a bias over rows (y = bias, before a GEMM with beta 1,
 *   as linear_forward does) and an elementwise product of two vectors
 *   (BatchNorm's scale times invstd for the fused pool);
 * - a batch of images gathered by index from the images kept in memory
 *   (the training crops, when they fit on the GPU);
 * - block 0's weight gradient from the uint8 images and the output gradient
 *   (its input gradient is never needed): element (j, t, co) of the partial
 *   grid is the sum over row block j of the normalised tap t of each output
 *   pixel's window times dy (t in HWIO order (kh, kw, ci), so the summed
 *   grid is the HWIO gradient (9 cin, cout) itself).
 */
#ifndef STL_GPU_STEP_KERNELS_H
#define STL_GPU_STEP_KERNELS_H

#include <stdint.h>

#include "model/gpu_kernels.h"
#include "model/gpu_math.h"
#include "model/pixel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- BatchNorm bookkeeping, channel c ---- */

/* After a training forward: rmean, rvar move towards the batch's mean (of
 * conv + bias: mean is of the bias-less conv) and var (bn_running_update). */
GM_FN void gm_bn_running_at(const float *mean, const float *var, const float *bias, float momentum,
                            int c, float *rmean, float *rvar) {
    rmean[c] = gm_bn_running(rmean[c], gm_bn_fold_mean(mean[c], bias[c]), momentum);
    rvar[c] = gm_bn_running(rvar[c], var[c], momentum);
}
/* Inference: the statistics a forward uses, from the running averages. */
GM_FN void gm_bn_eval_at(const float *rmean, const float *rvar, const float *bias, float eps, int c,
                         float *mean, float *var, float *invstd) {
    mean[c] = gm_bn_unfold_mean(rmean[c], bias[c]);
    var[c] = rvar[c];
    invstd[c] = gm_bn_invstd(rvar[c], eps);
}
/* The forward sums as the all-reduce carries them: buf[c] = sum,
 * buf[C + c] = sum of squares, each the block-order total of the partials
 * rounded to float. */
GM_FN void gm_bn_sums_float_at(const double *psum, const double *psumsq, long nblk, int C, int c,
                               float *buf) {
    double s, q;
    gm_bn_sum_partials_at(psum, psumsq, nblk, C, c, &s, &q);
    buf[c] = (float)s;
    buf[C + c] = (float)q;
}
/* The statistics from the (all-reduced) float sums of gm_bn_sums_float_at. */
GM_FN void gm_bn_stats_float_at(const float *buf, int C, double count, float eps, int c,
                                float *mean, float *var, float *invstd) {
    gm_bn_finalize((double)buf[c], (double)buf[C + c], count, eps, &mean[c], &var[c], &invstd[c]);
}
/* The backward pass's sums of channel c (partials of gm_bn_bwd_partial_at):
 * s1 = sum dz and s2 = sum dz xhat as floats (what the all-reduce carries),
 * and this rank's local gradients: dscale[c] += s2, and when dbias is not
 * NULL (the residual conv's bias, whose output gradient is dz) dbias[c] += s1. */
GM_FN void gm_bn_bwd_sums_at(const double *p1, const double *p2, long nblk, int C, int c,
                             float *s1, float *s2, float *dscale, float *dbias) {
    double a, b;
    gm_bn_sum_partials_at(p1, p2, nblk, C, c, &a, &b);
    s1[c] = (float)a;
    s2[c] = (float)b;
    dscale[c] += (float)b;
    if (dbias) dbias[c] += (float)a;
}

/* ---- column sums into a gradient ---- */

/* Partial sum of column c of a (rows, C) over row block j (R rows), in
 * double, rows in order: gm_bn_partial_at without the squares. */
GM_FN double gm_colsum_partial_at(const float *a, long rows, int C, long R, long j, int c) {
    double s;
    gm_bn_partial_at(a, rows, C, R, j, c, &s, 0);
    return s;
}
/* dst[c] += the block-order total of column c's partials p[j * C + c]. */
GM_FN void gm_colsum_add_at(const double *p, long nblk, int C, int c, float *dst) {
    double s;
    gm_bn_sum_partials_at(p, 0, nblk, C, c, &s, 0);
    dst[c] += (float)s;
}

/* ---- small elementwise pieces ---- */

/* y element i of (rows, C) = bias[i mod C]. */
GM_FN float gm_bias_row_at(const float *bias, int C, long i) { return bias[i % C]; }
/* out[i] = a[i] * b[i]. */
GM_FN float gm_vec_mul_at(const float *a, const float *b, long i) { return a[i] * b[i]; }

/* ---- a batch gathered from the images kept in memory ---- */

/* Byte e of a batch of images of `img` bytes each whose image j is
 * pool image idx[j]. */
GM_FN uint8_t gm_gather_byte_at(const uint8_t *pool, const uint32_t *idx, long img, long e) {
    return pool[(long)idx[e / img] * img + e % img];
}

/* ---- block 0's weight gradient ---- */

/* Element e = t * cout + co (t = (kh * 3 + kw) * cin + ci) of row block j's
 * partial of the HWIO weight gradient of block 0's convolution (3x3,
 * stride 2, SAME) of the uint8 images x (B, H, W, cin): the sum over the
 * output pixels r in [j R, min((j + 1) R, rows)), rows = B Ho Wo, of the
 * normalised input value under tap t times dy[r, co], in double, r in
 * order; a padded tap adds nothing. */
GM_FN double gm_conv0_wgrad_partial_at(const uint8_t *x, int H, int W, int cin, const float *dy,
                                       int cout, long rows, long R, long j, long e) {
    int ho = gm_same_out(H, 2), wo = gm_same_out(W, 2);
    int pt = gm_same_pad_before(H, 3, 2), pl = gm_same_pad_before(W, 3, 2);
    int co = (int)(e % cout);
    long t = e / cout;
    int ci = (int)(t % cin), kw = (int)(t / cin % 3), kh = (int)(t / cin / 3);
    long r0 = j * R, r1 = r0 + R < rows ? r0 + R : rows;
    double s = 0.0;
    for (long r = r0; r < r1; r++) {
        gm_nhwc o = gm_nhwc_at(r * cout, ho, wo, cout);
        int ih = o.y * 2 - pt + kh, iw = o.x * 2 - pl + kw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        float v = pixel_normalize(x[((o.b * H + ih) * (long)W + iw) * cin + ci]);
        s += (double)v * dy[r * cout + co];
    }
    return s;
}

#ifdef __cplusplus
}
#endif

#endif

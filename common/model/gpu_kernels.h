/* gpu_kernels.h — the per-thread bodies of the GPU kernels, written once and
 * checked on the host against the CPU ops. A kernel is a thin `__global__`
 * wrapper: it turns its thread's index into an element (gpu_launch.h's
 * grid-stride loop) and calls one of these functions, `__host__ __device__`
 * under nvcc (gpu_math.h's GM_FN), so its arithmetic is established without
 * a GPU: tests/unit/test_gpu_kernels.c simulates each launch on the host
 * (every index, or the blocks in a scrambled order where order must not
 * matter) on the model's shapes and compares with the CPU op, bit for bit
 * where the CPU computes the same expression in the same order, within an
 * error budget written beside the check where it does not.
 *
 * What is here, each body reproducing its CPU op's order of operations:
 * - the 3x3 stride-2 SAME average pool (pool.h, always / 9): one output
 *   element forward (also fused with the block's last BatchNorm and the
 *   residual add, as pool_avg_forward_bn_add), one input element backward
 *   (a gather over the outputs whose windows cover it);
 * - the global mean pool: one (image, channel) forward, one element backward;
 * - swish forward and backward, BatchNorm applied (batchnorm.h's bn_forward)
 *   and BatchNorm + swish fused (bn_swish_forward), one element each;
 * - BatchNorm's batch statistics without atomics: a fixed grid of partial
 *   sums (channel c over row block j, in double, rows in order), then a
 *   fixed-order finalisation (partials in block order, gm_bn_finalize), so
 *   the result depends on the block size R and nothing else (not on the
 *   order the blocks run in); the backward pass's sums (sum dz, sum dz
 *   xhat, sum da) the same way, and its elementwise da and the fused
 *   BatchNorm + swish backward's dz;
 * - one element of Adam (adam_update);
 * - the triplet loss with its norm penalty (loss.h): one triplet per call,
 *   its loss terms and its rows of the gradient, and the loss as a
 *   fixed-order sum of the terms;
 * - block 0's direct 3x3 stride-2 convolution of the uint8 images,
 *   normalised as they are read (pixel.h; SAME padding is the normalised 0,
 *   i.e. a padded tap adds nothing), one output element per call.
 *
 * Indices are flat NHWC element indices (long); shapes come as arguments.
 * Bits on a GPU: nvcc contracts a * b + c into an FMA by default, so a
 * body with such a pair may differ from the host in the last bits unless
 * built with --fmad=false (gpu_math.h). Free of such pairs, or with only
 * products exact in double (a float times a float), so the same bits on a
 * GPU: the average pool (not the fused one) and the mean pool both ways,
 * bn_forward, the partial sums, the triplet's dots and gradient rows.
 * Not: the fused pool, anything through gm_expf (swish, its derivative),
 * da, Adam, the direct convolution, gm_bn_finalize (m * m in double) and
 * the loss's total (reg * penalty added in double).
 */
#ifndef STL_GPU_KERNELS_H
#define STL_GPU_KERNELS_H

#include <stdint.h>

#include "model/gpu_math.h"
#include "model/pixel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element i of an NHWC tensor (., h, w, c): its image b, row y, column x
 * and channel ch. */
typedef struct {
    long b;
    int y, x, ch;
} gm_nhwc;
GM_FN gm_nhwc gm_nhwc_at(long i, int h, int w, int c) {
    gm_nhwc e;
    e.ch = (int)(i % c);
    long px = i / c;
    e.x = (int)(px % w);
    long t = px / w;
    e.y = (int)(t % h);
    e.b = t / h;
    return e;
}

/* ---- the average pool: 3x3, stride 2, SAME, / 9 (pool.h) ---- */

/* The input window of output element i of the pool of (B, H, W, C):
 * rows [h0, h1) and columns [w0, w1) of image b, channel ch at offset
 * base + (h W + w) C (base = (b H W) C + ch). */
typedef struct {
    long base;
    int ch, h0, h1, w0, w1;
} gm_pool_win;
GM_FN gm_pool_win gm_pool_out_window(long i, int H, int W, int C) {
    gm_nhwc o = gm_nhwc_at(i, gm_same_out(H, 2), gm_same_out(W, 2), C);
    gm_pool_win v;
    v.ch = o.ch;
    v.base = o.b * H * W * C + o.ch;
    gm_pool_window(o.y, gm_same_pad_before(H, 3, 2), H, &v.h0, &v.h1);
    gm_pool_window(o.x, gm_same_pad_before(W, 3, 2), W, &v.w0, &v.w1);
    return v;
}

/* Output element i of the pool of x (B, H, W, C) -> (B, Ho, Wo, C): the
 * window's values summed in float from 0, rows then columns, times 1/9, as
 * pool.c's window_sum_div9. */
GM_FN float gm_pool_avg_fwd_at(const float *x, int H, int W, int C, long i) {
    gm_pool_win v = gm_pool_out_window(i, H, W, C);
    float acc = 0.0f;
    for (int h = v.h0; h < v.h1; h++)
        for (int w = v.w0; w < v.w1; w++) acc += x[v.base + ((long)h * W + w) * C];
    return acc * (1.0f / 9.0f);
}

/* The same pool of y = x + ((a - sub) * mul + add) per channel, y never
 * stored (pool_avg_forward_bn_add: the block's last BatchNorm with mul =
 * invstd * scale, the residual add and the pool in one pass). Its a * b + c
 * contracts to an FMA where the CPU variant or nvcc uses one. */
GM_FN float gm_pool_avg_bn_add_fwd_at(const float *x, const float *a, const float *mul,
                                      const float *sub, const float *add, int H, int W, int C,
                                      long i) {
    gm_pool_win v = gm_pool_out_window(i, H, W, C);
    float m = mul[v.ch], s = sub[v.ch], d = add[v.ch], acc = 0.0f;
    for (int h = v.h0; h < v.h1; h++)
        for (int w = v.w0; w < v.w1; w++) {
            long k = v.base + ((long)h * W + w) * C;
            acc += x[k] + ((a[k] - s) * m + d);
        }
    return acc * (1.0f / 9.0f);
}

/* Input element i of dx (B, H, W, C) from dy (B, Ho, Wo, C): the dy of the
 * outputs whose windows cover the input (gm_pool_covering), summed in float
 * from 0, rows then columns, times 1/9 (pool_avg_backward). */
GM_FN float gm_pool_avg_bwd_at(const float *dy, int H, int W, int C, long i) {
    int ho = gm_same_out(H, 2), wo = gm_same_out(W, 2);
    int pt = gm_same_pad_before(H, 3, 2), pl = gm_same_pad_before(W, 3, 2);
    gm_nhwc e = gm_nhwc_at(i, H, W, C);
    int c = e.ch, ih = e.y, iw = e.x;
    long b = e.b;
    int h0, h1, w0, w1;
    gm_pool_covering(ih, pt, ho, &h0, &h1);
    gm_pool_covering(iw, pl, wo, &w0, &w1);
    const float *g = dy + b * ho * wo * C + c;
    float acc = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) acc += g[((long)h * wo + w) * C];
    return acc * (1.0f / 9.0f);
}

/* ---- the global mean pool (pool.h) ---- */

/* y[b, c] (i = b * C + c) of x (B, hw, C): summed in float from 0 over the
 * pixels in order, divided by hw (pool_mean_forward). */
GM_FN float gm_pool_mean_fwd_at(const float *x, int hw, int C, long i) {
    int c = (int)(i % C);
    long b = i / C;
    const float *s = x + b * hw * C + c;
    float acc = 0.0f;
    for (int p = 0; p < hw; p++) acc += s[(long)p * C];
    return acc / (float)hw;
}
/* dx element i of (B, hw, C): dy[b, c] / hw (pool_mean_backward). */
GM_FN float gm_pool_mean_bwd_at(const float *dy, int hw, int C, long i) {
    int c = (int)(i % C);
    long b = i / ((long)hw * C);
    return dy[b * C + c] / (float)hw;
}

/* ---- swish, BatchNorm applied, BatchNorm + swish (swish.h, batchnorm.h,
 * bn_swish.h); i a flat index of (rows, C) ---- */

GM_FN float gm_swish_fwd_at(const float *z, long i) { return gm_swish(z[i]); }
GM_FN float gm_swish_bwd_at(const float *dh, const float *z, long i) {
    return dh[i] * gm_swish_grad(z[i]);
}
/* z = (a - mean) * (invstd * scale): the CPU multiplies by the per-channel
 * product invstd * scale, not by each in turn. */
GM_FN float gm_bn_fwd_at(const float *a, int C, const float *mean, const float *invstd,
                         const float *scale, long i) {
    int c = (int)(i % C);
    return (a[i] - mean[c]) * (invstd[c] * scale[c]);
}
/* h = swish(z), z as gm_bn_fwd_at. gm_expf's polynomial has a * b + c pairs:
 * an FMA (the CPU's AVX2 / AVX-512 variants, nvcc) changes the last bits. */
GM_FN float gm_bn_swish_fwd_at(const float *a, int C, const float *mean, const float *invstd,
                               const float *scale, long i) {
    return gm_swish(gm_bn_fwd_at(a, C, mean, invstd, scale, i));
}

/* ---- BatchNorm's batch statistics, without atomics ---- */

/* Row blocks of R rows over `rows` rows: the partial-sum grid is
 * gm_bn_blocks(rows, R) x C. */
GM_FN long gm_bn_blocks(long rows, long R) { return (rows + R - 1) / R; }
/* Partial sum and sum of squares of channel c of a (rows, C) over the rows
 * [j R, min((j + 1) R, rows)), in double, rows in order (each square of a
 * float is exact in double). sumsq may be NULL: the sum alone (the bias
 * gradient, sum da, of bn_backward's dsum). */
GM_FN void gm_bn_partial_at(const float *a, long rows, int C, long R, long j, int c, double *sum,
                            double *sumsq) {
    long r0 = j * R, r1 = r0 + R < rows ? r0 + R : rows;
    double s = 0.0, q = 0.0;
    for (long r = r0; r < r1; r++) {
        double v = (double)a[r * C + c];
        s += v;
        q += v * v;
    }
    *sum = s;
    if (sumsq) *sumsq = q;
}
/* Channel c's totals of the partials p1[j * C + c], p2[...] (p2 may be
 * NULL) of nblk blocks, added in block order. */
GM_FN void gm_bn_sum_partials_at(const double *p1, const double *p2, long nblk, int C, int c,
                                 double *s1, double *s2) {
    double s = 0.0, q = 0.0;
    for (long j = 0; j < nblk; j++) {
        s += p1[j * C + c];
        if (p2) q += p2[j * C + c];
    }
    *s1 = s;
    if (s2) *s2 = q;
}
/* Channel c's statistics from the partials psum[j * C + c], psumsq[...] of
 * nblk blocks, added in block order, then gm_bn_finalize over count rows. */
GM_FN void gm_bn_stats_at(const double *psum, const double *psumsq, long nblk, int C, int c,
                          double count, float eps, float *mean, float *var, float *invstd) {
    double s, q;
    gm_bn_sum_partials_at(psum, psumsq, nblk, C, c, &s, &q);
    gm_bn_finalize(s, q, count, eps, mean, var, invstd);
}

/* ---- BatchNorm backward (batchnorm.h, bn_swish.h) ---- */

/* The backward pass's partial sums of channel c over row block j, as
 * gm_bn_partial_at: sum dz and sum dz * xhat, xhat = (a - mean) * invstd in
 * float as the CPU computes it (bn_backward_sums, bn_swish_backward), the
 * sums in double. Totals: gm_bn_sum_partials_at. */
GM_FN void gm_bn_bwd_partial_at(const float *dz, const float *a, long rows, int C,
                                const float *mean, const float *invstd, long R, long j, int c,
                                double *s1, double *s2) {
    long r0 = j * R, r1 = r0 + R < rows ? r0 + R : rows;
    float mu = mean[c], is = invstd[c];
    double s = 0.0, q = 0.0;
    for (long r = r0; r < r1; r++) {
        float g = dz[r * C + c], xh = (a[r * C + c] - mu) * is;
        s += (double)g;
        q += (double)g * xh;
    }
    *s1 = s;
    *s2 = q;
}
/* da element i (bn_backward): k (dz - m1 - xhat m2) with k = scale invstd,
 * m1 = s1 / count and m2 = s2 / count rounded to float, s1 and s2 the
 * global sums in float (as the all-reduce carries them). The CPU's AVX2 /
 * AVX-512 variants fuse xhat m2 into the subtraction (an FMA), as nvcc. */
GM_FN float gm_bn_bwd_at(const float *dz, const float *a, int C, const float *mean,
                         const float *invstd, const float *scale, const float *s1,
                         const float *s2, double count, long i) {
    int c = (int)(i % C);
    float k = scale[c] * invstd[c];
    float m1 = (float)(s1[c] / count), m2 = (float)(s2[c] / count);
    float xh = (a[i] - mean[c]) * invstd[c];
    return k * (dz[i] - m1 - xh * m2);
}
/* dz element i of BatchNorm + swish (bn_swish_backward): dh swish'(z), z
 * recomputed as gm_bn_fwd_at. Its sums: gm_bn_bwd_partial_at of dz. */
GM_FN float gm_bn_swish_bwd_at(const float *dh, const float *a, int C, const float *mean,
                               const float *invstd, const float *scale, long i) {
    return dh[i] * gm_swish_grad(gm_bn_fwd_at(a, C, mean, invstd, scale, i));
}

/* ---- Adam (adam.h): element i, with c1, c2 = gm_adam_corr of this step
 * (computed once, on the host, as adam_update does per call) ---- */

GM_FN void gm_adam_at(float *p, const float *g, float *mu, float *nu, long i, float lr, float b1,
                      float b2, float eps, float c1, float c2) {
    gm_adam_step(&p[i], g[i], &mu[i], &nu[i], lr, b1, b2, eps, c1, c2);
}

/* ---- the triplet loss and norm penalty (loss.h) ---- */

/* sum_i a_i b_i in double, i in order (each product exact). */
GM_FN double gm_dot_d(const float *a, const float *b, int D) {
    double s = 0.0;
    for (int i = 0; i < D; i++) s += (double)a[i] * b[i];
    return s;
}
/* ||e|| - 1 if ||e|| > 1 (else 0), and its gradient k e / ||e|| added to de
 * (when de is not NULL), as loss.c's norm_penalty. */
GM_FN double gm_norm_penalty(const float *e, int D, double k, float *de) {
    double nrm = sqrt(gm_dot_d(e, e, D));
    if (!(nrm > 1.0)) return 0.0;
    if (de)
        for (int i = 0; i < D; i++) de[i] += (float)(k * e[i] / nrm);
    return nrm - 1.0;
}
/* Triplet b of s, p, n (B, D): terms[0] = relu(1 + s.n - s.p) (the hinge),
 * terms[1] = the rows' penalties summed (s, p, n in that order), and its
 * rows of the gradient (ds, dp, dn: any may be NULL) of loss =
 * (sum hinge + reg sum penalties) / denom. */
GM_FN void gm_triplet_at(const float *s, const float *p, const float *n, int D, float reg,
                         int denom, int b, float *ds, float *dp, float *dn, double terms[2]) {
    double inv = 1.0 / denom;
    const float *sb = s + (long)b * D, *pb = p + (long)b * D, *nb = n + (long)b * D;
    float *dsb = ds ? ds + (long)b * D : 0, *dpb = dp ? dp + (long)b * D : 0,
          *dnb = dn ? dn + (long)b * D : 0;
    for (int i = 0; i < D; i++) {
        if (dsb) dsb[i] = 0;
        if (dpb) dpb[i] = 0;
        if (dnb) dnb[i] = 0;
    }
    double h = 1.0 + gm_dot_d(sb, nb, D) - gm_dot_d(sb, pb, D);
    terms[0] = 0.0;
    if (h > 0) {
        terms[0] = h;
        for (int i = 0; i < D; i++) {
            if (dsb) dsb[i] += (float)(inv * ((double)nb[i] - pb[i]));
            if (dpb) dpb[i] -= (float)(inv * sb[i]);
            if (dnb) dnb[i] += (float)(inv * sb[i]);
        }
    }
    double k = (double)reg * inv;
    double ps = gm_norm_penalty(sb, D, k, dsb);
    double pp = gm_norm_penalty(pb, D, k, dpb);
    double pn = gm_norm_penalty(nb, D, k, dnb);
    terms[1] = ps + pp + pn;
}
/* The loss from the B triplets' terms (terms[2 b], terms[2 b + 1]), added
 * in triplet order, hinge then penalty, as loss_triplet does. */
GM_FN double gm_triplet_loss(const double *terms, int B, float reg, int denom) {
    double inv = 1.0 / denom, total = 0.0;
    for (int b = 0; b < B; b++) {
        total += terms[2 * b];
        total += reg * terms[2 * b + 1];
    }
    return total * inv;
}

/* ---- block 0's convolution of the uint8 images ---- */

/* Output element i (b, oh, ow, co) of the 3x3 stride-2 SAME convolution of
 * the uint8 images x (B, H, W, cin), each value normalised as it is read
 * (pixel_normalize), with the HWIO kernel w (3, 3, cin, cout) and no bias:
 * taps in (kh, kw, ci) order summed in float from 0, padded taps skipped
 * (they read the normalised 0: conv_im2col_pixels writes 0.0f there). */
GM_FN float gm_conv0_pixels_at(const uint8_t *x, int H, int W, int cin, const float *w, int cout,
                               long i) {
    int ho = gm_same_out(H, 2), wo = gm_same_out(W, 2);
    int pt = gm_same_pad_before(H, 3, 2), pl = gm_same_pad_before(W, 3, 2);
    gm_nhwc o = gm_nhwc_at(i, ho, wo, cout);
    int co = o.ch, oh = o.y, ow = o.x;
    long b = o.b;
    const uint8_t *img = x + b * H * W * cin;
    float acc = 0.0f;
    for (int kh = 0; kh < 3; kh++) {
        int ih = oh * 2 - pt + kh;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < 3; kw++) {
            int iw = ow * 2 - pl + kw;
            if (iw < 0 || iw >= W) continue;
            const uint8_t *px_in = img + ((long)ih * W + iw) * cin;
            const float *wk = w + ((long)(kh * 3 + kw) * cin) * cout + co;
            for (int ci = 0; ci < cin; ci++)
                acc += pixel_normalize(px_in[ci]) * wk[(long)ci * cout];
        }
    }
    return acc;
}

#ifdef __cplusplus
}
#endif

#endif

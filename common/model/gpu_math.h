/* gpu_math.h — the small formulas the CPU ops and the GPU kernels share,
 * written once: `__host__ __device__` under nvcc, plain static inline under a
 * C compiler (GM_FN). The CPU ops call them (conv.c, pool.c, batchnorm.c,
 * tower_cpu.c, swish.c and bn_swish.c through simd.h, adam.c), so a kernel
 * that calls them computes the same formula; tests/unit/test_gpu_math.c
 * checks them against the CPU ops and against references from the
 * definitions, with its error budget written there.
 *
 * What is here: TF "SAME" padding (output size, padding before and after) for
 * the convolutions and the average pool, and its form for cuDNN; the pool's window bounds (3x3,
 * stride 2) and, for its backward pass, the outputs whose windows cover an
 * input; BatchNorm's finalisation from the partial sums (mean, biased
 * variance clamped at 0, invstd, in double) and the running-average update;
 * the conv-bias folding (a conv before BatchNorm runs without its bias, so
 * the running mean is the batch mean plus the bias, and inference subtracts
 * it again); exp, sigmoid, swish and its derivative; Adam's bias correction
 * and one element's step (optax.adam, adam.h).
 *
 * Bits: the host compiler and nvcc evaluate the same expressions, but nvcc
 * contracts a * b + c into one FMA by default (--fmad=true) where this
 * project's baseline CPU code does not (ISO C's fp-contract=off, x86-64-v2),
 * so a kernel's float results may differ in the last bits unless it is
 * built with --fmad=false; integer formulas are exact everywhere.
 */
#ifndef STL_GPU_MATH_H
#define STL_GPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define GM_FN static inline __host__ __device__
#else
#define GM_FN static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- TF SAME padding: n inputs, a k-wide window, stride s ---- */

/* ceil(n / s) outputs. */
GM_FN int gm_same_out(int n, int s) { return (n + s - 1) / s; }
/* max((out - 1) s + k - n, 0): padding in all. */
GM_FN int gm_same_pad_total(int n, int k, int s) {
    int t = (gm_same_out(n, s) - 1) * s + k - n;
    return t < 0 ? 0 : t;
}
/* The smaller half goes before (top / left), the rest after. */
GM_FN int gm_same_pad_before(int n, int k, int s) { return gm_same_pad_total(n, k, s) / 2; }
GM_FN int gm_same_pad_after(int n, int k, int s) {
    return gm_same_pad_total(n, k, s) - gm_same_pad_before(n, k, s);
}

/* cuDNN pads symmetrically; SAME's asymmetric padding becomes a symmetric
 * pad of min(before, after) plus the rest padded explicitly into the input
 * (as TensorFlow's cuDNN path does): an n-pixel input is given to cuDNN as
 * extra_before + n + extra_after pixels with pad `sym`, and the output's
 * first window starts at -(sym + extra_before) = -before, as SAME's does. */
GM_FN void gm_same_cudnn_pad(int n, int k, int s, int *sym, int *extra_before, int *extra_after) {
    int b = gm_same_pad_before(n, k, s), a = gm_same_pad_after(n, k, s);
    *sym = b < a ? b : a;
    *extra_before = b - *sym;
    *extra_after = a - *sym;
}

/* ---- the average pool: 3x3 window, stride 2, SAME, always / 9 ---- */

enum { GM_POOL_K = 3, GM_POOL_STRIDE = 2 };

/* Input range [*lo, *hi) of output position o (pad: padding before, n inputs). */
GM_FN void gm_pool_window(int o, int pad, int n, int *lo, int *hi) {
    int a = o * GM_POOL_STRIDE - pad, b = a + GM_POOL_K;
    *lo = a < 0 ? 0 : a;
    *hi = b > n ? n : b;
}
/* Output range [*lo, *hi) whose windows contain input position i (nout
 * outputs): o*2 - pad <= i <= o*2 - pad + 2, i.e.
 * (i + pad - 2) / 2 <= o <= (i + pad) / 2. */
GM_FN void gm_pool_covering(int i, int pad, int nout, int *lo, int *hi) {
    int t = i + pad - (GM_POOL_K - 1);
    int a = t <= 0 ? 0 : (t + 1) / GM_POOL_STRIDE, b = (i + pad) / GM_POOL_STRIDE + 1;
    *lo = a;
    *hi = b > nout ? nout : b;
}

/* ---- BatchNorm (batchnorm.h) ---- */

/* From sum and sum of squares over count rows: mean, biased variance
 * E[a^2] - mean^2 clamped at 0 (as Flax), invstd = 1 / sqrt(var + eps). */
GM_FN void gm_bn_finalize(double sum, double sumsq, double count, float eps, float *mean,
                          float *var, float *invstd) {
    double m = sum / count;
    double v = sumsq / count - m * m;
    if (v < 0) v = 0;
    *mean = (float)m;
    *var = (float)v;
    *invstd = (float)(1.0 / sqrt(v + (double)eps));
}
/* invstd from a variance (inference with the running averages). */
GM_FN float gm_bn_invstd(float var, float eps) {
    return (float)(1.0 / sqrt((double)var + (double)eps));
}
/* run = momentum * run + (1 - momentum) * batch. */
GM_FN float gm_bn_running(float run, float batch, float momentum) {
    return momentum * run + (1.0f - momentum) * batch;
}
/* Conv-bias folding: the conv before a BatchNorm runs without its bias, so
 * its batch mean lacks it; Flax's running mean is of conv + bias. */
GM_FN float gm_bn_fold_mean(float mean_nobias, float bias) { return mean_nobias + bias; }
/* Inference: the mean to subtract from the bias-less conv output. */
GM_FN float gm_bn_unfold_mean(float run_mean, float bias) { return run_mean - bias; }

/* ---- exp, sigmoid, swish ---- */

/* exp with Cephes' range reduction and degree-6 polynomial (max error ~2 ulp
 * on [-87, 88]; inputs clamped there), no calls or branches, so CPU loops
 * vectorise (simd.h) and a kernel computes the same polynomial. */
GM_FN float gm_expf(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    /* 2^n from the bits of n + 127 + 1.5 * 2^23, whose low mantissa bits
     * are n + 127: unsigned shifts only, so a NaN input stays defined
     * behaviour (and propagates through y) */
    float t = n + 12583039.0f;
    uint32_t u;
    memcpy(&u, &t, sizeof u);
    u <<= 23;
    float s;
    memcpy(&s, &u, sizeof s);
    return y * s;
}
/* sigmoid(z) = 1 / (1 + exp(-z)) */
GM_FN float gm_sigmoidf(float z) { return 1.0f / (1.0f + gm_expf(-z)); }
/* swish(z) = z sigmoid(z) */
GM_FN float gm_swish(float z) { return z * gm_sigmoidf(z); }
/* swish'(z) = s + z s (1 - s), s = sigmoid(z) */
GM_FN float gm_swish_grad(float z) {
    float s = gm_sigmoidf(z);
    return s + z * s * (1.0f - s);
}

/* ---- Adam (adam.h: optax.adam, eps_root 0) ---- */

/* 1 - b^count: the bias correction of step count (1-based). */
GM_FN float gm_adam_corr(float b, int64_t count) { return 1.0f - powf(b, (float)count); }
/* One element: the moments move, then p += -lr * (mu / c1) / (sqrt(nu / c2) + eps)
 * with c1, c2 the bias corrections of this step. */
GM_FN void gm_adam_step(float *p, float g, float *mu, float *nu, float lr, float b1, float b2,
                        float eps, float c1, float c2) {
    float m = b1 * *mu + (1.0f - b1) * g;
    float v = b2 * *nu + (1.0f - b2) * (g * g);
    *mu = m;
    *nu = v;
    float u = (m / c1) / (sqrtf(v / c2) + eps);
    *p = *p + (-lr) * u;
}

#ifdef __cplusplus
}
#endif

#endif

/* batchnorm.c — BatchNorm forward / backward over NHWC rows (see batchnorm.h).
 *
 * As in bn_swish.c, each row kernel is inlined once per common channel count
 * so that count is a compile-time constant (full vectors, no masks); sums run
 * in float over runs of 32 rows and are added into double.
 */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "model/batchnorm.h"

#include "model/gpu_math.h"
#include "model/simd.h"

enum { CB = 256 };
#define INLINE static inline __attribute__((always_inline))

/* Calls KERNEL(..., n) with n a constant for the common channel counts. */
#define DISPATCH(cn, CALL)                                                      \
    switch (cn) {                                                               \
    case 16: { const int n_ = 16; CALL; } break;                                \
    case 32: { const int n_ = 32; CALL; } break;                                \
    case 64: { const int n_ = 64; CALL; } break;                                \
    case 128: { const int n_ = 128; CALL; } break;                              \
    default: { const int n_ = cn; CALL; } break;                                \
    }

INLINE void sums_kernel(const float *a, long rows, int C, int cn, double *s, double *q) {
    for (long r0 = 0; r0 < rows; r0 += 32) {
        long r1 = rows - r0 < 32 ? rows : r0 + 32;
        float fs[CB], fq[CB];
        for (int c = 0; c < cn; c++) fs[c] = fq[c] = 0.0f;
        for (long r = r0; r < r1; r++) {
            const float *x = a + r * C;
            for (int c = 0; c < cn; c++) {
                fs[c] += x[c];
                fq[c] += x[c] * x[c];
            }
        }
        for (int c = 0; c < cn; c++) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

STL_KERNEL(bn_sums,
           (const float *a, long rows, int C, double *sums),
           (a, rows, C, sums)) {
    double s[CB], q[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int cn = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < cn; c++) s[c] = q[c] = 0.0;
        DISPATCH(cn, sums_kernel(a + c0, rows, C, n_, s, q));
        for (int c = 0; c < cn; c++) {
            sums[c0 + c] += s[c];
            sums[C + c0 + c] += q[c];
        }
    }
}

void bn_stats(const double *sums, double count, int C, float eps, float *mean, float *var,
              float *invstd) {
    for (int c = 0; c < C; c++)
        gm_bn_finalize(sums[c], sums[C + c], count, eps, &mean[c], &var[c], &invstd[c]);
}

void bn_invstd(const float *var, int C, float eps, float *invstd) {
    for (int c = 0; c < C; c++) invstd[c] = gm_bn_invstd(var[c], eps);
}

void bn_running_update(float *run_mean, float *run_var, const float *mean, const float *var,
                       int C, float momentum) {
    for (int c = 0; c < C; c++) {
        run_mean[c] = gm_bn_running(run_mean[c], mean[c], momentum);
        run_var[c] = gm_bn_running(run_var[c], var[c], momentum);
    }
}

/* y = (or +=) (a - sub) * mul + add */
INLINE void fwd_kernel(const float *a, long rows, int C, int cn, const float *mul,
                       const float *sub, const float *add, int accumulate, float *y) {
    for (long r = 0; r < rows; r++) {
        const float *x = a + r * C;
        float *d = y + r * C;
        if (accumulate)
            for (int c = 0; c < cn; c++) d[c] += (x[c] - sub[c]) * mul[c] + add[c];
        else
            for (int c = 0; c < cn; c++) d[c] = (x[c] - sub[c]) * mul[c];
    }
}

INLINE void forward_any(const float *a, long rows, int C, const float *mean, const float *invstd,
                        const float *scale, const float *bias, int accumulate, float *y) {
    float mul[CB], sub[CB], add[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int cn = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < cn; c++) {
            mul[c] = invstd[c0 + c] * scale[c0 + c];
            sub[c] = mean[c0 + c];
            add[c] = bias ? bias[c0 + c] : 0.0f;
        }
        if (accumulate) {
            DISPATCH(cn, fwd_kernel(a + c0, rows, C, n_, mul, sub, add, 1, y + c0));
        } else {
            DISPATCH(cn, fwd_kernel(a + c0, rows, C, n_, mul, sub, add, 0, y + c0));
        }
    }
}

STL_KERNEL(bn_forward,
           (const float *a, long rows, int C, const float *mean, const float *invstd,
            const float *scale, float *z),
           (a, rows, C, mean, invstd, scale, z)) {
    forward_any(a, rows, C, mean, invstd, scale, NULL, 0, z);
}

STL_KERNEL(bn_forward_add,
           (const float *a, long rows, int C, const float *mean, const float *invstd,
            const float *scale, const float *bias, float *y),
           (a, rows, C, mean, invstd, scale, bias, y)) {
    forward_any(a, rows, C, mean, invstd, scale, bias, 1, y);
}

INLINE void bsums_kernel(const float *dz, const float *a, long rows, int C, int cn,
                         const float *mu, const float *is, double *s, double *q) {
    for (long r0 = 0; r0 < rows; r0 += 32) {
        long r1 = rows - r0 < 32 ? rows : r0 + 32;
        float fs[CB], fq[CB];
        for (int c = 0; c < cn; c++) fs[c] = fq[c] = 0.0f;
        for (long r = r0; r < r1; r++) {
            const float *g = dz + r * C;
            const float *x = a + r * C;
            for (int c = 0; c < cn; c++) {
                float xh = (x[c] - mu[c]) * is[c];
                fs[c] += g[c];
                fq[c] += g[c] * xh;
            }
        }
        for (int c = 0; c < cn; c++) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

STL_KERNEL(bn_backward_sums,
           (const float *dz, const float *a, long rows, int C, const float *mean,
            const float *invstd, double *sums),
           (dz, a, rows, C, mean, invstd, sums)) {
    double s[CB], q[CB];
    float mu[CB], is[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int cn = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < cn; c++) {
            s[c] = q[c] = 0.0;
            mu[c] = mean[c0 + c];
            is[c] = invstd[c0 + c];
        }
        DISPATCH(cn, bsums_kernel(dz + c0, a + c0, rows, C, n_, mu, is, s, q));
        for (int c = 0; c < cn; c++) {
            sums[c0 + c] += s[c];
            sums[C + c0 + c] += q[c];
        }
    }
}

INLINE void bwd_kernel(const float *dz, const float *a, long rows, int C, int cn, const float *k,
                       const float *m1, const float *m2, const float *mu, const float *is,
                       float *da, double *ds) {
    for (long r0 = 0; r0 < rows; r0 += 32) {
        long r1 = rows - r0 < 32 ? rows : r0 + 32;
        float fs[CB];
        for (int c = 0; c < cn; c++) fs[c] = 0.0f;
        for (long r = r0; r < r1; r++) {
            const float *g = dz + r * C;
            const float *x = a + r * C;
            float *d = da + r * C;
            for (int c = 0; c < cn; c++) {
                float xh = (x[c] - mu[c]) * is[c];
                float v = k[c] * (g[c] - m1[c] - xh * m2[c]);
                d[c] = v;
                fs[c] += v;
            }
        }
        for (int c = 0; c < cn; c++) ds[c] += fs[c];
    }
}

STL_KERNEL(bn_backward,
           (const float *dz, const float *a, long rows, int C, const float *mean,
            const float *invstd, const float *scale, const float *s1, const float *s2,
            double count, float *da, double *dsum),
           (dz, a, rows, C, mean, invstd, scale, s1, s2, count, da, dsum)) {
    float k[CB], m1[CB], m2[CB], mu[CB], is[CB];
    double ds[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int cn = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < cn; c++) {
            k[c] = scale[c0 + c] * invstd[c0 + c];
            m1[c] = (float)(s1[c0 + c] / count);
            m2[c] = (float)(s2[c0 + c] / count);
            mu[c] = mean[c0 + c];
            is[c] = invstd[c0 + c];
            ds[c] = 0.0;
        }
        DISPATCH(cn, bwd_kernel(dz + c0, a + c0, rows, C, n_, k, m1, m2, mu, is, da + c0, ds));
        if (dsum)
            for (int c = 0; c < cn; c++) dsum[c0 + c] += ds[c];
    }
}

/* bn_swish.c — fused BatchNorm + swish, forward and backward (bn_swish.h).
 *
 * The row loops run over channels innermost; each kernel is inlined once per
 * common channel count (16, 32, 64, 128) so that count is a compile-time
 * constant: a row is then a fixed number of full vectors, with no masks and
 * no per-row loop overhead (which at 16 channels cost more than the work).
 */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "model/bn_swish.h"

#include "model/simd.h"

enum { CB = 256 };
#define INLINE static inline __attribute__((always_inline))

INLINE void fwd_kernel(const float *a, long rows, int C, int cn, const float *mul,
                       const float *sub, float *h) {
    for (long r = 0; r < rows; r++) {
        const float *x = a + r * C;
        float *y = h + r * C;
        for (int c = 0; c < cn; c++) {
            float z = (x[c] - sub[c]) * mul[c];
            y[c] = z * simd_sigmoidf(z);
        }
    }
}

STL_KERNEL(bn_swish_forward,
           (const float *a, long rows, int C, const float *mean, const float *invstd,
            const float *scale, float *h),
           (a, rows, C, mean, invstd, scale, h)) {
    float mul[CB], sub[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int cn = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < cn; c++) {
            mul[c] = invstd[c0 + c] * scale[c0 + c];
            sub[c] = mean[c0 + c];
        }
        switch (cn) {
        case 16: fwd_kernel(a + c0, rows, C, 16, mul, sub, h + c0); break;
        case 32: fwd_kernel(a + c0, rows, C, 32, mul, sub, h + c0); break;
        case 64: fwd_kernel(a + c0, rows, C, 64, mul, sub, h + c0); break;
        case 128: fwd_kernel(a + c0, rows, C, 128, mul, sub, h + c0); break;
        default: fwd_kernel(a + c0, rows, C, cn, mul, sub, h + c0); break;
        }
    }
}

/* float partial sums over runs of 32 rows, added into double */
INLINE void bwd_kernel(float *dh, const float *a, long rows, int C, int cn, const float *mul,
                       const float *sub, const float *is, double *s1, double *s2) {
    for (long r0 = 0; r0 < rows; r0 += 32) {
        long r1 = rows - r0 < 32 ? rows : r0 + 32;
        float f1[CB], f2[CB];
        for (int c = 0; c < cn; c++) f1[c] = f2[c] = 0.0f;
        for (long r = r0; r < r1; r++) {
            const float *x = a + r * C;
            float *g = dh + r * C;
            for (int c = 0; c < cn; c++) {
                float d = x[c] - sub[c];
                float z = d * mul[c], xh = d * is[c];
                float s = simd_sigmoidf(z);
                float dz = g[c] * (s + z * s * (1.0f - s));
                g[c] = dz;
                f1[c] += dz;
                f2[c] += dz * xh;
            }
        }
        for (int c = 0; c < cn; c++) {
            s1[c] += f1[c];
            s2[c] += f2[c];
        }
    }
}

STL_KERNEL(bn_swish_backward,
           (float *dh, const float *a, long rows, int C, const float *mean, const float *invstd,
            const float *scale, double *sums),
           (dh, a, rows, C, mean, invstd, scale, sums)) {
    float mul[CB], sub[CB], is[CB];
    double s1[CB], s2[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int cn = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < cn; c++) {
            is[c] = invstd[c0 + c];
            mul[c] = invstd[c0 + c] * scale[c0 + c];
            sub[c] = mean[c0 + c];
            s1[c] = s2[c] = 0.0;
        }
        switch (cn) {
        case 16: bwd_kernel(dh + c0, a + c0, rows, C, 16, mul, sub, is, s1, s2); break;
        case 32: bwd_kernel(dh + c0, a + c0, rows, C, 32, mul, sub, is, s1, s2); break;
        case 64: bwd_kernel(dh + c0, a + c0, rows, C, 64, mul, sub, is, s1, s2); break;
        case 128: bwd_kernel(dh + c0, a + c0, rows, C, 128, mul, sub, is, s1, s2); break;
        default: bwd_kernel(dh + c0, a + c0, rows, C, cn, mul, sub, is, s1, s2); break;
        }
        for (int c = 0; c < cn; c++) {
            sums[c0 + c] += s1[c];
            sums[C + c0 + c] += s2[c];
        }
    }
}

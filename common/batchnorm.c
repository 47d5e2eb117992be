/* batchnorm.c — BatchNorm forward / backward over NHWC rows (see batchnorm.h). */
#pragma GCC optimize("O3")
#include "batchnorm.h"

#include <math.h>

#include "simd.h"

STL_HOT
void bn_sums(const float *a, long rows, int C, double *sums) {
    double s[256], q[256];
    for (int c0 = 0; c0 < C; c0 += 256) {
        int cn = C - c0 < 256 ? C - c0 : 256;
        for (int c = 0; c < cn; c++) s[c] = q[c] = 0.0;
        for (long r = 0; r < rows; r++) {
            const float *x = a + r * C + c0;
            for (int c = 0; c < cn; c++) {
                double v = x[c];
                s[c] += v;
                q[c] += v * v;
            }
        }
        for (int c = 0; c < cn; c++) {
            sums[c0 + c] += s[c];
            sums[C + c0 + c] += q[c];
        }
    }
}

void bn_stats(const double *sums, double count, int C, float eps, float *mean, float *var,
              float *invstd) {
    for (int c = 0; c < C; c++) {
        double m = sums[c] / count;
        double v = sums[C + c] / count - m * m;
        if (v < 0) v = 0;
        mean[c] = (float)m;
        var[c] = (float)v;
        invstd[c] = (float)(1.0 / sqrt(v + (double)eps));
    }
}

void bn_invstd(const float *var, int C, float eps, float *invstd) {
    for (int c = 0; c < C; c++) invstd[c] = (float)(1.0 / sqrt((double)var[c] + (double)eps));
}

void bn_running_update(float *run_mean, float *run_var, const float *mean, const float *var,
                       int C, float momentum) {
    for (int c = 0; c < C; c++) {
        run_mean[c] = momentum * run_mean[c] + (1.0f - momentum) * mean[c];
        run_var[c] = momentum * run_var[c] + (1.0f - momentum) * var[c];
    }
}

STL_HOT
void bn_forward(const float *a, long rows, int C, const float *mean, const float *invstd,
                const float *scale, float *z) {
    float mul[256], sub[256];
    for (int c0 = 0; c0 < C; c0 += 256) {
        int cn = C - c0 < 256 ? C - c0 : 256;
        for (int c = 0; c < cn; c++) {
            mul[c] = invstd[c0 + c] * scale[c0 + c];
            sub[c] = mean[c0 + c];
        }
        for (long r = 0; r < rows; r++) {
            const float *x = a + r * C + c0;
            float *y = z + r * C + c0;
            for (int c = 0; c < cn; c++) y[c] = (x[c] - sub[c]) * mul[c];
        }
    }
}

STL_HOT
void bn_forward_add(const float *a, long rows, int C, const float *mean, const float *invstd,
                    const float *scale, const float *bias, float *y) {
    float mul[256], sub[256], add[256];
    for (int c0 = 0; c0 < C; c0 += 256) {
        int cn = C - c0 < 256 ? C - c0 : 256;
        for (int c = 0; c < cn; c++) {
            mul[c] = invstd[c0 + c] * scale[c0 + c];
            sub[c] = mean[c0 + c];
            add[c] = bias ? bias[c0 + c] : 0.0f;
        }
        for (long r = 0; r < rows; r++) {
            const float *x = a + r * C + c0;
            float *d = y + r * C + c0;
            for (int c = 0; c < cn; c++) d[c] += (x[c] - sub[c]) * mul[c] + add[c];
        }
    }
}

STL_HOT
void bn_backward_sums(const float *dz, const float *a, long rows, int C, const float *mean,
                      const float *invstd, double *sums) {
    double s[256], q[256];
    float mu[256], is[256];
    for (int c0 = 0; c0 < C; c0 += 256) {
        int cn = C - c0 < 256 ? C - c0 : 256;
        for (int c = 0; c < cn; c++) {
            s[c] = q[c] = 0.0;
            mu[c] = mean[c0 + c];
            is[c] = invstd[c0 + c];
        }
        for (long r = 0; r < rows; r++) {
            const float *g = dz + r * C + c0;
            const float *x = a + r * C + c0;
            for (int c = 0; c < cn; c++) {
                float xh = (x[c] - mu[c]) * is[c];
                s[c] += g[c];
                q[c] += (double)(g[c] * xh);
            }
        }
        for (int c = 0; c < cn; c++) {
            sums[c0 + c] += s[c];
            sums[C + c0 + c] += q[c];
        }
    }
}

STL_HOT
void bn_backward(const float *dz, const float *a, long rows, int C, const float *mean,
                 const float *invstd, const float *scale, const float *s1, const float *s2,
                 double count, float *da, double *dsum) {
    float k[256], m1[256], m2[256], mu[256], is[256];
    double ds[256];
    for (int c0 = 0; c0 < C; c0 += 256) {
        int cn = C - c0 < 256 ? C - c0 : 256;
        for (int c = 0; c < cn; c++) {
            k[c] = scale[c0 + c] * invstd[c0 + c];
            m1[c] = (float)(s1[c0 + c] / count);
            m2[c] = (float)(s2[c0 + c] / count);
            mu[c] = mean[c0 + c];
            is[c] = invstd[c0 + c];
            ds[c] = 0.0;
        }
        for (long r0 = 0; r0 < rows; r0 += 32) { /* float runs of 32 rows into double */
            long r1 = rows - r0 < 32 ? rows : r0 + 32;
            float fs[256];
            for (int c = 0; c < cn; c++) fs[c] = 0.0f;
            for (long r = r0; r < r1; r++) {
                const float *g = dz + r * C + c0;
                const float *x = a + r * C + c0;
                float *d = da + r * C + c0;
                for (int c = 0; c < cn; c++) {
                    float xh = (x[c] - mu[c]) * is[c];
                    float v = k[c] * (g[c] - m1[c] - xh * m2[c]);
                    d[c] = v;
                    fs[c] += v;
                }
            }
            for (int c = 0; c < cn; c++) ds[c] += fs[c];
        }
        if (dsum)
            for (int c = 0; c < cn; c++) dsum[c0 + c] += ds[c];
    }
}

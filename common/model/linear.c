/* linear.c — y = x w + b and its gradients via cblas_sgemm (see linear.h). */
#pragma GCC optimize("O3")
#include "model/linear.h"

#include <cblas.h>
#include <string.h>

void linear_forward(const float *x, long rows, int K, int N, const float *w,
                    const float *b, float *y) {
    if (rows <= 0) return;
    if (b) {
        for (long r = 0; r < rows; r++) memcpy(y + r * N, b, sizeof(float) * (size_t)N);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, N, K, 1.0f, x, K, w, N,
                b ? 1.0f : 0.0f, y, N);
}

void linear_backward_params(const float *x, const float *dy, long rows, int K, int N,
                            float *dw, float *db, int accumulate) {
    if (rows <= 0) {
        if (!accumulate) {
            memset(dw, 0, sizeof(float) * (size_t)K * N);
            if (db) memset(db, 0, sizeof(float) * (size_t)N);
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, (int)rows, 1.0f, x, K, dy, N,
                accumulate ? 1.0f : 0.0f, dw, N);
    if (db) {
        if (!accumulate) memset(db, 0, sizeof(float) * (size_t)N);
        for (long r = 0; r < rows; r++) {
            const float *d = dy + r * N;
            for (int n = 0; n < N; n++) db[n] += d[n];
        }
    }
}

void linear_backward_input(const float *dy, long rows, int K, int N, const float *w,
                           float *dx, int accumulate) {
    if (rows <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, K, N, 1.0f, dy, N, w, N,
                accumulate ? 1.0f : 0.0f, dx, K);
}

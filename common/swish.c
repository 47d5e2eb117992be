/* swish.c — swish forward and backward (see swish.h). */
#pragma GCC optimize("O3")
#include "swish.h"

#include "simd.h"

STL_HOT
void swish_forward(const float *z, long n, float *h) {
    for (long i = 0; i < n; i++) h[i] = z[i] * simd_sigmoidf(z[i]);
}

STL_HOT
void swish_backward(const float *dh, const float *z, long n, float *dz) {
    for (long i = 0; i < n; i++) {
        float s = simd_sigmoidf(z[i]);
        dz[i] = dh[i] * (s + z[i] * s * (1.0f - s));
    }
}

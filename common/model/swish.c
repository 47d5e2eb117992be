/* swish.c — swish forward and backward (see swish.h). */
#pragma GCC optimize("O3")
#include "model/swish.h"

#include "model/simd.h"

STL_KERNEL(swish_forward,
           (const float *z, long n, float *h),
           (z, n, h)) {
    for (long i = 0; i < n; i++) h[i] = z[i] * simd_sigmoidf(z[i]);
}

STL_KERNEL(swish_backward,
           (const float *dh, const float *z, long n, float *dz),
           (dh, z, n, dz)) {
    for (long i = 0; i < n; i++) {
        float s = simd_sigmoidf(z[i]);
        dz[i] = dh[i] * (s + z[i] * s * (1.0f - s));
    }
}

/* swish.c — swish forward and backward (see swish.h), the formulas of
 * gpu_math.h. */
#pragma GCC optimize("O3")
#include "model/swish.h"

#include "model/gpu_math.h"
#include "model/simd.h"

STL_KERNEL(swish_forward,
           (const float *z, long n, float *h),
           (z, n, h)) {
    for (long i = 0; i < n; i++) h[i] = gm_swish(z[i]);
}

STL_KERNEL(swish_backward,
           (const float *dh, const float *z, long n, float *dz),
           (dh, z, n, dz)) {
    for (long i = 0; i < n; i++) dz[i] = dh[i] * gm_swish_grad(z[i]);
}

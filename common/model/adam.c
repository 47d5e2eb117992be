/* adam.c — optax-compatible Adam (see adam.h), the per-element step of
 * gpu_math.h. */
#pragma GCC optimize("O3", "no-math-errno")
#include "model/adam.h"

#include "model/gpu_math.h"
#include "model/simd.h"

STL_KERNEL(adam_update,
           (float *p, const float *g, float *mu, float *nu, size_t n, float lr, float b1,
            float b2, float eps, int64_t count),
           (p, g, mu, nu, n, lr, b1, b2, eps, count)) {
    float c1 = gm_adam_corr(b1, count), c2 = gm_adam_corr(b2, count);
    for (size_t i = 0; i < n; i++) gm_adam_step(&p[i], g[i], &mu[i], &nu[i], lr, b1, b2, eps, c1, c2);
}

/* adam.c — optax-compatible Adam (see adam.h). */
#pragma GCC optimize("O3", "no-math-errno")
#include "model/adam.h"

#include <math.h>

#include "model/simd.h"

STL_KERNEL(adam_update,
           (float *p, const float *g, float *mu, float *nu, size_t n, float lr, float b1,
            float b2, float eps, int64_t count),
           (p, g, mu, nu, n, lr, b1, b2, eps, count)) {
    float c1 = 1.0f - powf(b1, (float)count), c2 = 1.0f - powf(b2, (float)count);
    float nlr = -lr;
    for (size_t i = 0; i < n; i++) {
        float m = b1 * mu[i] + (1.0f - b1) * g[i];
        float v = b2 * nu[i] + (1.0f - b2) * (g[i] * g[i]);
        mu[i] = m;
        nu[i] = v;
        float u = (m / c1) / (sqrtf(v / c2) + eps);
        p[i] = p[i] + nlr * u;
    }
}

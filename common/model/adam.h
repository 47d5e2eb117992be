/* adam.h — the Adam update exactly as optax.adam (eps_root 0), in float32:
 *   mu = b1 mu + (1 - b1) g;  nu = b2 nu + (1 - b2) g^2
 *   u  = (mu / (1 - b1^count)) / (sqrt(nu / (1 - b2^count)) + eps)
 *   p  = p + (-lr) u
 * with count the 1-based step number (optax's incremented count).
 */
#ifndef STL_ADAM_H
#define STL_ADAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void adam_update(float *p, const float *g, float *mu, float *nu, size_t n, float lr, float b1,
                 float b2, float eps, int64_t count);

#ifdef __cplusplus
}
#endif

#endif

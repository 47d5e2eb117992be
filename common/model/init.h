/* init.h — Flax's default initialisers for the model's kernels.
 *
 * LeCun normal as Flax (variance_scaling(1, "fan_in", "truncated_normal")):
 * a standard normal truncated to [-2, 2] (draws outside are redrawn), times
 * sqrt(1 / fan_in) / 0.87962566103423978 (the truncated distribution's
 * standard deviation, so the variance is 1 / fan_in). Draws come from rng.h.
 */
#ifndef STL_INIT_H
#define STL_INIT_H

#include <stddef.h>

#include "base/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

void init_lecun_normal(rng_state *r, float *w, size_t n, int fan_in);

#ifdef __cplusplus
}
#endif

#endif

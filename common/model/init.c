/* init.c — truncated LeCun normal initialisation (see init.h). */
#include "model/init.h"

#include <math.h>

void init_lecun_normal(rng_state *r, float *w, size_t n, int fan_in) {
    double sd = sqrt(1.0 / fan_in) / 0.87962566103423978;
    for (size_t i = 0; i < n; i++) {
        double z;
        do {
            z = rng_normal(r);
        } while (z < -2.0 || z > 2.0);
        w[i] = (float)(z * sd);
    }
}

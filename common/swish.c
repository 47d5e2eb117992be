/* swish.c — swish forward and backward (see swish.h). */
#include "swish.h"

#include <math.h>

void swish_forward(const float *z, long n, float *h) {
    for (long i = 0; i < n; i++) h[i] = z[i] / (1.0f + expf(-z[i]));
}

void swish_backward(const float *dh, const float *z, long n, float *dz) {
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-z[i]));
        dz[i] = dh[i] * (s + z[i] * s * (1.0f - s));
    }
}

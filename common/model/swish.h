/* swish.h — swish(z) = z * sigmoid(z), forward and backward, elementwise. */
#ifndef STL_SWISH_H
#define STL_SWISH_H

#ifdef __cplusplus
extern "C" {
#endif

void swish_forward(const float *z, long n, float *h);
/* dz = dh * swish'(z), swish'(z) = s + z s (1 - s), s = sigmoid(z). */
void swish_backward(const float *dh, const float *z, long n, float *dz);

#ifdef __cplusplus
}
#endif

#endif

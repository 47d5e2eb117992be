/* bn_swish.h — BatchNorm followed by swish, fused: the pair every block
 * applies twice, computed in one pass over memory each way.
 *
 * Forward: h = swish((a - mean) * invstd * scale). The BN output z is not
 * stored: the backward pass recomputes it from a. Backward: from dh, dz =
 * dh * swish'(z) (written in place of dh) and the BatchNorm partial sums
 * sums[c] += sum dz, sums[C + c] += sum dz * xhat (batchnorm.h's
 * bn_backward then turns dz into da).
 */
#ifndef STL_BN_SWISH_H
#define STL_BN_SWISH_H

#ifdef __cplusplus
extern "C" {
#endif

void bn_swish_forward(const float *a, long rows, int C, const float *mean, const float *invstd,
                      const float *scale, float *h);
void bn_swish_backward(float *dh, const float *a, long rows, int C, const float *mean,
                       const float *invstd, const float *scale, double *sums);

#ifdef __cplusplus
}
#endif

#endif

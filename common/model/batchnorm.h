/* batchnorm.h — BatchNorm over NHWC rows (scale only, no bias), forward and
 * backward, split so that the batch reductions can be summed across threads
 * and ranks.
 *
 * Training: z = (a - mean) * invstd * scale with the batch mean and biased
 * variance (var = E[a^2] - mean^2, clamped at 0, as Flax), invstd =
 * 1 / sqrt(var + eps). The running averages move as
 * run = momentum * run + (1 - momentum) * batch. Backward, with xhat =
 * (a - mean) * invstd, S1 = sum dz, S2 = sum dz xhat over the whole (global)
 * batch of `count` rows: da = scale * invstd * (dz - S1 / count -
 * xhat * S2 / count), dscale = S2. The *_sums functions accumulate partial
 * sums of a row range in double (sums[0..C) and sums[C..2C)).
 */
#ifndef STL_BATCHNORM_H
#define STL_BATCHNORM_H

#ifdef __cplusplus
extern "C" {
#endif

/* sums[c] += sum a[., c], sums[C + c] += sum a[., c]^2. */
void bn_sums(const float *a, long rows, int C, double *sums);
/* mean, biased var and invstd from the sums of count rows. */
void bn_stats(const double *sums, double count, int C, float eps, float *mean, float *var,
              float *invstd);
/* invstd from a variance (inference with running averages). */
void bn_invstd(const float *var, int C, float eps, float *invstd);
void bn_running_update(float *run_mean, float *run_var, const float *mean, const float *var,
                       int C, float momentum);
/* z = (a - mean) * (invstd * scale): the per-channel factor first, once. */
void bn_forward(const float *a, long rows, int C, const float *mean, const float *invstd,
                const float *scale, float *z);
/* y += (a - mean) * (invstd * scale) + bias (the block's BN and residual add;
 * bias may be NULL). */
void bn_forward_add(const float *a, long rows, int C, const float *mean, const float *invstd,
                    const float *scale, const float *bias, float *y);
/* sums[c] += sum dz, sums[C + c] += sum dz * xhat. */
void bn_backward_sums(const float *dz, const float *a, long rows, int C, const float *mean,
                      const float *invstd, double *sums);
/* da from dz and the global sums s1 = sum dz, s2 = sum dz xhat over count
 * rows; dsum (may be NULL) += sum da per channel (the gradient of a bias
 * added before the BatchNorm). */
void bn_backward(const float *dz, const float *a, long rows, int C, const float *mean,
                 const float *invstd, const float *scale, const float *s1, const float *s2,
                 double count, float *da, double *dsum);

#ifdef __cplusplus
}
#endif

#endif

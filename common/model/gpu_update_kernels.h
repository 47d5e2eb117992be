/* gpu_update_kernels.h — the per-thread bodies of the end of a GPU training
 * step, the part after the backward pass that keeps the model on the
 * device: the loss moved into the slot after the gradients (so one
 * all-reduce carries both), the finiteness check of gradients and loss,
 * and Adam gated by that check, its learning rate and bias corrections
 * read from device memory. Reading them from memory, not from kernel
 * arguments, is what lets one captured CUDA graph serve every step while
 * the step count and learning-rate schedule move on. `__host__ __device__`
 * (GM_FN) like gpu_kernels.h, so the host backend runs the same arithmetic
 * and tests/unit/test_gpu_update_kernels.c checks it against the CPU path.
 *
 * The finiteness check is a fixed grid without atomics: partial j is the
 * sum of x * 0 over block j of R elements (0 when every element is finite,
 * NaN when one is NaN or infinite: NaN * 0 and inf * 0 are NaN, and NaN
 * survives any sum), and the flag is 1 when the block-order sum of the
 * partials is not 0. The result cannot depend on the order blocks run in.
 */
#ifndef STL_GPU_UPDATE_KERNELS_H
#define STL_GPU_UPDATE_KERNELS_H

#include "model/gpu_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The hyperparameters of one Adam step, as the device reads them. */
enum { GM_HYPER_LR = 0, GM_HYPER_C1 = 1, GM_HYPER_C2 = 2, GM_HYPER_N = 3 };

/* The step's loss (double, as the loss kernel sums it) as the float the
 * all-reduce carries: the rounding model_train_step_grads applies. */
GM_FN float gm_loss_slot(const double *loss) { return (float)*loss; }

/* Blocks of R elements over n. */
GM_FN long gm_finite_blocks(long n, long R) { return (n + R - 1) / R; }

/* Partial j: 0 when x[j R .. min(n, (j + 1) R)) are all finite, else NaN. */
GM_FN float gm_finite_partial_at(const float *x, long n, long R, long j) {
    float acc = 0.0f;
    long end = (j + 1) * R < n ? (j + 1) * R : n;
    for (long i = j * R; i < end; i++) acc += x[i] * 0.0f;
    return acc;
}

/* 1 when a partial reports a non-finite element, else 0. */
GM_FN int gm_finite_flag(const float *p, long nblk) {
    float acc = 0.0f;
    for (long j = 0; j < nblk; j++) acc += p[j];
    return !(acc == 0.0f);
}

/* Adam on element i unless *skip: hyper holds lr, c1, c2 (GM_HYPER_*). */
GM_FN void gm_adam_gated_at(float *p, const float *g, float *mu, float *nu, long i,
                            const float *hyper, const int *skip, float b1, float b2, float eps) {
    if (*skip) return;
    gm_adam_step(&p[i], g[i], &mu[i], &nu[i], hyper[GM_HYPER_LR], b1, b2, eps, hyper[GM_HYPER_C1],
                 hyper[GM_HYPER_C2]);
}

#ifdef __cplusplus
}
#endif

#endif

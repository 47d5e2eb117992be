/* tower_cpu.h — one tower call's forward and backward passes on the CPU,
 * run as fork-join phases on a par_pool (or serially), with the scratch
 * they share. The geometry and activations are tower.h's; a GPU twin of
 * this file mirrors its phases one by one.
 */
#ifndef STL_TOWER_CPU_H
#define STL_TOWER_CPU_H

#include <stddef.h>

#include "base/error.h"
#include "base/par.h"
#include "model/tower.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shared scratch of a forward / backward pass for nb images. */
typedef struct {
    float *col;         /* per thread: TOWER_CPU_COL_FLOATS of im2col rows */
    float *dy, *dh;     /* backward only: (nb * px_out, f) */
    float *da;          /* backward only, per thread: TOWER_CPU_COL_FLOATS */
    float *dcol;        /* backward only */
    float *dp;          /* backward only: gradient w.r.t. a block input */
    float *dfeat;       /* backward only: (nb, feat_dim) */
    /* per thread: partial BN sums (TOWER_CPU_PSUM_STRIDE doubles) and weight grads */
    double *psum;       /* threads * TOWER_CPU_PSUM_STRIDE */
    float *pgrad;       /* threads * 2 * max_kn */
    int threads;
} tower_cpu_scratch;

/* A thread's partial sums of one phase: sum and sum of squares (or the
 * backward pass's two sums) per channel, and in the backward pass a third
 * run of C for a pre-BatchNorm conv's bias gradient: 3 per channel. */
enum { TOWER_CPU_PSUM_STRIDE = 3 * MODEL_MAX_CHANNELS };
/* Per-thread im2col rows (floats): at least one row of the largest kdim. */
enum { TOWER_CPU_COL_FLOATS = 32768 };

/* Floats / doubles for scratch (backward 0: forward only). */
size_t tower_cpu_scratch_floats(const tower_shape *s, int nb, int threads, int backward);
void tower_cpu_scratch_carve(const tower_shape *s, int nb, int threads, int backward,
                             float *base, double *psum, tower_cpu_scratch *sc);

/* Forward of `tower` on a->nb images a->x0. train 1: batch statistics (summed
 * through coll when set), running averages in stats updated; train 0: the
 * running averages. pool NULL: serial. Fills a->emb. */
int tower_cpu_forward(const tower_shape *s, const float *params, float *stats, int tower,
                      int train, tower_acts *a, tower_cpu_scratch *sc, par_pool *pool,
                      const tower_collective *coll, stl_error *err);
/* Backward of a training forward: demb (nb, out) -> grads (accumulated). */
int tower_cpu_backward(const tower_shape *s, const float *params, float *grads, int tower,
                       tower_acts *a, const float *demb, tower_cpu_scratch *sc, par_pool *pool,
                       const tower_collective *coll, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* tower.h — one tower of the model (docs/model.md) over a batch, the part
 * every backend shares: the layer geometry with each parameter's offset, and
 * the activation buffers of one tower call carved from one allocation (host
 * or device memory alike). The passes themselves are per backend:
 * tower_cpu.h for the CPU. Internal to the model; its public face is model.h.
 *
 * A tower call keeps, per block, the tensors its backward pass needs:
 * r (the residual conv output: the block output r + BN_2(a3) is pooled
 * on the fly and never stored),
 * a1, a2, a3 (the outputs of the branch's three convs, before their
 * BatchNorms; the swish outputs between are recomputed from them), the
 * pooled output, and each BatchNorm's mean / var / invstd; then the
 * global mean `feat` and the embedding. Buffers are carved from one
 * allocation owned by the workspace.
 */
#ifndef STL_TOWER_H
#define STL_TOWER_H

#include <stddef.h>
#include <stdint.h>

#include "model/conv.h"
#include "model/model.h"
#include "model/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int h, w, cin, f;   /* block input size and filters */
    conv_geom g;        /* the 3x3 stride-2 convs */
    int hp, wp;         /* pooled output */
    long px_out;        /* g.ho * g.wo: conv output pixels per image */
    long px_pool;       /* hp * wp */
    /* offsets into params / grads, per tower */
    size_t wr[MODEL_N_TOWERS], br[MODEL_N_TOWERS], w1[MODEL_N_TOWERS], b1[MODEL_N_TOWERS],
        w2[MODEL_N_TOWERS], b2[MODEL_N_TOWERS], w3[MODEL_N_TOWERS], b3[MODEL_N_TOWERS];
    size_t scale[MODEL_N_TOWERS][3];
    /* offsets into stats */
    size_t mean[MODEL_N_TOWERS][3], var[MODEL_N_TOWERS][3];
} tower_block;

typedef struct {
    int size, out;      /* S and output size */
    tower_block blk[MODEL_N_BLOCKS];
    int feat_dim;       /* filters of the last block */
    long feat_hw;       /* pixels per image after the last pool */
    size_t wd[MODEL_N_TOWERS], bd[MODEL_N_TOWERS];
    long max_rows_k;    /* max over blocks of px_out * kdim (per image) */
    long max_rows_f;    /* max over blocks of px_out * f */
    long max_in;        /* max over blocks of h * w * cin */
    int max_kn;         /* max over layers of K * N + N */
} tower_shape;

typedef struct {
    int nb;             /* images this set holds */
    const uint8_t *x0;  /* input images of the current call: (nb, S, S, 3) uint8 */
    float *r[MODEL_N_BLOCKS], *a1[MODEL_N_BLOCKS], *a2[MODEL_N_BLOCKS], *a3[MODEL_N_BLOCKS],
        *pooled[MODEL_N_BLOCKS];
    float *mean[MODEL_N_BLOCKS][3], *var[MODEL_N_BLOCKS][3], *invstd[MODEL_N_BLOCKS][3];
    float *feat;        /* (nb, feat_dim) */
    float *emb;         /* (nb, out) */
} tower_acts;

/* Buffers carved from one allocation start at 64-byte boundaries: float
 * counts are rounded up to 16. */
static inline size_t tower_align(size_t n) { return (n + 15) & ~(size_t)15; }

int tower_shape_init(tower_shape *s, const param_table *t, int size, stl_error *err);
/* Floats needed for an activation set of nb images; carve one from base. */
size_t tower_acts_size(const tower_shape *s, int nb);
void tower_acts_carve(const tower_shape *s, int nb, float *base, tower_acts *a);
/* Where a BatchNorm's sums go across ranks (fn NULL: one process): host
 * buffers through fn; a GPU tower prefers dev_fn (device buffers, no trip
 * through the host) where it is set, the job's `ranks` giving the global
 * row count without an all-reduce of its own. */
typedef struct {
    model_allreduce_fn fn;
    void *ctx;
    model_allreduce_device_fn dev_fn;
    model_wait_device_fn dev_wait;
    void *dev_ctx;
    int ranks;
} tower_collective;

/* Whether sums cross ranks at all. */
static inline int tower_collective_active(const tower_collective *c) {
    return c && (c->fn || c->dev_fn);
}

#ifdef __cplusplus
}
#endif

#endif

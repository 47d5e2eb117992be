/* tower_gpu.h — one tower call's forward and backward passes as the GPU runs
 * them: the same phases as tower_cpu.h, each a short sequence of operations
 * of a gpu_backend (gpu_backend.h), so the same code drives the device and,
 * in the tests, the host backend. The geometry and the activation layout are
 * tower.h's (carved from backend memory).
 *
 * What differs from the CPU path, by design:
 * - the 3x3 convolutions of blocks 1-3 read KRSC weights (gpu_layout.h,
 *   buffer `wk`) and write their filter gradients as KRSC (buffer `gk`),
 *   which the caller repacks to HWIO once a step; both buffers have their
 *   own layout (tower_gpu_krsc), every kernel at a 256-byte boundary, as
 *   cuDNN's vectorised kernels want (the parameter buffer's offsets are not
 *   aligned for every output size);
 *   block 0's convolution reads the uint8 pixels with the HWIO kernel and
 *   its weight gradient is a fixed-grid sum (gpu_step_kernels.h);
 * - reductions (BatchNorm sums, bias gradients) are partial sums over row
 *   blocks of TOWER_GPU_ROWS rows, then a fixed-order total: no atomics, so
 *   a run is deterministic whatever order the GPU runs the blocks in;
 * - with a collective, the sums cross ranks through the host (download,
 *   the collective, upload), as floats, exactly as tower_cpu.c's do.
 */
#ifndef STL_TOWER_GPU_H
#define STL_TOWER_GPU_H

#include "base/error.h"
#include "model/gpu_backend.h"
#include "model/tower.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows per partial sum of a reduction. */
enum { TOWER_GPU_ROWS = 256 };

/* Where blocks 1-3's 3x3 kernels (residual wr, branch w1) sit in the KRSC
 * buffers, in floats; `floats` the buffers' size. Block 0's entries: 0. */
typedef struct {
    size_t wr[MODEL_N_TOWERS][MODEL_N_BLOCKS], w1[MODEL_N_TOWERS][MODEL_N_BLOCKS];
    size_t floats;
} tower_gpu_krsc;
void tower_gpu_krsc_layout(const tower_shape *s, tower_gpu_krsc *l);

/* A pass's scratch for nb images, in backend memory (host_sums: host). */
typedef struct {
    int nb;
    void *conv[MODEL_N_BLOCKS];   /* planned 3x3 convolutions (block 0: none) */
    float *h, *dy, *dh, *da;      /* (nb * max_rows_f) each; dy.. backward only */
    float *dp;                    /* (nb * max_in): gradient of a block's input */
    float *dfeat;                 /* (nb, feat_dim) */
    double *p1, *p2;              /* partial sums: (blocks, channels) */
    double *pw;                   /* block 0's weight-gradient partials */
    float *sums;                  /* 2 * MODEL_MAX_CHANNELS: what crosses ranks */
    float *mul;                   /* MODEL_MAX_CHANNELS */
    void *mem;                    /* the one allocation the buffers are carved from */
    tower_gpu_krsc krsc;          /* the KRSC buffers' layout */
    float host_sums[2 * MODEL_MAX_CHANNELS + 1];
} tower_gpu_scratch;

/* Allocates scratch for nb images (backward 0: forward only) and plans the
 * convolutions; 0 or -1 with err. */
int tower_gpu_scratch_create(const gpu_backend *be, const tower_shape *s, int nb, int backward,
                             tower_gpu_scratch *sc, stl_error *err);
void tower_gpu_scratch_free(const gpu_backend *be, tower_gpu_scratch *sc);

/* Forward of `tower` on a->nb images at a->x0 (backend memory). params: the
 * parameters, model-file layout; wk: blocks 1-3's 3x3 kernels as KRSC, laid
 * out as sc->krsc says; stats: the BatchNorm running averages (train 1
 * updates them: batch statistics, summed through coll when set; train 0
 * reads them). Fills a->emb. */
int tower_gpu_forward(const gpu_backend *be, const tower_shape *s, const float *params,
                      const float *wk, float *stats, int tower, int train, tower_acts *a,
                      tower_gpu_scratch *sc, const tower_collective *coll, stl_error *err);

/* Backward of a training forward: demb (nb, out) -> gradients accumulated
 * into grads (model-file layout) except blocks 1-3's 3x3 kernels, whose
 * gradients accumulate as KRSC into gk (laid out as sc->krsc says). */
int tower_gpu_backward(const gpu_backend *be, const tower_shape *s, const float *params,
                       const float *wk, float *grads, float *gk, int tower, tower_acts *a,
                       const float *demb, tower_gpu_scratch *sc, const tower_collective *coll,
                       stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

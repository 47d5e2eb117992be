/* model_gpu.h — the GPU backend of the model's workspace: a training step's
 * three tower calls, the triplet loss and three backward passes, and
 * embedding, through a gpu_backend (gpu_backend.h): the device in the CUDA
 * build, the host backend in the tests. It owns the backend memory of a
 * step: the parameters, running averages and gradients, the KRSC copies of
 * the 3x3 kernels and their gradients, three activation sets, the images,
 * the loss terms and the pass scratch, all allocated here and never in a
 * step. Internal to the model; its public face is model.h, whose
 * model_train_step_grads and model_embed contracts it keeps: the gradients
 * come back in m->grads (local to the rank), the running averages in
 * m->stats, and Adam runs where model_adam_step runs. Its whole step
 * (model_train_step) keeps the model in backend memory between steps and
 * runs the all-reduce, the finiteness check and Adam there too.
 *
 * Embedding runs at the workspace's batch whatever n is (the rest of the
 * batch zero images), so an image's embedding does not depend on which
 * images share its call.
 */
#ifndef STL_MODEL_GPU_H
#define STL_MODEL_GPU_H

#include <stdint.h>

#include "base/error.h"
#include "model/gpu_backend.h"
#include "model/params.h"
#include "model/tower.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct model_gpu model_gpu;

/* A backend for `batch` images of the shape s and the parameter table t
 * (both borrowed: they must outlive it), computing through be (copied). */
model_gpu *model_gpu_create(const gpu_backend *be, const tower_shape *s, const param_table *t,
                            int batch, stl_error *err);
void model_gpu_free(model_gpu *g);

/* model_train_step_grads (model.h) through the backend. */
int model_gpu_train_step(model_gpu *g, model_state *m, const uint8_t *const in[3], float reg,
                         int global_batch, const tower_collective *coll, float *loss_out,
                         float *const emb_out[3], stl_error *err);

/* model_train_step (model.h) through the backend, the model kept in its
 * memory (images from in, or gathered from the kept images by idx): m's parameters, moments and running averages are uploaded when
 * the backend does not hold them after m->step steps, then stay; lr and
 * the bias corrections go in as memory the Adam kernel reads, so one
 * captured graph serves every step. poison: the test hook's NaN into one
 * gradient element before the all-reduce. *taken 0: a non-finite loss or
 * gradient (the gradients are then in m->grads); else m->step++. */
int model_gpu_train_step_full(model_gpu *g, model_state *m, const uint8_t *const in[3],
                              const uint32_t *const idx[3], float reg, int global_batch, float lr,
                              const tower_collective *coll, int poison, int *taken,
                              float *loss_out, stl_error *err);
/* model_ws_keep_images (model.h): the images in backend memory, when n of
 * them fit in its free memory less a margin (256 MiB + 5%); 1 kept, 0 not,
 * -1 error. Steps then pass idx (pool indices, B per role) instead of in. */
int model_gpu_keep_images(model_gpu *g, size_t n, model_pixels_fn pixels, void *ctx,
                          model_keep_info *info, stl_error *err);
/* model_ws_stream_images / model_ws_stage_batch (model.h): `slots` batches
 * of backend memory (3 B images each) that batches are staged into on the
 * backend's copy stream, from any thread; the step then gathers them by
 * index like kept images. */
int model_gpu_stream(model_gpu *g, int slots, stl_error *err);
int model_gpu_stage(model_gpu *g, int slot, const uint8_t *const in[3], uint32_t *const idx[3],
                    stl_error *err);
/* Host memory the backend uploads from at full speed (pinned). */
void *model_gpu_host_alloc(model_gpu *g, size_t bytes, stl_error *err);
void model_gpu_host_free(model_gpu *g, void *p);
/* The backend's copy of m (parameters, moments, running averages, the last
 * gradients) into m's host arrays; nothing when it holds none of m's. */
int model_gpu_sync(model_gpu *g, model_state *m, stl_error *err);
/* Forget the held copy: the next step uploads m again. */
void model_gpu_invalidate(model_gpu *g);

/* model_embed (model.h) through the backend: n <= batch images; from the
 * backend's own copy where it holds m's current parameters. */
int model_gpu_embed(model_gpu *g, const model_state *m, int tower, const uint8_t *x, int n,
                    float *out, stl_error *err);

/* The activations of the last step's tower call i (0 scene, 1 positives, 2
 * negatives; embedding: 0), in backend memory: for the op-by-op checks. */
const tower_acts *model_gpu_acts(const model_gpu *g, int i);

#ifdef __cplusplus
}
#endif

#endif

/* model_cpu.h — the CPU backend of the model's workspace: what model.c calls
 * when a workspace computes on the CPU. It owns the three activation sets of
 * a training step, the shared scratch of a pass, the worker pool, and
 * per-thread single-image buffers for inference, all allocated here and
 * never in a step. A GPU backend offers the same calls. Internal to the
 * model; its public face is model.h.
 */
#ifndef STL_MODEL_CPU_H
#define STL_MODEL_CPU_H

#include <stdint.h>

#include "base/error.h"
#include "model/params.h"
#include "model/tower.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct model_cpu model_cpu;

/* A backend for `batch` images of the shape s (borrowed: it must outlive the
 * backend), computing with threads_resolve(0, 1) threads. */
model_cpu *model_cpu_create(const tower_shape *s, int batch, stl_error *err);
void model_cpu_free(model_cpu *c);

/* Threads (n <= 0: threads_resolve(0, 1)); reallocates the per-thread scratch. */
int model_cpu_set_threads(model_cpu *c, int n, stl_error *err);
int model_cpu_threads(const model_cpu *c);

/* model_train_step_grads (model.h) on the CPU: in[3] the scene, positive and
 * negative images, emb_out[3] optional copies of their embeddings. */
int model_cpu_train_step(model_cpu *c, model_state *m, const uint8_t *const in[3], float reg,
                         int global_batch, const tower_collective *coll, float *loss_out,
                         float *const emb_out[3], stl_error *err);

/* model_embed (model.h) on the CPU: n <= batch images, one per thread at a
 * time. */
int model_cpu_embed(model_cpu *c, const model_state *m, int tower, const uint8_t *x, int n,
                    float *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

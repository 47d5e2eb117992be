/* model.h — the two-tower CNN of docs/model.md: init, training step, Adam,
 * and embedding (inference), on the CPU or (CUDA build) a GPU.
 *
 * The parameters, gradients, Adam moments and BatchNorm running averages live
 * in a model_state (params.h), laid out by its param_table. Everything a step
 * needs besides that (activations, im2col buffers, per-channel statistics)
 * lives in a model_ws, created once for a (batch, image size) pair: a step
 * allocates nothing. Images are NHWC uint8 (B, S, S, 3), as the crops hold
 * them, S a multiple of 32; the model normalises them as it reads them
 * (pixel.h), so a batch moves at one byte per channel.
 *
 * Threads: a workspace computes with `threads` threads (model_ws_set_threads;
 * 0 resolves as base/threads.h says), its own fork-join pool (par.h). Each
 * layer's rows are split between them; every thread runs its rows' matrix
 * products through OpenBLAS cblas_sgemm and its elementwise work itself.
 * OpenBLAS is set to one thread (openblas_set_num_threads(1), process-wide),
 * so OpenBLAS starts no threads of its own and the process uses `threads`
 * cores, never more: stages map --threads to it. The same seed, inputs and
 * thread count give bit-identical results; embeddings are bit-identical for
 * any thread count.
 *
 * Data parallelism (MPI, one process per rank with B/N triplets each): set a
 * collective with model_ws_set_allreduce. Every BatchNorm then all-reduces its
 * per-channel sums (and the element count) in the forward pass and its
 * per-channel gradient sums in the backward pass ("synchronised BatchNorm"),
 * so N ranks compute the same step as one process with the whole batch. The
 * loss is divided by the global batch passed to the step. The parameter
 * gradients in m->grads stay local: the caller all-reduces them (one call
 * over m->grads, n_params floats) before model_adam_step.
 */
#ifndef STL_MODEL_H
#define STL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/device.h"
#include "base/error.h"
#include "model/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Filters per block, and the defaults of docs/model.md. */
enum { MODEL_FILTERS_0 = 16, MODEL_FILTERS_1 = 32, MODEL_FILTERS_2 = 64, MODEL_FILTERS_3 = 128 };
#define MODEL_FILTERS {MODEL_FILTERS_0, MODEL_FILTERS_1, MODEL_FILTERS_2, MODEL_FILTERS_3}
#define MODEL_DEFAULT_OUTPUT 64
#define MODEL_BN_EPS 1e-5f
#define MODEL_BN_MOMENTUM 0.99f
#define MODEL_ADAM_B1 0.9f
#define MODEL_ADAM_B2 0.999f
#define MODEL_ADAM_EPS 1e-8f

/* Allocates m (model_state_alloc) and initialises it as Flax does: conv and
 * dense kernels LeCun normal truncated at 2 sigma, biases 0, BatchNorm scale
 * 1, running mean 0 / var 1, step 0, Adam moments 0. Deterministic in seed. */
int model_init(model_state *m, int output_size, uint64_t seed, stl_error *err);

/* Only the random part of model_init, on an allocated state: redraws every
 * kernel from seed (tower by tower, tensor by tensor in table order). */
void model_init_params(model_state *m, uint64_t seed);

/* Per-(batch, size) scratch: created once, reused by every step. */
typedef struct model_ws model_ws;

/* batch: the most images one tower call sees (a training step's B, or the
 * largest embed batch); size: S, a multiple of 32; device: where the
 * workspace computes, as device_resolve gave it. DEVICE_CUDA computes on the
 * current GPU (model_gpu.h: the same contracts, results equal to the CPU's
 * up to rounding, embeddings always at the full batch) in the CUDA build,
 * and is an error naming the missing CUDA path in the CPU build. */
model_ws *model_ws_create(const param_table *t, int batch, int size, device_kind device,
                          stl_error *err);

/* What the matrix products of a GPU workspace may round to: FLOAT32 (the
 * default: cuDNN's FMA math, cuBLAS's pedantic math, never TF32), or TF32
 * (cuDNN and cuBLAS may use TF32 tensor cores: products of operands
 * rounded to 10-bit mantissas, sums in float32; faster, no longer equal to
 * the CPU path within float32's budget). The CPU computes in float32
 * either way. */
typedef enum { MODEL_PRECISION_FLOAT32 = 0, MODEL_PRECISION_TF32 = 1 } model_precision;
const char *model_precision_name(model_precision p);
/* model_ws_create with a precision (model_ws_create: FLOAT32). */
model_ws *model_ws_create_precision(const param_table *t, int batch, int size, device_kind device,
                                    model_precision precision, stl_error *err);
device_kind model_ws_device(const model_ws *ws);
void model_ws_free(model_ws *ws);
int model_ws_batch(const model_ws *ws);
int model_ws_size(const model_ws *ws);

/* Threads for this workspace's computations (n <= 0: threads_resolve(0, 1));
 * (re)allocates the per-thread scratch, so call it before the steps. */
int model_ws_set_threads(model_ws *ws, int n, stl_error *err);
int model_ws_threads(const model_ws *ws);

/* Sums buf[0..n) across ranks in place; returns 0, or -1 on failure. */
typedef int (*model_allreduce_fn)(void *ctx, float *buf, size_t n);
/* fn NULL: single process (the default). */
void model_ws_set_allreduce(model_ws *ws, model_allreduce_fn fn, void *ctx);

/* Device collectives (a GPU workspace, NCCL: mpi/coll.h's device hooks):
 * allreduce sums n floats at device address dbuf across ranks in place,
 * enqueued on stream (a cudaStream_t) without waiting; wait returns when
 * the stream's work is done, or -1 on a collective error or timeout. Both
 * return 0 or -1 (the error already printed). */
typedef int (*model_allreduce_device_fn)(void *ctx, float *dbuf, size_t n, void *stream);
typedef int (*model_wait_device_fn)(void *ctx, void *stream);
/* With these set, a GPU workspace's BatchNorm sums and gradients cross ranks
 * on the device (and the whole step is one CUDA graph); ranks: the job's
 * rank count. Ignored by a CPU workspace. */
void model_ws_set_allreduce_device(model_ws *ws, model_allreduce_device_fn allreduce,
                                   model_wait_device_fn wait, void *ctx, int ranks);

/* One training step's forward and backward on B = model_ws_batch(ws) triplets
 * (scene, pos, neg each (B, S, S, 3) NHWC). Computes
 *   loss = (sum_b relu(1 + s_b.n_b - s_b.p_b)
 *           + reg * sum_{e in s,p,n} relu(||e|| - 1)) / global_batch
 * (global_batch = B in a single process), zeroes and fills m->grads with
 * d loss / d params (local: see the data-parallel note above), and updates the
 * running averages in m->stats (scene tower once; product tower twice:
 * positives first, then negatives). emb_* (B, output_size) may be NULL. Does
 * not touch m->params or m->step. */
int model_train_step_grads(model_state *m, model_ws *ws, const uint8_t *scene,
                           const uint8_t *pos, const uint8_t *neg, float reg,
                           int global_batch, float *loss_out, float *emb_scene,
                           float *emb_pos, float *emb_neg, stl_error *err);

/* The outcome of model_train_step. */
typedef struct {
    int taken;       /* 1: Adam ran and m->step moved on; 0: a non-finite loss or
                        gradient stopped the step (why names it; the parameters
                        and moments are unchanged) */
    float loss;      /* the global batch's loss, summed over the ranks */
    const char *why; /* taken 0: "the training loss is NaN", "non-finite gradient
                        of <tensor>", ... (static storage) */
} model_step_result;

/* A whole training step of this rank: model_train_step_grads, the
 * all-reduce of the gradients and of the loss through the workspace's
 * collective, the finiteness check and, when all is finite, Adam at lr
 * (model_adam_step). The STL_TEST_NAN_AT=STEP hook (base/testhook.h) puts a
 * NaN into one gradient element of step STEP before the all-reduce.
 * Returns 0 (r filled, the same on every rank) or -1 (err; abort the job).
 * A GPU workspace keeps the parameters, Adam moments and running averages
 * in device memory between steps (uploaded from m when it does not hold
 * them after m->step steps): m->step stays current, but m->params, adam_m,
 * adam_v, stats and grads are stale until model_ws_sync. A caller that
 * changes m itself between steps calls model_ws_invalidate. On the CPU both
 * are no-ops. */
int model_train_step(model_state *m, model_ws *ws, const uint8_t *scene, const uint8_t *pos,
                     const uint8_t *neg, float reg, int global_batch, float lr,
                     model_step_result *r, stl_error *err);

/* Image i's S*S*3 uint8 pixels. */
typedef const uint8_t *(*model_pixels_fn)(void *ctx, uint32_t i);
/* What model_ws_keep_images needed and found: the images' bytes and the
 * memory free before. */
typedef struct {
    size_t bytes, free;
} model_keep_info;
/* Keeps n images (pixels(ctx, i), i < n) in the workspace's memory, so
 * that steps name their images by index (model_train_step_kept) and a
 * step moves no pixels from the host: a GPU workspace keeps them when they
 * fit in the device's free memory (cudaMemGetInfo) less a margin (256 MiB
 * + 5%). Returns 1 (kept), 0 (not kept: a CPU workspace, images that do
 * not fit, or STL_GPU_POOL=0; the caller steps with pixels), or -1. */
int model_ws_keep_images(model_ws *ws, size_t n, model_pixels_fn pixels, void *ctx,
                         model_keep_info *info, stl_error *err);
/* The streamed alternative for images that are not kept: `slots` batches'
 * room (3 B images each) in the workspace's memory, which
 * model_ws_stage_batch fills from host memory on the device's copy stream
 * (pinned memory from model_ws_host_alloc copies at full speed). It may be
 * called from another thread (the loader's) while a step computes, for a
 * slot no step in progress reads: the upload overlaps the step. It sets
 * idx[role][j] to the index model_train_step_kept then takes. Returns 1
 * (streaming), 0 (a CPU workspace: step with pixels), or -1. */
int model_ws_stream_images(model_ws *ws, int slots, stl_error *err);
int model_ws_stage_batch(model_ws *ws, int slot, const uint8_t *scene, const uint8_t *pos,
                         const uint8_t *neg, uint32_t *scene_idx, uint32_t *pos_idx,
                         uint32_t *neg_idx, stl_error *err);
/* Host memory for batches to stage: pinned on a GPU workspace, plain on
 * the CPU; NULL with err when out of memory. */
void *model_ws_host_alloc(model_ws *ws, size_t bytes, stl_error *err);
void model_ws_host_free(model_ws *ws, void *p);

/* model_train_step on kept or staged images: scene, pos, neg are B image
 * indices each. Bit for bit the step with those images' pixels. */
int model_train_step_kept(model_state *m, model_ws *ws, const uint32_t *scene,
                          const uint32_t *pos, const uint32_t *neg, float reg, int global_batch,
                          float lr, model_step_result *r, stl_error *err);
int model_ws_sync(model_ws *ws, model_state *m, stl_error *err);
void model_ws_invalidate(model_ws *ws);

/* NULL when every gradient in m->grads is finite, else a phrase naming the
 * first tensor with a NaN or infinity (static storage). */
const char *model_first_nonfinite_grad(const model_state *m);

/* Adam as optax.adam(lr) (b1 0.9, b2 0.999, eps 1e-8, eps_root 0) on
 * m->params from m->grads, bias-corrected with count = m->step + 1; then
 * m->step++. */
void model_adam_step(model_state *m, float lr);

/* Inference (BatchNorm with running averages) of one tower
 * (MODEL_TOWER_SCENE or MODEL_TOWER_PRODUCT) on n <= model_ws_batch(ws) images
 * x (n, S, S, 3); out (n, output_size). Each image is computed on its own, so
 * a row is bit-identical whatever n and whichever other images share the
 * call. */
int model_embed(const model_state *m, model_ws *ws, int tower, const uint8_t *x,
                int n, float *out, stl_error *err);

/* dst[i] = src[i] / 255 - 0.5 (the model's pixel normalisation, pixel.h),
 * for callers that need the float images themselves. */
void model_normalize_pixels(const uint8_t *src, size_t n, float *dst);

/* Floating-point operations (multiply-adds counted as 2) of the matrix work
 * of one training step (3 tower forwards + backwards) and of one image's
 * forward pass: for GFLOP/s figures. */
double model_flops_train_step(int batch, int size, int output_size);
double model_flops_forward_image(int size, int output_size);

#ifdef __cplusplus
}
#endif

#endif

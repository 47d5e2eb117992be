/* model.c — the public model API of model.h, the part every backend
 * shares: Flax-style initialisation, the workspace (its checks, the tower
 * geometry, and the backend that computes on the resolved device), optax
 * Adam on the host's parameters, the pixel normalisation and the FLOP counts.
 * What computes a step or an embedding is the backend's: model_cpu.c for
 * the CPU; model_gpu.c through the device's gpu_backend (gpu_backend_cuda.c)
 * for DEVICE_CUDA in the CUDA build.
 */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/testhook.h"
#include "model/gpu_backend.h"
#include "model/model_gpu.h"
#include "model/adam.h"
#include "model/init.h"
#include "model/model_cpu.h"
#include "model/pixel.h"
#include "model/tower.h"
#if STL_CUDA
#include "model/gpu_backend_cuda.h"
#endif

struct model_ws {
    tower_shape shape;
    param_table table;     /* a shallow copy: the sizes the GPU backend needs */
    int batch, size;
    device_kind device;
    tower_collective coll;
    model_cpu *cpu;        /* the backend of DEVICE_CPU */
    gpu_backend be;        /* DEVICE_CUDA: the device's operations */
    int have_be;           /* (the device's, to free) */
    model_gpu *gpu;        /* and the backend computing through them */
};

/* A test hook, not a feature (base/testhook.h's kind): with
 * STL_TEST_GPU_BACKEND=host a DEVICE_CPU workspace computes through the GPU
 * path's orchestration on the host backend (model_gpu.h), so the stage
 * tests run stl-train and stl-embed through the GPU step on any CPU. */
static int test_gpu_backend_host(void) {
    const char *v = getenv("STL_TEST_GPU_BACKEND");
    return v && strcmp(v, "host") == 0;
}

/* The DEVICE_CUDA backend of ws (CUDA build); tf32: TF32 allowed. */
static int create_gpu(model_ws *ws, int tf32, stl_error *err) {
#if STL_CUDA
    if (gpu_backend_cuda_create(&ws->be, tf32, err) != 0) return -1;
    ws->have_be = 1;
    ws->gpu = model_gpu_create(&ws->be, &ws->shape, &ws->table, ws->batch, err);
    return ws->gpu ? 0 : -1;
#else
    (void)ws, (void)tf32;
    return stl_fail(err, "model: no cuda path in this build (the CPU is the only device)");
#endif
}

void model_init_params(model_state *m, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    const param_table *t = &m->table;
    for (int i = 0; i < t->n; i++) {
        const param_entry *e = &t->e[i];
        if (e->is_stat) continue;
        float *p = m->params + e->offset;
        size_t len = strlen(e->name);
        if (len > 7 && strcmp(e->name + len - 7, "/kernel") == 0) {
            int fan_in = 1;
            for (int d = 0; d < e->ndim - 1; d++) fan_in *= e->shape[d];
            init_lecun_normal(&r, p, e->count, fan_in);
        } else if (len > 6 && strcmp(e->name + len - 6, "/scale") == 0) {
            for (size_t j = 0; j < e->count; j++) p[j] = 1.0f;
        } else {
            memset(p, 0, sizeof(float) * e->count);
        }
    }
}

int model_init(model_state *m, int output_size, uint64_t seed, stl_error *err) {
    if (model_state_alloc(m, output_size, err) < 0) return -1;
    model_init_params(m, seed);
    return 0;
}

const char *model_precision_name(model_precision p) {
    return p == MODEL_PRECISION_TF32 ? "tf32" : "float32";
}

model_ws *model_ws_create(const param_table *t, int batch, int size, device_kind device,
                          stl_error *err) {
    return model_ws_create_precision(t, batch, size, device, MODEL_PRECISION_FLOAT32, err);
}

model_ws *model_ws_create_precision(const param_table *t, int batch, int size, device_kind device,
                                    model_precision precision, stl_error *err) {
    if (batch < 1) {
        stl_fail(err, "model: batch size %d must be at least 1", batch);
        return NULL;
    }
    model_ws *ws = calloc(1, sizeof *ws);
    if (!ws) {
        stl_fail(err, "model: workspace: out of memory");
        return NULL;
    }
    ws->device = device;
    ws->batch = batch;
    ws->size = size;
    ws->table = *t;
    int ok = tower_shape_init(&ws->shape, t, size, err) == 0;
    if (ok && device == DEVICE_CPU && test_gpu_backend_host()) {
        gpu_backend_host(&ws->be);
        ok = (ws->gpu = model_gpu_create(&ws->be, &ws->shape, &ws->table, batch, err)) != NULL;
    } else if (ok && device == DEVICE_CPU) {
        ok = (ws->cpu = model_cpu_create(&ws->shape, batch, err)) != NULL;
    } else if (ok) {
        ok = create_gpu(ws, precision == MODEL_PRECISION_TF32, err) == 0;
    }
    if (!ok) {
        model_ws_free(ws);
        return NULL;
    }
    return ws;
}

void model_ws_free(model_ws *ws) {
    if (!ws) return;
    model_cpu_free(ws->cpu);
    model_gpu_free(ws->gpu); /* before the backend its plans use */
#if STL_CUDA
    if (ws->have_be) gpu_backend_cuda_free(&ws->be);
#endif
    free(ws);
}

device_kind model_ws_device(const model_ws *ws) { return ws->device; }
int model_ws_batch(const model_ws *ws) { return ws->batch; }
int model_ws_size(const model_ws *ws) { return ws->size; }

/* A GPU workspace computes on the device: threads do not apply, and it
 * reports one. */
int model_ws_set_threads(model_ws *ws, int n, stl_error *err) {
    return ws->cpu ? model_cpu_set_threads(ws->cpu, n, err) : 0;
}
int model_ws_threads(const model_ws *ws) { return ws->cpu ? model_cpu_threads(ws->cpu) : 1; }

void model_ws_set_allreduce(model_ws *ws, model_allreduce_fn fn, void *ctx) {
    ws->coll.fn = fn;
    ws->coll.ctx = ctx;
}

void model_ws_set_allreduce_device(model_ws *ws, model_allreduce_device_fn allreduce,
                                   model_wait_device_fn wait, void *ctx, int ranks) {
    ws->coll.dev_fn = allreduce;
    ws->coll.dev_wait = wait;
    ws->coll.dev_ctx = ctx;
    ws->coll.ranks = ranks;
}

/* What every training step checks first: the model fits the workspace,
 * and the global batch is one. */
static int step_args_ok(const model_state *m, const model_ws *ws, int global_batch,
                        stl_error *err) {
    if (m->table.output_size != ws->shape.out)
        return stl_fail(err, "model: workspace built for output size %d, model has %d",
                        ws->shape.out, m->table.output_size);
    if (global_batch < 1) return stl_fail(err, "model: global batch %d < 1", global_batch);
    return 0;
}

int model_train_step_grads(model_state *m, model_ws *ws, const uint8_t *scene,
                           const uint8_t *pos, const uint8_t *neg, float reg,
                           int global_batch, float *loss_out, float *emb_scene,
                           float *emb_pos, float *emb_neg, stl_error *err) {
    if (step_args_ok(m, ws, global_batch, err) != 0) return -1;
    const uint8_t *const in[3] = {scene, pos, neg};
    float *const emb[3] = {emb_scene, emb_pos, emb_neg};
    if (ws->gpu)
        return model_gpu_train_step(ws->gpu, m, in, reg, global_batch, &ws->coll, loss_out, emb,
                                    err);
    return model_cpu_train_step(ws->cpu, m, in, reg, global_batch, &ws->coll, loss_out, emb, err);
}

const char *model_first_nonfinite_grad(const model_state *m) {
    static char why[160];
    const float *g = m->grads;
    size_t n = m->table.n_params;
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += g[i] * 0.0f; /* NaN or inf anywhere makes acc NaN */
    if (acc == 0.0f) return NULL;
    for (int t = 0; t < m->table.n; t++) {
        const param_entry *e = &m->table.e[t];
        if (e->is_stat) continue;
        for (size_t k = 0; k < e->count; k++)
            if (!isfinite(g[e->offset + k])) {
                snprintf(why, sizeof why, "non-finite gradient of %s", e->name);
                return why;
            }
    }
    return "non-finite gradients";
}

/* Why a step with this (all-reduced) loss and m->grads may not be taken,
 * or NULL. (The loss alone is not enough: a relu written as `h > 0 ? h : 0`
 * turns NaN into 0.) */
static const char *step_refused(const model_state *m, float loss) {
    if (isnan(loss)) return "the training loss is NaN";
    if (isinf(loss)) return "the training loss is infinite";
    return model_first_nonfinite_grad(m);
}

/* The whole step on a GPU workspace, from pixels (in) or kept images
 * (idx). */
static int gpu_train_step(model_state *m, model_ws *ws, const uint8_t *const in[3],
                          const uint32_t *const idx[3], float reg, int global_batch, float lr,
                          int poison, model_step_result *r, stl_error *err) {
    if (step_args_ok(m, ws, global_batch, err) != 0) return -1;
    int taken;
    if (model_gpu_train_step_full(ws->gpu, m, in, idx, reg, global_batch, lr, &ws->coll, poison,
                                  &taken, &r->loss, err) != 0)
        return -1;
    r->taken = taken;
    if (!taken && !(r->why = step_refused(m, r->loss))) r->why = "non-finite gradients";
    return 0;
}

int model_train_step(model_state *m, model_ws *ws, const uint8_t *scene, const uint8_t *pos,
                     const uint8_t *neg, float reg, int global_batch, float lr,
                     model_step_result *r, stl_error *err) {
    memset(r, 0, sizeof *r);
    int poison = testhook_at("STL_TEST_NAN_AT", m->step + 1);
    size_t n = m->table.n_params;
    const uint8_t *const in[3] = {scene, pos, neg};
    if (ws->gpu) return gpu_train_step(m, ws, in, NULL, reg, global_batch, lr, poison, r, err);
    if (model_train_step_grads(m, ws, scene, pos, neg, reg, global_batch, &r->loss, NULL, NULL,
                               NULL, err) != 0)
        return -1;
    if (poison) m->grads[n / 2] = NAN;
    /* the loss already divides by the global batch: the gradients are summed */
    if (ws->coll.fn && (ws->coll.fn(ws->coll.ctx, m->grads, n) != 0 ||
                        ws->coll.fn(ws->coll.ctx, &r->loss, 1) != 0))
        return stl_fail(err, "model: gradient all-reduce failed");
    if ((r->why = step_refused(m, r->loss)) != NULL) return 0;
    model_adam_step(m, lr);
    r->taken = 1;
    return 0;
}

int model_ws_keep_images(model_ws *ws, size_t n, model_pixels_fn pixels, void *ctx,
                         model_keep_info *info, stl_error *err) {
    const char *v = getenv("STL_GPU_POOL");
    memset(info, 0, sizeof *info);
    if (!ws->gpu || (v && strcmp(v, "0") == 0)) return 0;
    return model_gpu_keep_images(ws->gpu, n, pixels, ctx, info, err);
}

int model_ws_stream_images(model_ws *ws, int slots, stl_error *err) {
    if (!ws->gpu) return 0;
    return model_gpu_stream(ws->gpu, slots, err) == 0 ? 1 : -1;
}

int model_ws_stage_batch(model_ws *ws, int slot, const uint8_t *scene, const uint8_t *pos,
                         const uint8_t *neg, uint32_t *scene_idx, uint32_t *pos_idx,
                         uint32_t *neg_idx, stl_error *err) {
    if (!ws->gpu) return stl_fail(err, "model: staging a batch on a CPU workspace");
    const uint8_t *const in[3] = {scene, pos, neg};
    uint32_t *const idx[3] = {scene_idx, pos_idx, neg_idx};
    return model_gpu_stage(ws->gpu, slot, in, idx, err);
}

void *model_ws_host_alloc(model_ws *ws, size_t bytes, stl_error *err) {
    if (ws->gpu) return model_gpu_host_alloc(ws->gpu, bytes, err);
    void *p = malloc(bytes ? bytes : 1);
    if (!p) stl_fail(err, "model: out of memory for %zu bytes", bytes);
    return p;
}

void model_ws_host_free(model_ws *ws, void *p) {
    if (ws->gpu) model_gpu_host_free(ws->gpu, p);
    else free(p);
}

int model_train_step_kept(model_state *m, model_ws *ws, const uint32_t *scene,
                          const uint32_t *pos, const uint32_t *neg, float reg, int global_batch,
                          float lr, model_step_result *r, stl_error *err) {
    memset(r, 0, sizeof *r);
    if (!ws->gpu) return stl_fail(err, "model: a step by image index, but no images are kept");
    const uint32_t *const idx[3] = {scene, pos, neg};
    return gpu_train_step(m, ws, NULL, idx, reg, global_batch, lr,
                          testhook_at("STL_TEST_NAN_AT", m->step + 1), r, err);
}

int model_ws_sync(model_ws *ws, model_state *m, stl_error *err) {
    return ws->gpu ? model_gpu_sync(ws->gpu, m, err) : 0;
}

void model_ws_invalidate(model_ws *ws) {
    if (ws->gpu) model_gpu_invalidate(ws->gpu);
}

void model_adam_step(model_state *m, float lr) {
    adam_update(m->params, m->grads, m->adam_m, m->adam_v, m->table.n_params, lr, MODEL_ADAM_B1,
                MODEL_ADAM_B2, MODEL_ADAM_EPS, m->step + 1);
    m->step++;
}

int model_embed(const model_state *m, model_ws *ws, int tower, const uint8_t *x, int n, float *out,
                stl_error *err) {
    if (tower != MODEL_TOWER_SCENE && tower != MODEL_TOWER_PRODUCT)
        return stl_fail(err, "model: no tower %d", tower);
    if (n < 0 || n > ws->batch)
        return stl_fail(err, "model: %d images for a workspace of batch %d", n, ws->batch);
    if (m->table.output_size != ws->shape.out)
        return stl_fail(err, "model: workspace built for output size %d, model has %d",
                        ws->shape.out, m->table.output_size);
    if (ws->gpu) return model_gpu_embed(ws->gpu, m, tower, x, n, out, err);
    return model_cpu_embed(ws->cpu, m, tower, x, n, out, err);
}

void model_normalize_pixels(const uint8_t *src, size_t n, float *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = pixel_normalize(src[i]);
}

static double block_flops(int size, int out, double *first3x3) {
    static const int filters[MODEL_N_BLOCKS] = MODEL_FILTERS;
    double fl = 0;
    int h = size, cin = 3;
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        int ho = (h + 1) / 2, f = filters[k];
        double px = (double)ho * ho;
        double c3 = 2 * 2.0 * px * 9 * cin * f;
        if (k == 0 && first3x3) *first3x3 = c3;
        fl += c3 + 2 * 2.0 * px * f * f;
        h = (ho + 1) / 2;
        cin = f;
    }
    return fl + 2.0 * cin * out;
}

double model_flops_forward_image(int size, int output_size) {
    return block_flops(size, output_size, NULL);
}

double model_flops_train_step(int batch, int size, int output_size) {
    double first = 0, fwd = block_flops(size, output_size, &first);
    /* forward + weight gradients + input gradients (none for the images) */
    return 3.0 * batch * (3 * fwd - first);
}

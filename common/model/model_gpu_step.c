/* model_gpu_step.c — the whole training step with the model kept in
 * backend memory (model_gpu.h's model_gpu_train_step_full): the
 * parameters, Adam's moments and the running averages uploaded once and
 * kept; per step the images (uploaded, or gathered from kept or staged
 * ones by index), the gradient step, then the loss into its slot, the
 * all-reduce of gradients and loss (on the device, or through the host),
 * the finiteness flag and Adam gated by it; only the flag and the loss
 * come back. The sync that copies the model back to the host.
 */
#include "model/model_gpu.h"

#include <math.h>
#include <string.h>

#include "model/gpu_update_kernels.h"
#include "model/model_gpu_internal.h"

/* ---- the whole step, the model kept on the device ---- */

/* m's parameters, moments and running averages onto the device, unless it
 * already holds them after m->step steps. */
static int load_resident(model_gpu *g, const model_state *m, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t np = sizeof(float) * g->t->n_params;
    if (model_gpu_holds(g, m)) return 0;
    if (model_gpu_load_model(g, m, err) != 0 || be->upload(be->lib, g->mu, m->adam_m, np, err) != 0 ||
        be->upload(be->lib, g->nu, m->adam_v, np, err) != 0)
        return -1;
    g->resident = 1;
    g->bound = m;
    g->step = m->step;
    return 0;
}

/* Across ranks through the host: the gradients (staged in host_grads) and
 * the loss slot, as two all-reduces like the CPU path's. */
static int update_cross_host(model_gpu *g, const tower_collective *coll, float *host_grads,
                             stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t n = g->t->n_params;
    float loss;
    if (be->download(be->lib, host_grads, g->grads, sizeof(float) * n, err) != 0 ||
        be->download(be->lib, &loss, g->grads + n, sizeof loss, err) != 0)
        return -1;
    if (coll->fn(coll->ctx, host_grads, n) != 0 || coll->fn(coll->ctx, &loss, 1) != 0)
        return stl_fail(err, "model: gradient all-reduce failed");
    if (be->upload(be->lib, g->grads, host_grads, sizeof(float) * n, err) != 0 ||
        be->upload(be->lib, g->grads + n, &loss, sizeof loss, err) != 0)
        return -1;
    return 0;
}

/* After the backward pass: the loss into its slot, the all-reduce of
 * gradients and loss (one device call over both, or through the host into
 * host_grads), the finiteness flag, and Adam unless the flag is set. */
static int update_body(model_gpu *g, const tower_collective *coll, float *host_grads,
                       stl_error *err) {
    const gpu_backend *be = &g->be;
    long n = (long)g->t->n_params;
    KERNEL(loss_slot, g->loss, g->grads + n);
    if (coll && coll->dev_fn) {
        if (coll->dev_fn(coll->dev_ctx, g->grads, (size_t)n + 1, be->stream) != 0)
            return stl_fail(err, "model: gradient all-reduce failed");
    } else if (coll && coll->fn) {
        if (update_cross_host(g, coll, host_grads, err) != 0) return -1;
    }
    KERNEL(finite_partials, g->grads, n + 1, MODEL_GPU_FINITE_ROWS, g->fpart);
    KERNEL(finite_flag, g->fpart, g->fblk, g->skip);
    KERNEL(adam_gated, g->params, g->grads, g->mu, g->nu, n, g->hyper, g->skip, MODEL_ADAM_B1,
           MODEL_ADAM_B2, MODEL_ADAM_EPS);
    return 0;
}

/* A step by index: its three batches gathered from the kept images. */
static int gather_batch(model_gpu *g, stl_error *err) {
    const gpu_backend *be = &g->be;
    for (int i = 0; g->gather && i < 3; i++)
        KERNEL(gather_images, g->pool, g->idx + (size_t)g->batch * i, g->batch,
               (long)g->image_bytes, g->x[i]);
    return 0;
}

/* The whole step as one body (what the graph captures): no host staging,
 * so only without a host collective. */
static int full_body(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
                     stl_error *err) {
    if (gather_batch(g, err) != 0 || model_gpu_step_body(g, reg, global_batch, coll, err) != 0) return -1;
    return update_body(g, coll, NULL, err);
}

/* This step's images into x[0..2]: uploaded from in, or (idx) their pool
 * indices uploaded for the step's gather. */
static int load_images(model_gpu *g, const uint8_t *const in[3], const uint32_t *const idx[3],
                       stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t B = (size_t)g->batch;
    g->gather = idx != NULL;
    for (int i = 0; i < 3; i++) g->acts[i].x0 = g->x[i];
    if (!idx) {
        for (int i = 0; i < 3; i++)
            if (be->upload(be->lib, g->x[i], in[i], g->img_bytes, err) != 0) return -1;
        return 0;
    }
    if (!g->pool) return stl_fail(err, "model: a step by image index, but no images are kept");
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < B; j++) {
            if (idx[i][j] >= g->pool_n)
                return stl_fail(err, "model: image index %u, but %zu images are kept",
                                (unsigned)idx[i][j], g->pool_n);
            g->idx_host[B * i + j] = idx[i][j];
        }
    /* one upload (it waits) for the three roles' indices */
    return be->upload(be->lib, g->idx, g->idx_host, sizeof(uint32_t) * 3 * B, err);
}

int model_gpu_train_step_full(model_gpu *g, model_state *m, const uint8_t *const in[3],
                              const uint32_t *const idx[3], float reg, int global_batch, float lr,
                              const tower_collective *coll, int poison, int *taken,
                              float *loss_out, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t n = g->t->n_params;
    int64_t count = m->step + 1;
    float hyper[GM_HYPER_N];
    hyper[GM_HYPER_LR] = lr;
    hyper[GM_HYPER_C1] = gm_adam_corr(MODEL_ADAM_B1, count);
    hyper[GM_HYPER_C2] = gm_adam_corr(MODEL_ADAM_B2, count);
    if (load_resident(g, m, err) != 0 ||
        be->upload(be->lib, g->hyper, hyper, sizeof hyper, err) != 0 ||
        load_images(g, in, idx, err) != 0)
        return -1;
    if (model_gpu_use_graph(g, coll) && !poison) {
        if (model_gpu_run_graph(g, &g->full_graph, full_body, reg, global_batch, coll, err) != 0) return -1;
    } else {
        /* op by op; the test hook's NaN goes into one gradient element
         * between the backward pass and the all-reduce */
        const float nan = NAN;
        if (gather_batch(g, err) != 0 || model_gpu_step_body(g, reg, global_batch, coll, err) != 0 ||
            (poison && be->upload(be->lib, g->grads + n / 2, &nan, sizeof nan, err) != 0) ||
            update_body(g, coll, m->grads, err) != 0)
            return -1;
    }
    if (coll && coll->dev_wait && coll->dev_wait(coll->dev_ctx, be->stream) != 0)
        return stl_fail(err, "model: the step's collectives failed");
    int skip;
    if (be->download(be->lib, &skip, g->skip, sizeof skip, err) != 0 ||
        be->download(be->lib, loss_out, g->grads + n, sizeof *loss_out, err) != 0)
        return -1;
    *taken = !skip;
    if (skip) /* the gradients, for naming the tensor that went non-finite */
        return be->download(be->lib, m->grads, g->grads, sizeof(float) * n, err);
    m->step++;
    g->step++;
    return 0;
}

int model_gpu_sync(model_gpu *g, model_state *m, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t np = sizeof(float) * g->t->n_params;
    if (!g->resident || g->bound != m) return 0;
    if (g->step != m->step)
        return stl_fail(err, "model: the device holds step %lld, the model is at step %lld",
                        (long long)g->step, (long long)m->step);
    if (be->download(be->lib, m->params, g->params, np, err) != 0 ||
        be->download(be->lib, m->adam_m, g->mu, np, err) != 0 ||
        be->download(be->lib, m->adam_v, g->nu, np, err) != 0 ||
        be->download(be->lib, m->stats, g->stats, sizeof(float) * g->t->n_stats, err) != 0 ||
        be->download(be->lib, m->grads, g->grads, np, err) != 0)
        return -1;
    return 0;
}

void model_gpu_invalidate(model_gpu *g) { g->resident = 0; }


/* model_gpu.c — the model's GPU backend (model_gpu.h): creation, the
 * gradient step (uploads what a step reads, repacks the 3x3 kernels to
 * KRSC, runs the three tower calls, the triplet loss and the three backward
 * passes through the gpu_backend, repacks the kernels' gradients back to
 * the model file's HWIO, downloads the gradients, running averages, loss
 * and embeddings), the captured graphs, and embedding. The whole step with
 * the model kept in backend memory is model_gpu_step.c; the images kept or
 * staged there, model_gpu_images.c.
 */
#include "model/model_gpu.h"

#include <stdlib.h>
#include <string.h>

#include "model/gpu_update_kernels.h"
#include "model/model_gpu_internal.h"

static void *take(model_gpu *g, size_t bytes, stl_error *err) {
    void *p = g->be.alloc(g->be.lib, bytes ? bytes : 1, err);
    if (p) g->owned[g->n_owned++] = p;
    return p;
}

void model_gpu_free(model_gpu *g) {
    if (!g) return;
    if (g->grads_graph.graph) g->be.graph_free(g->be.lib, g->grads_graph.graph);
    if (g->full_graph.graph) g->be.graph_free(g->be.lib, g->full_graph.graph);
    tower_gpu_scratch_free(&g->be, &g->sc);
    if (g->pool) g->be.release(g->be.lib, g->pool);
    free(g->idx_host);
    for (int i = 0; i < g->n_owned; i++) g->be.release(g->be.lib, g->owned[i]);
    free(g);
}

model_gpu *model_gpu_create(const gpu_backend *be, const tower_shape *s, const param_table *t,
                            int batch, stl_error *err) {
    model_gpu *g = calloc(1, sizeof *g);
    if (!g) {
        stl_fail(err, "model: workspace: out of memory");
        return NULL;
    }
    g->be = *be;
    g->s = s;
    g->t = t;
    g->batch = batch;
    g->image_bytes = (size_t)s->size * s->size * 3;
    g->img_bytes = (size_t)batch * g->image_bytes;
    size_t np = sizeof(float) * t->n_params, per = tower_acts_size(s, batch);
    tower_gpu_krsc kl;
    tower_gpu_krsc_layout(s, &kl);
    size_t nk = sizeof(float) * kl.floats;
    g->fblk = gm_finite_blocks((long)t->n_params + 1, MODEL_GPU_FINITE_ROWS);
    int ok = (g->params = take(g, np, err)) && (g->wk = take(g, nk, err)) &&
             (g->grads = take(g, np + sizeof(float), err)) && (g->gk = take(g, nk, err)) &&
             (g->mu = take(g, np, err)) && (g->nu = take(g, np, err)) &&
             (g->hyper = take(g, sizeof(float) * GM_HYPER_N, err)) &&
             (g->fpart = take(g, sizeof(float) * (size_t)g->fblk, err)) &&
             (g->skip = take(g, sizeof(int), err)) &&
             (g->idx = take(g, sizeof(uint32_t) * 3 * (size_t)batch, err)) &&
             (g->stats = take(g, sizeof(float) * t->n_stats, err)) &&
             (g->acts_mem = take(g, sizeof(float) * per * 3, err)) &&
             (g->demb = take(g, sizeof(float) * 3 * (size_t)batch * s->out, err)) &&
             (g->terms = take(g, sizeof(double) * 2 * (size_t)batch, err)) &&
             (g->loss = take(g, sizeof(double), err));
    for (int i = 0; ok && i < 3; i++) ok = (g->x[i] = take(g, g->img_bytes, err)) != NULL;
    if (ok && !(g->idx_host = malloc(sizeof(uint32_t) * 3 * (size_t)batch))) {
        stl_fail(err, "model: workspace: out of memory");
        ok = 0;
    }
    if (!ok || tower_gpu_scratch_create(&g->be, s, batch, 1, &g->sc, err) != 0) {
        model_gpu_free(g);
        return NULL;
    }
    for (int i = 0; i < 3; i++) tower_acts_carve(s, batch, g->acts_mem + per * i, &g->acts[i]);
    return g;
}

/* Blocks 1-3's 3x3 kernels (both convs, both towers), one at a time:
 * to_krsc 1 repacks params -> wk, 0 repacks gk -> grads. */
static int repack_conv3(model_gpu *g, int to_krsc, stl_error *err) {
    const gpu_backend *be = &g->be;
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++)
        for (int k = 1; k < MODEL_N_BLOCKS; k++) {
            const tower_block *b = &g->s->blk[k];
            size_t off[2] = {b->wr[tw], b->w1[tw]};
            size_t koff[2] = {g->sc.krsc.wr[tw][k], g->sc.krsc.w1[tw][k]};
            for (int i = 0; i < 2; i++) {
                if (to_krsc)
                    KERNEL(krsc_from_hwio, g->params + off[i], 3, b->cin, b->f, g->wk + koff[i]);
                else
                    KERNEL(hwio_from_krsc, g->gk + koff[i], 3, b->cin, b->f, g->grads + off[i]);
            }
        }
    return 0;
}

/* The parameters and running averages of m, into backend memory. */
int model_gpu_load_model(model_gpu *g, const model_state *m, stl_error *err) {
    const gpu_backend *be = &g->be;
    if (be->upload(be->lib, g->params, m->params, sizeof(float) * g->t->n_params, err) != 0 ||
        be->upload(be->lib, g->stats, m->stats, sizeof(float) * g->t->n_stats, err) != 0)
        return -1;
    return 0;
}

/* The step itself, on the images and model already in backend memory:
 * nothing in it waits on the host unless a collective is set. */
int model_gpu_step_body(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
                     stl_error *err) {
    const gpu_backend *be = &g->be;
    const tower_shape *s = g->s;
    int B = g->batch, D = s->out;
    const int tower[3] = {MODEL_TOWER_SCENE, MODEL_TOWER_PRODUCT, MODEL_TOWER_PRODUCT};
    size_t rows = (size_t)B * D;
    if (repack_conv3(g, 1, err) != 0 ||
        be->zero(be->lib, g->grads, sizeof(float) * g->t->n_params, err) != 0 ||
        be->zero(be->lib, g->gk, sizeof(float) * g->sc.krsc.floats, err) != 0)
        return -1;
    for (int i = 0; i < 3; i++)
        if (tower_gpu_forward(be, s, g->params, g->wk, g->stats, tower[i], 1, &g->acts[i], &g->sc,
                              coll, err) != 0)
            return -1;
    float *ds = g->demb, *dp = ds + rows, *dn = dp + rows;
    KERNEL(triplet, g->acts[0].emb, g->acts[1].emb, g->acts[2].emb, B, D, reg, global_batch, ds,
           dp, dn, g->terms);
    KERNEL(triplet_loss, g->terms, B, reg, global_batch, g->loss);
    for (int i = 0; i < 3; i++)
        if (tower_gpu_backward(be, s, g->params, g->wk, g->grads, g->gk, tower[i], &g->acts[i],
                               g->demb + rows * i, &g->sc, coll, err) != 0)
            return -1;
    return repack_conv3(g, 0, err);
}

/* Whether steps run as one captured CUDA graph: where the backend can
 * capture, no collective crosses the host inside the step (none, or a
 * device one), and STL_GPU_GRAPHS is not 0 (a switch for finding a capture
 * problem). */
int model_gpu_use_graph(const model_gpu *g, const tower_collective *coll) {
    const char *v = getenv("STL_GPU_GRAPHS");
    int host_coll = coll && coll->fn && !coll->dev_fn;
    return g->be.capture_begin && !host_coll && !(v && strcmp(v, "0") == 0);
}

/* A step run as the graph in gs: captured on first use (and again when
 * what is baked into it changes), then replayed. */
int model_gpu_run_graph(model_gpu *g, graph_slot *gs, step_fn body, float reg, int global_batch,
                     const tower_collective *coll, stl_error *err) {
    const gpu_backend *be = &g->be;
    model_allreduce_device_fn dev_fn = coll ? coll->dev_fn : NULL;
    void *dev_ctx = coll ? coll->dev_ctx : NULL;
    if (gs->graph && (gs->reg != reg || gs->denom != global_batch || gs->dev_fn != dev_fn ||
                      gs->dev_ctx != dev_ctx || gs->gather != g->gather || gs->pool != g->pool)) {
        be->graph_free(be->lib, gs->graph);
        gs->graph = NULL;
    }
    if (!gs->graph) {
        if (be->capture_begin(be->lib, err) != 0) return -1;
        int rc = body(g, reg, global_batch, coll, err);
        stl_error end_err;
        void *graph = NULL;
        if (be->capture_end(be->lib, &graph, &end_err) != 0) {
            if (rc == 0) *err = end_err;
            return -1;
        }
        if (rc != 0) {
            be->graph_free(be->lib, graph);
            return -1;
        }
        *gs = (graph_slot){.graph = graph, .reg = reg, .denom = global_batch, .dev_fn = dev_fn,
                           .dev_ctx = dev_ctx, .gather = g->gather, .pool = g->pool};
    }
    return be->graph_launch(be->lib, gs->graph, err);
}

int model_gpu_train_step(model_gpu *g, model_state *m, const uint8_t *const in[3], float reg,
                         int global_batch, const tower_collective *coll, float *loss_out,
                         float *const emb_out[3], stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t np = sizeof(float) * g->t->n_params, rows = (size_t)g->batch * g->s->out;
    if (model_gpu_load_model(g, m, err) != 0) return -1;
    for (int i = 0; i < 3; i++) {
        if (be->upload(be->lib, g->x[i], in[i], g->img_bytes, err) != 0) return -1;
        g->acts[i].x0 = g->x[i];
    }
    g->resident = 0; /* the device's parameters are m's now, its moments are not */
    g->gather = 0;
    if (model_gpu_use_graph(g, coll) ? model_gpu_run_graph(g, &g->grads_graph, model_gpu_step_body, reg, global_batch, coll, err)
                           : model_gpu_step_body(g, reg, global_batch, coll, err))
        return -1;
    double loss;
    if (be->download(be->lib, m->grads, g->grads, np, err) != 0 ||
        be->download(be->lib, m->stats, g->stats, sizeof(float) * g->t->n_stats, err) != 0 ||
        be->download(be->lib, &loss, g->loss, sizeof loss, err) != 0)
        return -1;
    for (int i = 0; i < 3; i++)
        if (emb_out[i] &&
            be->download(be->lib, emb_out[i], g->acts[i].emb, sizeof(float) * rows, err) != 0)
            return -1;
    if (loss_out) *loss_out = (float)loss;
    return 0;
}

int model_gpu_embed(model_gpu *g, const model_state *m, int tower, const uint8_t *x, int n,
                    float *out, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t have = g->image_bytes * (size_t)n;
    if (n < 0 || n > g->batch)
        return stl_fail(err, "model: %d images for a workspace of batch %d", n, g->batch);
    /* the device's own copy where it holds m's current parameters (they may
     * be newer than m's host arrays), else m's */
    int current = model_gpu_holds(g, m);
    if (!current) g->resident = 0;
    if ((!current && model_gpu_load_model(g, m, err) != 0) || repack_conv3(g, 1, err) != 0 ||
        (have && be->upload(be->lib, g->x[0], x, have, err) != 0) ||
        (have < g->img_bytes && be->zero(be->lib, g->x[0] + have, g->img_bytes - have, err) != 0))
        return -1;
    g->acts[0].x0 = g->x[0];
    if (tower_gpu_forward(be, g->s, g->params, g->wk, g->stats, tower, 0, &g->acts[0], &g->sc,
                          NULL, err) != 0)
        return -1;
    return be->download(be->lib, out, g->acts[0].emb, sizeof(float) * (size_t)n * g->s->out, err);
}

const tower_acts *model_gpu_acts(const model_gpu *g, int i) { return &g->acts[i]; }

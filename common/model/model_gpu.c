/* model_gpu.c — the model's GPU backend (model_gpu.h): uploads what a step
 * reads, repacks the 3x3 kernels to KRSC, runs the three tower calls, the
 * triplet loss and the three backward passes through the gpu_backend,
 * repacks the kernels' gradients back to the model file's HWIO, and
 * downloads the gradients, running averages, loss and embeddings.
 */
#include "model/model_gpu.h"

#include <stdlib.h>
#include <string.h>

#include "model/tower_gpu.h"

enum { MAX_BUFFERS = 16 };

struct model_gpu {
    gpu_backend be;
    const tower_shape *s;
    const param_table *t;
    int batch;
    size_t img_bytes;             /* one batch of images */
    float *params, *wk, *grads, *gk, *stats;
    uint8_t *x[3];
    float *acts_mem;
    tower_acts acts[3];           /* scene, positives, negatives */
    float *demb;                  /* 3 * batch * out */
    double *terms, *loss;         /* 2 * batch; 1 */
    tower_gpu_scratch sc;
    void *graph;                  /* the captured step (backends that capture) */
    float graph_reg;
    int graph_denom;
    void *owned[MAX_BUFFERS];
    int n_owned;
};

static void *take(model_gpu *g, size_t bytes, stl_error *err) {
    void *p = g->be.alloc(g->be.lib, bytes ? bytes : 1, err);
    if (p) g->owned[g->n_owned++] = p;
    return p;
}

void model_gpu_free(model_gpu *g) {
    if (!g) return;
    if (g->graph) g->be.graph_free(g->be.lib, g->graph);
    tower_gpu_scratch_free(&g->be, &g->sc);
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
    g->img_bytes = (size_t)batch * s->size * s->size * 3;
    size_t np = sizeof(float) * t->n_params, per = tower_acts_size(s, batch);
    tower_gpu_krsc kl;
    tower_gpu_krsc_layout(s, &kl);
    size_t nk = sizeof(float) * kl.floats;
    int ok = (g->params = take(g, np, err)) && (g->wk = take(g, nk, err)) &&
             (g->grads = take(g, np, err)) && (g->gk = take(g, nk, err)) &&
             (g->stats = take(g, sizeof(float) * t->n_stats, err)) &&
             (g->acts_mem = take(g, sizeof(float) * per * 3, err)) &&
             (g->demb = take(g, sizeof(float) * 3 * (size_t)batch * s->out, err)) &&
             (g->terms = take(g, sizeof(double) * 2 * (size_t)batch, err)) &&
             (g->loss = take(g, sizeof(double), err));
    for (int i = 0; ok && i < 3; i++) ok = (g->x[i] = take(g, g->img_bytes, err)) != NULL;
    if (!ok || tower_gpu_scratch_create(&g->be, s, batch, 1, &g->sc, err) != 0) {
        model_gpu_free(g);
        return NULL;
    }
    for (int i = 0; i < 3; i++) tower_acts_carve(s, batch, g->acts_mem + per * i, &g->acts[i]);
    return g;
}

#define KERNEL(op, ...)                                                                     \
    do {                                                                                    \
        int rc_ = be->op(__VA_ARGS__, be->stream);                                          \
        if (rc_ != 0)                                                                       \
            return stl_fail(err, "model (%s): kernel %s: %s (%d)", be->name, #op,           \
                            be->kernel_error(rc_), rc_);                                    \
    } while (0)

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
static int load_model(model_gpu *g, const model_state *m, stl_error *err) {
    const gpu_backend *be = &g->be;
    if (be->upload(be->lib, g->params, m->params, sizeof(float) * g->t->n_params, err) != 0 ||
        be->upload(be->lib, g->stats, m->stats, sizeof(float) * g->t->n_stats, err) != 0)
        return -1;
    return 0;
}

/* The step itself, on the images and model already in backend memory:
 * nothing in it waits on the host unless a collective is set. */
static int step_body(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
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
 * capture, no collective crosses the host inside the step, and
 * STL_GPU_GRAPHS is not 0 (a switch for finding a capture problem). */
static int use_graph(const model_gpu *g, const tower_collective *coll) {
    const char *v = getenv("STL_GPU_GRAPHS");
    return g->be.capture_begin && !(coll && coll->fn) && !(v && strcmp(v, "0") == 0);
}

/* The step as a graph: captured on first use (and again when reg or the
 * global batch, baked into its kernels' arguments, change), then replayed. */
static int step_graph(model_gpu *g, float reg, int global_batch, stl_error *err) {
    const gpu_backend *be = &g->be;
    if (g->graph && (g->graph_reg != reg || g->graph_denom != global_batch)) {
        be->graph_free(be->lib, g->graph);
        g->graph = NULL;
    }
    if (!g->graph) {
        if (be->capture_begin(be->lib, err) != 0) return -1;
        int rc = step_body(g, reg, global_batch, NULL, err);
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
        g->graph = graph;
        g->graph_reg = reg;
        g->graph_denom = global_batch;
    }
    return be->graph_launch(be->lib, g->graph, err);
}

int model_gpu_train_step(model_gpu *g, model_state *m, const uint8_t *const in[3], float reg,
                         int global_batch, const tower_collective *coll, float *loss_out,
                         float *const emb_out[3], stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t np = sizeof(float) * g->t->n_params, rows = (size_t)g->batch * g->s->out;
    if (load_model(g, m, err) != 0) return -1;
    for (int i = 0; i < 3; i++) {
        if (be->upload(be->lib, g->x[i], in[i], g->img_bytes, err) != 0) return -1;
        g->acts[i].x0 = g->x[i];
    }
    if (use_graph(g, coll) ? step_graph(g, reg, global_batch, err) != 0
                           : step_body(g, reg, global_batch, coll, err) != 0)
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
    size_t img = (size_t)g->s->size * g->s->size * 3, have = img * (size_t)n;
    if (n < 0 || n > g->batch)
        return stl_fail(err, "model: %d images for a workspace of batch %d", n, g->batch);
    if (load_model(g, m, err) != 0 || repack_conv3(g, 1, err) != 0 ||
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

/* model_gpu.c — the model's GPU backend (model_gpu.h): uploads what a step
 * reads, repacks the 3x3 kernels to KRSC, runs the three tower calls, the
 * triplet loss and the three backward passes through the gpu_backend,
 * repacks the kernels' gradients back to the model file's HWIO, and
 * downloads the gradients, running averages, loss and embeddings.
 */
#include "model/model_gpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/testhook.h"
#include "model/gpu_update_kernels.h"
#include "model/model.h"
#include "model/tower_gpu.h"

enum { MAX_BUFFERS = 24 };
/* Elements per block of the finiteness check's partials. */
enum { FINITE_ROWS = 4096 };

/* A captured step and what is baked into it: its kernels' arguments and
 * the device collective it calls. */
typedef struct {
    void *graph;
    float reg;
    int denom;
    model_allreduce_device_fn dev_fn;
    void *dev_ctx;
    int gather;
} graph_slot;

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
    graph_slot grads_graph;       /* the captured gradient step (backends that capture) */
    graph_slot full_graph;        /* and the whole step, Adam included */
    /* the whole step's state: Adam's moments, its hyperparameters (lr, c1,
     * c2), the finiteness partials and flag; the grads buffer has one more
     * float, the loss slot */
    float *mu, *nu, *hyper, *fpart;
    int *skip;
    long fblk;
    const model_state *bound;     /* whose parameters the device holds, */
    int64_t step;                 /* after how many steps, */
    int resident;                 /* when it holds them at all */
    uint8_t *pool;                /* images kept in backend memory (model_gpu_keep_images),
                                     or the slots batches are staged into (model_gpu_stream) */
    size_t pool_n;
    int slots;                    /* staging slots (0: the pool holds kept images) */
    uint32_t *idx;                /* a step's 3 * batch pool indices */
    int gather;                   /* this step gathers its images from the pool */
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
    if (g->grads_graph.graph) g->be.graph_free(g->be.lib, g->grads_graph.graph);
    if (g->full_graph.graph) g->be.graph_free(g->be.lib, g->full_graph.graph);
    tower_gpu_scratch_free(&g->be, &g->sc);
    if (g->pool) g->be.release(g->be.lib, g->pool);
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
    g->fblk = gm_finite_blocks((long)t->n_params + 1, FINITE_ROWS);
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
 * capture, no collective crosses the host inside the step (none, or a
 * device one), and STL_GPU_GRAPHS is not 0 (a switch for finding a capture
 * problem). */
static int use_graph(const model_gpu *g, const tower_collective *coll) {
    const char *v = getenv("STL_GPU_GRAPHS");
    int host_coll = tower_collective_active(coll) && !coll->dev_fn;
    return g->be.capture_begin && !host_coll && !(v && strcmp(v, "0") == 0);
}

typedef int (*step_fn)(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
                       stl_error *err);

/* A step run as the graph in gs: captured on first use (and again when reg,
 * the global batch or the device collective baked into it change), then
 * replayed. */
static int run_graph(model_gpu *g, graph_slot *gs, step_fn body, float reg, int global_batch,
                     const tower_collective *coll, stl_error *err) {
    const gpu_backend *be = &g->be;
    model_allreduce_device_fn dev_fn = coll ? coll->dev_fn : NULL;
    void *dev_ctx = coll ? coll->dev_ctx : NULL;
    if (gs->graph && (gs->reg != reg || gs->denom != global_batch || gs->dev_fn != dev_fn ||
                      gs->dev_ctx != dev_ctx || gs->gather != g->gather)) {
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
                           .dev_ctx = dev_ctx, .gather = g->gather};
    }
    return be->graph_launch(be->lib, gs->graph, err);
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
    g->resident = 0; /* the device's parameters are m's now, its moments are not */
    g->gather = 0;
    if (use_graph(g, coll) ? run_graph(g, &g->grads_graph, step_body, reg, global_batch, coll, err)
                           : step_body(g, reg, global_batch, coll, err))
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

/* ---- the whole step, the model kept on the device ---- */

/* m's parameters, moments and running averages onto the device, unless it
 * already holds them after m->step steps. */
static int load_resident(model_gpu *g, const model_state *m, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t np = sizeof(float) * g->t->n_params;
    if (g->resident && g->bound == m && g->step == m->step) return 0;
    if (load_model(g, m, err) != 0 || be->upload(be->lib, g->mu, m->adam_m, np, err) != 0 ||
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
    if (tower_collective_active(coll)) {
        if (coll->dev_fn && coll->dev_fn(coll->dev_ctx, g->grads, (size_t)n + 1, be->stream) != 0)
            return stl_fail(err, "model: gradient all-reduce failed");
        if (!coll->dev_fn && update_cross_host(g, coll, host_grads, err) != 0) return -1;
    }
    KERNEL(finite_partials, g->grads, n + 1, FINITE_ROWS, g->fpart);
    KERNEL(finite_flag, g->fpart, g->fblk, g->skip);
    KERNEL(adam_gated, g->params, g->grads, g->mu, g->nu, n, g->hyper, g->skip, MODEL_ADAM_B1,
           MODEL_ADAM_B2, MODEL_ADAM_EPS);
    return 0;
}

/* A step by index: its three batches gathered from the kept images. */
static int gather_batch(model_gpu *g, stl_error *err) {
    const gpu_backend *be = &g->be;
    long img = (long)(g->img_bytes / (size_t)g->batch);
    for (int i = 0; g->gather && i < 3; i++)
        KERNEL(gather_images, g->pool, g->idx + (size_t)g->batch * i, g->batch, img, g->x[i]);
    return 0;
}

/* The whole step as one body (what the graph captures): no host staging,
 * so only without a host collective. */
static int full_body(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
                     stl_error *err) {
    if (gather_batch(g, err) != 0 || step_body(g, reg, global_batch, coll, err) != 0) return -1;
    return update_body(g, coll, NULL, err);
}

/* This step's images into x[0..2]: uploaded from in, or (idx) their pool
 * indices uploaded for the step's gather. */
static int load_images(model_gpu *g, const uint8_t *const in[3], const uint32_t *const idx[3],
                       stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t B = (size_t)g->batch;
    g->gather = idx != NULL;
    if (idx) {
        if (!g->pool) return stl_fail(err, "model: a step by image index, but no images are kept");
        for (int i = 0; i < 3; i++)
            for (size_t j = 0; j < B; j++)
                if (idx[i][j] >= g->pool_n)
                    return stl_fail(err, "model: image index %u, but %zu images are kept",
                                    (unsigned)idx[i][j], g->pool_n);
    }
    for (int i = 0; i < 3; i++) {
        if (idx ? be->upload(be->lib, g->idx + B * i, idx[i], sizeof(uint32_t) * B, err) != 0
                : be->upload(be->lib, g->x[i], in[i], g->img_bytes, err) != 0)
            return -1;
        g->acts[i].x0 = g->x[i];
    }
    return 0;
}

/* The images kept: n of them, each img bytes, uploaded in chunks through
 * a host staging buffer. */
static int upload_pool(model_gpu *g, size_t n, size_t img, model_pixels_fn pixels, void *ctx,
                       stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t per = (64u << 20) / img ? (64u << 20) / img : 1;
    uint8_t *stage = malloc(per * img);
    if (!stage) return stl_fail(err, "model: out of memory for the image upload");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        for (size_t j = 0; j < k; j++) memcpy(stage + j * img, pixels(ctx, (uint32_t)(i + j)), img);
        rc = be->upload(be->lib, g->pool + i * img, stage, k * img, err);
    }
    free(stage);
    return rc;
}

int model_gpu_keep_images(model_gpu *g, size_t n, model_pixels_fn pixels, void *ctx,
                          model_keep_info *info, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t img = g->img_bytes / (size_t)g->batch, avail = 0;
    memset(info, 0, sizeof *info);
    info->bytes = n * img;
    if (g->pool) {
        be->release(be->lib, g->pool);
        g->pool = NULL, g->pool_n = 0;
    }
    g->slots = 0;
    if (!be->mem_free || be->mem_free(be->lib, &avail, err) != 0) return be->mem_free ? -1 : 0;
    info->free = avail;
    /* a margin for what the libraries allocate later, and fragmentation */
    size_t margin = ((size_t)256 << 20) + avail / 20;
    if (n == 0 || n > UINT32_MAX || avail < margin || info->bytes > avail - margin) return 0;
    if (!(g->pool = be->alloc(be->lib, info->bytes, err))) return -1;
    g->pool_n = n;
    if (upload_pool(g, n, img, pixels, ctx, err) != 0) {
        be->release(be->lib, g->pool);
        g->pool = NULL, g->pool_n = 0;
        return -1;
    }
    return 1;
}

int model_gpu_stream(model_gpu *g, int slots, stl_error *err) {
    const gpu_backend *be = &g->be;
    if (slots < 1) return stl_fail(err, "model: %d staging slots", slots);
    if (g->pool) be->release(be->lib, g->pool);
    g->pool_n = 0, g->slots = 0;
    if (!(g->pool = be->alloc(be->lib, 3 * (size_t)slots * g->img_bytes, err))) return -1;
    g->pool_n = 3 * (size_t)slots * (size_t)g->batch;
    g->slots = slots;
    return 0;
}

int model_gpu_stage(model_gpu *g, int slot, const uint8_t *const in[3], uint32_t *const idx[3],
                    stl_error *err) {
    const gpu_backend *be = &g->be;
    if (!g->slots || slot < 0 || slot >= g->slots)
        return stl_fail(err, "model: staging slot %d of %d", slot, g->slots);
    for (int r = 0; r < 3; r++) {
        size_t first = (3 * (size_t)slot + (size_t)r) * (size_t)g->batch;
        if (be->upload_copy(be->lib, g->pool + first * (g->img_bytes / (size_t)g->batch), in[r],
                            g->img_bytes, err) != 0)
            return -1;
        for (int j = 0; j < g->batch; j++) idx[r][j] = (uint32_t)(first + (size_t)j);
    }
    return 0;
}

void *model_gpu_host_alloc(model_gpu *g, size_t bytes, stl_error *err) {
    return g->be.host_alloc(g->be.lib, bytes, err);
}
void model_gpu_host_free(model_gpu *g, void *p) {
    if (p) g->be.host_free(g->be.lib, p);
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
    if (use_graph(g, coll) && !poison) {
        if (run_graph(g, &g->full_graph, full_body, reg, global_batch, coll, err) != 0) return -1;
    } else {
        /* op by op; the test hook's NaN goes into one gradient element
         * between the backward pass and the all-reduce */
        const float nan = NAN;
        if (gather_batch(g, err) != 0 || step_body(g, reg, global_batch, coll, err) != 0 ||
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

int model_gpu_embed(model_gpu *g, const model_state *m, int tower, const uint8_t *x, int n,
                    float *out, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t img = (size_t)g->s->size * g->s->size * 3, have = img * (size_t)n;
    if (n < 0 || n > g->batch)
        return stl_fail(err, "model: %d images for a workspace of batch %d", n, g->batch);
    /* the device's own copy where it holds m's current parameters (they may
     * be newer than m's host arrays), else m's */
    int current = g->resident && g->bound == m && g->step == m->step;
    if (!current) g->resident = 0;
    if ((!current && load_model(g, m, err) != 0) || repack_conv3(g, 1, err) != 0 ||
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

/* model.c — the public model API of model.h: Flax-style initialisation, the
 * workspace, the training step (three tower calls, the triplet loss, three
 * backward passes), optax Adam, and per-image inference.
 *
 * The workspace owns: the tower geometry, three activation sets (scene,
 * positives, negatives) of `batch` images, the shared scratch of a pass, the
 * worker pool, and per-thread single-image buffers for inference. All of it
 * is allocated by model_ws_create / model_ws_set_threads, none in a step.
 *
 * Threads: OpenBLAS is set to one thread (openblas_set_num_threads(1)) and
 * called from the workspace's own `threads` threads, each on its share of
 * the rows, so the process uses `threads` cores and never more; elementwise
 * work runs on the same threads in the same phases.
 */
#include "model/model.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "model/adam.h"
#include "model/init.h"
#include "model/loss.h"
#include "model/pixel.h"
#include "base/par.h"
#include "base/rng.h"
#include "base/threads.h"
#include "model/tower.h"

struct model_ws {
    tower_shape shape;
    int batch, size, threads;
    device_kind device;
    par_pool *pool;
    tower_collective coll;
    float *acts_mem;
    tower_acts acts[3];
    float *scratch_mem;
    double *psum;
    tower_scratch sc;
    float *inf_mem;        /* per thread: one image's acts and forward scratch */
    double *inf_psum;
    tower_acts *inf_acts;
    tower_scratch *inf_sc;
    float *demb;           /* 3 * batch * out */
};

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

static void free_threads(model_ws *ws) {
    par_free(ws->pool);
    ws->pool = NULL;
    free(ws->scratch_mem);
    free(ws->psum);
    free(ws->inf_mem);
    free(ws->inf_psum);
    free(ws->inf_acts);
    free(ws->inf_sc);
    ws->scratch_mem = ws->inf_mem = NULL;
    ws->psum = ws->inf_psum = NULL;
    ws->inf_acts = NULL;
    ws->inf_sc = NULL;
}

int model_ws_set_threads(model_ws *ws, int n, stl_error *err) {
    n = threads_resolve(n, 1);
    free_threads(ws);
    openblas_set_num_threads(1);
    const tower_shape *s = &ws->shape;
    ws->threads = n;
    ws->pool = par_create(n);
    size_t sf = tower_scratch_floats(s, ws->batch, n, 1);
    size_t inf_one = tower_acts_size(s, 1) + tower_scratch_floats(s, 1, 1, 0);
    ws->scratch_mem = aligned_alloc(64, sizeof(float) * sf);
    ws->psum = calloc((size_t)n * TOWER_PSUM_STRIDE, sizeof(double));
    ws->inf_mem = aligned_alloc(64, sizeof(float) * inf_one * (size_t)n);
    ws->inf_psum = calloc((size_t)n * TOWER_PSUM_STRIDE, sizeof(double));
    ws->inf_acts = calloc((size_t)n, sizeof *ws->inf_acts);
    ws->inf_sc = calloc((size_t)n, sizeof *ws->inf_sc);
    if (!ws->pool || !ws->scratch_mem || !ws->psum || !ws->inf_mem || !ws->inf_psum ||
        !ws->inf_acts || !ws->inf_sc) {
        free_threads(ws);
        return stl_fail(err, "model: workspace for %d threads: out of memory", n);
    }
    tower_scratch_carve(s, ws->batch, n, 1, ws->scratch_mem, ws->psum, &ws->sc);
    for (int t = 0; t < n; t++) {
        float *base = ws->inf_mem + inf_one * (size_t)t;
        tower_acts_carve(s, 1, base, &ws->inf_acts[t]);
        tower_scratch_carve(s, 1, 1, 0, base + tower_acts_size(s, 1),
                            ws->inf_psum + (size_t)t * TOWER_PSUM_STRIDE, &ws->inf_sc[t]);
    }
    return 0;
}

model_ws *model_ws_create(const param_table *t, int batch, int size, device_kind device,
                          stl_error *err) {
    if (device != DEVICE_CPU) {
        stl_fail(err, "model: no %s path in this build (the CPU is the only device)",
                 device_name(device));
        return NULL;
    }
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
    if (tower_shape_init(&ws->shape, t, size, err) < 0) {
        free(ws);
        return NULL;
    }
    ws->batch = batch;
    ws->size = size;
    size_t per = tower_acts_size(&ws->shape, batch);
    ws->acts_mem = aligned_alloc(64, sizeof(float) * per * 3);
    ws->demb = malloc(sizeof(float) * 3 * (size_t)batch * t->output_size);
    if (!ws->acts_mem || !ws->demb) {
        stl_fail(err, "model: workspace for batch %d at %dx%d: out of memory (%zu MiB)", batch,
                 size, size, sizeof(float) * per * 3 >> 20);
        model_ws_free(ws);
        return NULL;
    }
    for (int i = 0; i < 3; i++) tower_acts_carve(&ws->shape, batch, ws->acts_mem + per * i, &ws->acts[i]);
    if (model_ws_set_threads(ws, 0, err) < 0) {
        model_ws_free(ws);
        return NULL;
    }
    return ws;
}

void model_ws_free(model_ws *ws) {
    if (!ws) return;
    free_threads(ws);
    free(ws->acts_mem);
    free(ws->demb);
    free(ws);
}

device_kind model_ws_device(const model_ws *ws) { return ws->device; }

int model_ws_batch(const model_ws *ws) { return ws->batch; }
int model_ws_size(const model_ws *ws) { return ws->size; }
int model_ws_threads(const model_ws *ws) { return ws->threads; }

void model_ws_set_allreduce(model_ws *ws, model_allreduce_fn fn, void *ctx) {
    ws->coll.fn = fn;
    ws->coll.ctx = ctx;
}

int model_train_step_grads(model_state *m, model_ws *ws, const uint8_t *scene,
                           const uint8_t *pos, const uint8_t *neg, float reg,
                           int global_batch, float *loss_out, float *emb_scene,
                           float *emb_pos, float *emb_neg, stl_error *err) {
    const tower_shape *s = &ws->shape;
    if (m->table.output_size != s->out)
        return stl_fail(err, "model: workspace built for output size %d, model has %d", s->out,
                        m->table.output_size);
    if (global_batch < 1) return stl_fail(err, "model: global batch %d < 1", global_batch);
    int B = ws->batch, D = s->out;
    const uint8_t *in[3] = {scene, pos, neg};
    const int tower[3] = {MODEL_TOWER_SCENE, MODEL_TOWER_PRODUCT, MODEL_TOWER_PRODUCT};
    memset(m->grads, 0, sizeof(float) * m->table.n_params);
    for (int i = 0; i < 3; i++) {
        ws->acts[i].x0 = in[i];
        if (tower_forward(s, m->params, m->stats, tower[i], 1, &ws->acts[i], &ws->sc, ws->pool,
                          &ws->coll, err) < 0)
            return -1;
    }
    float *ds = ws->demb, *dp = ds + (size_t)B * D, *dn = dp + (size_t)B * D;
    double loss = loss_triplet(ws->acts[0].emb, ws->acts[1].emb, ws->acts[2].emb, B, D, reg,
                               global_batch, ds, dp, dn);
    float *emb_out[3] = {emb_scene, emb_pos, emb_neg};
    for (int i = 0; i < 3; i++)
        if (emb_out[i]) memcpy(emb_out[i], ws->acts[i].emb, sizeof(float) * (size_t)B * D);
    for (int i = 0; i < 3; i++)
        if (tower_backward(s, m->params, m->grads, tower[i], &ws->acts[i], ws->demb + (size_t)i * B * D,
                           &ws->sc, ws->pool, &ws->coll, err) < 0)
            return -1;
    if (loss_out) *loss_out = (float)loss;
    return 0;
}

void model_adam_step(model_state *m, float lr) {
    adam_update(m->params, m->grads, m->adam_m, m->adam_v, m->table.n_params, lr, MODEL_ADAM_B1,
                MODEL_ADAM_B2, MODEL_ADAM_EPS, m->step + 1);
    m->step++;
}

typedef struct {
    const model_state *m;
    model_ws *ws;
    int tower, n;
    const uint8_t *x;
    float *out;
    int failed;
} embed_ctx;

static void embed_worker(void *arg, int tid, int nt) {
    embed_ctx *e = arg;
    model_ws *ws = e->ws;
    const tower_shape *s = &ws->shape;
    long lo, hi;
    par_range(e->n, tid, nt, &lo, &hi);
    size_t img = (size_t)s->size * s->size * 3;
    tower_acts *a = &ws->inf_acts[tid];
    for (long i = lo; i < hi; i++) {
        a->x0 = e->x + img * (size_t)i;
        /* train 0 reads the running averages and writes nothing to stats */
        if (tower_forward(s, e->m->params, e->m->stats, e->tower, 0, a, &ws->inf_sc[tid], NULL,
                          NULL, NULL) < 0) {
            e->failed = 1;
            return;
        }
        memcpy(e->out + (size_t)i * s->out, a->emb, sizeof(float) * (size_t)s->out);
    }
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
    embed_ctx e = {m, ws, tower, n, x, out, 0};
    par_run(ws->pool, embed_worker, &e);
    if (e.failed) return stl_fail(err, "model: embedding failed");
    return 0;
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

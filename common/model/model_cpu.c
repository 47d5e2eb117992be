/* model_cpu.c — the model's CPU backend (model_cpu.h): a training step's
 * three tower calls, the triplet loss and three backward passes, and
 * per-image inference, on the workspace's own threads.
 *
 * Threads: OpenBLAS is set to one thread (openblas_set_num_threads(1)) and
 * called from the backend's own `threads` threads, each on its share of the
 * rows, so the process uses `threads` cores and never more; elementwise work
 * runs on the same threads in the same phases.
 */
#include "model/model_cpu.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "base/par.h"
#include "base/threads.h"
#include "model/loss.h"
#include "model/tower_cpu.h"

struct model_cpu {
    const tower_shape *s;
    int batch, threads;
    par_pool *pool;
    float *acts_mem;
    tower_acts acts[3];    /* scene, positives, negatives */
    float *scratch_mem;
    double *psum;
    tower_cpu_scratch sc;
    float *inf_mem;        /* per thread: one image's acts and forward scratch */
    double *inf_psum;
    tower_acts *inf_acts;
    tower_cpu_scratch *inf_sc;
    float *demb;           /* 3 * batch * out */
};

static void free_threads(model_cpu *c) {
    par_free(c->pool);
    c->pool = NULL;
    free(c->scratch_mem);
    free(c->psum);
    free(c->inf_mem);
    free(c->inf_psum);
    free(c->inf_acts);
    free(c->inf_sc);
    c->scratch_mem = c->inf_mem = NULL;
    c->psum = c->inf_psum = NULL;
    c->inf_acts = NULL;
    c->inf_sc = NULL;
}

int model_cpu_set_threads(model_cpu *c, int n, stl_error *err) {
    n = threads_resolve(n, 1);
    free_threads(c);
    openblas_set_num_threads(1);
    const tower_shape *s = c->s;
    c->threads = n;
    c->pool = par_create(n);
    size_t sf = tower_cpu_scratch_floats(s, c->batch, n, 1);
    size_t inf_one = tower_acts_size(s, 1) + tower_cpu_scratch_floats(s, 1, 1, 0);
    c->scratch_mem = aligned_alloc(64, sizeof(float) * sf);
    c->psum = calloc((size_t)n * TOWER_CPU_PSUM_STRIDE, sizeof(double));
    c->inf_mem = aligned_alloc(64, sizeof(float) * inf_one * (size_t)n);
    c->inf_psum = calloc((size_t)n * TOWER_CPU_PSUM_STRIDE, sizeof(double));
    c->inf_acts = calloc((size_t)n, sizeof *c->inf_acts);
    c->inf_sc = calloc((size_t)n, sizeof *c->inf_sc);
    if (!c->pool || !c->scratch_mem || !c->psum || !c->inf_mem || !c->inf_psum ||
        !c->inf_acts || !c->inf_sc) {
        free_threads(c);
        return stl_fail(err, "model: workspace for %d threads: out of memory", n);
    }
    tower_cpu_scratch_carve(s, c->batch, n, 1, c->scratch_mem, c->psum, &c->sc);
    for (int t = 0; t < n; t++) {
        float *base = c->inf_mem + inf_one * (size_t)t;
        tower_acts_carve(s, 1, base, &c->inf_acts[t]);
        tower_cpu_scratch_carve(s, 1, 1, 0, base + tower_acts_size(s, 1),
                                c->inf_psum + (size_t)t * TOWER_CPU_PSUM_STRIDE, &c->inf_sc[t]);
    }
    return 0;
}

model_cpu *model_cpu_create(const tower_shape *s, int batch, stl_error *err) {
    model_cpu *c = calloc(1, sizeof *c);
    if (!c) {
        stl_fail(err, "model: workspace: out of memory");
        return NULL;
    }
    c->s = s;
    c->batch = batch;
    size_t per = tower_acts_size(s, batch);
    c->acts_mem = aligned_alloc(64, sizeof(float) * per * 3);
    c->demb = malloc(sizeof(float) * 3 * (size_t)batch * s->out);
    if (!c->acts_mem || !c->demb) {
        stl_fail(err, "model: workspace for batch %d at %dx%d: out of memory (%zu MiB)", batch,
                 s->size, s->size, sizeof(float) * per * 3 >> 20);
        model_cpu_free(c);
        return NULL;
    }
    for (int i = 0; i < 3; i++) tower_acts_carve(s, batch, c->acts_mem + per * i, &c->acts[i]);
    if (model_cpu_set_threads(c, 0, err) < 0) {
        model_cpu_free(c);
        return NULL;
    }
    return c;
}

void model_cpu_free(model_cpu *c) {
    if (!c) return;
    free_threads(c);
    free(c->acts_mem);
    free(c->demb);
    free(c);
}

int model_cpu_threads(const model_cpu *c) { return c->threads; }

int model_cpu_train_step(model_cpu *c, model_state *m, const uint8_t *const in[3], float reg,
                         int global_batch, const tower_collective *coll, float *loss_out,
                         float *const emb_out[3], stl_error *err) {
    const tower_shape *s = c->s;
    int B = c->batch, D = s->out;
    const int tower[3] = {MODEL_TOWER_SCENE, MODEL_TOWER_PRODUCT, MODEL_TOWER_PRODUCT};
    memset(m->grads, 0, sizeof(float) * m->table.n_params);
    for (int i = 0; i < 3; i++) {
        c->acts[i].x0 = in[i];
        if (tower_cpu_forward(s, m->params, m->stats, tower[i], 1, &c->acts[i], &c->sc, c->pool,
                              coll, err) < 0)
            return -1;
    }
    float *ds = c->demb, *dp = ds + (size_t)B * D, *dn = dp + (size_t)B * D;
    double loss = loss_triplet(c->acts[0].emb, c->acts[1].emb, c->acts[2].emb, B, D, reg,
                               global_batch, ds, dp, dn);
    for (int i = 0; i < 3; i++)
        if (emb_out[i]) memcpy(emb_out[i], c->acts[i].emb, sizeof(float) * (size_t)B * D);
    for (int i = 0; i < 3; i++)
        if (tower_cpu_backward(s, m->params, m->grads, tower[i], &c->acts[i],
                               c->demb + (size_t)i * B * D, &c->sc, c->pool, coll, err) < 0)
            return -1;
    if (loss_out) *loss_out = (float)loss;
    return 0;
}

typedef struct {
    const model_state *m;
    model_cpu *c;
    int tower, n;
    const uint8_t *x;
    float *out;
    int failed;
} embed_ctx;

static void embed_worker(void *arg, int tid, int nt) {
    embed_ctx *e = arg;
    model_cpu *c = e->c;
    const tower_shape *s = c->s;
    long lo, hi;
    par_range(e->n, tid, nt, &lo, &hi);
    size_t img = (size_t)s->size * s->size * 3;
    tower_acts *a = &c->inf_acts[tid];
    for (long i = lo; i < hi; i++) {
        a->x0 = e->x + img * (size_t)i;
        /* train 0 reads the running averages and writes nothing to stats */
        if (tower_cpu_forward(s, e->m->params, e->m->stats, e->tower, 0, a, &c->inf_sc[tid], NULL,
                              NULL, NULL) < 0) {
            e->failed = 1;
            return;
        }
        memcpy(e->out + (size_t)i * s->out, a->emb, sizeof(float) * (size_t)s->out);
    }
}

int model_cpu_embed(model_cpu *c, const model_state *m, int tower, const uint8_t *x, int n,
                    float *out, stl_error *err) {
    embed_ctx e = {m, c, tower, n, x, out, 0};
    par_run(c->pool, embed_worker, &e);
    if (e.failed) return stl_fail(err, "model: embedding failed");
    return 0;
}

/* test_model.c — the whole CPU model: the parameter table, Flax-style
 * initialisation, the training step's gradients against finite differences
 * of its own loss, determinism, per-image embedding (bit-identical whatever
 * the batch), and the synchronised-BatchNorm hook (two simulated ranks with
 * half the batch each give the step of one process with the whole batch).
 * Small images (S = 32 or 64) and batches keep it to a few seconds.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_ranks.h"
#include "check_isa.h"
#include "model/model.h"
#include "model/params.h"
#include "base/rng.h"

static uint8_t *random_images(int n, int S, uint64_t seed) {
    size_t len = (size_t)n * S * S * 3;
    uint8_t *px = malloc(len);
    rng_state r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < len; i++) px[i] = (uint8_t)rng_uniform(&r, 256);
    return px;
}

/* The model's pixel normalisation as docs/model.md defines it, for the
 * references computed here. */
static double norm(uint8_t v) { return v / 255.0 - 0.5; }

static void test_param_table(void) {
    stl_error err;
    param_table t;
    CHECK(param_table_init(&t, 64, &err) == 0);
    size_t per_tower = 0;
    int n_conv = 0, n_bn = 0;
    for (int i = 0; i < t.n; i++) {
        const param_entry *e = &t.e[i];
        if (!e->is_stat && e->tower == MODEL_TOWER_SCENE) per_tower += e->count;
        if (!e->is_stat && e->tower == MODEL_TOWER_SCENE && strstr(e->name, "/kernel") &&
            strstr(e->name, "Conv_"))
            n_conv++;
        if (!e->is_stat && e->tower == MODEL_TOWER_SCENE && strstr(e->name, "/scale")) n_bn++;
    }
    CHECK_EQ_INT(per_tower, 247856);
    CHECK_EQ_INT(t.n_params, 2 * 247856);
    CHECK_EQ_INT(n_conv, 16);
    CHECK_EQ_INT(n_bn, 12);
    /* mean and var of 12 BatchNorms of 16/32/64/128 channels, two towers */
    CHECK_EQ_INT(t.n_stats, 2 * 2 * 3 * (16 + 32 + 64 + 128));
    const param_entry *e = param_table_find(&t, "scene_cnn/Conv_0/kernel", 0);
    CHECK(e && e->ndim == 4 && e->shape[0] == 3 && e->shape[1] == 3 && e->shape[2] == 3 &&
          e->shape[3] == 16 && e->offset == 0);
    e = param_table_find(&t, "product_cnn/Conv_13/kernel", 0); /* block 3's main 3x3 */
    CHECK(e && e->shape[2] == 64 && e->shape[3] == 128);
    e = param_table_find(&t, "scene_cnn/Conv_6/kernel", 0); /* block 1's first 1x1 */
    CHECK(e && e->shape[0] == 1 && e->shape[2] == 32 && e->shape[3] == 32);
    e = param_table_find(&t, "product_cnn/Dense_0/kernel", 0);
    CHECK(e && e->ndim == 2 && e->shape[0] == 128 && e->shape[1] == 64);
    e = param_table_find(&t, "scene_cnn/BatchNorm_11/var", 1);
    CHECK(e && e->is_stat && e->count == 128);
    CHECK(param_table_find(&t, "scene_cnn/BatchNorm_11/var", 0) == NULL);
    CHECK(param_table_find(&t, "scene_cnn/Conv_16/kernel", 0) == NULL);
    /* offsets tile the buffers exactly */
    size_t seen_p = 0, seen_s = 0;
    for (int i = 0; i < t.n; i++) {
        if (t.e[i].is_stat) {
            CHECK_EQ_INT(t.e[i].offset, seen_s);
            seen_s += t.e[i].count;
        } else {
            CHECK_EQ_INT(t.e[i].offset, seen_p);
            seen_p += t.e[i].count;
        }
    }
    CHECK_EQ_INT(seen_p, t.n_params);
    CHECK_EQ_INT(seen_s, t.n_stats);
    param_table_free(&t);
    CHECK(param_table_init(&t, 0, &err) < 0);
}

static void test_init(void) {
    stl_error err;
    model_state m, m2;
    CHECK(model_init(&m, 64, 7, &err) == 0);
    CHECK(model_init(&m2, 64, 7, &err) == 0);
    CHECK(memcmp(m.params, m2.params, sizeof(float) * m.table.n_params) == 0);
    model_init_params(&m2, 8);
    CHECK(memcmp(m.params, m2.params, sizeof(float) * m.table.n_params) != 0);
    /* the 3x3x64x128 kernel: std sqrt(1/576), within 2 sigma / 0.8796 */
    const param_entry *e = param_table_find(&m.table, "scene_cnn/Conv_13/kernel", 0);
    double s = 0, q = 0, lim = 2 * sqrt(1.0 / 576) / 0.87962566103423978, mx = 0;
    for (size_t i = 0; i < e->count; i++) {
        double v = m.params[e->offset + i];
        s += v, q += v * v;
        if (fabs(v) > mx) mx = fabs(v);
    }
    double mean = s / e->count, sd = sqrt(q / e->count - mean * mean);
    CHECK(fabs(mean) < 0.002);
    CHECK_CLOSE(sd, sqrt(1.0 / 576), 0, 0.02);
    CHECK(mx <= lim * (1 + 1e-6));
    CHECK(mx > 0.9 * lim); /* the tails reach the truncation */
    e = param_table_find(&m.table, "product_cnn/BatchNorm_4/scale", 0);
    CHECK(m.params[e->offset] == 1.0f && m.params[e->offset + e->count - 1] == 1.0f);
    e = param_table_find(&m.table, "product_cnn/Conv_3/bias", 0);
    CHECK(m.params[e->offset] == 0.0f);
    e = param_table_find(&m.table, "scene_cnn/BatchNorm_4/var", 1);
    CHECK(m.stats[e->offset] == 1.0f);
    e = param_table_find(&m.table, "scene_cnn/BatchNorm_4/mean", 1);
    CHECK(m.stats[e->offset] == 0.0f);
    CHECK_EQ_INT(m.step, 0);
    model_state_free(&m);
    model_state_free(&m2);
}

/* ---- gradients of the whole loss against finite differences ---- */

typedef struct {
    model_state *m;
    model_ws *ws;
    const uint8_t *s, *p, *n;
    float reg;
    int B;
} step_ctx;

static double step_loss(step_ctx *c) {
    stl_error err;
    float loss = 0;
    if (model_train_step_grads(c->m, c->ws, c->s, c->p, c->n, c->reg, c->B, &loss, NULL, NULL,
                               NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NAN;
    }
    return loss;
}

static void test_loss_gradients(void) {
    enum { B = 4, S = 32 };
    stl_error err;
    model_state m;
    CHECK(model_init(&m, 8, 11, &err) == 0);
    model_ws *ws = model_ws_create(&m.table, B, S, DEVICE_CPU, &err);
    CHECK(ws != NULL);
    if (!ws) return;
    uint8_t *x = random_images(3 * B, S, 5);
    step_ctx c = {&m, ws, x, x + (size_t)B * S * S * 3, x + (size_t)2 * B * S * S * 3, 0.2f, B};
    double L = step_loss(&c);
    CHECK(isfinite(L) && L > 0);
    float *g = malloc(sizeof(float) * m.table.n_params);
    memcpy(g, m.grads, sizeof(float) * m.table.n_params);
    /* Per tensor: its largest-gradient element (and see npick).
     * Float32 central differences at h = 8e-3 and 4e-3, Richardson-combined
     * (truncation O(h^4)): rounding of the float32 loss (~1e-7 relative)
     * leaves ~5e-5 noise in the quotient and BatchNorm over few rows (the
     * last blocks are 1x1 at S = 32) is strongly curved, so the tolerance is
     * |g - fd| <= 2e-4 + 5e-2 |fd|. */
    rng_state r;
    rng_seed(&r, 3);
    int bad = 0, checked = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m.table.n; i++) {
        const param_entry *e = &m.table.e[i];
        if (e->is_stat) continue;
        size_t big = 0;
        for (size_t j = 1; j < e->count; j++)
            if (fabsf(g[e->offset + j]) > fabsf(g[e->offset + big])) big = j;
        size_t pick[2] = {big, (size_t)rng_uniform(&r, e->count)};
        /* a random element too for the product tower's kernels (the tower
         * run twice per step); the largest only elsewhere, to stay fast */
        int npick = e->tower == MODEL_TOWER_PRODUCT && strstr(e->name, "/kernel") ? 2 : 1;
        for (int k = 0; k < npick; k++) {
            float *p = m.params + e->offset + pick[k];
            float p0 = *p, h = 8e-3f;
            double d[2];
            for (int q = 0; q < 2; q++, h /= 2) {
                *p = p0 + h;
                double lp = step_loss(&c);
                *p = p0 - h;
                double lm = step_loss(&c);
                d[q] = (lp - lm) / (2.0 * (double)h);
            }
            *p = p0;
            double fd = (4 * d[1] - d[0]) / 3, an = g[e->offset + pick[k]];
            double ex = fabs(an - fd) - (2e-4 + 5e-2 * fabs(fd));
            if (ex > 0) {
                bad++;
                fprintf(stderr, "  %s[%zu]: analytic %.6g, finite difference %.6g\n", e->name,
                        pick[k], an, fd);
            }
            if (ex > worst || checked == 0) worst = ex, worst_name = e->name;
            checked++;
        }
    }
    fprintf(stderr, "  %d gradients checked, worst margin %.3g at %s\n", checked, worst,
            worst_name);
    CHECK_EQ_INT(bad, 0);
    /* a gradient that matters is non-zero: the Dense kernel's */
    const param_entry *e = param_table_find(&m.table, "scene_cnn/Dense_0/kernel", 0);
    double gn = 0;
    for (size_t j = 0; j < e->count; j++) gn += fabs(g[e->offset + j]);
    CHECK(gn > 1e-4);
    free(g);
    free(x);
    model_ws_free(ws);
    model_state_free(&m);
}

/* ---- running averages ---- */

static void test_running_averages(void) {
    enum { B = 3, S = 32 };
    stl_error err;
    model_state m;
    CHECK(model_init(&m, 16, 2, &err) == 0);
    model_ws *ws = model_ws_create(&m.table, B, S, DEVICE_CPU, &err);
    uint8_t *x = random_images(3 * B, S, 9);
    size_t img = (size_t)B * S * S * 3;
    float loss;
    /* non-zero conv biases: the running mean is of conv + bias */
    m.params[param_table_find(&m.table, "scene_cnn/Conv_1/bias", 0)->offset] = 0.3f;
    m.params[param_table_find(&m.table, "product_cnn/Conv_1/bias", 0)->offset] = -0.2f;
    CHECK(model_train_step_grads(&m, ws, x, x + img, x + 2 * img, 0.2f, B, &loss, NULL, NULL,
                                 NULL, &err) == 0);
    /* BatchNorm_0 follows Conv_1: its batch mean is the mean of the conv
     * output plus bias. Scene: one update, 0.01 * mean. Product: two. */
    const param_entry *ms = param_table_find(&m.table, "scene_cnn/BatchNorm_0/mean", 1);
    const param_entry *vs = param_table_find(&m.table, "scene_cnn/BatchNorm_0/var", 1);
    const param_entry *mp = param_table_find(&m.table, "product_cnn/BatchNorm_0/mean", 1);
    CHECK(m.stats[ms->offset] != 0.0f);
    CHECK(m.stats[vs->offset] != 1.0f);
    /* recompute BatchNorm_0's batch mean for channel 0 directly */
    const param_entry *k1 = param_table_find(&m.table, "scene_cnn/Conv_1/kernel", 0);
    const param_entry *k1p = param_table_find(&m.table, "product_cnn/Conv_1/kernel", 0);
    double mean_s = 0, mean_p = 0, mean_n = 0;
    int ho = S / 2;
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < ho; oh++)
            for (int ow = 0; ow < ho; ow++)
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = oh * 2 + kh, iw = ow * 2 + kw;
                        if (ih >= S || iw >= S) continue;
                        for (int ci = 0; ci < 3; ci++) {
                            size_t xi = (((size_t)b * S + ih) * S + iw) * 3 + ci;
                            size_t wi = ((size_t)(kh * 3 + kw) * 3 + ci) * 16;
                            mean_s += norm(x[xi]) * m.params[k1->offset + wi];
                            mean_p += norm(x[img + xi]) * m.params[k1p->offset + wi];
                            mean_n += norm(x[2 * img + xi]) * m.params[k1p->offset + wi];
                        }
                    }
    double cnt = (double)B * ho * ho;
    mean_s = mean_s / cnt + 0.3, mean_p = mean_p / cnt - 0.2, mean_n = mean_n / cnt - 0.2;
    CHECK_CLOSE(m.stats[ms->offset], 0.01 * mean_s, 1e-7, 1e-4);
    /* positives first, then negatives: 0.99 * (0.01 mp) + 0.01 mn */
    CHECK_CLOSE(m.stats[mp->offset], 0.99 * 0.01 * mean_p + 0.01 * mean_n, 1e-7, 1e-4);
    free(x);
    model_ws_free(ws);
    model_state_free(&m);
}

/* ---- determinism ---- */

static void train_steps(model_state *m, int threads, int steps, const uint8_t *x, int B, int S) {
    stl_error err;
    model_ws *ws = model_ws_create(&m->table, B, S, DEVICE_CPU, &err);
    CHECK(ws && model_ws_set_threads(ws, threads, &err) == 0);
    size_t img = (size_t)B * S * S * 3;
    for (int i = 0; i < steps; i++) {
        float loss;
        CHECK(model_train_step_grads(m, ws, x, x + img, x + 2 * img, 0.2f, B, &loss, NULL, NULL,
                                     NULL, &err) == 0);
        model_adam_step(m, 1e-3f);
    }
    model_ws_free(ws);
}

static void test_determinism(void) {
    enum { B = 4, S = 32 };
    stl_error err;
    uint8_t *x = random_images(3 * B, S, 21);
    model_state a, b;
    CHECK(model_init(&a, 64, 5, &err) == 0);
    CHECK(model_init(&b, 64, 5, &err) == 0);
    train_steps(&a, 2, 3, x, B, S);
    train_steps(&b, 2, 3, x, B, S);
    CHECK_EQ_INT(a.step, 3);
    CHECK(memcmp(a.params, b.params, sizeof(float) * 4 * a.table.n_params) == 0);
    CHECK(memcmp(a.stats, b.stats, sizeof(float) * a.table.n_stats) == 0);
    /* and training moved the parameters */
    model_state c;
    CHECK(model_init(&c, 64, 5, &err) == 0);
    CHECK(memcmp(a.params, c.params, sizeof(float) * a.table.n_params) != 0);
    model_state_free(&a);
    model_state_free(&b);
    model_state_free(&c);
    free(x);
}

static void test_training_lowers_loss(void) {
    enum { B = 4, S = 32 };
    stl_error err;
    uint8_t *x = random_images(3 * B, S, 33);
    model_state m;
    CHECK(model_init(&m, 16, 3, &err) == 0);
    model_ws *ws = model_ws_create(&m.table, B, S, DEVICE_CPU, &err);
    size_t img = (size_t)B * S * S * 3;
    float first = 0, loss = 0;
    for (int i = 0; i < 20; i++) {
        CHECK(model_train_step_grads(&m, ws, x, x + img, x + 2 * img, 0.2f, B, &loss, NULL,
                                     NULL, NULL, &err) == 0);
        if (i == 0) first = loss;
        model_adam_step(&m, 1e-2f);
    }
    CHECK(loss < 0.5f * first);
    model_ws_free(ws);
    model_state_free(&m);
    free(x);
}

/* ---- embedding: per image, bit-identical for any batch ---- */

static void test_embed_batch_invariance(void) {
    enum { N = 5, S = 64, D = 64 };
    stl_error err;
    model_state m;
    CHECK(model_init(&m, D, 4, &err) == 0);
    /* non-trivial running averages: one training step */
    uint8_t *x = random_images(3 * N, S, 17);
    model_ws *ws = model_ws_create(&m.table, N, S, DEVICE_CPU, &err);
    size_t img = (size_t)S * S * 3;
    float loss;
    CHECK(model_train_step_grads(&m, ws, x, x + N * img, x + 2 * N * img, 0.2f, N, &loss, NULL,
                                 NULL, NULL, &err) == 0);
    float all[N * D], one[D], part[3 * D];
    CHECK(model_embed(&m, ws, MODEL_TOWER_PRODUCT, x, N, all, &err) == 0);
    int same = 1;
    for (int i = 0; i < N; i++) {
        CHECK(model_embed(&m, ws, MODEL_TOWER_PRODUCT, x + i * img, 1, one, &err) == 0);
        same &= memcmp(one, all + i * D, sizeof one) == 0;
    }
    CHECK(model_embed(&m, ws, MODEL_TOWER_PRODUCT, x + 2 * img, 3, part, &err) == 0);
    same &= memcmp(part, all + 2 * D, sizeof part) == 0;
    CHECK(same);
    /* another thread count, same rows */
    CHECK(model_ws_set_threads(ws, 3, &err) == 0);
    float all3[N * D];
    CHECK(model_embed(&m, ws, MODEL_TOWER_PRODUCT, x, N, all3, &err) == 0);
    CHECK(memcmp(all, all3, sizeof all) == 0);
    /* the scene tower is a different function */
    CHECK(model_embed(&m, ws, MODEL_TOWER_SCENE, x, 1, one, &err) == 0);
    CHECK(memcmp(one, all, sizeof one) != 0);
    CHECK(model_embed(&m, ws, MODEL_TOWER_SCENE, x, N + 1, all, &err) < 0);
    CHECK(model_embed(&m, ws, 2, x, 1, all, &err) < 0);
    model_ws_free(ws);
    model_state_free(&m);
    free(x);
}

/* ---- synchronised BatchNorm: 2 simulated ranks vs the whole batch ---- */

typedef struct {
    fake_rank fr;
    model_state m;
    const uint8_t *s, *p, *n;
    int half, S, B;
    float loss;
    int rc;
} rank_job;

static void *rank_main(void *arg) {
    rank_job *j = arg;
    stl_error err;
    model_ws *ws = model_ws_create(&j->m.table, j->half, j->S, DEVICE_CPU, &err);
    if (!ws) {
        j->rc = -1;
        return NULL;
    }
    model_ws_set_allreduce(ws, fake_allreduce, &j->fr);
    j->rc = model_train_step_grads(&j->m, ws, j->s, j->p, j->n, 0.2f, j->B, &j->loss, NULL, NULL,
                                   NULL, &err);
    model_ws_free(ws);
    return NULL;
}

static void test_synced_batchnorm(void) {
    enum { B = 4, S = 64 };
    stl_error err;
    uint8_t *x = random_images(3 * B, S, 41);
    size_t img = (size_t)S * S * 3;
    const uint8_t *s = x, *p = x + B * img, *n = x + 2 * B * img;
    model_state full;
    CHECK(model_init(&full, 64, 6, &err) == 0);
    model_ws *ws = model_ws_create(&full.table, B, S, DEVICE_CPU, &err);
    float loss_full;
    CHECK(model_train_step_grads(&full, ws, s, p, n, 0.2f, B, &loss_full, NULL, NULL, NULL,
                                 &err) == 0);
    model_ws_free(ws);

    fake_world w;
    fake_world_init(&w);
    rank_job jobs[2];
    pthread_t th[2];
    int h = B / 2;
    for (int r = 0; r < 2; r++) {
        jobs[r].fr = (fake_rank){&w, r};
        CHECK(model_init(&jobs[r].m, 64, 6, &err) == 0);
        jobs[r].s = s + r * h * img;
        jobs[r].p = p + r * h * img;
        jobs[r].n = n + r * h * img;
        jobs[r].half = h, jobs[r].S = S, jobs[r].B = B;
        pthread_create(&th[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    fake_world_free(&w);
    CHECK(jobs[0].rc == 0 && jobs[1].rc == 0);
    /* The ranks' BatchNorm sums travel as float32 (the full batch keeps them
     * in double) and the loss splits into two partial sums: agreement to
     * ~1e-5 relative, so atol 1e-5 + rtol 1e-3 per element. */
    CHECK_CLOSE(jobs[0].loss + jobs[1].loss, loss_full, 1e-6, 1e-5);
    size_t np = full.table.n_params;
    int bad = 0;
    double gmax = 0;
    for (size_t i = 0; i < np; i++) gmax = fmax(gmax, fabs(full.grads[i]));
    for (size_t i = 0; i < np; i++) {
        double g2 = (double)jobs[0].m.grads[i] + jobs[1].m.grads[i];
        if (!(fabs(g2 - full.grads[i]) <= 1e-5 * gmax + 1e-3 * fabs(full.grads[i]))) {
            if (bad < 3) fprintf(stderr, "  grad %zu: 2 ranks %.8g, 1 process %.8g\n", i, g2, full.grads[i]);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    int sbad = 0;
    for (size_t i = 0; i < full.table.n_stats; i++) {
        if (jobs[0].m.stats[i] != jobs[1].m.stats[i]) sbad++;
        if (!(fabs(jobs[0].m.stats[i] - full.stats[i]) <= 1e-6 + 1e-4 * fabs(full.stats[i]))) sbad++;
    }
    CHECK_EQ_INT(sbad, 0);
    /* without the hook, half a batch differs from the full batch's statistics */
    model_state lone;
    CHECK(model_init(&lone, 64, 6, &err) == 0);
    model_ws *ws2 = model_ws_create(&lone.table, h, S, DEVICE_CPU, &err);
    float l2;
    CHECK(model_train_step_grads(&lone, ws2, s, p, n, 0.2f, B, &l2, NULL, NULL, NULL, &err) == 0);
    CHECK(fabs(lone.stats[0] - full.stats[0]) > 1e-6 ||
          memcmp(lone.stats, full.stats, sizeof(float) * full.table.n_stats) != 0);
    model_ws_free(ws2);
    model_state_free(&lone);
    for (int r = 0; r < 2; r++) model_state_free(&jobs[r].m);
    model_state_free(&full);
    free(x);
}

static void test_bad_inputs(void) {
    stl_error err;
    model_state m;
    CHECK(model_init(&m, 64, 1, &err) == 0);
    CHECK(model_ws_create(&m.table, 2, 48, DEVICE_CPU, &err) == NULL);
    CHECK(strstr(err.msg, "48") != NULL);
    CHECK(model_ws_create(&m.table, 0, 32, DEVICE_CPU, &err) == NULL);
    model_state other;
    CHECK(model_init(&other, 32, 1, &err) == 0);
    /* this build computes on the CPU only: a CUDA workspace is refused by name */
    CHECK(model_ws_create(&other.table, 1, 32, DEVICE_CUDA, &err) == NULL);
    CHECK(strstr(err.msg, "cuda") != NULL);
    model_ws *ws = model_ws_create(&other.table, 1, 32, DEVICE_CPU, &err);
    CHECK(ws && model_ws_device(ws) == DEVICE_CPU);
    uint8_t x[32 * 32 * 3] = {0};
    float out[64];
    CHECK(model_embed(&m, ws, MODEL_TOWER_SCENE, x, 1, out, &err) < 0);
    model_ws_free(ws);
    model_state_free(&other);
    model_state_free(&m);
    CHECK(model_flops_train_step(16, 128, 64) > 3 * 16 * model_flops_forward_image(128, 64));
}

int main(void) {
    RUN(test_kernel_variant);
    RUN(test_param_table);
    RUN(test_init);
    RUN(test_loss_gradients);
    RUN(test_running_averages);
    RUN(test_determinism);
    RUN(test_training_lowers_loss);
    RUN(test_embed_batch_invariance);
    RUN(test_synced_batchnorm);
    RUN(test_bad_inputs);
    return check_summary();
}

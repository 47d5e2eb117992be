/* model_compare.h — what the tests of the GPU step share: random images,
 * norms, the error budget of the GPU path against the CPU path, and the
 * comparison of one training step's results (loss, every gradient tensor,
 * the running averages, the embeddings) within it. Included by
 * test_model_gpu_host.c (the host backend) and test_model_gpu_cuda.c (the
 * device). Static inline functions: one copy per test, no warning for the
 * ones a test does not use.
 */
#ifndef STL_TEST_MODEL_COMPARE_H
#define STL_TEST_MODEL_COMPARE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "check.h"
#include "model/loss.h"
#include "model/model.h"
#include "model/params.h"
#include "model/tower.h"
#include "model/tower_cpu.h"

static inline uint8_t *random_images(int n, int S, uint64_t seed) {
    size_t len = (size_t)n * S * S * 3;
    uint8_t *px = malloc(len);
    rng_state r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < len; i++) px[i] = (uint8_t)rng_uniform(&r, 256);
    return px;
}

/* ||a - b|| / ||b|| over n floats (0 when both are 0). */
static inline double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return r > 0 ? sqrt(d / r) : sqrt(d);
}
static inline double l2(const float *a, size_t n) {
    double r = 0;
    for (size_t i = 0; i < n; i++) r += (double)a[i] * a[i];
    return sqrt(r);
}

/* ---- the error budget ----
 * Each op of a pass computes its outputs with a normwise relative error of
 * at most gamma_K = K u (u = 2^-24, K its inner products' length) in either
 * path. The inner products over channels (a 3x3 conv's 9 cin, a 1x1 conv's
 * or the dense layer's cin) are short, Kc <= 576, and taken at their worst
 * case; a weight gradient also sums over a block's output pixels, Kr of
 * them (262,144 for block 0 at S = 512, batch 4, where the worst case says
 * nothing), whose rounding errors are taken as random, growing as sqrt(Kr)
 * (Higham, Accuracy and Stability, 2.8). A forward pass runs 13 ops in
 * sequence (4 blocks of 3 convs, then the dense layer): its results (loss,
 * embeddings, batch statistics) get 13 Kc u. A gradient also passes the
 * backward pass, twice as long: 39 (Kc + sqrt(Kr)) u. Except a bias's: a
 * plain sum of an output gradient over the pixels, which can cancel to far
 * below its terms, so the error relative to the result is not bounded by
 * the terms' randomness: 39 (Kc + Kr) u, the worst case. */
static inline long longest_channel_sum(const tower_shape *s) {
    long K = s->feat_dim;
    for (int k = 0; k < MODEL_N_BLOCKS; k++)
        if (s->blk[k].g.kdim > K) K = s->blk[k].g.kdim;
    return K;
}
static inline long longest_pixel_sum(const tower_shape *s, int nb) {
    long K = nb;
    for (int k = 0; k < MODEL_N_BLOCKS; k++)
        if ((long)nb * s->blk[k].px_out > K) K = (long)nb * s->blk[k].px_out;
    return K;
}
static inline double budget_forward(const tower_shape *s) {
    return 13.0 * (double)longest_channel_sum(s) * ldexp(1.0, -24);
}
static inline double budget_gradient(const tower_shape *s, int nb, int bias) {
    double Kr = (double)longest_pixel_sum(s, nb);
    return 39.0 * ((double)longest_channel_sum(s) + (bias ? Kr : sqrt(Kr))) * ldexp(1.0, -24);
}
static inline int is_bias(const param_entry *e) {
    size_t n = strlen(e->name);
    return n > 5 && strcmp(e->name + n - 5, "/bias") == 0;
}

/* Whether parameter entry e is the bias of a conv that feeds a BatchNorm
 * (b1, b2, b3 of a block): its gradient is mathematically zero (BatchNorm
 * subtracts the batch mean, and the bias with it), so both paths return
 * rounding noise there, and a relative comparison means nothing. */
static inline int is_pre_bn_bias(const tower_shape *s, const param_entry *e) {
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        const tower_block *b = &s->blk[k];
        if (e->offset == b->b1[e->tower] || e->offset == b->b2[e->tower] ||
            e->offset == b->b3[e->tower])
            return 1;
    }
    return 0;
}

static int verbose;

/* The product tower's gradient is the sum of two tower calls' (positives,
 * negatives) whose hinge parts pull opposite ways (d loss / d p = -d loss /
 * d n), so the sum can be much smaller than its parts while its rounding
 * error stays relative to the parts. part[e] = ||g_pos|| + ||g_neg|| of
 * each product-tower entry, from the CPU path's two calls run separately
 * (m: the state before the step; es, ep, en: the step's embeddings). */
static inline void product_parts(const tower_shape *s, const model_state *m, const uint8_t *pos,
                          const uint8_t *neg, int B, const float *es, const float *ep,
                          const float *en, double *part) {
    const param_table *t = &m->table;
    int D = t->output_size;
    stl_error err;
    size_t rows = (size_t)B * D;
    float *ds = malloc(sizeof(float) * rows * 3), *dp = ds + rows, *dn = dp + rows;
    loss_triplet(es, ep, en, B, D, 0.2f, B, ds, dp, dn);
    float *acts = aligned_alloc(64, sizeof(float) * tower_acts_size(s, B));
    float *scr = aligned_alloc(64, sizeof(float) * tower_cpu_scratch_floats(s, B, 1, 1));
    double *psum = calloc(TOWER_CPU_PSUM_STRIDE, sizeof(double));
    float *stats = malloc(sizeof(float) * t->n_stats), *g = malloc(sizeof(float) * t->n_params);
    tower_acts a;
    tower_cpu_scratch sc;
    tower_acts_carve(s, B, acts, &a);
    tower_cpu_scratch_carve(s, B, 1, 1, scr, psum, &sc);
    memcpy(stats, m->stats, sizeof(float) * t->n_stats);
    for (int e = 0; e < t->n; e++) part[e] = 0;
    for (int call = 0; call < 2; call++) {
        memset(g, 0, sizeof(float) * t->n_params);
        a.x0 = call ? neg : pos;
        CHECK(tower_cpu_forward(s, m->params, stats, MODEL_TOWER_PRODUCT, 1, &a, &sc, NULL, NULL,
                                &err) == 0);
        CHECK(tower_cpu_backward(s, m->params, g, MODEL_TOWER_PRODUCT, &a, call ? dn : dp, &sc,
                                 NULL, NULL, &err) == 0);
        for (int e = 0; e < t->n; e++)
            if (!t->e[e].is_stat && t->e[e].tower == MODEL_TOWER_PRODUCT)
                part[e] += l2(g + t->e[e].offset, t->e[e].count);
    }
    free(ds), free(acts), free(scr), free(psum), free(stats), free(g);
}

/* One step's results of both paths, within the budget. part: per entry,
 * the scale of a gradient's rounding error where it is not the gradient's
 * own norm (product_parts), or NULL. single: one process (the pre-BatchNorm
 * biases' gradients are then zero up to rounding; across ranks each rank's
 * share is not). */
static inline void compare_step(const tower_shape *s, const param_table *t, int nb, const model_state *mc,
                         const model_state *mg, float lc, float lg, float *const ec[3],
                         float *const eg[3], const double *part, int single) {
    double fwd = budget_forward(s);
    CHECK(fabs((double)lg - lc) <= fwd * fabs(lc));
    double gnorm = l2(mc->grads, t->n_params);
    int bad = 0;
    for (int e = 0; e < t->n; e++) {
        const param_entry *pe = &t->e[e];
        const float *a = (pe->is_stat ? mg->stats : mg->grads) + pe->offset;
        const float *b = (pe->is_stat ? mc->stats : mc->grads) + pe->offset;
        double r = rel_err(a, b, pe->count), nrm = l2(b, pe->count);
        double scale = !pe->is_stat && part && part[e] > nrm ? part[e] : nrm;
        double bwd = budget_gradient(s, nb, is_bias(pe));
        int ok;
        if (pe->is_stat) ok = r <= fwd;
        /* the noise of a sum of zero-sum terms: far below 1e-5 of the gradient */
        else if (single && is_pre_bn_bias(s, pe))
            ok = l2(a, pe->count) <= 1e-5 * gnorm && nrm <= 1e-5 * gnorm;
        else if (!part && pe->tower == MODEL_TOWER_PRODUCT) continue; /* no scale known */
        else ok = r * nrm <= bwd * scale;
        if (!ok || verbose)
            fprintf(stderr, "  %s %-32s tower %d: rel err %.3g, scale / norm %.3g (budget %.3g)%s\n",
                    pe->is_stat ? "stat" : "grad", pe->name, pe->tower, r, nrm > 0 ? scale / nrm : 0, pe->is_stat ? fwd : bwd,
                    ok ? "" : "  OVER");
        bad += !ok;
    }
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < 3; i++)
        if (ec[i]) CHECK(rel_err(eg[i], ec[i], (size_t)nb * t->output_size) <= fwd);
}

/* A model state's trainable and statistic buffers, copied (same table). */
static inline void copy_state(model_state *dst, const model_state *src) {
    size_t np = sizeof(float) * src->table.n_params;
    memcpy(dst->params, src->params, np);
    memcpy(dst->adam_m, src->adam_m, np);
    memcpy(dst->adam_v, src->adam_v, np);
    memcpy(dst->stats, src->stats, sizeof(float) * src->table.n_stats);
    dst->step = src->step;
}

#endif

/* test_model_gpu_host.c — the GPU training step's orchestration
 * (model_gpu.c, tower_gpu.c) run through the host backend
 * (gpu_backend_host.c: the GPU kernels' bodies in loops, OpenBLAS for the
 * GEMM, direct loops for the 3x3 convolutions) against the CPU path
 * (model_cpu.c) on the same model and images: the loss, every gradient
 * tensor, the running averages and the embeddings of a training step, over
 * several steps with Adam between, with and without a collective; and
 * inference embeddings, whose rows must not depend on the batch they share.
 *
 * The two paths compute the same function in different orders (double
 * partial sums per row block against per-thread sums; convolutions as
 * direct loops against im2col + GEMM), so they agree to within rounding;
 * the budget is stated beside each check. A wrong buffer, a missed
 * accumulation, a BatchNorm statistic from the wrong tensor or a repack the
 * wrong way round moves a result by O(1) of its size.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_ranks.h"
#include "model_compare.h"
#include "model/gpu_backend.h"
#include "model/loss.h"
#include "model/model.h"
#include "model/model_cpu.h"
#include "model/model_gpu.h"
#include "model/params.h"
#include "model/tower.h"
#include "model/tower_cpu.h"

/* `steps` training steps of the CPU path with Adam between; before each,
 * the GPU path gets the CPU path's state, and the step's results must agree
 * (comparing free-running trajectories would compare Adam's first steps,
 * which are nearly sign(g): noise-level gradients flip them). Shapes where
 * a BatchNorm sees only a couple of rows per channel (S = 96 with B = 2
 * leaves block 3 two) are ill-conditioned, E[a^2] - mean^2 cancelling, and
 * neither path meets the budget there: the shapes below give block 3 at
 * least three rows. */
static void run_steps(int S, int B, int steps) {
    enum { OUT = 32 };
    stl_error err;
    param_table t;
    tower_shape s;
    model_state mc, mg, m0;
    CHECK(param_table_init(&t, OUT, &err) == 0);
    CHECK(tower_shape_init(&s, &t, S, &err) == 0);
    CHECK(model_init(&mc, OUT, 7, &err) == 0);
    CHECK(model_init(&mg, OUT, 7, &err) == 0);
    CHECK(model_init(&m0, OUT, 7, &err) == 0);
    double *part = malloc(sizeof(double) * (size_t)t.n);
    gpu_backend be;
    gpu_backend_host(&be);
    model_cpu *cpu = model_cpu_create(&s, B, &err);
    model_gpu *gpu = model_gpu_create(&be, &s, &t, B, &err);
    CHECK(cpu && gpu);
    if (!cpu || !gpu) return;
    CHECK(model_cpu_set_threads(cpu, 2, &err) == 0);
    tower_collective none = {0};
    size_t out = (size_t)B * OUT;
    float *ec[3], *eg[3];
    for (int i = 0; i < 3; i++) {
        ec[i] = malloc(sizeof(float) * out);
        eg[i] = malloc(sizeof(float) * out);
    }
    for (int step = 0; step < steps; step++) {
        uint8_t *x[3];
        for (int i = 0; i < 3; i++) x[i] = random_images(B, S, 100 + step * 3 + i);
        const uint8_t *const in[3] = {x[0], x[1], x[2]};
        float lc = 0, lg = 0;
        copy_state(&mg, &mc);
        copy_state(&m0, &mc);
        CHECK(model_cpu_train_step(cpu, &mc, in, 0.2f, B, &none, &lc, ec, &err) == 0);
        CHECK(model_gpu_train_step(gpu, &mg, in, 0.2f, B, &none, &lg, eg, &err) == 0);
        if (verbose) fprintf(stderr, "S %d B %d step %d: loss cpu %.9g gpu %.9g\n", S, B, step, lc, lg);
        product_parts(&s, &m0, x[1], x[2], B, ec[0], ec[1], ec[2], part);
        compare_step(&s, &t, B, &mc, &mg, lc, lg, ec, eg, part, 1);
        for (int i = 0; i < 3; i++) free(x[i]);
        model_adam_step(&mc, 1e-3f);
    }
    for (int i = 0; i < 3; i++) {
        free(ec[i]);
        free(eg[i]);
    }
    model_cpu_free(cpu);
    model_gpu_free(gpu);
    model_state_free(&mc);
    model_state_free(&mg);
    model_state_free(&m0);
    free(part);
    param_table_free(&t);
}

static void test_train_steps(void) {
    run_steps(64, 3, 4);
    run_steps(160, 2, 2); /* odd sizes: 160 -> 80 -> 40 -> 20 -> 10 -> 5 -> 3 -> 2 -> 1 */
}

/* ---- two simulated ranks: the sums cross "ranks" through the collective ---- */

typedef struct {
    fake_rank fr;
    int gpu;                  /* which path this rank runs */
    const tower_shape *s;
    const param_table *t;
    model_state m;
    const uint8_t *in[3];
    int half, B;
    float loss;
    int rc;
} rank_job;

static void *rank_main(void *arg) {
    rank_job *j = arg;
    stl_error err;
    tower_collective coll = {.fn = fake_allreduce, .ctx = &j->fr};
    float *const none[3] = {NULL, NULL, NULL};
    j->rc = -1;
    if (j->gpu) {
        gpu_backend be;
        gpu_backend_host(&be);
        model_gpu *g = model_gpu_create(&be, j->s, j->t, j->half, &err);
        if (g) j->rc = model_gpu_train_step(g, &j->m, j->in, 0.2f, j->B, &coll, &j->loss, none, &err);
        model_gpu_free(g);
    } else {
        model_cpu *c = model_cpu_create(j->s, j->half, &err);
        if (c) j->rc = model_cpu_train_step(c, &j->m, j->in, 0.2f, j->B, &coll, &j->loss, none, &err);
        model_cpu_free(c);
    }
    return NULL;
}

/* Each rank of the GPU path's pair computes what the same rank of the CPU
 * path's pair computes: the BatchNorm sums and counts crossed the collective
 * at the same points, as the same floats. */
static void test_two_ranks(void) {
    enum { B = 4, S = 64, OUT = 32 };
    stl_error err;
    param_table t;
    tower_shape s;
    CHECK(param_table_init(&t, OUT, &err) == 0);
    CHECK(tower_shape_init(&s, &t, S, &err) == 0);
    uint8_t *x = random_images(3 * B, S, 41);
    size_t img = (size_t)S * S * 3;
    rank_job jobs[2][2]; /* [path][rank] */
    for (int path = 0; path < 2; path++) {
        fake_world w;
        fake_world_init(&w);
        pthread_t th[2];
        for (int r = 0; r < 2; r++) {
            rank_job *j = &jobs[path][r];
            memset(j, 0, sizeof *j);
            j->fr = (fake_rank){&w, r};
            j->gpu = path, j->s = &s, j->t = &t, j->half = B / 2, j->B = B;
            CHECK(model_init(&j->m, OUT, 6, &err) == 0);
            for (int i = 0; i < 3; i++) j->in[i] = x + ((size_t)i * B + (size_t)r * (B / 2)) * img;
            pthread_create(&th[r], NULL, rank_main, j);
        }
        for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
        fake_world_free(&w);
    }
    for (int r = 0; r < 2; r++) {
        CHECK(jobs[0][r].rc == 0 && jobs[1][r].rc == 0);
        float *none[3] = {NULL, NULL, NULL};
        /* the scene tower's gradients, both towers' statistics and the
         * losses; the product tower's gradients, whose error scale needs
         * its two calls apart, are test_train_steps' */
        compare_step(&s, &t, B / 2, &jobs[0][r].m, &jobs[1][r].m, jobs[0][r].loss,
                     jobs[1][r].loss, none, none, NULL, 0);
    }
    /* synchronised statistics: both GPU-path ranks hold the same averages */
    CHECK(memcmp(jobs[1][0].m.stats, jobs[1][1].m.stats, sizeof(float) * t.n_stats) == 0);
    for (int p = 0; p < 2; p++)
        for (int r = 0; r < 2; r++) model_state_free(&jobs[p][r].m);
    free(x);
    param_table_free(&t);
}

/* ---- inference ---- */

static void test_embed(void) {
    enum { B = 3, S = 64, OUT = 32 };
    stl_error err;
    param_table t;
    tower_shape s;
    model_state m;
    CHECK(param_table_init(&t, OUT, &err) == 0);
    CHECK(tower_shape_init(&s, &t, S, &err) == 0);
    CHECK(model_init(&m, OUT, 3, &err) == 0);
    /* running averages away from their initial 0 / 1 */
    for (size_t i = 0; i < t.n_stats; i++) m.stats[i] += (float)(0.01 * (double)(i % 7));
    gpu_backend be;
    gpu_backend_host(&be);
    model_cpu *cpu = model_cpu_create(&s, B, &err);
    model_gpu *gpu = model_gpu_create(&be, &s, &t, B, &err);
    CHECK(cpu && gpu);
    if (!cpu || !gpu) return;
    uint8_t *x = random_images(B, S, 9);
    float ec[B * OUT], eg[B * OUT], one[OUT];
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++) {
        CHECK(model_cpu_embed(cpu, &m, tw, x, B, ec, &err) == 0);
        CHECK(model_gpu_embed(gpu, &m, tw, x, B, eg, &err) == 0);
        CHECK(rel_err(eg, ec, B * OUT) <= budget_forward(&s));
        /* an image alone (the rest of the batch zeros) gives its row of
         * the full call: the other images do not matter */
        CHECK(model_gpu_embed(gpu, &m, tw, x, 1, one, &err) == 0);
        CHECK(memcmp(one, eg, sizeof one) == 0);
    }
    CHECK(model_gpu_embed(gpu, &m, 0, x, B + 1, eg, &err) != 0);
    free(x);
    model_cpu_free(cpu);
    model_gpu_free(gpu);
    model_state_free(&m);
    param_table_free(&t);
}

int main(int argc, char **argv) {
    verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    RUN(test_train_steps);
    RUN(test_two_ranks);
    RUN(test_embed);
    return check_summary();
}

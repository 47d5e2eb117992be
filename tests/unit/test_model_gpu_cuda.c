/* test_model_gpu_cuda.c — the GPU training step and embedding on the device
 * (model_gpu.c through gpu_backend_cuda.c: the own kernels, cuDNN, cuBLAS),
 * against the host backend (the same orchestration, the kernels' bodies in
 * loops: test_model_gpu_host checks it against the CPU path) and the CPU
 * path itself, within model_compare.h's error budget. CUDA build only.
 *
 * Without a usable GPU (every CI machine): the device backend and a
 * DEVICE_CUDA workspace are refused with one line naming the CUDA error,
 * and the test says "skipped: no GPU" (scripts/gpu-check refuses that).
 * With one:
 * - op by op: one training step at S = 64 and S = 512 (batch 4) on the
 *   device and on the host backend, the same model and images: every
 *   activation of the three tower calls (each block's r, a1, a2, a3 and
 *   pooled output, its BatchNorms' statistics, feat, emb), one line each;
 * - the device's step against the CPU path's (loss, every gradient, the
 *   running averages, the embeddings);
 * - 20 steps at S = 64, batch 8, with Adam between: before each the device
 *   gets the CPU path's state and the step must agree; the losses of a
 *   free-running device run are printed beside the CPU path's (not
 *   compared: Adam's first steps are nearly sign(g), so noise-level
 *   gradients flip them and the runs part by more than rounding);
 * - determinism: three steps twice from one state, bit-identical, and a
 *   third time op by op (STL_GPU_GRAPHS=0): the captured graph computes
 *   the same bits as the eager step;
 * - the whole step (model kept on the device, Adam there, images uploaded
 *   or gathered from kept ones) bit for bit the gradient step plus the
 *   CPU's Adam;
 * - embedding: against the CPU path, and an image's row the same bits
 *   whatever images share its call and wherever it sits in the batch.
 *
 * `test_model_gpu_cuda probe` says whether there is a usable GPU and which
 * (exit 0, or 2 without one); `test_model_gpu_cuda speed S B STEPS
 * [float32|tf32]` measures stlrec's GPU training as stl-train runs it
 * (triplets/s: model_train_step_kept, the model and the images on the
 * device) and embedding (images/s), for scripts/gpu-check's table beside
 * the peers.
 */
#include <cuda_runtime_api.h>

#include "base/device_cuda.h"
#include "base/timer.h"
#include "check.h"
#include "model/gpu_backend.h"
#include "model/gpu_backend_cuda.h"
#include "model/model_cpu.h"
#include "model/model_gpu.h"
#include "model_compare.h"

enum { OUT = 64 };

/* ---- without a GPU ---- */

static void test_refused_without_gpu(void) {
    stl_error err;
    gpu_backend be;
    err.msg[0] = 0;
    CHECK(gpu_backend_cuda_create(&be, 0, &err) != 0);
    CHECK(strstr(err.msg, "cudaGetDeviceCount") != NULL || strstr(err.msg, "error") != NULL);
    CHECK(strchr(err.msg, '\n') == NULL);
    param_table t;
    CHECK(param_table_init(&t, OUT, &err) == 0);
    err.msg[0] = 0;
    CHECK(model_ws_create(&t, 4, 64, DEVICE_CUDA, &err) == NULL);
    CHECK(err.msg[0] != 0);
    param_table_free(&t);
}

/* ---- with one ---- */

static float *device_copy(const float *d, size_t n) {
    float *h = malloc(sizeof(float) * (n ? n : 1));
    if (cudaDeviceSynchronize() != cudaSuccess ||
        cudaMemcpy(h, d, sizeof(float) * n, cudaMemcpyDeviceToHost) != cudaSuccess) {
        free(h);
        return NULL;
    }
    return h;
}

/* One line of the op-by-op table: device tensor d against host tensor h. */
static int op_line(const char *what, int call, int blk, const float *d, const float *h, size_t n,
                   double budget) {
    float *dh = device_copy(d, n);
    double r = dh ? rel_err(dh, h, n) : INFINITY;
    int ok = r <= budget;
    printf("  %-6s block %d  %-8s rel err %9.3g  (budget %.3g)%s\n",
           call == 0 ? "scene" : call == 1 ? "pos" : "neg", blk, what, r, budget, ok ? "" : "  OVER");
    free(dh);
    return ok;
}

static int acts_table(const tower_shape *s, int nb, const tower_acts *dv, const tower_acts *ho,
                      int call) {
    double fwd = budget_forward(s);
    int bad = 0;
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        const tower_block *b = &s->blk[k];
        size_t rows = (size_t)nb * b->px_out * b->f, pooled = (size_t)nb * b->px_pool * b->f;
        bad += !op_line("r", call, k, dv->r[k], ho->r[k], rows, fwd);
        bad += !op_line("a1", call, k, dv->a1[k], ho->a1[k], rows, fwd);
        bad += !op_line("a2", call, k, dv->a2[k], ho->a2[k], rows, fwd);
        bad += !op_line("a3", call, k, dv->a3[k], ho->a3[k], rows, fwd);
        for (int j = 0; j < 3; j++) {
            char m[16], v[16];
            snprintf(m, sizeof m, "mean%d", j);
            snprintf(v, sizeof v, "var%d", j);
            bad += !op_line(m, call, k, dv->mean[k][j], ho->mean[k][j], (size_t)b->f, fwd);
            bad += !op_line(v, call, k, dv->var[k][j], ho->var[k][j], (size_t)b->f, fwd);
        }
        bad += !op_line("pooled", call, k, dv->pooled[k], ho->pooled[k], pooled, fwd);
    }
    bad += !op_line("feat", call, MODEL_N_BLOCKS - 1, dv->feat, ho->feat, (size_t)nb * s->feat_dim, fwd);
    bad += !op_line("emb", call, MODEL_N_BLOCKS - 1, dv->emb, ho->emb, (size_t)nb * s->out, fwd);
    return bad;
}

typedef struct {
    param_table t;
    tower_shape s;
    gpu_backend dev, host;
    model_gpu *gd, *gh;
    model_cpu *cpu;
    int B, S;
} rig;

static int rig_open(rig *r, int S, int B) {
    stl_error err;
    memset(r, 0, sizeof *r);
    r->S = S, r->B = B;
    if (param_table_init(&r->t, OUT, &err) != 0 || tower_shape_init(&r->s, &r->t, S, &err) != 0 ||
        gpu_backend_cuda_create(&r->dev, 0, &err) != 0) {
        fprintf(stderr, "rig: %s\n", err.msg);
        return -1;
    }
    gpu_backend_host(&r->host);
    r->gd = model_gpu_create(&r->dev, &r->s, &r->t, B, &err);
    r->gh = model_gpu_create(&r->host, &r->s, &r->t, B, &err);
    r->cpu = model_cpu_create(&r->s, B, &err);
    if (!r->gd || !r->gh || !r->cpu) {
        fprintf(stderr, "rig: %s\n", err.msg);
        return -1;
    }
    return 0;
}
static void rig_close(rig *r) {
    model_gpu_free(r->gd);
    model_gpu_free(r->gh);
    model_cpu_free(r->cpu);
    if (r->dev.lib) gpu_backend_cuda_free(&r->dev);
    param_table_free(&r->t);
}

/* One step, op by op, and against the CPU path. */
static void step_parity(int S, int B) {
    rig r;
    stl_error err;
    CHECK(rig_open(&r, S, B) == 0);
    if (!r.gd || !r.gh || !r.cpu) {
        rig_close(&r);
        return;
    }
    model_state mc, md, mh, m0;
    CHECK(model_init(&mc, OUT, 11, &err) == 0);
    for (size_t i = 0; i < mc.table.n_stats; i++) mc.stats[i] += (float)(0.01 * (double)(i % 5));
    CHECK(model_init(&md, OUT, 11, &err) == 0 && model_init(&mh, OUT, 11, &err) == 0 &&
          model_init(&m0, OUT, 11, &err) == 0);
    copy_state(&md, &mc), copy_state(&mh, &mc), copy_state(&m0, &mc);
    uint8_t *x[3];
    for (int i = 0; i < 3; i++) x[i] = random_images(B, S, 500 + (uint64_t)i);
    const uint8_t *const in[3] = {x[0], x[1], x[2]};
    size_t n = (size_t)B * OUT;
    float *ec[3], *ed[3], *eh[3];
    for (int i = 0; i < 3; i++)
        ec[i] = malloc(sizeof(float) * n), ed[i] = malloc(sizeof(float) * n),
        eh[i] = malloc(sizeof(float) * n);
    float lc, ld, lh;
    tower_collective none = {0};
    CHECK(model_cpu_train_step(r.cpu, &mc, in, 0.2f, B, &none, &lc, ec, &err) == 0);
    CHECK(model_gpu_train_step(r.gd, &md, in, 0.2f, B, &none, &ld, ed, &err) == 0);
    CHECK(model_gpu_train_step(r.gh, &mh, in, 0.2f, B, &none, &lh, eh, &err) == 0);
    printf("op by op, S = %d, batch %d: the device against the host backend (forward budget %.3g)\n",
           S, B, budget_forward(&r.s));
    int bad = 0;
    for (int i = 0; i < 3; i++) bad += acts_table(&r.s, B, model_gpu_acts(r.gd, i), model_gpu_acts(r.gh, i), i);
    CHECK_EQ_INT(bad, 0);
    printf("the device's step against the CPU path: loss %.9g / %.9g\n", ld, lc);
    double *part = malloc(sizeof(double) * (size_t)r.t.n);
    product_parts(&r.s, &m0, x[1], x[2], B, ec[0], ec[1], ec[2], part);
    int v = verbose;
    verbose = 1;
    compare_step(&r.s, &r.t, B, &mc, &md, lc, ld, ec, ed, part, 1);
    verbose = v;
    for (int i = 0; i < 3; i++) free(x[i]), free(ec[i]), free(ed[i]), free(eh[i]);
    free(part);
    model_state_free(&mc), model_state_free(&md), model_state_free(&mh), model_state_free(&m0);
    rig_close(&r);
}

static void test_op_by_op(void) {
    step_parity(64, 4);
    step_parity(512, 4);
}

/* 20 steps: teacher-forced against the CPU path, and free-running beside it. */
static void test_twenty_steps(void) {
    enum { S = 64, B = 8, STEPS = 20 };
    rig r;
    stl_error err;
    CHECK(rig_open(&r, S, B) == 0);
    if (!r.gd || !r.cpu) {
        rig_close(&r);
        return;
    }
    model_state mc, md, mf, m0;
    CHECK(model_init(&mc, OUT, 5, &err) == 0 && model_init(&md, OUT, 5, &err) == 0 &&
          model_init(&mf, OUT, 5, &err) == 0 && model_init(&m0, OUT, 5, &err) == 0);
    double *part = malloc(sizeof(double) * (size_t)r.t.n);
    size_t n = (size_t)B * OUT;
    float *ec[3], *ed[3], *none[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) ec[i] = malloc(sizeof(float) * n), ed[i] = malloc(sizeof(float) * n);
    tower_collective solo = {0};
    printf("20 steps, S = %d, batch %d: step, CPU loss, device loss from the CPU's state, free-running device loss\n", S, B);
    for (int step = 0; step < STEPS; step++) {
        uint8_t *x[3];
        for (int i = 0; i < 3; i++) x[i] = random_images(B, S, 900 + (uint64_t)step * 3 + i);
        const uint8_t *const in[3] = {x[0], x[1], x[2]};
        float lc, ld, lf;
        copy_state(&md, &mc), copy_state(&m0, &mc);
        CHECK(model_cpu_train_step(r.cpu, &mc, in, 0.2f, B, &solo, &lc, ec, &err) == 0);
        CHECK(model_gpu_train_step(r.gd, &md, in, 0.2f, B, &solo, &ld, ed, &err) == 0);
        CHECK(model_gpu_train_step(r.gd, &mf, in, 0.2f, B, &solo, &lf, none, &err) == 0);
        printf("  %2d  %.7f  %.7f  %.7f\n", step, lc, ld, lf);
        product_parts(&r.s, &m0, x[1], x[2], B, ec[0], ec[1], ec[2], part);
        compare_step(&r.s, &r.t, B, &mc, &md, lc, ld, ec, ed, part, 1);
        model_adam_step(&mc, 1e-3f);
        model_adam_step(&mf, 1e-3f);
        for (int i = 0; i < 3; i++) free(x[i]);
    }
    for (int i = 0; i < 3; i++) free(ec[i]), free(ed[i]);
    free(part);
    model_state_free(&mc), model_state_free(&md), model_state_free(&mf), model_state_free(&m0);
    rig_close(&r);
}

/* Three runs of three steps from one state (two replaying the captured
 * graph, one op by op): the same bits. */
static void test_determinism(void) {
    enum { S = 128, B = 8, RUNS = 3 };
    stl_error err;
    param_table t;
    CHECK(param_table_init(&t, OUT, &err) == 0);
    model_state m[RUNS];
    float loss[RUNS][3];
    for (int run = 0; run < RUNS; run++) {
        if (run == 2) setenv("STL_GPU_GRAPHS", "0", 1);
        CHECK(model_init(&m[run], OUT, 17, &err) == 0);
        model_ws *ws = model_ws_create(&t, B, S, DEVICE_CUDA, &err);
        CHECK(ws != NULL);
        if (!ws) return;
        for (int step = 0; step < 3; step++) {
            uint8_t *x = random_images(3 * B, S, 77 + (uint64_t)step);
            size_t img = (size_t)B * S * S * 3;
            CHECK(model_train_step_grads(&m[run], ws, x, x + img, x + 2 * img, 0.2f, B,
                                         &loss[run][step], NULL, NULL, NULL, &err) == 0);
            model_adam_step(&m[run], 1e-3f);
            free(x);
        }
        model_ws_free(ws);
    }
    unsetenv("STL_GPU_GRAPHS");
    size_t np = sizeof(float) * t.n_params;
    for (int run = 1; run < RUNS; run++) {
        int same = !memcmp(loss[0], loss[run], sizeof loss[0]) &&
                   !memcmp(m[0].params, m[run].params, np) &&
                   !memcmp(m[0].grads, m[run].grads, np) &&
                   !memcmp(m[0].stats, m[run].stats, sizeof(float) * t.n_stats);
        CHECK(same);
        printf("determinism: 3 steps at S = %d, batch %d, %s: %s\n", S, B,
               run == 1 ? "graph twice" : "graph against op by op",
               same ? "bit-identical" : "DIFFERENT");
    }
    for (int run = 0; run < RUNS; run++) model_state_free(&m[run]);
    param_table_free(&t);
}

/* The whole step on the device (the model kept there, the update kernels,
 * images uploaded or gathered from kept ones) against the gradient step
 * plus the CPU's Adam on the same device: the gradients are the same
 * kernels' and the update kernels compute their bodies' bits (-fmad=false),
 * so bit for bit, over three steps with a moving learning rate. */
static const uint8_t *kept_pixels(void *ctx, uint32_t i) { /* S = 64 images */
    return (const uint8_t *)ctx + (size_t)i * 64 * 64 * 3;
}
static void test_whole_step(void) {
    enum { S = 64, B = 4, STEPS = 3 };
    stl_error err;
    rig r;
    CHECK(rig_open(&r, S, B) == 0);
    if (!r.gd) return;
    model_gpu *gw = model_gpu_create(&r.dev, &r.s, &r.t, B, &err);
    model_gpu *gk = model_gpu_create(&r.dev, &r.s, &r.t, B, &err);
    model_state mp, mw, mk;
    CHECK(gw && gk && model_init(&mp, OUT, 21, &err) == 0 && model_init(&mw, OUT, 21, &err) == 0 &&
          model_init(&mk, OUT, 21, &err) == 0);
    if (!gw || !gk) return;
    uint8_t *x = random_images(3 * B, S, 22);
    size_t img = (size_t)S * S * 3;
    const uint8_t *const in[3] = {x, x + B * img, x + 2 * B * img};
    uint32_t idx[3][B];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < B; j++) idx[i][j] = (uint32_t)(i * B + j);
    const uint32_t *const by[3] = {idx[0], idx[1], idx[2]};
    model_keep_info info;
    CHECK(model_gpu_keep_images(gk, 3 * B, kept_pixels, x, &info, &err) == 1);
    float *const none[3] = {NULL, NULL, NULL};
    int same_loss = 1, tw, tk;
    for (int k = 0; k < STEPS; k++) {
        float lr = 1e-3f / (float)(k + 1), lp, lw, lk;
        CHECK(model_gpu_train_step(r.gd, &mp, in, 0.2f, B, NULL, &lp, none, &err) == 0);
        model_adam_step(&mp, lr);
        CHECK(model_gpu_train_step_full(gw, &mw, in, NULL, 0.2f, B, lr, NULL, 0, &tw, &lw, &err) == 0);
        CHECK(model_gpu_train_step_full(gk, &mk, NULL, by, 0.2f, B, lr, NULL, 0, &tk, &lk, &err) == 0);
        same_loss &= lp == lw && lp == lk && tw && tk;
    }
    CHECK(model_gpu_sync(gw, &mw, &err) == 0 && model_gpu_sync(gk, &mk, &err) == 0);
    size_t np = sizeof(float) * r.t.n_params;
    int same = same_loss && !memcmp(mp.params, mw.params, np) && !memcmp(mp.params, mk.params, np) &&
               !memcmp(mp.adam_v, mw.adam_v, np) && !memcmp(mp.stats, mk.stats, sizeof(float) * r.t.n_stats);
    CHECK(same);
    printf("whole step on the device (Adam there; images uploaded / kept): %s the gradient step "
           "+ the CPU's Adam over %d steps\n", same ? "bit-identical to" : "DIFFERENT from", STEPS);
    free(x);
    model_gpu_free(gw), model_gpu_free(gk);
    model_state_free(&mp), model_state_free(&mw), model_state_free(&mk);
    rig_close(&r);
}

/* Embeddings against the CPU path; a row independent of its companions and
 * of its place in the batch. */
static void test_embed(void) {
    enum { S = 64, B = 4 };
    stl_error err;
    param_table t;
    tower_shape s;
    model_state m;
    CHECK(param_table_init(&t, OUT, &err) == 0 && tower_shape_init(&s, &t, S, &err) == 0);
    CHECK(model_init(&m, OUT, 3, &err) == 0);
    for (size_t i = 0; i < t.n_stats; i++) m.stats[i] += (float)(0.01 * (double)(i % 7));
    model_ws *wd = model_ws_create(&t, B, S, DEVICE_CUDA, &err);
    model_ws *wc = model_ws_create(&t, B, S, DEVICE_CPU, &err);
    CHECK(wd && wc);
    if (!wd || !wc) return;
    uint8_t *x = random_images(B, S, 9), *y = random_images(B, S, 10);
    size_t img = (size_t)S * S * 3;
    float ec[B * OUT], ed[B * OUT], other[B * OUT], one[OUT];
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++) {
        CHECK(model_embed(&m, wc, tw, x, B, ec, &err) == 0);
        CHECK(model_embed(&m, wd, tw, x, B, ed, &err) == 0);
        CHECK(rel_err(ed, ec, B * OUT) <= budget_forward(&s));
        CHECK(model_embed(&m, wd, tw, x + 2 * img, 1, one, &err) == 0); /* alone, first */
        CHECK(memcmp(one, ed + 2 * OUT, sizeof one) == 0);
        memcpy(y + 3 * img, x + 2 * img, img); /* among others, last */
        CHECK(model_embed(&m, wd, tw, y, B, other, &err) == 0);
        CHECK(memcmp(other + 3 * OUT, ed + 2 * OUT, sizeof one) == 0);
    }
    free(x), free(y);
    model_ws_free(wd), model_ws_free(wc);
    model_state_free(&m);
    param_table_free(&t);
}

/* ---- speed ---- */

static const uint8_t *speed_pixels(void *ctx, uint32_t i) {
    const size_t *img = ctx;
    return (const uint8_t *)(img + 1) + img[0] * i;
}

/* Training as stl-train runs it (model_train_step_kept: the model and the
 * images on the device, the whole step one graph; precision "tf32" or
 * float32), then embedding. */
static int speed(int S, int B, int steps, const char *precision) {
    stl_error err;
    param_table t;
    model_state m;
    if (param_table_init(&t, OUT, &err) != 0 || model_init(&m, OUT, 1, &err) != 0) return 1;
    model_precision prec = strcmp(precision, "tf32") == 0 ? MODEL_PRECISION_TF32
                                                         : MODEL_PRECISION_FLOAT32;
    model_ws *ws = model_ws_create_precision(&t, B, S, DEVICE_CUDA, prec, &err);
    if (!ws) {
        fprintf(stderr, "speed: %s\n", err.msg);
        return 1;
    }
    size_t img = (size_t)S * S * 3;
    /* the kept images: 3 B of them behind their size (speed_pixels) */
    size_t *pool = malloc(sizeof(size_t) + 3 * (size_t)B * img);
    uint8_t *x = random_images(3 * B, S, 1);
    if (!pool || !x) return 1;
    pool[0] = img;
    memcpy(pool + 1, x, 3 * (size_t)B * img);
    model_keep_info info;
    int kept = model_ws_keep_images(ws, 3 * (size_t)B, speed_pixels, pool, &info, &err);
    if (kept < 0) {
        fprintf(stderr, "speed: %s\n", err.msg);
        return 1;
    }
    uint32_t *idx = malloc(sizeof(uint32_t) * 3 * (size_t)B);
    for (int i = 0; i < 3 * B; i++) idx[i] = (uint32_t)i;
    model_step_result r = {0};
    double t0 = 0;
    for (int i = -2; i < steps; i++) { /* two warm-up steps (the first captures the graph) */
        if (i == 0) t0 = timer_now();
        int rc = kept ? model_train_step_kept(&m, ws, idx, idx + B, idx + 2 * B, 0.2f, B, 1e-3f, &r,
                                              &err)
                      : model_train_step(&m, ws, x, x + (size_t)B * img, x + 2 * (size_t)B * img,
                                         0.2f, B, 1e-3f, &r, &err);
        if (rc != 0) {
            fprintf(stderr, "speed: %s\n", err.msg);
            return 1;
        }
    }
    double train = timer_now() - t0;
    float loss = r.loss;
    if (model_ws_sync(ws, &m, &err) != 0) return 1;
    float *e = malloc(sizeof(float) * (size_t)B * OUT);
    t0 = timer_now();
    for (int i = 0; i < steps; i++)
        if (model_embed(&m, ws, MODEL_TOWER_PRODUCT, x, B, e, &err) != 0) return 1;
    double emb = timer_now() - t0;
    printf("stlrec train size=%d batch=%d steps=%d precision=%s images=%s triplets_per_s=%.1f "
           "step_ms=%.2f loss=%.4f\n", S, B, steps, model_precision_name(prec),
           kept ? "kept" : "uploaded", steps * (double)B / train, 1e3 * train / steps, loss);
    printf("stlrec embed size=%d batch=%d images_per_s=%.1f\n", S, B, steps * (double)B / emb);
    free(e), free(x), free(pool), free(idx);
    model_ws_free(ws);
    model_state_free(&m);
    param_table_free(&t);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "speed") == 0)
        return speed(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc == 6 ? argv[5] : "float32");
    int count = 0;
    stl_error why;
    if (argc == 2 && strcmp(argv[1], "probe") == 0) {
        if (device_cuda_probe(&count, &why) != 0) {
            printf("no usable GPU (%s)\n", why.msg);
            return 2;
        }
        struct cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return 2;
        printf("%d GPU(s); device 0: %s, compute capability %d.%d, %zu MiB\n", count, p.name,
               p.major, p.minor, p.totalGlobalMem >> 20);
        return 0;
    }
    if (device_cuda_probe(&count, &why) != 0) {
        RUN(test_refused_without_gpu);
        printf("skipped: no GPU (%s)\n", why.msg);
        return check_summary();
    }
    RUN(test_op_by_op);
    RUN(test_twenty_steps);
    RUN(test_determinism);
    RUN(test_whole_step);
    RUN(test_embed);
    return check_summary();
}

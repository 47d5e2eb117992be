/* test_model_step_gpu_host.c — the GPU path's whole training step
 * (model_train_step on a GPU workspace: the model kept in backend memory,
 * the loss slot, the all-reduce, the finiteness flag and the gated Adam,
 * model_gpu.c) run through the host backend (gpu_backend_host.c), checked
 * against what it replaces and against the CPU path:
 *
 * - bit for bit the step it replaces on the same backend: the gradient step
 *   (model_gpu_train_step) followed by the CPU's Adam (model_adam_step),
 *   over several steps with the moments moving (the same bodies run on the
 *   same memory, so any difference is a wrong buffer, a missed upload or a
 *   bias correction of the wrong step);
 * - a non-finite gradient (the STL_TEST_NAN_AT hook) stops the step on both
 *   paths with the same reason and leaves the parameters as they were;
 * - two simulated ranks: the step with a device collective (the sums
 *   crossing ranks in backend memory, the whole step one graph) equals the
 *   step with the host collective bit for bit, both ranks agree, and the
 *   device collective's wait is called once per step;
 * - steps naming their images by index into the images kept in backend
 *   memory, or staged into its slots batch by batch, equal the steps given
 *   those images' pixels, bit for bit; an index past the kept images, or a
 *   slot past the slots, is refused; images that do not fit in the free
 *   memory less the margin are not kept;
 * - the graph control flow of the whole step (captured once, replayed, op
 *   by op with a host collective or the NaN hook).
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
#include "model/model.h"
#include "model/model_gpu.h"
#include "model/params.h"
#include "model/tower.h"

enum { OUT = 32 };

typedef struct {
    param_table t;
    tower_shape s;
    int B, S;
    uint8_t *x;
    const uint8_t *in[3];
} setup;

static void setup_init(setup *u, int S, int B, uint64_t seed) {
    stl_error err;
    CHECK(param_table_init(&u->t, OUT, &err) == 0 && tower_shape_init(&u->s, &u->t, S, &err) == 0);
    u->B = B, u->S = S;
    u->x = random_images(3 * B, S, seed);
    size_t img = (size_t)B * S * S * 3;
    for (int i = 0; i < 3; i++) u->in[i] = u->x + img * (size_t)i;
}
static void setup_free(setup *u) {
    free(u->x);
    param_table_free(&u->t);
}

static int same(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* ---- the whole step equals the gradient step plus the CPU's Adam ---- */

static void test_whole_step_equals_pieces(void) {
    enum { STEPS = 3 };
    stl_error err;
    setup u;
    setup_init(&u, 64, 3, 11);
    model_state whole, pieces;
    CHECK(model_init(&whole, OUT, 5, &err) == 0 && model_init(&pieces, OUT, 5, &err) == 0);
    gpu_backend be;
    gpu_backend_host(&be);
    model_gpu *gw = model_gpu_create(&be, &u.s, &u.t, u.B, &err);
    model_gpu *gp = model_gpu_create(&be, &u.s, &u.t, u.B, &err);
    CHECK(gw && gp);
    if (!gw || !gp) return;
    size_t n = u.t.n_params;
    float *const none[3] = {NULL, NULL, NULL};
    for (int k = 0; k < STEPS; k++) {
        float lr = 1e-3f * (float)(k + 1); /* a schedule: lr moves */
        float lw = 0, lp = 0;
        int taken = 0;
        CHECK(model_gpu_train_step_full(gw, &whole, u.in, NULL, 0.2f, u.B, lr, NULL, 0, &taken, &lw,
                                        &err) == 0);
        CHECK(taken == 1);
        CHECK(model_gpu_train_step(gp, &pieces, u.in, 0.2f, u.B, NULL, &lp, none, &err) == 0);
        model_adam_step(&pieces, lr);
        CHECK(lw == lp);
        CHECK(whole.step == pieces.step && whole.step == k + 1);
    }
    /* the host arrays are stale until the sync: the first step's upload
     * left them at the initial state */
    model_state init;
    CHECK(model_init(&init, OUT, 5, &err) == 0);
    CHECK(same(whole.params, init.params, n));
    CHECK(model_gpu_sync(gw, &whole, &err) == 0);
    CHECK(same(whole.params, pieces.params, n));
    CHECK(same(whole.adam_m, pieces.adam_m, n) && same(whole.adam_v, pieces.adam_v, n));
    CHECK(same(whole.stats, pieces.stats, u.t.n_stats));
    CHECK(same(whole.grads, pieces.grads, n));
    CHECK(!same(whole.params, init.params, n));
    /* a caller's change to m is taken up after model_gpu_invalidate */
    whole.params[0] += 1.0f;
    pieces.params[0] += 1.0f;
    model_gpu_invalidate(gw);
    float lw, lp;
    int taken;
    CHECK(model_gpu_train_step_full(gw, &whole, u.in, NULL, 0.2f, u.B, 1e-3f, NULL, 0, &taken, &lw,
                                    &err) == 0);
    CHECK(model_gpu_train_step(gp, &pieces, u.in, 0.2f, u.B, NULL, &lp, none, &err) == 0);
    model_adam_step(&pieces, 1e-3f);
    CHECK(model_gpu_sync(gw, &whole, &err) == 0);
    CHECK(lw == lp && same(whole.params, pieces.params, n));
    /* a sync for a model the backend does not hold at that step is refused */
    whole.step++;
    CHECK(model_gpu_sync(gw, &whole, &err) == -1 && strstr(err.msg, "step") != NULL);
    model_gpu_free(gw);
    model_gpu_free(gp);
    model_state_free(&whole);
    model_state_free(&pieces);
    model_state_free(&init);
    setup_free(&u);
}

/* ---- a non-finite gradient stops the step, on both paths alike ---- */

/* Two steps with the NaN hook at step 2, through the public API on a CPU
 * workspace (gpu_path 0) or the GPU path on the host backend (1): after1
 * gets the parameters after step 1, m the model after step 2. */
static void run_nan(int gpu_path, model_state *m, model_step_result r[2], float *after1,
                    const setup *u) {
    stl_error err;
    if (gpu_path) setenv("STL_TEST_GPU_BACKEND", "host", 1);
    model_ws *ws = model_ws_create(&u->t, u->B, u->S, DEVICE_CPU, &err);
    unsetenv("STL_TEST_GPU_BACKEND");
    CHECK(ws != NULL);
    if (!ws) return;
    CHECK(model_init(m, OUT, 9, &err) == 0);
    setenv("STL_TEST_NAN_AT", "2", 1);
    for (int k = 0; k < 2; k++) {
        CHECK(model_train_step(m, ws, u->in[0], u->in[1], u->in[2], 0.2f, u->B, 1e-3f, &r[k],
                               &err) == 0);
        CHECK(model_ws_sync(ws, m, &err) == 0);
        if (k == 0) memcpy(after1, m->params, sizeof(float) * u->t.n_params);
    }
    unsetenv("STL_TEST_NAN_AT");
    model_ws_free(ws);
}

static void test_nonfinite_stops(void) {
    setup u;
    setup_init(&u, 64, 2, 12);
    model_state m[2];
    model_step_result r[2][2];
    float *after1[2];
    for (int p = 0; p < 2; p++) {
        after1[p] = malloc(sizeof(float) * u.t.n_params);
        run_nan(p, &m[p], r[p], after1[p], &u);
    }
    for (int p = 0; p < 2; p++) {
        CHECK(r[p][0].taken == 1 && r[p][0].why == NULL);
        /* the hook's step: refused, naming a tensor, changing nothing */
        CHECK(r[p][1].taken == 0 && r[p][1].why != NULL);
        CHECK(r[p][1].why && strncmp(r[p][1].why, "non-finite gradient of ", 23) == 0);
        CHECK(m[p].step == 1);
        CHECK(same(m[p].params, after1[p], u.t.n_params));
        CHECK(isnan(m[p].grads[u.t.n_params / 2]));
    }
    if (r[0][1].why && r[1][1].why) CHECK_STR_EQ(r[0][1].why, r[1][1].why);
    /* the paths compute the same function (to rounding): the same loss */
    CHECK_CLOSE(r[1][0].loss, r[0][0].loss, 1e-5, 1e-4);
    for (int p = 0; p < 2; p++) {
        free(after1[p]);
        model_state_free(&m[p]);
    }
    setup_free(&u);
}

/* ---- two ranks: the device collective equals the host one ---- */

typedef struct {
    fake_rank fr;
    int device_coll;
    const setup *u;
    model_state m;
    const uint8_t *in[3];
    float loss[2];
    int rc;
} rank_job;

static void *rank_main(void *arg) {
    rank_job *j = arg;
    stl_error err;
    tower_collective coll = {.fn = fake_allreduce, .ctx = &j->fr};
    if (j->device_coll)
        coll = (tower_collective){.dev_fn = fake_allreduce_device, .dev_wait = fake_wait_device,
                                  .dev_ctx = &j->fr, .ranks = 2};
    gpu_backend be;
    gpu_backend_host(&be);
    model_gpu *g = model_gpu_create(&be, &j->u->s, &j->u->t, j->u->B / 2, &err);
    j->rc = g ? 0 : -1;
    for (int k = 0; k < 2 && j->rc == 0; k++) {
        int taken = 0;
        j->rc = model_gpu_train_step_full(g, &j->m, j->in, NULL, 0.2f, j->u->B, 1e-3f, &coll, 0, &taken,
                                          &j->loss[k], &err);
        if (j->rc == 0 && !taken) j->rc = -2;
    }
    if (j->rc == 0) j->rc = model_gpu_sync(g, &j->m, &err);
    if (j->rc != 0) fprintf(stderr, "rank %d: %d %s\n", j->fr.rank, j->rc, err.msg);
    model_gpu_free(g);
    return NULL;
}

static void test_two_ranks_device_collective(void) {
    stl_error err;
    setup u;
    setup_init(&u, 64, 4, 13);
    size_t img = (size_t)u.S * u.S * 3;
    rank_job jobs[2][2]; /* [device_coll][rank] */
    fake_world worlds[2];
    for (int d = 0; d < 2; d++) {
        fake_world_init(&worlds[d]);
        pthread_t th[2];
        for (int r = 0; r < 2; r++) {
            rank_job *j = &jobs[d][r];
            memset(j, 0, sizeof *j);
            j->fr = (fake_rank){&worlds[d], r};
            j->device_coll = d, j->u = &u;
            CHECK(model_init(&j->m, OUT, 6, &err) == 0);
            for (int i = 0; i < 3; i++) j->in[i] = u.in[i] + (size_t)r * (size_t)(u.B / 2) * img;
            pthread_create(&th[r], NULL, rank_main, j);
        }
        for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    }
    size_t n = u.t.n_params;
    for (int d = 0; d < 2; d++)
        for (int r = 0; r < 2; r++) {
            CHECK_EQ_INT(jobs[d][r].rc, 0);
            CHECK(jobs[d][r].m.step == 2);
            /* every rank ends with rank 0's model, whichever collective */
            CHECK(same(jobs[d][r].m.params, jobs[0][0].m.params, n));
            CHECK(same(jobs[d][r].m.adam_v, jobs[0][0].m.adam_v, n));
            CHECK(same(jobs[d][r].m.stats, jobs[0][0].m.stats, u.t.n_stats));
            CHECK(jobs[d][r].loss[1] == jobs[0][0].loss[1]);
        }
    /* the device collective: one wait per step; per step, the gradients and
     * loss in one all-reduce (the host's: two), and no all-reduce of the
     * backward pass's row count, one per block and tower call on the host
     * (the device side knows it from the rank count) */
    CHECK(worlds[1].waits[0] == 2 && worlds[1].waits[1] == 2 && worlds[0].waits[0] == 0);
    if (verbose) printf("all-reduces: host %d, device %d\n", worlds[0].calls[0], worlds[1].calls[0]);
    CHECK_EQ_INT(worlds[0].calls[0] - worlds[1].calls[0], 2 * (1 + 3 * MODEL_N_BLOCKS));
    for (int d = 0; d < 2; d++) {
        fake_world_free(&worlds[d]);
        for (int r = 0; r < 2; r++) model_state_free(&jobs[d][r].m);
    }
    setup_free(&u);
}

/* ---- steps by index from the kept images ---- */

typedef struct {
    const uint8_t *px;
    size_t img;
} pool_src;
static const uint8_t *pool_pixels(void *ctx, uint32_t i) {
    const pool_src *p = ctx;
    return p->px + p->img * i;
}
static size_t fake_free;
static int small_mem(void *lib, size_t *bytes, stl_error *err) {
    (void)lib, (void)err;
    *bytes = fake_free;
    return 0;
}

static void test_kept_images(void) {
    enum { P = 7, STEPS = 2 };
    stl_error err;
    setup u;
    setup_init(&u, 64, 3, 15);
    size_t img = (size_t)u.S * u.S * 3;
    uint8_t *px = random_images(P, u.S, 16);
    pool_src src = {px, img};
    gpu_backend be;
    gpu_backend_host(&be);
    model_gpu *gx = model_gpu_create(&be, &u.s, &u.t, u.B, &err); /* pixels */
    model_gpu *gi = model_gpu_create(&be, &u.s, &u.t, u.B, &err); /* indices */
    model_state mx, mi;
    CHECK(gx && gi && model_init(&mx, OUT, 8, &err) == 0 && model_init(&mi, OUT, 8, &err) == 0);
    if (!gx || !gi) return;
    uint32_t idx[STEPS][3][3] = {{{0, 6, 2}, {3, 3, 1}, {5, 4, 0}}, {{6, 5, 4}, {2, 1, 0}, {3, 0, 6}}};
    int taken;
    float lx, li;
    const uint32_t *const first[3] = {idx[0][0], idx[0][1], idx[0][2]};
    CHECK(model_gpu_train_step_full(gi, &mi, NULL, first, 0.2f, u.B, 1e-3f, NULL, 0, &taken, &li,
                                    &err) == -1);
    CHECK(strstr(err.msg, "no images are kept") != NULL);
    model_keep_info info;
    CHECK_EQ_INT(model_gpu_keep_images(gi, P, pool_pixels, &src, &info, &err), 1);
    CHECK(info.bytes == P * img && info.free > info.bytes);
    for (int k = 0; k < STEPS; k++) {
        uint8_t *batch[3];
        for (int r = 0; r < 3; r++) {
            batch[r] = malloc(img * (size_t)u.B);
            for (int j = 0; j < u.B; j++) memcpy(batch[r] + img * j, px + img * idx[k][r][j], img);
        }
        const uint8_t *const in[3] = {batch[0], batch[1], batch[2]};
        const uint32_t *const by[3] = {idx[k][0], idx[k][1], idx[k][2]};
        CHECK(model_gpu_train_step_full(gx, &mx, in, NULL, 0.2f, u.B, 1e-3f, NULL, 0, &taken, &lx,
                                        &err) == 0);
        CHECK(model_gpu_train_step_full(gi, &mi, NULL, by, 0.2f, u.B, 1e-3f, NULL, 0, &taken, &li,
                                        &err) == 0);
        CHECK(lx == li);
        for (int r = 0; r < 3; r++) free(batch[r]);
    }
    CHECK(model_gpu_sync(gx, &mx, &err) == 0 && model_gpu_sync(gi, &mi, &err) == 0);
    CHECK(same(mx.params, mi.params, u.t.n_params) && same(mx.stats, mi.stats, u.t.n_stats));
    /* an index past the kept images is refused before anything runs */
    uint32_t badi[3] = {0, P, 1};
    const uint32_t *const bad[3] = {badi, badi, badi};
    CHECK(model_gpu_train_step_full(gi, &mi, NULL, bad, 0.2f, u.B, 1e-3f, NULL, 0, &taken, &li,
                                    &err) == -1);
    CHECK(strstr(err.msg, "index 7") != NULL);
    /* streamed instead: batches staged into slots (the pixels step's
     * batches again, into slot 1), then steps by the indices the staging
     * gave; the same bits as the pixel steps */
    model_gpu *gt = model_gpu_create(&be, &u.s, &u.t, u.B, &err);
    model_state mt;
    CHECK(gt && model_init(&mt, OUT, 8, &err) == 0);
    CHECK(gt && model_gpu_stream(gt, 2, &err) == 0);
    uint32_t sidx[3][3];
    uint32_t *const sto[3] = {sidx[0], sidx[1], sidx[2]};
    for (int k = 0; gt && k < STEPS; k++) {
        uint8_t *batch[3];
        for (int r = 0; r < 3; r++) {
            batch[r] = model_gpu_host_alloc(gt, img * (size_t)u.B, &err);
            for (int j = 0; j < u.B; j++) memcpy(batch[r] + img * j, px + img * idx[k][r][j], img);
        }
        const uint8_t *const in[3] = {batch[0], batch[1], batch[2]};
        CHECK(model_gpu_stage(gt, 1, in, sto, &err) == 0);
        CHECK(sidx[2][0] == (3 * 1 + 2) * (uint32_t)u.B); /* slot 1, negatives, image 0 */
        const uint32_t *const by[3] = {sidx[0], sidx[1], sidx[2]};
        CHECK(model_gpu_train_step_full(gt, &mt, NULL, by, 0.2f, u.B, 1e-3f, NULL, 0, &taken, &li,
                                        &err) == 0);
        for (int r = 0; r < 3; r++) model_gpu_host_free(gt, batch[r]);
    }
    CHECK(gt && model_gpu_sync(gt, &mt, &err) == 0);
    CHECK(same(mx.params, mt.params, u.t.n_params) && same(mx.stats, mt.stats, u.t.n_stats));
    const uint8_t *const none_px[3] = {px, px, px};
    CHECK(gt && model_gpu_stage(gt, 2, none_px, sto, &err) == -1 && strstr(err.msg, "slot 2") != NULL);
    model_gpu_free(gt);
    model_state_free(&mt);
    /* images that do not fit in the free memory less the margin: not kept */
    gpu_backend small = be;
    small.mem_free = small_mem;
    fake_free = ((size_t)256 << 20) + P * img - 1;
    model_gpu *gs = model_gpu_create(&small, &u.s, &u.t, u.B, &err);
    CHECK(gs && model_gpu_keep_images(gs, P, pool_pixels, &src, &info, &err) == 0);
    CHECK(info.free == fake_free && info.bytes == P * img);
    fake_free = ((size_t)512 << 20); /* room: kept */
    CHECK(gs && model_gpu_keep_images(gs, P, pool_pixels, &src, &info, &err) == 1);
    model_gpu_free(gs);
    model_gpu_free(gx);
    model_gpu_free(gi);
    model_state_free(&mx);
    model_state_free(&mi);
    free(px);
    setup_free(&u);
}

/* ---- the CUDA graph's control flow, with a backend that counts ----
 * The host backend cannot capture; this one claims to (its capture records
 * nothing: the ops run as they are queued), so the test sees when the step
 * is captured, replayed, captured again and freed. */

static int n_begin, n_end, n_launch, n_free;
static int f_begin(void *lib, stl_error *err) { (void)lib, (void)err; return ++n_begin, 0; }
static int f_end(void *lib, void **graph, stl_error *err) {
    (void)lib, (void)err;
    *graph = &n_end;
    return ++n_end, 0;
}
static int f_launch(void *lib, void *graph, stl_error *err) {
    (void)lib, (void)err;
    CHECK(graph == &n_end);
    return ++n_launch, 0;
}
static void f_free(void *lib, void *graph) { (void)lib, (void)graph, ++n_free; }

static int noop_allreduce(void *ctx, float *buf, size_t n) { return (void)ctx, (void)buf, (void)n, 0; }

static void test_graph_control_grads(void) {
    enum { B = 2, S = 64 };
    stl_error err;
    n_begin = n_end = n_launch = n_free = 0;
    param_table t;
    tower_shape s;
    model_state m;
    CHECK(param_table_init(&t, OUT, &err) == 0 && tower_shape_init(&s, &t, S, &err) == 0);
    CHECK(model_init(&m, OUT, 1, &err) == 0);
    gpu_backend be;
    gpu_backend_host(&be);
    be.capture_begin = f_begin, be.capture_end = f_end, be.graph_launch = f_launch, be.graph_free = f_free;
    model_gpu *g = model_gpu_create(&be, &s, &t, B, &err);
    CHECK(g != NULL);
    if (!g) return;
    uint8_t *x = random_images(3 * B, S, 2);
    size_t img = (size_t)B * S * S * 3;
    const uint8_t *const in[3] = {x, x + img, x + 2 * img};
    float *const none[3] = {NULL, NULL, NULL};
    tower_collective solo = {0}, coll = {.fn = noop_allreduce};
    float loss;
#define STEP(reg, denom, c) CHECK(model_gpu_train_step(g, &m, in, reg, denom, c, &loss, none, &err) == 0)
    STEP(0.2f, B, &solo); /* captured, launched */
    CHECK(n_begin == 1 && n_end == 1 && n_launch == 1 && n_free == 0);
    STEP(0.2f, B, &solo); /* replayed */
    CHECK(n_begin == 1 && n_launch == 2);
    STEP(0.3f, B, &solo); /* reg changed: the old graph freed, captured again */
    CHECK(n_begin == 2 && n_end == 2 && n_launch == 3 && n_free == 1);
    STEP(0.3f, 2 * B, &solo); /* the global batch changed */
    CHECK(n_begin == 3 && n_launch == 4 && n_free == 2);
    STEP(0.3f, 2 * B, &coll); /* a collective crosses the host: op by op */
    CHECK(n_begin == 3 && n_launch == 4);
    setenv("STL_GPU_GRAPHS", "0", 1); /* the switch */
    STEP(0.3f, 2 * B, &solo);
    CHECK(n_begin == 3 && n_launch == 4);
    unsetenv("STL_GPU_GRAPHS");
#undef STEP
    model_gpu_free(g);
    CHECK(n_free == 3);
    free(x);
    model_state_free(&m);
    param_table_free(&t);
}

static int noop_device(void *ctx, float *buf, size_t n, void *stream) {
    return (void)ctx, (void)buf, (void)n, (void)stream, 0;
}

/* The whole step's graph: captured once, replayed; op by op with a host
 * collective or the NaN hook; a graph of its own with a device collective
 * or images gathered by index. */
static void test_graph_control_whole(void) {
    stl_error err;
    n_begin = n_end = n_launch = n_free = 0;
    setup u;
    setup_init(&u, 64, 2, 14);
    model_state m;
    CHECK(model_init(&m, OUT, 1, &err) == 0);
    gpu_backend be;
    gpu_backend_host(&be);
    be.capture_begin = f_begin, be.capture_end = f_end, be.graph_launch = f_launch,
    be.graph_free = f_free;
    model_gpu *g = model_gpu_create(&be, &u.s, &u.t, u.B, &err);
    CHECK(g != NULL);
    if (!g) return;
    tower_collective host = {.fn = noop_allreduce},
                     dev = {.dev_fn = noop_device, .ranks = 1};
    float loss;
    int taken;
#define STEP(c, poison)                                                                         \
    CHECK(model_gpu_train_step_full(g, &m, u.in, NULL, 0.2f, u.B, 1e-3f, c, poison, &taken, &loss,   \
                                    &err) == 0)
    STEP(NULL, 0); /* captured (the capture runs the ops here), launched */
    CHECK(n_begin == 1 && n_launch == 1);
    STEP(NULL, 0); /* replayed */
    CHECK(n_begin == 1 && n_launch == 2);
    STEP(&host, 0); /* a host collective: op by op */
    CHECK(n_begin == 1 && n_launch == 2);
    STEP(NULL, 1); /* the NaN hook: op by op */
    CHECK(n_begin == 1 && n_launch == 2 && taken == 0);
    STEP(&dev, 0); /* a device collective: in a graph of its own */
    CHECK(n_begin == 2 && n_launch == 3);
    STEP(&dev, 0);
    CHECK(n_begin == 2 && n_launch == 4);
    /* by index: the gather is part of the graph, so a graph of its own */
    pool_src src = {u.x, (size_t)u.S * u.S * 3};
    model_keep_info info;
    CHECK(model_gpu_keep_images(g, 3 * (size_t)u.B, pool_pixels, &src, &info, &err) == 1);
    uint32_t ix[2] = {0, 5};
    const uint32_t *const by[3] = {ix, ix, ix};
    CHECK(model_gpu_train_step_full(g, &m, NULL, by, 0.2f, u.B, 1e-3f, &dev, 0, &taken, &loss,
                                    &err) == 0);
    CHECK(n_begin == 3 && n_launch == 5);
#undef STEP
    model_gpu_free(g);
    model_state_free(&m);
    setup_free(&u);
}

int main(int argc, char **argv) {
    verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    RUN(test_whole_step_equals_pieces);
    RUN(test_nonfinite_stops);
    RUN(test_two_ranks_device_collective);
    RUN(test_kept_images);
    RUN(test_graph_control_grads);
    RUN(test_graph_control_whole);
    return check_summary();
}

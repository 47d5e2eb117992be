/* tower_gpu.c — forward and backward of one tower call through a gpu_backend
 * (tower_gpu.h): the phases of tower_cpu.c, op for op, as kernel launches
 * and library calls on backend memory. The order of the BatchNorm
 * bookkeeping, the gradient accumulation and the collectives is tower_cpu.c's,
 * so the two paths compute the same step up to rounding
 * (tests/unit/test_model_gpu_host.c states the budget).
 */
#include "model/tower_gpu.h"

#include <string.h>

#include "model/gpu_kernels.h"
#include "model/model.h"

/* Own kernels report a code; the library calls report through err. */
static int kernel_failed(const gpu_backend *be, const char *op, int rc, stl_error *err) {
    return stl_fail(err, "model (%s): kernel %s: %s (%d)", be->name, op, be->kernel_error(rc), rc);
}
#define KERNEL(op, ...)                                                \
    do {                                                               \
        int rc_ = be->op(__VA_ARGS__, be->stream);                     \
        if (rc_ != 0) return kernel_failed(be, #op, rc_, err);         \
    } while (0)
#define LIB(op, ...)                                                   \
    do {                                                               \
        if (be->op(__VA_ARGS__, err) != 0) return -1;                  \
    } while (0)
#define GEMM(...) LIB(gemm, be->lib, __VA_ARGS__)

static long blocks_of(long rows) { return gm_bn_blocks(rows, TOWER_GPU_ROWS); }

/* ---- scratch ---- */

typedef struct {
    size_t off;
    char *base;
} carver;
static void *take(carver *c, size_t bytes) {
    void *p = c->base ? c->base + c->off : NULL;
    c->off += (bytes + 255) & ~(size_t)255;
    return p;
}

static size_t scratch_walk(const tower_shape *s, int nb, int backward, char *base,
                           tower_gpu_scratch *sc) {
    long partials = blocks_of(nb) * s->out;
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        long n = blocks_of((long)nb * s->blk[k].px_out) * s->blk[k].f;
        if (n > partials) partials = n;
    }
    const tower_block *b0 = &s->blk[0];
    long wgrad0 = blocks_of((long)nb * b0->px_out) * 9L * b0->cin * b0->f;
    size_t rows_f = sizeof(float) * (size_t)nb * s->max_rows_f;
    carver c = {0, base};
    tower_gpu_scratch t;
    memset(&t, 0, sizeof t);
    t.h = take(&c, rows_f);
    t.p1 = take(&c, sizeof(double) * (size_t)partials);
    t.p2 = take(&c, sizeof(double) * (size_t)partials);
    t.sums = take(&c, sizeof(float) * 2 * MODEL_MAX_CHANNELS);
    t.mul = take(&c, sizeof(float) * MODEL_MAX_CHANNELS);
    if (backward) {
        t.dy = take(&c, rows_f);
        t.dh = take(&c, rows_f);
        t.da = take(&c, rows_f);
        t.dp = take(&c, sizeof(float) * (size_t)nb * s->max_in);
        t.dfeat = take(&c, sizeof(float) * (size_t)nb * s->feat_dim);
        t.pw = take(&c, sizeof(double) * (size_t)wgrad0);
    }
    if (sc) {
        sc->h = t.h, sc->p1 = t.p1, sc->p2 = t.p2, sc->sums = t.sums, sc->mul = t.mul;
        sc->dy = t.dy, sc->dh = t.dh, sc->da = t.da, sc->dp = t.dp, sc->dfeat = t.dfeat;
        sc->pw = t.pw;
    }
    return c.off;
}

void tower_gpu_krsc_layout(const tower_shape *s, tower_gpu_krsc *l) {
    memset(l, 0, sizeof *l);
    size_t off = 0;
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++)
        for (int k = 1; k < MODEL_N_BLOCKS; k++) {
            size_t n = 9 * (size_t)s->blk[k].cin * (size_t)s->blk[k].f;
            l->wr[tw][k] = off;
            off += (n + 63) & ~(size_t)63;
            l->w1[tw][k] = off;
            off += (n + 63) & ~(size_t)63;
        }
    l->floats = off;
}

int tower_gpu_scratch_create(const gpu_backend *be, const tower_shape *s, int nb, int backward,
                             tower_gpu_scratch *sc, stl_error *err) {
    memset(sc, 0, sizeof *sc);
    sc->nb = nb;
    tower_gpu_krsc_layout(s, &sc->krsc);
    size_t bytes = scratch_walk(s, nb, backward, NULL, NULL);
    if (!(sc->mem = be->alloc(be->lib, bytes, err))) return -1;
    scratch_walk(s, nb, backward, sc->mem, sc);
    for (int k = 1; k < MODEL_N_BLOCKS; k++) {
        const tower_block *b = &s->blk[k];
        if (!(sc->conv[k] = be->conv3_plan(be->lib, nb, b->h, b->w, b->cin, b->f, err))) {
            tower_gpu_scratch_free(be, sc);
            return -1;
        }
    }
    return 0;
}

void tower_gpu_scratch_free(const gpu_backend *be, tower_gpu_scratch *sc) {
    for (int k = 0; k < MODEL_N_BLOCKS; k++)
        if (sc->conv[k]) be->conv3_free(sc->conv[k]);
    if (sc->mem) be->release(be->lib, sc->mem);
    memset(sc, 0, sizeof *sc);
}

/* ---- sums across ranks ---- */

/* The global count of `rows` rows per rank, as the host all-reduce of the
 * float row counts computes it (one float sum per rank). */
static double global_rows(long rows, const tower_collective *coll) {
    float cnt = 0.0f;
    for (int r = 0; r < coll->ranks; r++) cnt += (float)rows;
    return cnt;
}

/* Sums n floats of backend memory buf across ranks, with `extra` (when not
 * NULL) the forward's row count made global too: on the device where the
 * collective has a device all-reduce (the count from the rank count), else
 * through the host with the count carried along as one more float. */
static int cross_ranks(const gpu_backend *be, tower_gpu_scratch *sc, float *buf, int n,
                       double *extra, const tower_collective *coll, const char *what,
                       stl_error *err) {
    if (!tower_collective_active(coll)) return 0;
    if (coll->dev_fn) {
        if (coll->dev_fn(coll->dev_ctx, buf, (size_t)n, be->stream) != 0)
            return stl_fail(err, "model: %s all-reduce failed", what);
        if (extra) *extra = global_rows((long)*extra, coll);
        return 0;
    }
    float *h = sc->host_sums;
    if (be->download(be->lib, h, buf, sizeof(float) * (size_t)n, err) != 0) return -1;
    size_t len = (size_t)n;
    if (extra) h[len++] = (float)*extra;
    if (coll->fn(coll->ctx, h, len) != 0) return stl_fail(err, "model: %s all-reduce failed", what);
    if (extra) *extra = h[n];
    return be->upload(be->lib, buf, h, sizeof(float) * (size_t)n, err);
}

/* ---- forward ---- */

/* BatchNorm j of block k after its conv wrote a: the statistics (batch or
 * running) into a->mean/var/invstd, and in training the running update. */
static int bn_statistics(const gpu_backend *be, const tower_shape *s, const float *params,
                         float *stats, int tower, int train, tower_acts *a, int k, int j,
                         const float *out, tower_gpu_scratch *sc, const tower_collective *coll,
                         stl_error *err) {
    const tower_block *b = &s->blk[k];
    int f = b->f;
    long rows = (long)a->nb * b->px_out, nblk = blocks_of(rows);
    const float *bias = params + (j == 0 ? b->b1[tower] : j == 1 ? b->b2[tower] : b->b3[tower]);
    float *rmean = stats + b->mean[tower][j], *rvar = stats + b->var[tower][j];
    float *mean = a->mean[k][j], *var = a->var[k][j], *invstd = a->invstd[k][j];
    if (!train) {
        KERNEL(bn_eval, rmean, rvar, bias, f, MODEL_BN_EPS, mean, var, invstd);
        return 0;
    }
    KERNEL(bn_partials, out, rows, f, TOWER_GPU_ROWS, sc->p1, sc->p2);
    if (tower_collective_active(coll)) {
        double count = (double)rows;
        KERNEL(bn_sums_float, sc->p1, sc->p2, nblk, f, sc->sums);
        if (cross_ranks(be, sc, sc->sums, 2 * f, &count, coll, "BatchNorm", err) != 0) return -1;
        KERNEL(bn_stats_float, sc->sums, f, count, MODEL_BN_EPS, mean, var, invstd);
    } else {
        KERNEL(bn_stats, sc->p1, sc->p2, nblk, f, (double)rows, MODEL_BN_EPS, mean, var, invstd);
    }
    KERNEL(bn_running, mean, var, bias, f, MODEL_BN_MOMENTUM, rmean, rvar);
    return 0;
}

int tower_gpu_forward(const gpu_backend *be, const tower_shape *s, const float *params,
                      const float *wk, float *stats, int tower, int train, tower_acts *a,
                      tower_gpu_scratch *sc, const tower_collective *coll, stl_error *err) {
    int nb = a->nb;
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        const tower_block *b = &s->blk[k];
        int f = b->f;
        long rows = (long)nb * b->px_out;
        /* the residual conv and the branch's first conv, both without bias */
        if (k == 0) {
            KERNEL(conv0_pixels, a->x0, nb, b->h, b->w, b->cin, params + b->wr[tower], f, a->r[0]);
            KERNEL(conv0_pixels, a->x0, nb, b->h, b->w, b->cin, params + b->w1[tower], f, a->a1[0]);
        } else {
            LIB(conv3_fwd, sc->conv[k], a->pooled[k - 1], wk + sc->krsc.wr[tower][k], a->r[k]);
            LIB(conv3_fwd, sc->conv[k], a->pooled[k - 1], wk + sc->krsc.w1[tower][k], a->a1[k]);
        }
        if (bn_statistics(be, s, params, stats, tower, train, a, k, 0, a->a1[k], sc, coll, err))
            return -1;
        /* BN, swish, 1x1 conv, twice */
        for (int j = 0; j < 2; j++) {
            const float *src = j == 0 ? a->a1[k] : a->a2[k];
            float *dst = j == 0 ? a->a2[k] : a->a3[k];
            KERNEL(bn_swish_fwd, src, rows, f, a->mean[k][j], a->invstd[k][j],
                   params + b->scale[tower][j], sc->h);
            GEMM(0, 0, rows, f, f, sc->h, params + (j == 0 ? b->w2[tower] : b->w3[tower]),
                0.0f, dst);
            if (bn_statistics(be, s, params, stats, tower, train, a, k, j + 1, dst, sc, coll, err))
                return -1;
        }
        /* pooled = pool(r + BN_2(a3) + residual bias) */
        KERNEL(vec_mul, a->invstd[k][2], params + b->scale[tower][2], f, sc->mul);
        KERNEL(pool_avg_bn_add_fwd, a->r[k], a->a3[k], sc->mul, a->mean[k][2],
               params + b->br[tower], nb, b->g.ho, b->g.wo, f, a->pooled[k]);
    }
    /* global mean and dense: emb = feat wd + bd */
    KERNEL(pool_mean_fwd, a->pooled[MODEL_N_BLOCKS - 1], nb, (int)s->feat_hw, s->feat_dim,
           a->feat);
    KERNEL(bias_rows, params + s->bd[tower], nb, s->out, a->emb);
    GEMM(0, 0, nb, s->out, s->feat_dim, a->feat, params + s->wd[tower], 1.0f, a->emb);
    return 0;
}

/* ---- backward ---- */

/* The backward sums of a BatchNorm over `rows` rows, from dz (its output's
 * gradient) and a (its input, normalised with mean / invstd): this rank's
 * dscale += sum dz xhat and, when dbias is not NULL, dbias += sum dz; then
 * s1 = sum dz and s2 = sum dz xhat in sc->sums[0, f) and [f, 2f), global
 * after the collective. */
static int bn_bwd_sums(const gpu_backend *be, long rows, int f, const float *dz, const float *a,
                       const float *mean, const float *invstd, float *dscale, float *dbias,
                       tower_gpu_scratch *sc, const tower_collective *coll, stl_error *err) {
    KERNEL(bn_bwd_partials, dz, a, rows, f, mean, invstd, TOWER_GPU_ROWS, sc->p1, sc->p2);
    KERNEL(bn_bwd_sums, sc->p1, sc->p2, blocks_of(rows), f, sc->sums, sc->sums + f, dscale, dbias);
    return cross_ranks(be, sc, sc->sums, 2 * f, NULL, coll, "BatchNorm gradient", err);
}

/* dst += the column sums of m (rows, C). */
static int colsum_into(const gpu_backend *be, const float *m, long rows, int C, float *dst,
                       tower_gpu_scratch *sc, stl_error *err) {
    KERNEL(colsum_partials, m, rows, C, TOWER_GPU_ROWS, sc->p1);
    KERNEL(colsum_add, sc->p1, blocks_of(rows), C, dst);
    return 0;
}

/* BatchNorm j's input gradient da from dz, with its bias gradient. */
static int bn_backward(const gpu_backend *be, const float *params, float *grads, int tower,
                       const tower_block *b, tower_acts *a, int k, int j, const float *dz,
                       double count, tower_gpu_scratch *sc, stl_error *err) {
    long rows = (long)a->nb * b->px_out;
    int f = b->f;
    const float *src = j == 0 ? a->a1[k] : j == 1 ? a->a2[k] : a->a3[k];
    KERNEL(bn_bwd, dz, src, rows, f, a->mean[k][j], a->invstd[k][j], params + b->scale[tower][j],
           sc->sums, sc->sums + f, count, sc->da);
    size_t bias = j == 0 ? b->b1[tower] : j == 1 ? b->b2[tower] : b->b3[tower];
    return colsum_into(be, sc->da, rows, f, grads + bias, sc, err);
}

/* Through 1x1 conv j (j = 2: w3 after BN_1; j = 1: w2 after BN_0), from
 * sc->da: its weight gradient, then dh = da w^T and the swish / BN_{j-1}
 * backward into sc->dh, and BN_{j-1}'s sums. */
static int conv1x1_backward(const gpu_backend *be, const float *params, float *grads, int tower,
                            const tower_block *b, tower_acts *a, int k, int j,
                            tower_gpu_scratch *sc, const tower_collective *coll, stl_error *err) {
    long rows = (long)a->nb * b->px_out;
    int f = b->f, p = j - 1;
    const float *asrc = j == 2 ? a->a2[k] : a->a1[k];
    size_t w = j == 2 ? b->w3[tower] : b->w2[tower];
    const float *scale = params + b->scale[tower][p];
    /* the conv's input, swish(BN_{j-1}(asrc)), recomputed as in the forward */
    KERNEL(bn_swish_fwd, asrc, rows, f, a->mean[k][p], a->invstd[k][p], scale, sc->h);
    GEMM(1, 0, f, f, rows, sc->h, sc->da, 1.0f, grads + w);
    GEMM(0, 1, rows, f, f, sc->da, params + w, 0.0f, sc->dh);
    KERNEL(bn_swish_bwd, sc->dh, asrc, rows, f, a->mean[k][p], a->invstd[k][p], scale, sc->dh);
    return bn_bwd_sums(be, rows, f, sc->dh, asrc, a->mean[k][p], a->invstd[k][p],
                       grads + b->scale[tower][p], NULL, sc, coll, err);
}

/* The two 3x3 convs of block k from sc->da (branch) and sc->dy (residual):
 * weight gradients, and for k > 0 the gradient of the block's input in
 * sc->dp. */
static int conv3_backward(const gpu_backend *be, const float *wk, float *grads, float *gk,
                          int tower, const tower_block *b, tower_acts *a, int k,
                          tower_gpu_scratch *sc, stl_error *err) {
    if (k == 0) {
        long rows = (long)a->nb * b->px_out, nblk = blocks_of(rows);
        int E = 9 * b->cin * b->f;
        KERNEL(conv0_wgrad_partials, a->x0, a->nb, b->h, b->w, b->cin, sc->da, b->f,
               TOWER_GPU_ROWS, sc->pw);
        KERNEL(colsum_add, sc->pw, nblk, E, grads + b->w1[tower]);
        KERNEL(conv0_wgrad_partials, a->x0, a->nb, b->h, b->w, b->cin, sc->dy, b->f,
               TOWER_GPU_ROWS, sc->pw);
        KERNEL(colsum_add, sc->pw, nblk, E, grads + b->wr[tower]);
        return 0;
    }
    LIB(conv3_bwd_filter, sc->conv[k], a->pooled[k - 1], sc->da, gk + sc->krsc.w1[tower][k],
        sc->dy, gk + sc->krsc.wr[tower][k], 1.0f);
    LIB(conv3_bwd_data, sc->conv[k], sc->da, wk + sc->krsc.w1[tower][k], sc->dy,
        wk + sc->krsc.wr[tower][k],
        sc->dp);
    return 0;
}

int tower_gpu_backward(const gpu_backend *be, const tower_shape *s, const float *params,
                       const float *wk, float *grads, float *gk, int tower, tower_acts *a,
                       const float *demb, tower_gpu_scratch *sc, const tower_collective *coll,
                       stl_error *err) {
    int nb = a->nb, D = s->feat_dim;
    /* dense and global mean */
    GEMM(1, 0, D, s->out, nb, a->feat, demb, 1.0f, grads + s->wd[tower]);
    if (colsum_into(be, demb, nb, s->out, grads + s->bd[tower], sc, err) != 0) return -1;
    GEMM(0, 1, nb, D, s->out, demb, params + s->wd[tower], 0.0f, sc->dfeat);
    KERNEL(pool_mean_bwd, sc->dfeat, nb, (int)s->feat_hw, D, sc->dp);
    for (int k = MODEL_N_BLOCKS - 1; k >= 0; k--) {
        const tower_block *b = &s->blk[k];
        int f = b->f;
        long rows = (long)nb * b->px_out;
        /* the global count of this block's BatchNorm rows, as a float */
        double count = (double)rows;
        if (coll && coll->dev_fn) {
            count = global_rows(rows, coll);
        } else if (coll && coll->fn) {
            float cnt = (float)count;
            if (coll->fn(coll->ctx, &cnt, 1) != 0)
                return stl_fail(err, "model: BatchNorm all-reduce failed");
            count = cnt;
        }
        /* dy: the gradient of the block output r + BN_2(a3) + br, which is
         * the residual conv's output gradient and BN_2's (whose local sum
         * dy is the residual bias's gradient) */
        KERNEL(pool_avg_bwd, sc->dp, nb, b->g.ho, b->g.wo, f, sc->dy);
        if (bn_bwd_sums(be, rows, f, sc->dy, a->a3[k], a->mean[k][2], a->invstd[k][2],
                        grads + b->scale[tower][2], grads + b->br[tower], sc, coll, err) != 0)
            return -1;
        if (bn_backward(be, params, grads, tower, b, a, k, 2, sc->dy, count, sc, err) != 0 ||
            conv1x1_backward(be, params, grads, tower, b, a, k, 2, sc, coll, err) != 0 ||
            bn_backward(be, params, grads, tower, b, a, k, 1, sc->dh, count, sc, err) != 0 ||
            conv1x1_backward(be, params, grads, tower, b, a, k, 1, sc, coll, err) != 0 ||
            bn_backward(be, params, grads, tower, b, a, k, 0, sc->dh, count, sc, err) != 0 ||
            conv3_backward(be, wk, grads, gk, tower, b, a, k, sc, err) != 0)
            return -1;
    }
    return 0;
}

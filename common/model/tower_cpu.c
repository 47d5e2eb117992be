/* tower_cpu.c — forward and backward of one tower call on the CPU
 * (tower_cpu.h).
 *
 * Each block runs as a few fork-join phases over the rows (pixels) of its
 * conv output, split by par_range: conv GEMMs and elementwise work of a
 * thread's rows in one phase, BatchNorm reductions as per-thread partial sums
 * combined in thread order between phases (then, with a collective, summed
 * across ranks). Weight gradients are per-thread partial GEMMs summed in
 * thread order into grads. Every output is a fixed function of the inputs
 * and the thread count.
 */
#include "model/tower_cpu.h"

#include <string.h>

#include "model/batchnorm.h"
#include "model/bn_swish.h"
#include "model/conv.h"
#include "model/gpu_math.h"
#include "model/linear.h"
#include "model/pool.h"

static size_t scratch_walk(const tower_shape *s, int nb, int threads, int backward, float *base,
                           tower_cpu_scratch *sc) {
    size_t off = 0;
#define TAKE(ptr, n) do { if (sc) (ptr) = base + off; off += tower_align(n); } while (0)
    TAKE(sc->col, (size_t)threads * TOWER_CPU_COL_FLOATS);
    if (backward) {
        TAKE(sc->dy, (size_t)nb * s->max_rows_f);
        TAKE(sc->da, (size_t)threads * TOWER_CPU_COL_FLOATS);
        TAKE(sc->dh, (size_t)nb * s->max_rows_f);
        TAKE(sc->dcol, (size_t)nb * s->max_rows_k);
        TAKE(sc->dp, (size_t)nb * s->max_in);
        TAKE(sc->dfeat, (size_t)nb * s->feat_dim);
        TAKE(sc->pgrad, (size_t)threads * 2 * tower_align((size_t)s->max_kn));
    }
#undef TAKE
    return off;
}

size_t tower_cpu_scratch_floats(const tower_shape *s, int nb, int threads, int backward) {
    return scratch_walk(s, nb, threads, backward, NULL, NULL);
}

void tower_cpu_scratch_carve(const tower_shape *s, int nb, int threads, int backward,
                             float *base, double *psum, tower_cpu_scratch *sc) {
    memset(sc, 0, sizeof *sc);
    scratch_walk(s, nb, threads, backward, base, sc);
    sc->psum = psum;
    sc->threads = threads;
}

/* ---- the phases ---- */

typedef struct {
    const tower_shape *s;
    const float *params;
    float *grads;
    int tower, k;
    int train;          /* forward: 1 computes BatchNorm partial sums */
    tower_acts *a;
    tower_cpu_scratch *sc;
    const float *demb;
} phase_ctx;

static void run(par_pool *pool, par_fn fn, void *c) {
    if (pool) par_run(pool, fn, c);
    else fn(c, 0, 1);
}

static int nthreads(par_pool *pool) { return pool ? par_threads(pool) : 1; }

/* im2col rows [r0, r1) of block k's input: the uint8 images for block 0
 * (normalised as they are read), the previous block's pooled output after. */
static void im2col_input(const phase_ctx *c, int k, long r0, long r1, float *col) {
    const conv_geom *g = &c->s->blk[k].g;
    if (k == 0) conv_im2col_pixels(g, c->a->x0, r0, r1, col);
    else conv_im2col(g, c->a->pooled[k - 1], r0, r1, col);
}

static double *psum_of(const phase_ctx *c, int tid) {
    return c->sc->psum + (size_t)tid * TOWER_CPU_PSUM_STRIDE;
}

static float *pgrad_of(const phase_ctx *c, int tid, int which) {
    return c->sc->pgrad + ((size_t)tid * 2 + which) * tower_align((size_t)c->s->max_kn);
}

/* Phases walk their rows in chunks whose working set (a few tensors' rows,
 * and for the 3x3 convs the im2col rows) stays in the L2 cache from one op
 * to the next, instead of streaming each whole tensor through memory once
 * per op. The im2col rows live in a per-thread buffer of TOWER_CPU_COL_FLOATS. */
static long chunk_conv(const tower_block *b) {
    long n = TOWER_CPU_COL_FLOATS / b->g.kdim, m = TOWER_CPU_COL_FLOATS / b->f;
    if (m < n) n = m; /* the per-thread dy / da chunk buffers hold n * f */
    return n < 1 ? 1 : n;
}
static float *da_of(const phase_ctx *c, int tid) {
    return c->sc->da + (size_t)tid * TOWER_CPU_COL_FLOATS;
}

static long chunk_mid(const tower_block *b) {
    long n = 65536 / (4 * b->f);
    return n < 16 ? 16 : n;
}
static float *col_of(const phase_ctx *c, int tid) {
    return c->sc->col + (size_t)tid * TOWER_CPU_COL_FLOATS;
}

/* conv rows: residual and first branch, then BN1 partial sums */
static void fwd_conv(void *arg, int tid, int nt) {
    phase_ctx *c = arg;
    const tower_block *b = &c->s->blk[c->k];
    const float *P = c->params;
    int tw = c->tower, f = b->f, K = b->g.kdim, k = c->k;
    long lo, hi;
    par_range((long)c->a->nb * b->px_out, tid, nt, &lo, &hi);
    double *ps = psum_of(c, tid);
    memset(ps, 0, sizeof(double) * 2 * (size_t)f);
    float *col = col_of(c, tid);
    long ch = chunk_conv(b);
    for (long r0 = lo; r0 < hi; r0 += ch) {
        long n = hi - r0 < ch ? hi - r0 : ch;
        im2col_input(c, k, r0, r0 + n, col);
        linear_forward(col, n, K, f, P + b->wr[tw], NULL, c->a->r[k] + r0 * f);
        linear_forward(col, n, K, f, P + b->w1[tw], NULL, c->a->a1[k] + r0 * f);
        if (c->train) bn_sums(c->a->a1[k] + r0 * f, n, f, ps);
    }
}

/* BN j, swish, then the next 1x1 conv and its BN partial sums (j = 0, 1) */
static void fwd_bn_swish_conv(phase_ctx *c, int tid, int nt, int j) {
    const tower_block *b = &c->s->blk[c->k];
    const float *P = c->params;
    int tw = c->tower, f = b->f, k = c->k;
    tower_acts *a = c->a;
    float *src = j == 0 ? a->a1[k] : a->a2[k];
    float *dst = j == 0 ? a->a2[k] : a->a3[k];
    size_t w = j == 0 ? b->w2[tw] : b->w3[tw];
    long lo, hi;
    par_range((long)a->nb * b->px_out, tid, nt, &lo, &hi);
    double *ps = psum_of(c, tid);
    memset(ps, 0, sizeof(double) * 2 * (size_t)f);
    /* the swish output lives only in this thread's chunk buffer: the
     * backward pass recomputes it from src (cheaper than a trip to memory) */
    float *h = col_of(c, tid);
    long ch = chunk_mid(b);
    for (long r0 = lo; r0 < hi; r0 += ch) {
        long n = hi - r0 < ch ? hi - r0 : ch, o = r0 * f;
        bn_swish_forward(src + o, n, f, a->mean[k][j], a->invstd[k][j], P + b->scale[tw][j], h);
        linear_forward(h, n, f, f, P + w, NULL, dst + o);
        if (c->train) bn_sums(dst + o, n, f, ps);
    }
}
static void fwd_mid0(void *arg, int tid, int nt) { fwd_bn_swish_conv(arg, tid, nt, 0); }
static void fwd_mid1(void *arg, int tid, int nt) { fwd_bn_swish_conv(arg, tid, nt, 1); }

static void fwd_pool(void *arg, int tid, int nt) {
    phase_ctx *c = arg;
    const tower_block *b = &c->s->blk[c->k];
    long lo, hi;
    par_range((long)c->a->nb * b->px_pool, tid, nt, &lo, &hi);
    if (hi <= lo) return;
    /* the block output r + BN_2(a3) + residual bias, pooled without storing it */
    const float *P = c->params;
    int tw = c->tower, k = c->k;
    float mul[MODEL_MAX_CHANNELS];
    for (int i = 0; i < b->f; i++) mul[i] = c->a->invstd[k][2][i] * P[b->scale[tw][2] + i];
    pool_avg_forward_bn_add(c->a->r[k], c->a->a3[k], mul, c->a->mean[k][2], P + b->br[tw],
                            b->g.ho, b->g.wo, b->f, lo, hi, c->a->pooled[k] + lo * b->f);
}

/* Sums the threads' partial sums (2 * C doubles each, in thread order) into
 * out, then across ranks when a collective is set; count likewise. */
static int reduce_sums(const phase_ctx *c, int nt, int C, double *out, double *count,
                       const tower_collective *coll, stl_error *err) {
    memset(out, 0, sizeof(double) * 2 * (size_t)C);
    for (int t = 0; t < nt; t++) {
        const double *ps = psum_of(c, t);
        for (int i = 0; i < 2 * C; i++) out[i] += ps[i];
    }
    if (coll && coll->fn) {
        float buf[2 * MODEL_MAX_CHANNELS + 1];
        for (int i = 0; i < 2 * C; i++) buf[i] = (float)out[i];
        buf[2 * C] = count ? (float)*count : 0.0f;
        if (coll->fn(coll->ctx, buf, (size_t)(2 * C + 1)) != 0)
            return stl_fail(err, "model: BatchNorm all-reduce failed");
        for (int i = 0; i < 2 * C; i++) out[i] = buf[i];
        if (count) *count = buf[2 * C];
    }
    return 0;
}

int tower_cpu_forward(const tower_shape *s, const float *params, float *stats, int tower,
                      int train, tower_acts *a, tower_cpu_scratch *sc, par_pool *pool,
                      const tower_collective *coll, stl_error *err) {
    phase_ctx c = {s, params, NULL, tower, 0, train, a, sc, NULL};
    int nt = nthreads(pool);
    double sums[2 * MODEL_MAX_CHANNELS];
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        const tower_block *b = &s->blk[k];
        c.k = k;
        for (int j = 0; j < 3; j++) {
            if (j == 0) run(pool, fwd_conv, &c);
            else run(pool, j == 1 ? fwd_mid0 : fwd_mid1, &c);
            /* The conv before BatchNorm j runs without its bias (BatchNorm
             * subtracts it again): a->mean is the mean of the bias-less
             * output, and the running mean, which Flax takes of conv + bias,
             * is that plus the bias. */
            const float *bias = params + (j == 0 ? b->b1[tower] : j == 1 ? b->b2[tower] : b->b3[tower]);
            float *rmean = stats + b->mean[tower][j], *rvar = stats + b->var[tower][j];
            if (train) {
                double count = (double)a->nb * b->px_out;
                if (reduce_sums(&c, nt, b->f, sums, &count, coll, err) < 0) return -1;
                bn_stats(sums, count, b->f, MODEL_BN_EPS, a->mean[k][j], a->var[k][j],
                         a->invstd[k][j]);
                float mb[MODEL_MAX_CHANNELS];
                for (int i = 0; i < b->f; i++) mb[i] = gm_bn_fold_mean(a->mean[k][j][i], bias[i]);
                bn_running_update(rmean, rvar, mb, a->var[k][j], b->f, MODEL_BN_MOMENTUM);
            } else {
                for (int i = 0; i < b->f; i++) a->mean[k][j][i] = gm_bn_unfold_mean(rmean[i], bias[i]);
                memcpy(a->var[k][j], rvar, sizeof(float) * (size_t)b->f);
                bn_invstd(a->var[k][j], b->f, MODEL_BN_EPS, a->invstd[k][j]);
            }
        }
        run(pool, fwd_pool, &c);
    }
    /* global mean and dense: small, on this thread */
    const tower_block *last = &s->blk[MODEL_N_BLOCKS - 1];
    pool_mean_forward(a->pooled[MODEL_N_BLOCKS - 1], (int)last->px_pool, s->feat_dim, 0, a->nb,
                      a->feat);
    linear_forward(a->feat, a->nb, s->feat_dim, s->out, params + s->wd[tower],
                   params + s->bd[tower], a->emb);
    return 0;
}

/* ---- backward ---- */

/* dy = pool backward of dp; BN3 backward partial sums */
static void bwd_pool(void *arg, int tid, int nt) {
    phase_ctx *c = arg;
    const tower_block *b = &c->s->blk[c->k];
    int f = b->f, k = c->k;
    long lo, hi;
    par_range((long)c->a->nb * b->px_out, tid, nt, &lo, &hi);
    double *ps = psum_of(c, tid);
    memset(ps, 0, sizeof(double) * 2 * (size_t)f);
    long ch = chunk_mid(b);
    for (long r0 = lo; r0 < hi; r0 += ch) {
        long n = hi - r0 < ch ? hi - r0 : ch;
        float *dy = c->sc->dy + r0 * f;
        pool_avg_backward(c->sc->dp, b->g.ho, b->g.wo, f, r0, r0 + n, dy);
        bn_backward_sums(dy, c->a->a3[k] + r0 * f, n, f, c->a->mean[k][2], c->a->invstd[k][2],
                         ps);
    }
}

/* Per-phase BN backward sums, shared by the phases through the context. */
typedef struct {
    phase_ctx base;
    float s1[MODEL_MAX_CHANNELS], s2[MODEL_MAX_CHANNELS];
    double count;
} bwd_ctx;

/* da = BN_j backward of dz; weight grads of the 1x1 conv j+1 ... (j = 2, 1):
 * conv (j) input is h_{j} (h2 for j = 2, h1 for j = 1); dh = da w^T; then
 * swish backward in place and the partial sums of BN j-1. */
static void bwd_mid(bwd_ctx *bc, int tid, int nt, int j) {
    phase_ctx *c = &bc->base;
    const tower_block *b = &c->s->blk[c->k];
    const float *P = c->params;
    int tw = c->tower, f = b->f, k = c->k;
    tower_acts *a = c->a;
    long lo, hi;
    par_range((long)a->nb * b->px_out, tid, nt, &lo, &hi);
    double *ps = psum_of(c, tid);
    memset(ps, 0, sizeof(double) * 3 * (size_t)f);
    float *gw = pgrad_of(c, tid, 0);
    const float *src = j == 2 ? a->a3[k] : a->a2[k];
    float *hin = col_of(c, tid);
    const float *asrc = j == 2 ? a->a2[k] : a->a1[k];
    size_t w = j == 2 ? b->w3[tw] : b->w2[tw];
    float *da = da_of(c, tid); /* used within a chunk only: stays in cache */
    if (hi <= lo) linear_backward_params(hin, da, 0, f, f, gw, NULL, 0); /* zero */
    const float *sc_prev = P + b->scale[tw][j - 1];
    long ch = chunk_mid(b);
    for (long r0 = lo; r0 < hi; r0 += ch) {
        long n = hi - r0 < ch ? hi - r0 : ch, o = r0 * f;
        float *dh = c->sc->dh + o;
        const float *dz = j == 2 ? c->sc->dy + o : dh;
        bn_backward(dz, src + o, n, f, a->mean[k][j], a->invstd[k][j], P + b->scale[tw][j],
                    bc->s1, bc->s2, bc->count, da, ps + 2 * f);
        /* the conv's input: swish(BN_{j-1}(asrc)), recomputed as in the forward */
        bn_swish_forward(asrc + o, n, f, a->mean[k][j - 1], a->invstd[k][j - 1], sc_prev, hin);
        linear_backward_params(hin, da, n, f, f, gw, NULL, r0 > lo);
        linear_backward_input(da, n, f, f, P + w, dh, 0);
        bn_swish_backward(dh, asrc + o, n, f, a->mean[k][j - 1], a->invstd[k][j - 1], sc_prev,
                          ps);
    }
}
static void bwd_mid2(void *arg, int tid, int nt) { bwd_mid(arg, tid, nt, 2); }
static void bwd_mid1(void *arg, int tid, int nt) { bwd_mid(arg, tid, nt, 1); }

/* da1 = BN0 backward of dh; grads of both 3x3 convs; dcol for the input */
static void bwd_conv(void *arg, int tid, int nt) {
    bwd_ctx *bc = arg;
    phase_ctx *c = &bc->base;
    const tower_block *b = &c->s->blk[c->k];
    const float *P = c->params;
    int tw = c->tower, f = b->f, k = c->k, K = b->g.kdim;
    tower_acts *a = c->a;
    long lo, hi;
    par_range((long)a->nb * b->px_out, tid, nt, &lo, &hi);
    float *g1 = pgrad_of(c, tid, 0), *gr = pgrad_of(c, tid, 1), *col = col_of(c, tid);
    float *da = da_of(c, tid);
    double *ps = psum_of(c, tid);
    memset(ps, 0, sizeof(double) * 3 * (size_t)f);
    if (hi <= lo) { /* zero partials */
        linear_backward_params(col, da, 0, K, f, g1, NULL, 0);
        linear_backward_params(col, c->sc->dy, 0, K, f, gr, NULL, 0);
    }
    long ch = chunk_conv(b);
    for (long r0 = lo; r0 < hi; r0 += ch) {
        long n = hi - r0 < ch ? hi - r0 : ch, o = r0 * f;
        const float *dy = c->sc->dy + o; /* the residual conv's output gradient */
        bn_backward(c->sc->dh + o, a->a1[k] + o, n, f, a->mean[k][0], a->invstd[k][0],
                    P + b->scale[tw][0], bc->s1, bc->s2, bc->count, da, ps + 2 * f);
        im2col_input(c, k, r0, r0 + n, col);
        linear_backward_params(col, da, n, K, f, g1, NULL, r0 > lo);
        linear_backward_params(col, dy, n, K, f, gr, NULL, r0 > lo);
        if (k > 0) {
            float *dcol = c->sc->dcol + r0 * K;
            linear_backward_input(da, n, K, f, P + b->w1[tw], dcol, 0);
            linear_backward_input(dy, n, K, f, P + b->wr[tw], dcol, 1);
        }
    }
}

static void bwd_col2im(void *arg, int tid, int nt) {
    phase_ctx *c = arg;
    const tower_block *b = &c->s->blk[c->k];
    long lo, hi;
    par_range((long)c->a->nb * b->h * b->w, tid, nt, &lo, &hi);
    if (hi <= lo) return;
    conv_col2im(&b->g, c->sc->dcol, lo, hi, c->sc->dp + lo * b->cin);
}

/* grads[w] += sum over threads of partial `which` (n floats), in thread order */
static void add_partials(const phase_ctx *c, int nt, int which, float *dst, size_t n) {
    for (int t = 0; t < nt; t++) {
        const float *p = pgrad_of(c, t, which);
        for (size_t i = 0; i < n; i++) dst[i] += p[i];
    }
}

/* A pre-BatchNorm conv's bias gradient, sum da: partials at psum[2C, 3C). */
static void add_bias_partials(const phase_ctx *c, int nt, int C, float *dst) {
    for (int t = 0; t < nt; t++) {
        const double *ps = psum_of(c, t) + 2 * C;
        for (int i = 0; i < C; i++) dst[i] += (float)ps[i];
    }
}

/* Combines the threads' sums of the phase just run; the local sum dz xhat is
 * this rank's dscale and, when dbias is set, the local sum dz its dbias
 * (both taken before the all-reduce: the caller all-reduces gradients). */
static int bn_bwd_sums(bwd_ctx *bc, int nt, int C, float *dscale, float *dbias,
                       const tower_collective *coll, stl_error *err) {
    double sums[2 * MODEL_MAX_CHANNELS];
    memset(sums, 0, sizeof sums);
    for (int t = 0; t < nt; t++) {
        const double *ps = psum_of(&bc->base, t);
        for (int i = 0; i < 2 * C; i++) sums[i] += ps[i];
    }
    for (int i = 0; i < C; i++) dscale[i] += (float)sums[C + i];
    if (dbias)
        for (int i = 0; i < C; i++) dbias[i] += (float)sums[i];
    if (coll && coll->fn) {
        float buf[2 * MODEL_MAX_CHANNELS];
        for (int i = 0; i < 2 * C; i++) buf[i] = (float)sums[i];
        if (coll->fn(coll->ctx, buf, (size_t)(2 * C)) != 0)
            return stl_fail(err, "model: BatchNorm gradient all-reduce failed");
        for (int i = 0; i < 2 * C; i++) sums[i] = buf[i];
    }
    for (int i = 0; i < C; i++) {
        bc->s1[i] = (float)sums[i];
        bc->s2[i] = (float)sums[C + i];
    }
    return 0;
}

int tower_cpu_backward(const tower_shape *s, const float *params, float *grads, int tower,
                       tower_acts *a, const float *demb, tower_cpu_scratch *sc, par_pool *pool,
                       const tower_collective *coll, stl_error *err) {
    bwd_ctx bc;
    memset(&bc, 0, sizeof bc);
    bc.base = (phase_ctx){s, params, grads, tower, 0, 1, a, sc, demb};
    phase_ctx *c = &bc.base;
    int nt = nthreads(pool), D = s->feat_dim, nb = a->nb;
    /* dense and global mean */
    linear_backward_params(a->feat, demb, nb, D, s->out, grads + s->wd[tower],
                           grads + s->bd[tower], 1);
    linear_backward_input(demb, nb, D, s->out, params + s->wd[tower], sc->dfeat, 0);
    const tower_block *last = &s->blk[MODEL_N_BLOCKS - 1];
    pool_mean_backward(sc->dfeat, (int)last->px_pool, D, 0, nb, sc->dp);
    for (int k = MODEL_N_BLOCKS - 1; k >= 0; k--) {
        const tower_block *b = &s->blk[k];
        int f = b->f, K = b->g.kdim;
        c->k = k;
        /* the global count of this block's BatchNorm rows */
        double count = (double)nb * b->px_out;
        if (coll && coll->fn) {
            float cnt = (float)count;
            if (coll->fn(coll->ctx, &cnt, 1) != 0)
                return stl_fail(err, "model: BatchNorm all-reduce failed");
            count = cnt;
        }
        bc.count = count;
        run(pool, bwd_pool, c);
        /* dy is also the residual conv's output gradient: its bias
         * gradient is BatchNorm_2's local sum dy */
        if (bn_bwd_sums(&bc, nt, f, grads + b->scale[tower][2], grads + b->br[tower], coll, err) < 0)
            return -1;
        run(pool, bwd_mid2, &bc);
        add_partials(c, nt, 0, grads + b->w3[tower], (size_t)f * f);
        add_bias_partials(c, nt, f, grads + b->b3[tower]);
        if (bn_bwd_sums(&bc, nt, f, grads + b->scale[tower][1], NULL, coll, err) < 0) return -1;
        run(pool, bwd_mid1, &bc);
        add_partials(c, nt, 0, grads + b->w2[tower], (size_t)f * f);
        add_bias_partials(c, nt, f, grads + b->b2[tower]);
        if (bn_bwd_sums(&bc, nt, f, grads + b->scale[tower][0], NULL, coll, err) < 0) return -1;
        run(pool, bwd_conv, &bc);
        add_partials(c, nt, 0, grads + b->w1[tower], (size_t)K * f);
        add_partials(c, nt, 1, grads + b->wr[tower], (size_t)K * f);
        add_bias_partials(c, nt, f, grads + b->b1[tower]);
        if (k > 0) run(pool, bwd_col2im, c);
    }
    return 0;
}

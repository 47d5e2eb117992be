/* test_gpu_kernels.c — the GPU kernels' per-thread bodies (model/gpu_kernels.h)
 * on the host, against the CPU ops: each launch is simulated by calling the
 * body for every index (or, where the order must not matter, over the
 * blocks in a scrambled order) on random data in the model's shapes at
 * S = 64 (param_table_init + tower_shape_init) and a few odd ones.
 *
 * Bitwise, in every kernel variant (tests/run.sh runs this once per
 * STL_ISA variant, as test_gpu_math): the average pool forward and
 * backward, the global mean pool both ways, swish both ways, BatchNorm
 * applied, Adam, the triplet loss (whole and per triplet) and its gradient
 * rows (loss.c now runs gm_triplet_at itself, so that check holds the two
 * together; the loss's own oracle is JAX, test_flax_parity), block 0's
 * convolution against the CPU's im2col rows summed in the
 * body's order; the CPU computes the same float expressions in the same
 * order and, in these ops, the variants' vector code contracts nothing
 * (only additions, or a product with no addition after it, or fp-contract
 * off: swish.c, adam.c, loss.c).
 *
 * Bitwise in the baseline variant, within a budget in the AVX2 / AVX-512
 * ones: BatchNorm + swish forward and backward, bn_backward's da and the
 * pool fused with BatchNorm and the residual add (batchnorm.c, bn_swish.c
 * and pool.c are built with fp-contract=fast, so those variants fuse
 * gm_expf's a * b + c pairs, dz - m1 - xhat m2 and (a - sub) * mul + add
 * into FMAs).
 *
 * Within a budget in all variants: BatchNorm's statistics and the backward
 * pass's sums (the partial sums are double, the CPU's float runs of 32
 * rows) and block 0's convolution against im2col + GEMM (the CPU sums the
 * same taps in the GEMM's order). The partial sums must also give the same
 * bits whatever order their blocks run in. The budgets are written beside
 * each check; u = 2^-24, half an ulp.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/isa.h"
#include "base/rng.h"
#include "check.h"
#include "check_isa.h"
#include "model/adam.h"
#include "model/batchnorm.h"
#include "model/bn_swish.h"
#include "model/conv.h"
#include "model/gpu_kernels.h"
#include "model/linear.h"
#include "model/loss.h"
#include "model/params.h"
#include "model/pool.h"
#include "model/swish.h"
#include "model/tower.h"

#define U (1.0 / 16777216.0) /* 2^-24 */

static rng_state rng;

static int feq(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
static long neq_floats(const float *a, const float *b, long n) {
    long bad = 0;
    for (long i = 0; i < n; i++) bad += !feq(a[i], b[i]);
    return bad;
}
static float *falloc(long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}
static void fill_normal(float *x, long n, double scale) {
    for (long i = 0; i < n; i++) x[i] = (float)(rng_normal(&rng) * scale);
}
/* The kernel variant this run's CPU ops use contracts a * b + c into FMAs
 * (in the files built with fp-contract=fast) unless it is the baseline. */
static int cpu_fuses(void) { return isa_active() != ISA_BASELINE; }

/* The model at S = 64: each block's 3x3 conv input (h, w, cin), its output
 * (g.ho, g.wo) with f channels, the pooled size; the embedding size. */
static tower_shape shape;
static int have_shape;
static void model_shape(void) {
    param_table table;
    stl_error err;
    if (param_table_init(&table, 64, &err) != 0 || tower_shape_init(&shape, &table, 64, &err) != 0) {
        fprintf(stderr, "model shape: %s\n", err.msg);
        return;
    }
    param_table_free(&table);
    have_shape = 1;
}

/* ---- the 3x3 stride-2 average pool ---- */

typedef struct {
    int b, h, w, c;
} pool_case;

static int pool_cases(pool_case *pc) {
    int n = 0;
    for (int k = 0; k < MODEL_N_BLOCKS; k++) /* the pool after each block's conv */
        pc[n++] = (pool_case){3, shape.blk[k].g.ho, shape.blk[k].g.wo, shape.blk[k].f};
    pc[n++] = (pool_case){2, 7, 5, 20};   /* odd: padding 1 before and after */
    pc[n++] = (pool_case){1, 1, 1, 3};    /* one pixel */
    pc[n++] = (pool_case){2, 9, 6, 260};  /* C > 256: pool.c's per-channel path */
    pc[n++] = (pool_case){2, 10, 11, 16};
    return n;
}

/* Bitwise: the body sums the window in float from 0.0f in the CPU's order
 * (rows, then columns) and multiplies by the float 1/9 as pool.c does; no
 * product is followed by an addition, so no variant contracts anything. */
static void test_pool_avg(void) {
    pool_case pc[MODEL_N_BLOCKS + 4];
    int n = pool_cases(pc);
    CHECK(have_shape && n == MODEL_N_BLOCKS + 4);
    for (int t = 0; t < n; t++) {
        int B = pc[t].b, H = pc[t].h, W = pc[t].w, C = pc[t].c;
        int ho = gm_same_out(H, 2), wo = gm_same_out(W, 2);
        long nx = (long)B * H * W * C, ny = (long)B * ho * wo * C;
        float *x = falloc(nx), *y = falloc(ny), *yk = falloc(ny);
        float *dy = falloc(ny), *dx = falloc(nx), *dxk = falloc(nx);
        fill_normal(x, nx, 1.0);
        fill_normal(dy, ny, 1.0);
        pool_avg_forward(x, H, W, C, 0, (long)B * ho * wo, y);
        pool_avg_backward(dy, H, W, C, 0, (long)B * H * W, dx);
        for (long i = 0; i < ny; i++) yk[i] = gm_pool_avg_fwd_at(x, H, W, C, i);
        for (long i = 0; i < nx; i++) dxk[i] = gm_pool_avg_bwd_at(dy, H, W, C, i);
        long bf = neq_floats(y, yk, ny), bb = neq_floats(dx, dxk, nx);
        if (bf || bb)
            fprintf(stderr, "pool %dx%dx%dx%d: %ld forward, %ld backward elements differ\n", B,
                    H, W, C, bf, bb);
        CHECK_EQ_INT(bf, 0);
        CHECK_EQ_INT(bb, 0);
        free(x), free(y), free(yk), free(dy), free(dx), free(dxk);
    }
}

/* pool_avg_forward_bn_add: bitwise in the baseline variant. Where the CPU
 * variant fuses p = (a - s) m and q = p + d into one FMA, each side's
 * output is within (first order) (u / 9) sum_k (|p_k| + |q_k| + 9 |t_k|) +
 * u |y| of the exact value, t_k = x_k + q_k the window's terms: u per
 * rounding of p, q and t, 8 u sum|t| for the float sum of at most 9 terms,
 * u for the final product (both sides multiply by the same float 1/9). The
 * difference is within twice that. */
static void test_pool_avg_bn_add(void) {
    pool_case pc[MODEL_N_BLOCKS + 4];
    int n = pool_cases(pc);
    int fused = cpu_fuses();
    for (int t = 0; t < n; t++) {
        int B = pc[t].b, H = pc[t].h, W = pc[t].w, C = pc[t].c;
        if (C > 256) continue; /* pool_avg_forward_bn_add's limit */
        int ho = gm_same_out(H, 2), wo = gm_same_out(W, 2);
        int pt = gm_same_pad_before(H, 3, 2), pl = gm_same_pad_before(W, 3, 2);
        long nx = (long)B * H * W * C, ny = (long)B * ho * wo * C;
        float *x = falloc(nx), *a = falloc(nx), *y = falloc(ny), *yk = falloc(ny);
        float *mul = falloc(C), *sub = falloc(C), *add = falloc(C);
        fill_normal(x, nx, 1.0);
        fill_normal(a, nx, 2.0);
        for (int c = 0; c < C; c++) {
            sub[c] = (float)rng_normal(&rng);
            mul[c] = (float)(0.5 + rng_double(&rng));
            add[c] = (float)(0.1 * rng_normal(&rng));
        }
        pool_avg_forward_bn_add(x, a, mul, sub, add, H, W, C, 0, (long)B * ho * wo, y);
        long bad = 0;
        for (long i = 0; i < ny; i++) {
            yk[i] = gm_pool_avg_bn_add_fwd_at(x, a, mul, sub, add, H, W, C, i);
            if (!fused) {
                bad += !feq(y[i], yk[i]);
                continue;
            }
            int c = (int)(i % C), ow = (int)(i / C % wo), oh = (int)(i / C / wo % ho);
            long b = i / C / wo / ho;
            int h0, h1, w0, w1;
            gm_pool_window(oh, pt, H, &h0, &h1);
            gm_pool_window(ow, pl, W, &w0, &w1);
            double terms = 0;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++) {
                    long k = ((b * H + h) * W + w) * C + c;
                    double p = ((double)a[k] - sub[c]) * mul[c], q = p + add[c];
                    terms += fabs(p) + fabs(q) + 9 * fabs(x[k] + q);
                }
            double tol = 2 * (U / 9 * terms + U * fabs(yk[i])) + 1e-37;
            bad += !(fabs((double)y[i] - yk[i]) <= tol);
        }
        if (bad) fprintf(stderr, "pool+bn %dx%dx%dx%d: %ld outside\n", B, H, W, C, bad);
        CHECK_EQ_INT(bad, 0);
        free(x), free(a), free(y), free(yk), free(mul), free(sub), free(add);
    }
}

/* ---- the global mean pool: bitwise (float sum from 0 in pixel order, one
 * division, as pool.c) ---- */
static void test_pool_mean(void) {
    const tower_block *last = &shape.blk[MODEL_N_BLOCKS - 1];
    int cases[][3] = {{16, (int)last->px_pool, shape.feat_dim}, /* the model's */
                      {3, 16, 64}, {2, 49, 20}, {2, 1024, 16}, {1, 1, 1}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int B = cases[t][0], hw = cases[t][1], C = cases[t][2];
        long nx = (long)B * hw * C, ny = (long)B * C;
        float *x = falloc(nx), *y = falloc(ny), *yk = falloc(ny);
        float *dy = falloc(ny), *dx = falloc(nx), *dxk = falloc(nx);
        fill_normal(x, nx, 1.0);
        fill_normal(dy, ny, 1.0);
        pool_mean_forward(x, hw, C, 0, B, y);
        pool_mean_backward(dy, hw, C, 0, B, dx);
        for (long i = 0; i < ny; i++) yk[i] = gm_pool_mean_fwd_at(x, hw, C, i);
        for (long i = 0; i < nx; i++) dxk[i] = gm_pool_mean_bwd_at(dy, hw, C, i);
        CHECK_EQ_INT(neq_floats(y, yk, ny), 0);
        CHECK_EQ_INT(neq_floats(dx, dxk, nx), 0);
        free(x), free(y), free(yk), free(dy), free(dx), free(dxk);
    }
}

/* ---- swish, BatchNorm applied, BatchNorm + swish ---- */

/* Per-channel statistics of a (rows, C) as the model has them (bn_sums +
 * bn_stats), a scale near 1. */
static void bn_params(const float *a, long rows, int C, float *mean, float *invstd, float *scale) {
    double *sums = calloc(2 * (size_t)C, sizeof *sums);
    float *var = falloc(C);
    bn_sums(a, rows, C, sums);
    bn_stats(sums, (double)rows, C, 1e-5f, mean, var, invstd);
    for (int c = 0; c < C; c++) scale[c] = (float)(1.0 + 0.3 * rng_normal(&rng));
    free(sums);
    free(var);
}

/* a: per-channel offsets and spreads, and one value in 50 far out (|z| up
 * to ~100, past gm_expf's clamps). */
static void fill_activations(float *a, long rows, int C) {
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) {
            double v = (c % 7) - 3 + rng_normal(&rng) * (0.2 + c % 3);
            if (rng_uniform(&rng, 50) == 0) v *= 30;
            a[r * C + c] = (float)v;
        }
}

/* swish_forward / _backward and bn_forward: bitwise in every variant.
 * bn_swish_forward: bitwise in the baseline; where the variant fuses
 * gm_expf's polynomial into FMAs, both sides compute swish of the same z
 * (z = (a - mean) * (invstd * scale) has no addition after its product;
 * checked bitwise against bn_forward), each within 8 u |swish(z)| of the
 * exact value (test_gpu_math's budget: exp 4 u, the sum, division and
 * product u each; fusing removes roundings, adds none), so they differ by
 * at most 16 u |h|, plus the smallest subnormal for results that round to
 * subnormals. */
static void test_elementwise(void) {
    int fused = cpu_fuses();
    long total = 0;
    for (int k = 0; k <= MODEL_N_BLOCKS; k++) {
        int B = 4;
        long rows = k < MODEL_N_BLOCKS ? B * shape.blk[k].px_out : 37;
        int C = k < MODEL_N_BLOCKS ? shape.blk[k].f : 300; /* and C > 256: two channel chunks */
        long n = rows * C;
        float *a = falloc(n), *z = falloc(n), *zk = falloc(n), *h = falloc(n), *hk = falloc(n);
        float *dh = falloc(n), *dz = falloc(n), *dzk = falloc(n);
        float *mean = falloc(C), *invstd = falloc(C), *scale = falloc(C);
        fill_activations(a, rows, C);
        fill_normal(dh, n, 1.0);
        bn_params(a, rows, C, mean, invstd, scale);
        /* BatchNorm applied */
        bn_forward(a, rows, C, mean, invstd, scale, z);
        for (long i = 0; i < n; i++) zk[i] = gm_bn_fwd_at(a, C, mean, invstd, scale, i);
        CHECK_EQ_INT(neq_floats(z, zk, n), 0);
        /* swish of z, forward and backward */
        swish_forward(z, n, h);
        swish_backward(dh, z, n, dz);
        for (long i = 0; i < n; i++) {
            hk[i] = gm_swish_fwd_at(z, i);
            dzk[i] = gm_swish_bwd_at(dh, z, i);
        }
        CHECK_EQ_INT(neq_floats(h, hk, n), 0);
        CHECK_EQ_INT(neq_floats(dz, dzk, n), 0);
        /* BatchNorm + swish */
        bn_swish_forward(a, rows, C, mean, invstd, scale, h);
        long bad = 0;
        for (long i = 0; i < n; i++) {
            hk[i] = gm_bn_swish_fwd_at(a, C, mean, invstd, scale, i);
            if (fused)
                bad += !(fabs((double)h[i] - hk[i]) <= 16 * U * fabs(hk[i]) + 0x1p-149);
            else
                bad += !feq(h[i], hk[i]);
        }
        if (bad) fprintf(stderr, "bn_swish %ldx%d: %ld outside\n", rows, C, bad);
        CHECK_EQ_INT(bad, 0);
        total += n;
        free(a), free(z), free(zk), free(h), free(hk), free(dh), free(dz), free(dzk);
        free(mean), free(invstd), free(scale);
    }
    CHECK(total > 4 * shape.blk[0].px_out * shape.blk[0].f); /* the shapes ran */
}

/* ---- BatchNorm's statistics without atomics ---- */

/* The launch: the partial grid (nblk x C bodies) in the order `order`
 * (a permutation of the nblk * C cells, or NULL: cell order), each writing
 * its own cell, then the finalisation, one channel per call. */
static void bn_stats_launch(const float *a, long rows, int C, long R, const long *order,
                            double *ps, double *pq, float *mean, float *var, float *invstd) {
    long nblk = gm_bn_blocks(rows, R), cells = nblk * C;
    for (long t = 0; t < cells; t++) {
        long cell = order ? order[t] : t;
        long j = cell / C;
        int c = (int)(cell % C);
        gm_bn_partial_at(a, rows, C, R, j, c, &ps[j * C + c], &pq[j * C + c]);
    }
    for (int c = 0; c < C; c++)
        gm_bn_stats_at(ps, pq, nblk, C, c, (double)rows, 1e-5f, &mean[c], &var[c], &invstd[c]);
}

/* Against bn_sums + bn_stats. The CPU sums each run of at most 32 rows in
 * float (rounding the squares too, or fusing them: either way within 32 u
 * sum x^2 of the exact sum; the sum within 31 u sum |x|), then in double;
 * the bodies sum in double with exact squares. Per channel, with A = mean
 * |x|, E2 = mean x^2, m and v the exact mean and variance, n the rows, and
 * d = n 2^-52 for each side's double sums (first order):
 *   mean:   |diff| <= (31 u + d) A + 2 u |m|   (each side rounded to float
 *           once, u relative);
 *   var:    v = E2 - m^2 in double: (32 u + d) E2 + 2 |m| (31 u + d) A
 *           before rounding, tv_d; + 2 u v after;
 *   invstd: 1 / sqrt(v + eps) from the double v: by the mean value theorem
 *           within 0.5 tv_d (v + eps - tv_d)^-1.5, + 2 u invstd for the
 *           roundings. */
static void test_bn_stats(void) {
    static const long Rs[] = {1, 7, 32, 256, 1000, 1L << 30};
    long checked = 0;
    for (int k = 0; k <= MODEL_N_BLOCKS; k++) {
        long rows = k < MODEL_N_BLOCKS ? 4 * shape.blk[k].px_out : 4099;
        int C = k < MODEL_N_BLOCKS ? shape.blk[k].f : 3;
        float *a = falloc(rows * C);
        fill_activations(a, rows, C);
        double *sums = calloc(2 * (size_t)C, sizeof *sums);
        float *mean = falloc(C), *var = falloc(C), *inv = falloc(C);
        bn_sums(a, rows, C, sums);
        bn_stats(sums, (double)rows, C, 1e-5f, mean, var, inv);
        /* the exact moments, for the budget (double sums: within d) */
        double *A = calloc((size_t)C, sizeof *A), *E2 = calloc((size_t)C, sizeof *E2),
               *M = calloc((size_t)C, sizeof *M), *V = calloc((size_t)C, sizeof *V);
        for (long r = 0; r < rows; r++)
            for (int c = 0; c < C; c++) {
                double v = a[r * C + c];
                A[c] += fabs(v), E2[c] += v * v, M[c] += v;
            }
        for (int c = 0; c < C; c++) {
            A[c] /= rows, E2[c] /= rows, M[c] /= rows;
            V[c] = E2[c] - M[c] * M[c];
            if (V[c] < 0) V[c] = 0;
        }
        for (size_t ri = 0; ri < sizeof Rs / sizeof Rs[0]; ri++) {
            long R = Rs[ri], nblk = gm_bn_blocks(rows, R), cells = nblk * C;
            double *ps = calloc((size_t)cells, sizeof *ps), *pq = calloc((size_t)cells, sizeof *pq);
            double *ps2 = calloc((size_t)cells, sizeof *ps2), *pq2 = calloc((size_t)cells, sizeof *pq2);
            long *order = malloc((size_t)cells * sizeof *order);
            float *mk = falloc(C), *vk = falloc(C), *ik = falloc(C);
            float *mk2 = falloc(C), *vk2 = falloc(C), *ik2 = falloc(C);
            bn_stats_launch(a, rows, C, R, NULL, ps, pq, mk, vk, ik);
            /* the same R, twice more: in cell order, and with the blocks
             * run in a scrambled order; the same bits every time */
            for (int run = 0; run < 2; run++) {
                for (long t = 0; t < cells; t++) order[t] = t;
                if (run == 1) rng_shuffle(&rng, order, (size_t)cells, sizeof *order);
                memset(ps2, 0, (size_t)cells * sizeof *ps2);
                memset(pq2, 0, (size_t)cells * sizeof *pq2);
                bn_stats_launch(a, rows, C, R, order, ps2, pq2, mk2, vk2, ik2);
                CHECK(memcmp(ps, ps2, (size_t)cells * sizeof *ps) == 0);
                CHECK(memcmp(pq, pq2, (size_t)cells * sizeof *pq) == 0);
                CHECK_EQ_INT(neq_floats(mk, mk2, C) + neq_floats(vk, vk2, C) +
                                 neq_floats(ik, ik2, C), 0);
            }
            long bad = 0;
            double d = rows * 0x1p-52;
            for (int c = 0; c < C; c++) {
                double tm = (31 * U + d) * A[c] + 2 * U * fabs(M[c]) + 1e-300;
                double tvd = (32 * U + d) * E2[c] + 2 * fabs(M[c]) * (31 * U + d) * A[c];
                double tv = tvd + 2 * U * V[c] + 1e-300;
                double ve = V[c] + 1e-5f;
                double ti = 0.5 * tvd * pow(ve - tvd, -1.5) + 2 * U / sqrt(ve);
                int ok = fabs((double)mean[c] - mk[c]) <= tm && fabs((double)var[c] - vk[c]) <= tv &&
                         fabs((double)inv[c] - ik[c]) <= ti && tvd < ve;
                if (!ok && bad < 5)
                    fprintf(stderr, "rows %ld C %d R %ld c %d: mean %.9g/%.9g var %.9g/%.9g inv %.9g/%.9g\n",
                            rows, C, R, c, mean[c], mk[c], var[c], vk[c], inv[c], ik[c]);
                bad += !ok;
                checked++;
            }
            CHECK_EQ_INT(bad, 0);
            free(ps), free(pq), free(ps2), free(pq2), free(order);
            free(mk), free(vk), free(ik), free(mk2), free(vk2), free(ik2);
        }
        free(a), free(sums), free(mean), free(var), free(inv), free(A), free(E2), free(M), free(V);
    }
    CHECK(checked > 1000);
}

/* ---- BatchNorm backward ----
 * For each block's shape (and C > 256), with the CPU's own dz where two
 * paths must start from the same values:
 * - dz of BatchNorm + swish (gm_bn_swish_bwd_at vs bn_swish_backward):
 *   bitwise in the baseline; where the variant fuses gm_expf's and
 *   swish's a * b + c pairs, each side's swish'(z) is within 16 u s (1 + |z|)
 *   of the exact value (test_gpu_math's budget, s = sigmoid(z); fusing only
 *   removes roundings), so the products differ by at most
 *   32 u s (1 + |z|) |dh| + 2 u |dz|.
 * - the sums sum dz and sum dz xhat (the partial grid, scrambled, vs
 *   bn_swish_backward's and bn_backward_sums'): the CPU's float runs of 32
 *   rows are within 31 u sum|dz| and 32 u sum|dz xhat| (xhat is the same
 *   float on both sides; the product rounded or fused), the double sums
 *   within n 2^-52 of theirs on each side: the difference is within
 *   (31 u + d) sum|dz| and (32 u + d) sum|dz xhat|, d = n 2^-52.
 * - da (gm_bn_bwd_at vs bn_backward): bitwise in the baseline; where the
 *   variant fuses t = t1 - xhat m2 (t1 = dz - m1, the same float on both
 *   sides) into one FMA, t differs by at most u |xhat m2| + 2 u |t| (the
 *   product's rounding, which the FMA skips, and each side's subtraction),
 *   so da = k t by |k| that + 2 u |da|; (1 + 4 u) covers the second-order
 *   terms. The bound is reached where t cancels to ~0 and the product's
 *   rounding is all that differs (measured: 0.97 of it).
 * - sum da (the bias gradient, dsum): the sum of the same da values is
 *   within (31 u + d) sum|da| (as above), plus in the fused variants n
 *   times da's own budget at most, summed from the per-element bounds. */
static void test_bn_backward(void) {
    int fused = cpu_fuses();
    const long R = 256;
    for (int k = 0; k <= MODEL_N_BLOCKS; k++) {
        long rows = k < MODEL_N_BLOCKS ? 4 * shape.blk[k].px_out : 1001;
        int C = k < MODEL_N_BLOCKS ? shape.blk[k].f : 300;
        long n = rows * C, nblk = gm_bn_blocks(rows, R);
        float *a = falloc(n), *dh = falloc(n), *dz = falloc(n), *dzk = falloc(n);
        float *da = falloc(n), *dak = falloc(n);
        float *mean = falloc(C), *invstd = falloc(C), *scale = falloc(C);
        float *s1f = falloc(C), *s2f = falloc(C);
        double *sums_sw = calloc(2 * (size_t)C, sizeof(double));
        double *sums_bn = calloc(2 * (size_t)C, sizeof(double));
        double *dsum = calloc((size_t)C, sizeof(double));
        double *p1 = calloc((size_t)(nblk * C), sizeof(double)), *p2 = calloc((size_t)(nblk * C), sizeof(double));
        long *order = malloc((size_t)(nblk * C) * sizeof *order);
        fill_activations(a, rows, C);
        fill_normal(dh, n, 1.0);
        bn_params(a, rows, C, mean, invstd, scale);
        /* dz of BatchNorm + swish */
        memcpy(dz, dh, (size_t)n * sizeof *dz);
        bn_swish_backward(dz, a, rows, C, mean, invstd, scale, sums_sw);
        long bad = 0;
        for (long i = 0; i < n; i++) {
            dzk[i] = gm_bn_swish_bwd_at(dh, a, C, mean, invstd, scale, i);
            if (!fused) {
                bad += !feq(dz[i], dzk[i]);
                continue;
            }
            int c = (int)(i % C);
            double z = ((double)a[i] - mean[c]) * ((double)invstd[c] * scale[c]);
            double sg = 1 / (1 + exp(-z));
            double tol = 32 * U * sg * (1 + fabs(z)) * fabs(dh[i]) + 2 * U * fabs(dzk[i]) + 0x1p-149;
            bad += !(fabs((double)dz[i] - dzk[i]) <= tol);
        }
        if (bad) fprintf(stderr, "bn_swish bwd %ldx%d: %ld outside\n", rows, C, bad);
        CHECK_EQ_INT(bad, 0);
        /* the sums, over the CPU's dz, the blocks in a scrambled order */
        bn_backward_sums(dz, a, rows, C, mean, invstd, sums_bn);
        for (long t = 0; t < nblk * C; t++) order[t] = t;
        rng_shuffle(&rng, order, (size_t)(nblk * C), sizeof *order);
        for (long t = 0; t < nblk * C; t++) {
            long j = order[t] / C;
            int c = (int)(order[t] % C);
            gm_bn_bwd_partial_at(dz, a, rows, C, mean, invstd, R, j, c, &p1[j * C + c], &p2[j * C + c]);
        }
        double d = rows * 0x1p-52;
        long bad_sums = 0;
        for (int c = 0; c < C; c++) {
            double S1, S2, A1 = 0, A2 = 0;
            gm_bn_sum_partials_at(p1, p2, nblk, C, c, &S1, &S2);
            for (long r = 0; r < rows; r++) {
                float xh = (a[r * C + c] - mean[c]) * invstd[c];
                A1 += fabs(dz[r * C + c]);
                A2 += fabs((double)dz[r * C + c] * xh);
            }
            double t1 = (31 * U + d) * A1 + 1e-300, t2 = (32 * U + d) * A2 + 1e-300;
            bad_sums += !(fabs(S1 - sums_sw[c]) <= t1) + !(fabs(S2 - sums_sw[C + c]) <= t2);
            bad_sums += !(fabs(S1 - sums_bn[c]) <= t1) + !(fabs(S2 - sums_bn[C + c]) <= t2);
            s1f[c] = (float)S1;
            s2f[c] = (float)S2;
        }
        CHECK_EQ_INT(bad_sums, 0);
        /* da and its sum */
        bn_backward(dz, a, rows, C, mean, invstd, scale, s1f, s2f, (double)rows, da, dsum);
        bad = 0;
        double *errsum = calloc((size_t)C, sizeof(double)), *absda = calloc((size_t)C, sizeof(double));
        for (long i = 0; i < n; i++) {
            dak[i] = gm_bn_bwd_at(dz, a, C, mean, invstd, scale, s1f, s2f, (double)rows, i);
            int c = (int)(i % C);
            absda[c] += fabs(dak[i]);
            if (!fused) {
                bad += !feq(da[i], dak[i]);
                continue;
            }
            float m1 = (float)(s1f[c] / (double)rows), m2 = (float)(s2f[c] / (double)rows);
            float t1 = dz[i] - m1, kf = scale[c] * invstd[c]; /* the same floats on both sides */
            double xh = (float)((a[i] - mean[c]) * invstd[c]);
            double t = (double)t1 - xh * m2; /* exact: xh m2 is exact in double */
            double tol = (1 + 4 * U) * (fabs(kf) * U * (fabs(xh * m2) + 2 * fabs(t)) +
                                        2 * U * fabs(dak[i])) + 0x1p-149;
            errsum[c] += tol;
            bad += !(fabs((double)da[i] - dak[i]) <= tol);
        }
        if (bad) fprintf(stderr, "bn bwd %ldx%d: %ld outside\n", rows, C, bad);
        CHECK_EQ_INT(bad, 0);
        long bad_dsum = 0;
        for (long t = 0; t < nblk * C; t++) {
            long j = order[t] / C;
            int c = (int)(order[t] % C);
            gm_bn_partial_at(dak, rows, C, R, j, c, &p1[j * C + c], NULL);
        }
        for (int c = 0; c < C; c++) {
            double S;
            gm_bn_sum_partials_at(p1, NULL, nblk, C, c, &S, NULL);
            bad_dsum += !(fabs(S - dsum[c]) <= (31 * U + d) * absda[c] + errsum[c] + 1e-300);
        }
        CHECK_EQ_INT(bad_dsum, 0);
        free(a), free(dh), free(dz), free(dzk), free(da), free(dak), free(mean), free(invstd);
        free(scale), free(s1f), free(s2f), free(sums_sw), free(sums_bn), free(dsum), free(p1);
        free(p2), free(order), free(errsum), free(absda);
    }
}

/* ---- Adam: bitwise (adam_update calls gm_adam_step with the same
 * corrections; adam.c contracts nothing) ---- */
static void test_adam(void) {
    enum { N = 200003 };
    static const int64_t counts[] = {1, 2, 10, 1000, 100000};
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, lr = 1e-3f;
    float *p = falloc(N), *g = falloc(N), *mu = falloc(N), *nu = falloc(N);
    float *pk = falloc(N), *muk = falloc(N), *nuk = falloc(N);
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        for (long i = 0; i < N; i++) {
            p[i] = pk[i] = (float)rng_normal(&rng);
            g[i] = (float)(rng_normal(&rng) * (i % 7 == 0 ? 1e-4 : 1.0));
            mu[i] = muk[i] = (float)(rng_normal(&rng) * 0.1);
            nu[i] = nuk[i] = (float)(fabs(rng_normal(&rng)) * 0.01);
        }
        adam_update(p, g, mu, nu, N, lr, b1, b2, eps, counts[ci]);
        float c1 = gm_adam_corr(b1, counts[ci]), c2 = gm_adam_corr(b2, counts[ci]);
        for (long i = 0; i < N; i++) gm_adam_at(pk, g, muk, nuk, i, lr, b1, b2, eps, c1, c2);
        CHECK_EQ_INT(neq_floats(p, pk, N) + neq_floats(mu, muk, N) + neq_floats(nu, nuk, N), 0);
    }
    free(p), free(g), free(mu), free(nu), free(pk), free(muk), free(nuk);
}

/* ---- the triplet loss: bitwise (the same double dots of exact products
 * in the same order, the same float gradient updates, the terms added in
 * triplet order, hinge then penalty, as loss_triplet) ---- */
static void test_triplet_loss(void) {
    const int D = shape.out, B = 384, denom = 2 * B;
    const float reg = 0.2f;
    long n = (long)B * D;
    float *s = falloc(n), *p = falloc(n), *ng = falloc(n);
    float *ds = falloc(n), *dp = falloc(n), *dn = falloc(n);
    float *dsk = falloc(n), *dpk = falloc(n), *dnk = falloc(n);
    double *terms = malloc(2 * (size_t)B * sizeof *terms);
    /* rows of norm ~0.6 .. 1.4 (both sides of the penalty's kink), s
     * near 1.2 p in a third of the triplets (s.p - s.n > 1 in most: the
     * hinge 0) and near n in the others (the hinge on) */
    for (int b = 0; b < B; b++) {
        float *rows[3] = {s + (long)b * D, p + (long)b * D, ng + (long)b * D};
        for (int e = 0; e < 3; e++) {
            double nrm = 0;
            for (int i = 0; i < D; i++) {
                rows[e][i] = (float)rng_normal(&rng);
                nrm += (double)rows[e][i] * rows[e][i];
            }
            double want = 0.6 + 0.8 * rng_double(&rng);
            for (int i = 0; i < D; i++) rows[e][i] = (float)(rows[e][i] * want / sqrt(nrm));
        }
        float *near = b % 3 == 0 ? rows[1] : rows[2];
        for (int i = 0; i < D; i++) rows[0][i] = 0.2f * rows[0][i] + (b % 3 == 0 ? 1.2f : 0.7f) * near[i];
    }
    double loss = loss_triplet(s, p, ng, B, D, reg, denom, ds, dp, dn);
    int hinge_on = 0, pen_on = 0;
    for (int b = 0; b < B; b++) {
        gm_triplet_at(s, p, ng, D, reg, denom, b, dsk, dpk, dnk, &terms[2 * b]);
        hinge_on += terms[2 * b] > 0;
        pen_on += terms[2 * b + 1] > 0;
    }
    double lk = gm_triplet_loss(terms, B, reg, denom);
    CHECK(memcmp(&loss, &lk, sizeof loss) == 0);
    /* each triplet's terms alone (a one-triplet batch, reg and denom 1;
     * the terms do not depend on reg): the sum above can absorb a last-bit
     * change in one term, this cannot where the hinge is 0 (the loss is
     * then the penalty itself) */
    long bad_terms = 0;
    for (int b = 0; b < B; b++) {
        double l1 = loss_triplet(s + (long)b * D, p + (long)b * D, ng + (long)b * D, 1, D, 1.0f, 1,
                                 NULL, NULL, NULL);
        double k1 = gm_triplet_loss(&terms[2 * b], 1, 1.0f, 1);
        bad_terms += memcmp(&l1, &k1, sizeof l1) != 0;
    }
    CHECK_EQ_INT(bad_terms, 0);
    CHECK_EQ_INT(neq_floats(ds, dsk, n) + neq_floats(dp, dpk, n) + neq_floats(dn, dnk, n), 0);
    /* both branches of the hinge and of the penalty were taken */
    CHECK(hinge_on > B / 2 && hinge_on < B - B / 6);
    CHECK(pen_on > 0 && pen_on < B);
    /* forward only (NULL rows): the same loss */
    for (int b = 0; b < B; b++) gm_triplet_at(s, p, ng, D, reg, denom, b, NULL, NULL, NULL, &terms[2 * b]);
    double lf = gm_triplet_loss(terms, B, reg, denom);
    CHECK(memcmp(&loss, &lf, sizeof loss) == 0);
    free(s), free(p), free(ng), free(ds), free(dp), free(dn), free(dsk), free(dpk), free(dnk);
    free(terms);
}

/* ---- block 0's convolution of the uint8 images ----
 * Against conv_im2col_pixels + linear_forward (the CPU's block 0). Both sum
 * the same K = 9 cin products of the same normalised values (pixel_normalize;
 * a padded tap is a 0 product on the CPU and skipped here) in float, in
 * different orders (the GEMM blocks and may use FMA), so each is within
 * about K u sum|terms| of the exact sum (first-order bound of recursive
 * summation, a product's rounding included): the check allows 2 K u
 * sum|terms| + 1e-30, as test_gpu_layout. A wrong tap, a wrong padding
 * side or a wrong normalisation moves whole terms and fails it. The im2col
 * rows summed in the body's order must give the body's bits. */
static void test_conv0_pixels(void) {
    int cases[][5] = {{2, shape.blk[0].h, shape.blk[0].w, shape.blk[0].cin, shape.blk[0].f},
                      {2, 7, 5, 3, 4}, {1, 1, 1, 3, 16}, {2, 63, 10, 3, 8}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int B = cases[t][0], H = cases[t][1], W = cases[t][2], cin = cases[t][3], cout = cases[t][4];
        conv_geom g;
        conv_geom_init(&g, H, W, cin, 3, 2);
        long rows = (long)B * g.ho * g.wo, nx = (long)B * H * W * cin, kn = 9L * cin * cout;
        uint8_t *x = malloc((size_t)nx);
        float *w = falloc(kn), *col = falloc(rows * g.kdim), *y = falloc(rows * cout),
              *yk = falloc(rows * cout);
        for (long i = 0; i < nx; i++) x[i] = (uint8_t)rng_uniform(&rng, 256);
        fill_normal(w, kn, 0.3);
        conv_im2col_pixels(&g, x, 0, rows, col);
        linear_forward(col, rows, g.kdim, cout, w, NULL, y);
        long bad = 0, bad_bits = 0;
        for (long i = 0; i < rows * cout; i++) {
            yk[i] = gm_conv0_pixels_at(x, H, W, cin, w, cout, i);
            long r = i / cout;
            int co = (int)(i % cout);
            double ab = 0;
            float acc = 0.0f;
            for (int k = 0; k < g.kdim; k++) {
                float t = col[r * g.kdim + k] * w[(long)k * cout + co];
                ab += fabs((double)t);
                acc += t;
            }
            if (!(fabs((double)y[i] - yk[i]) <= 2.0 * g.kdim * U * ab + 1e-30)) bad++;
            /* and bitwise, against the im2col row summed in the body's
             * order (kh, kw, cin, im2col's own), padded taps included:
             * im2col's padding is 0.0f, whose products add nothing (a sum
             * from +0 is never -0), so the normalisation, the padding and
             * the taps the body reads are checked to the bit */
            bad_bits += !feq(acc, yk[i]);
        }
        if (bad || bad_bits)
            fprintf(stderr, "conv0 %dx%dx%dx%d -> %d: %ld outside, %ld not bitwise\n", B, H, W,
                    cin, cout, bad, bad_bits);
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(bad_bits, 0);
        free(x), free(w), free(col), free(y), free(yk);
    }
}

int main(void) {
    rng_seed(&rng, 31);
    model_shape();
    RUN(test_kernel_variant);
    RUN(test_pool_avg);
    RUN(test_pool_avg_bn_add);
    RUN(test_pool_mean);
    RUN(test_elementwise);
    RUN(test_bn_stats);
    RUN(test_bn_backward);
    RUN(test_adam);
    RUN(test_triplet_loss);
    RUN(test_conv0_pixels);
    return check_summary();
}

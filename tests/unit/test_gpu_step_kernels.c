/* test_gpu_step_kernels.c — the per-thread bodies of the GPU step's glue
 * (model/gpu_step_kernels.h) on the host, against the CPU path: each launch
 * is simulated by calling the body for every index (the partial grids also
 * with their cells in a scrambled order, which must not change a bit), on
 * random data in the model's shapes at S = 64 with a batch of 2
 * (param_table_init + tower_shape_init: block 0's 3 -> 16 channels, the
 * blocks' 16..128 channels) and odd ones (row counts that are not a
 * multiple of the block size R, a one-pixel image, C = 300).
 *
 * Bitwise, in every kernel variant (tests/run.sh runs this once per
 * STL_ISA variant; the CPU functions compared against here compute the
 * same expressions, no a * b + c the variants could contract):
 * - gm_bn_running_at vs gm_bn_fold_mean + bn_running_update (tower_cpu.c's
 *   training forward), gm_bn_eval_at vs gm_bn_unfold_mean + bn_invstd (its
 *   inference forward);
 * - gm_bn_sums_float_at + gm_bn_stats_float_at vs tower_cpu.c's
 *   reduce_sums with a collective (double totals -> float buffer ->
 *   all-reduce of floats -> double -> bn_stats), with one rank and with two
 *   (the float buffers added, as the all-reduce does), from the same
 *   partial grid;
 * - gm_bn_bwd_sums_at and the column sums (gm_colsum_partial_at then
 *   gm_colsum_add_at) vs plain double sums of the same values in block
 *   order; block 0's weight-gradient partials vs the same double sums over
 *   the im2col matrix (conv_im2col_pixels: the taps, the padding and the
 *   normalisation to the bit);
 * - the bias broadcast followed by sgemm with beta 1 vs linear_forward, and
 *   the vector product vs tower_cpu.c's per-channel invstd * scale;
 * - the gather of a batch from kept images vs memcpy of the named images.
 *
 * Within an error budget written beside the check: the column sums vs
 * linear_backward_params' db (a float sum), block 0's weight gradient vs
 * conv_im2col_pixels + linear_backward_params (an sgemm over the rows).
 * The repacks of gpu_layout.h have their own test (test_gpu_layout).
 * u = 2^-24, half an ulp of float.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/isa.h"
#include "base/rng.h"
#include "check.h"
#include "check_isa.h"
#include "model/batchnorm.h"
#include "model/conv.h"
#include "model/gpu_step_kernels.h"
#include "model/linear.h"
#include "model/model.h"
#include "model/params.h"
#include "model/tower.h"

#define U (1.0 / 16777216.0) /* 2^-24 */
#define UD (1.0 / 9007199254740992.0) /* 2^-53 */

static rng_state rng;

static int feq(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
static long neq_floats(const float *a, const float *b, long n) {
    long bad = 0;
    for (long i = 0; i < n; i++) bad += !feq(a[i], b[i]);
    return bad;
}
static void *xalloc(long n, size_t elem) {
    void *p = calloc((size_t)(n > 0 ? n : 1), elem);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}
static float *falloc(long n) { return xalloc(n, sizeof(float)); }
static double *dalloc(long n) { return xalloc(n, sizeof(double)); }
static void fill_normal(float *x, long n, double scale) {
    for (long i = 0; i < n; i++) x[i] = (float)(rng_normal(&rng) * scale);
}
/* A permutation of 0..n-1. */
static long *scrambled(long n) {
    long *o = xalloc(n, sizeof *o);
    for (long t = 0; t < n; t++) o[t] = t;
    rng_shuffle(&rng, o, (size_t)n, sizeof *o);
    return o;
}

/* The model at S = 64. */
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

/* The per-channel cases: each block's rows (a batch of 2) and channels,
 * then an odd one (rows prime, C > 256 is past MODEL_MAX_CHANNELS, so 251). */
enum { N_CASES = MODEL_N_BLOCKS + 1 };
static void channel_case(int k, long *rows, int *C) {
    *rows = k < MODEL_N_BLOCKS ? 2 * shape.blk[k].px_out : 1009;
    *C = k < MODEL_N_BLOCKS ? shape.blk[k].f : 251;
}

/* a (rows, C): per-channel offsets and spreads. */
static void fill_activations(float *a, long rows, int C) {
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < C; c++)
            a[r * C + c] = (float)((c % 7) - 3 + rng_normal(&rng) * (0.2 + c % 3));
}

/* ---- BatchNorm's running averages and inference statistics: bitwise ---- */
static void test_bn_running_eval(void) {
    CHECK(have_shape);
    int seen16 = 0, seen128 = 0;
    for (int k = 0; k < N_CASES; k++) {
        long rows;
        int C;
        channel_case(k, &rows, &C);
        seen16 |= C == 16, seen128 |= C == 128;
        float *mean = falloc(C), *var = falloc(C), *bias = falloc(C), *mb = falloc(C);
        float *rm = falloc(C), *rv = falloc(C), *rmk = falloc(C), *rvk = falloc(C);
        float *em = falloc(C), *ev = falloc(C), *ei = falloc(C);
        float *emk = falloc(C), *evk = falloc(C), *eik = falloc(C);
        for (int c = 0; c < C; c++) {
            mean[c] = (float)rng_normal(&rng);
            var[c] = c % 11 == 0 ? 0.0f : (float)(rng_double(&rng) * 4); /* a clamped 0 too */
            bias[c] = (float)(0.1 * rng_normal(&rng));
            rm[c] = rmk[c] = (float)rng_normal(&rng);
            rv[c] = rvk[c] = (float)(rng_double(&rng) * 2);
        }
        /* training: tower_cpu_forward's fold, then the update */
        for (int c = 0; c < C; c++) mb[c] = gm_bn_fold_mean(mean[c], bias[c]);
        bn_running_update(rm, rv, mb, var, C, MODEL_BN_MOMENTUM);
        for (int c = 0; c < C; c++) gm_bn_running_at(mean, var, bias, MODEL_BN_MOMENTUM, c, rmk, rvk);
        CHECK_EQ_INT(neq_floats(rm, rmk, C) + neq_floats(rv, rvk, C), 0);
        /* inference from the updated averages: the unfold, var as is, bn_invstd */
        for (int c = 0; c < C; c++) em[c] = gm_bn_unfold_mean(rm[c], bias[c]);
        memcpy(ev, rv, sizeof(float) * (size_t)C);
        bn_invstd(ev, C, MODEL_BN_EPS, ei);
        for (int c = 0; c < C; c++) gm_bn_eval_at(rm, rv, bias, MODEL_BN_EPS, c, emk, evk, eik);
        CHECK_EQ_INT(neq_floats(em, emk, C) + neq_floats(ev, evk, C) + neq_floats(ei, eik, C), 0);
        free(mean), free(var), free(bias), free(mb), free(rm), free(rv), free(rmk), free(rvk);
        free(em), free(ev), free(ei), free(emk), free(evk), free(eik);
    }
    CHECK(seen16 && seen128); /* the model's channel range ran */
}

/* ---- the forward sums through a float all-reduce: bitwise ----
 * Each rank has its own rows, its partial grid (gm_bn_partial_at, checked
 * in test_gpu_kernels) and its double totals of it. The CPU path is
 * tower_cpu.c's reduce_sums with a collective: out (doubles) -> buf[i] =
 * (float)out[i], buf[2C] = (float)count -> the all-reduce adds the ranks'
 * buffers in float -> out[i] = buf[i], count = buf[2C] -> bn_stats. The
 * GPU path: gm_bn_sums_float_at per channel -> the same all-reduce ->
 * gm_bn_stats_float_at with the all-reduced count. The doubles fed to the
 * CPU path are plain block-order totals of the grid, computed here, so the
 * body's summation order is checked too. */
static void test_bn_sums_float_stats(void) {
    const long Rs[] = {37, 256};
    for (int k = 0; k < N_CASES; k++) {
        long rows;
        int C;
        channel_case(k, &rows, &C);
        for (int ranks = 1; ranks <= 2; ranks++)
            for (size_t ri = 0; ri < sizeof Rs / sizeof Rs[0]; ri++) {
                long R = Rs[ri], rrows = rows / ranks; /* the rows of each rank */
                long nblk = gm_bn_blocks(rrows, R);
                float *a = falloc(rrows * C);
                double *ps = dalloc(nblk * C), *pq = dalloc(nblk * C), *out = dalloc(2 * C);
                float *buf = falloc(2 * C + 1), *bufk = falloc(2 * C), *tot = falloc(2 * C + 1),
                      *totk = falloc(2 * C);
                float *m = falloc(C), *v = falloc(C), *is = falloc(C);
                float *mk = falloc(C), *vk = falloc(C), *ik = falloc(C);
                long bad_buf = 0;
                for (int r = 0; r < ranks; r++) {
                    fill_activations(a, rrows, C);
                    for (long j = 0; j < nblk; j++)
                        for (int c = 0; c < C; c++)
                            gm_bn_partial_at(a, rrows, C, R, j, c, &ps[j * C + c], &pq[j * C + c]);
                    /* the CPU side: doubles, block order, then the float buffer */
                    memset(out, 0, sizeof(double) * 2 * (size_t)C);
                    for (long j = 0; j < nblk; j++)
                        for (int c = 0; c < C; c++) out[c] += ps[j * C + c], out[C + c] += pq[j * C + c];
                    for (int i = 0; i < 2 * C; i++) buf[i] = (float)out[i];
                    buf[2 * C] = (float)(double)rrows;
                    /* the body's buffer */
                    for (int c = 0; c < C; c++) gm_bn_sums_float_at(ps, pq, nblk, C, c, bufk);
                    bad_buf += neq_floats(buf, bufk, 2 * C);
                    /* the all-reduce: float sums in rank order */
                    for (int i = 0; i <= 2 * C; i++) tot[i] = r ? tot[i] + buf[i] : buf[i];
                    for (int i = 0; i < 2 * C; i++) totk[i] = r ? totk[i] + bufk[i] : bufk[i];
                }
                CHECK_EQ_INT(bad_buf, 0);
                double count = tot[2 * C];
                CHECK(count == (double)(rrows * ranks)); /* exact in float */
                for (int i = 0; i < 2 * C; i++) out[i] = tot[i];
                bn_stats(out, count, C, MODEL_BN_EPS, m, v, is);
                for (int c = 0; c < C; c++)
                    gm_bn_stats_float_at(totk, C, count, MODEL_BN_EPS, c, mk, vk, ik);
                long bad = neq_floats(m, mk, C) + neq_floats(v, vk, C) + neq_floats(is, ik, C);
                if (bad || bad_buf)
                    fprintf(stderr, "bn sums float rows %ld C %d R %ld ranks %d: %ld buffer, %ld stats differ\n",
                            rrows, C, R, ranks, bad_buf, bad);
                CHECK_EQ_INT(bad, 0);
                free(a), free(ps), free(pq), free(out), free(buf), free(bufk), free(tot), free(totk);
                free(m), free(v), free(is), free(mk), free(vk), free(ik);
            }
    }
}

/* ---- the backward pass's sums: bitwise vs double sums in block order ----
 * s1, s2 = the totals rounded to float; dscale += s2; dbias += s1 when
 * given, untouched (NULL) when not. */
static void test_bn_bwd_sums(void) {
    const long R = 100;
    for (int k = 0; k < N_CASES; k++) {
        long rows;
        int C;
        channel_case(k, &rows, &C);
        long nblk = gm_bn_blocks(rows, R);
        CHECK(rows % R != 0); /* a short last block */
        float *a = falloc(rows * C), *dz = falloc(rows * C);
        float *mean = falloc(C), *invstd = falloc(C);
        double *p1 = dalloc(nblk * C), *p2 = dalloc(nblk * C);
        float *s1 = falloc(C), *s2 = falloc(C), *ds = falloc(C), *db = falloc(C);
        float *s1k = falloc(C), *s2k = falloc(C), *dsk = falloc(C), *dbk = falloc(C);
        float *dsk2 = falloc(C), *s1k2 = falloc(C), *s2k2 = falloc(C);
        fill_activations(a, rows, C);
        fill_normal(dz, rows * C, 1.0);
        for (int c = 0; c < C; c++) {
            mean[c] = (float)((c % 7) - 3);
            invstd[c] = (float)(1.0 / (0.2 + c % 3));
            ds[c] = dsk[c] = dsk2[c] = (float)rng_normal(&rng); /* earlier gradient */
            db[c] = dbk[c] = (float)rng_normal(&rng);
        }
        long *order = scrambled(nblk * C);
        for (long t = 0; t < nblk * C; t++) {
            long j = order[t] / C;
            int c = (int)(order[t] % C);
            gm_bn_bwd_partial_at(dz, a, rows, C, mean, invstd, R, j, c, &p1[j * C + c], &p2[j * C + c]);
        }
        for (int c = 0; c < C; c++) {
            double t1 = 0, t2 = 0;
            for (long j = 0; j < nblk; j++) t1 += p1[j * C + c], t2 += p2[j * C + c];
            s1[c] = (float)t1, s2[c] = (float)t2;
            ds[c] += (float)t2, db[c] += (float)t1;
        }
        for (int c = 0; c < C; c++) gm_bn_bwd_sums_at(p1, p2, nblk, C, c, s1k, s2k, dsk, dbk);
        CHECK_EQ_INT(neq_floats(s1, s1k, C) + neq_floats(s2, s2k, C), 0);
        CHECK_EQ_INT(neq_floats(ds, dsk, C) + neq_floats(db, dbk, C), 0);
        /* without a bias: the same sums and scale gradient */
        for (int c = 0; c < C; c++) gm_bn_bwd_sums_at(p1, p2, nblk, C, c, s1k2, s2k2, dsk2, NULL);
        CHECK_EQ_INT(neq_floats(s1, s1k2, C) + neq_floats(s2, s2k2, C) + neq_floats(ds, dsk2, C), 0);
        free(a), free(dz), free(mean), free(invstd), free(p1), free(p2), free(s1), free(s2);
        free(ds), free(db), free(s1k), free(s2k), free(dsk), free(dbk), free(dsk2), free(s1k2);
        free(s2k2), free(order);
    }
}

/* ---- column sums into a gradient ---- */

/* The partial grid of a (rows, C), its cells in `order` (NULL: cell order). */
static void colsum_grid(const float *a, long rows, int C, long R, const long *order, double *p) {
    long cells = gm_bn_blocks(rows, R) * C;
    for (long t = 0; t < cells; t++) {
        long cell = order ? order[t] : t;
        p[cell] = gm_colsum_partial_at(a, rows, C, R, cell / C, (int)(cell % C));
    }
}

/* Bitwise: partials in cell order and scrambled give the same grid and
 * totals; dst[c] + (float)(the double sum of column c, rows in order within
 * each block of R, the blocks' sums added in block order from 0).
 * Within a budget: linear_backward_params' db (accumulate 0) is the float
 * sum from 0 of the rows in order, within gamma(rows - 1, u) sum|a| of the
 * exact column sum S (recursive summation); the double total is within
 * gamma(rows, 2^-53) sum|a| of S (each partial a recursive sum, then the
 * partials: rows - 1 additions in all, bound by rows), and rounding it to
 * float adds u |T| <= (1 + 2u) u |result|. So
 *   |db - result| <= (gamma(rows, u) + gamma(rows, 2^-53)) sum|a| + (1 + 2u) u |result|,
 * gamma(n, e) = n e / (1 - n e). A column summed with the wrong stride or a
 * lost block moves whole terms and fails it. */
static void test_colsum(void) {
    long checked = 0;
    for (int k = 0; k <= N_CASES; k++) {
        long rows;
        int C;
        if (k < N_CASES) channel_case(k, &rows, &C);
        else rows = 2, C = shape.out; /* the Dense layer's bias over a batch of 2 */
        const long Rs[] = {1, 37, 256, rows, rows + 1000};
        float *a = falloc(rows * C), *x = falloc(rows), *dw = falloc(C), *db = falloc(C);
        float *dst0 = falloc(C), *want = falloc(C), *got = falloc(C), *got2 = falloc(C);
        fill_activations(a, rows, C);
        for (int c = 0; c < C; c++) dst0[c] = (float)rng_normal(&rng);
        linear_backward_params(x, a, rows, 1, C, dw, db, 0);
        for (size_t ri = 0; ri < sizeof Rs / sizeof Rs[0]; ri++) {
            long R = Rs[ri], nblk = gm_bn_blocks(rows, R);
            double *p = dalloc(nblk * C), *p2 = dalloc(nblk * C);
            long *order = scrambled(nblk * C);
            colsum_grid(a, rows, C, R, NULL, p);
            colsum_grid(a, rows, C, R, order, p2);
            CHECK(memcmp(p, p2, sizeof(double) * (size_t)(nblk * C)) == 0);
            memcpy(got, dst0, sizeof(float) * (size_t)C);
            memcpy(got2, dst0, sizeof(float) * (size_t)C);
            for (int c = 0; c < C; c++) gm_colsum_add_at(p, nblk, C, c, got);
            for (int c = C - 1; c >= 0; c--) gm_colsum_add_at(p2, nblk, C, c, got2);
            CHECK_EQ_INT(neq_floats(got, got2, C), 0);
            /* the plain sum */
            for (int c = 0; c < C; c++) {
                double t = 0;
                for (long j = 0; j < nblk; j++) {
                    double s = 0;
                    for (long r = j * R; r < rows && r < (j + 1) * R; r++) s += a[r * C + c];
                    t += s;
                }
                want[c] = dst0[c] + (float)t;
            }
            CHECK_EQ_INT(neq_floats(want, got, C), 0);
            /* vs db: the sum alone, from a zero gradient */
            memset(got, 0, sizeof(float) * (size_t)C);
            for (int c = 0; c < C; c++) gm_colsum_add_at(p, nblk, C, c, got);
            long bad = 0;
            double gu = rows * U / (1 - rows * U), gd = rows * UD / (1 - rows * UD);
            for (int c = 0; c < C; c++) {
                double sa = 0;
                for (long r = 0; r < rows; r++) sa += fabs(a[r * C + c]);
                /* db's float sum, the double sums, the rounding (see above) */
                double tol = (gu + gd) * sa + (1 + 2 * U) * U * fabs(got[c]);
                bad += !(fabs((double)db[c] - got[c]) <= tol);
                checked++;
            }
            if (bad) fprintf(stderr, "colsum rows %ld C %d R %ld: %ld outside\n", rows, C, R, bad);
            CHECK_EQ_INT(bad, 0);
            free(p), free(p2), free(order);
        }
        free(a), free(x), free(dw), free(db), free(dst0), free(want), free(got), free(got2);
    }
    CHECK(checked > 1000);
}

/* ---- the bias broadcast and the vector product: bitwise ----
 * y = bias in every row, then sgemm with beta 1, is linear_forward (which
 * does just that on the CPU); mul = invstd * scale is the per-channel
 * factor tower_cpu.c gives the fused pool. */
static void test_bias_rows_vec_mul(void) {
    const tower_block *last = &shape.blk[MODEL_N_BLOCKS - 1];
    /* the Dense layer over a batch of 2, a 1x1 convolution of block 1 */
    int cases[][3] = {{2, shape.feat_dim, shape.out},
                      {(int)(2 * shape.blk[1].px_out), shape.blk[1].f, shape.blk[1].f},
                      {7, 5, 3}};
    CHECK(last->f == shape.feat_dim);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        long rows = cases[t][0];
        int K = cases[t][1], N = cases[t][2];
        float *x = falloc(rows * K), *w = falloc((long)K * N), *b = falloc(N);
        float *y = falloc(rows * N), *yk = falloc(rows * N);
        fill_normal(x, rows * K, 1.0);
        fill_normal(w, (long)K * N, 0.2);
        fill_normal(b, N, 0.5);
        linear_forward(x, rows, K, N, w, b, y);
        for (long i = 0; i < rows * N; i++) yk[i] = gm_bias_row_at(b, N, i);
        long bad_rows = 0;
        for (long i = 0; i < rows * N; i++) bad_rows += !feq(yk[i], b[i % N]);
        CHECK_EQ_INT(bad_rows, 0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, N, K, 1.0f, x, K, w, N,
                    1.0f, yk, N);
        CHECK_EQ_INT(neq_floats(y, yk, rows * N), 0);
        free(x), free(w), free(b), free(y), free(yk);
    }
    for (int k = 0; k < N_CASES; k++) {
        long rows;
        int C;
        channel_case(k, &rows, &C);
        float *is = falloc(C), *sc = falloc(C), *mul = falloc(C), *mulk = falloc(C);
        for (int c = 0; c < C; c++) {
            is[c] = (float)(0.5 + 3 * rng_double(&rng));
            sc[c] = (float)(1 + 0.3 * rng_normal(&rng));
            mul[c] = is[c] * sc[c]; /* tower_cpu.c's fwd_pool */
        }
        for (int c = 0; c < C; c++) mulk[c] = gm_vec_mul_at(is, sc, c);
        CHECK_EQ_INT(neq_floats(mul, mulk, C), 0);
        free(is), free(sc), free(mul), free(mulk);
    }
}

/* ---- block 0's weight gradient ---- */

/* The partial grid (nblk, kn) in cell order or `order`. */
static void wgrad_grid(const uint8_t *x, int H, int W, int cin, const float *dy, int cout,
                       long rows, long R, const long *order, double *p) {
    long kn = 9L * cin * cout, cells = gm_bn_blocks(rows, R) * kn;
    for (long t = 0; t < cells; t++) {
        long cell = order ? order[t] : t;
        p[cell] = gm_conv0_wgrad_partial_at(x, H, W, cin, dy, cout, rows, R, cell / kn, cell % kn);
    }
}

/* For block 0 of the model (2 images of 64 x 64 x 3, 16 filters) and odd
 * shapes, with R not dividing the rows:
 * - the grid is the same whatever order its cells run in, and so are its
 *   totals (gm_colsum_add_at with C = 9 cin cout);
 * - bitwise, each cell equals the double sum over its rows, in order, of
 *   col[r, t] * dy[r, co] with col the im2col matrix of conv_im2col_pixels
 *   (its padding is 0.0f, whose products add a signed zero to a sum that
 *   is never -0: the same bits as the body's skipped tap);
 * - within a budget, the gradient (the totals added to 0 in float) equals
 *   linear_backward_params' dw = col^T dy, an sgemm over the rows: any
 *   order of summing n = rows products (an FMA or not) is within
 *   gamma(rows, u) sum_r |col[r, t] dy[r, co]| of the exact sum; the double
 *   grid and totals (products exact in double) within gamma(rows, 2^-53)
 *   of it; the rounding to float adds (1 + 2u) u |result|. The bound is
 *   computed per element from the data; a wrong tap, a padded tap read, a
 *   wrong normalisation or a lost block moves whole terms and fails it. */
/* The gather of a batch from kept images: byte for byte the images named
 * (repeats included), every byte of the batch written. */
static void test_gather(void) {
    enum { P = 5, N = 4, IMGB = 2 * 3 * 3 };
    uint8_t pool[P * IMGB], got[N * IMGB], want[N * IMGB];
    for (int i = 0; i < P * IMGB; i++) pool[i] = (uint8_t)(i * 7 + 3);
    const uint32_t idx[N] = {4, 0, 4, 2};
    for (int j = 0; j < N; j++) memcpy(want + j * IMGB, pool + idx[j] * IMGB, IMGB);
    memset(got, 0xEE, sizeof got);
    for (long e = 0; e < N * IMGB; e++) got[e] = gm_gather_byte_at(pool, idx, IMGB, e);
    CHECK(memcmp(got, want, sizeof got) == 0);
}

static void test_conv0_wgrad(void) {
    int cases[][6] = {/* B, H, W, cin, cout, R */
                      {2, shape.blk[0].h, shape.blk[0].w, shape.blk[0].cin, shape.blk[0].f, 300},
                      {2, shape.blk[0].h, shape.blk[0].w, shape.blk[0].cin, shape.blk[0].f, 1},
                      {2, 7, 5, 3, 4, 5},
                      {1, 1, 1, 3, 16, 2},
                      {2, 63, 10, 3, 8, 1000}};
    CHECK(shape.blk[0].h == 64 && shape.blk[0].cin == 3 && shape.blk[0].f == 16);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int B = cases[t][0], H = cases[t][1], W = cases[t][2], cin = cases[t][3], cout = cases[t][4];
        long R = cases[t][5];
        conv_geom g;
        conv_geom_init(&g, H, W, cin, 3, 2);
        long rows = (long)B * g.ho * g.wo, nx = (long)B * H * W * cin, kn = 9L * cin * cout;
        long nblk = gm_bn_blocks(rows, R), cells = nblk * kn;
        CHECK(g.kdim == 9 * cin);
        uint8_t *x = xalloc(nx, 1);
        float *col = falloc(rows * g.kdim), *dy = falloc(rows * cout), *dw = falloc(kn);
        float *gk = falloc(kn), *gk2 = falloc(kn);
        double *p = dalloc(cells), *p2 = dalloc(cells);
        for (long i = 0; i < nx; i++) x[i] = (uint8_t)rng_uniform(&rng, 256);
        fill_normal(dy, rows * cout, 0.1);
        conv_im2col_pixels(&g, x, 0, rows, col);
        linear_backward_params(col, dy, rows, g.kdim, cout, dw, NULL, 0);
        long *order = scrambled(cells);
        wgrad_grid(x, H, W, cin, dy, cout, rows, R, NULL, p);
        wgrad_grid(x, H, W, cin, dy, cout, rows, R, order, p2);
        CHECK(memcmp(p, p2, sizeof(double) * (size_t)cells) == 0);
        for (int e = 0; e < kn; e++) gk[e] = gk2[e] = 0.0f;
        for (long e = 0; e < kn; e++) gm_colsum_add_at(p, nblk, (int)kn, (int)e, gk);
        for (long e = kn - 1; e >= 0; e--) gm_colsum_add_at(p2, nblk, (int)kn, (int)e, gk2);
        CHECK_EQ_INT(neq_floats(gk, gk2, kn), 0);
        long bad_bits = 0, bad = 0;
        double gu = rows * U / (1 - rows * U), gd = rows * UD / (1 - rows * UD);
        for (long e = 0; e < kn; e++) {
            long tp = e / cout;
            int co = (int)(e % cout);
            double sa = 0;
            for (long j = 0; j < nblk; j++) {
                double s = 0;
                for (long r = j * R; r < rows && r < (j + 1) * R; r++) {
                    double v = (double)col[r * g.kdim + tp] * dy[r * cout + co];
                    s += v;
                    sa += fabs(v);
                }
                bad_bits += memcmp(&s, &p[j * kn + e], sizeof s) != 0;
            }
            /* the sgemm's gamma(rows, u) and the double sums' gamma(rows,
             * 2^-53) of sum|col dy|, then the rounding to float (see above) */
            double tol = (gu + gd) * sa + (1 + 2 * U) * U * fabs(gk[e]) + 1e-30;
            bad += !(fabs((double)dw[e] - gk[e]) <= tol);
        }
        if (bad || bad_bits)
            fprintf(stderr, "conv0 wgrad %dx%dx%dx%d -> %d R %ld: %ld outside, %ld cells not bitwise\n",
                    B, H, W, cin, cout, R, bad, bad_bits);
        CHECK_EQ_INT(bad_bits, 0);
        CHECK_EQ_INT(bad, 0);
        free(x), free(col), free(dy), free(dw), free(gk), free(gk2), free(p), free(p2), free(order);
    }
}

int main(void) {
    rng_seed(&rng, 47);
    model_shape();
    RUN(test_kernel_variant);
    RUN(test_bn_running_eval);
    RUN(test_bn_sums_float_stats);
    RUN(test_bn_bwd_sums);
    RUN(test_colsum);
    RUN(test_bias_rows_vec_mul);
    RUN(test_conv0_wgrad);
    RUN(test_gather);
    return check_summary();
}

/* test_gpu_step_ops_cuda.c — the GPU kernels of the step's glue
 * (model/gpu_step_ops.h) and of its end (model/gpu_update_ops.h) on a GPU,
 * each against the host simulation of its body (gpu_step_kernels.h,
 * gpu_layout.h and gpu_update_kernels.h, which test_gpu_step_kernels,
 * test_gpu_layout and test_gpu_update_kernels check against the CPU
 * path): the same inputs, every
 * output compared BIT FOR BIT. gpu_step_ops.cu and gpu_update_ops.cu are built with --fmad=false
 * and the bodies use only IEEE-rounded float and double operations (+ - *
 * / and sqrt, which nvcc rounds correctly by default), so a difference is a
 * bug in a kernel, a launch or the build flags, not rounding. The partial
 * grids are compared cell by cell, so a kernel that adds in another order
 * fails; the outputs the launchers update in place (running averages,
 * gradients) start from non-zero values.
 *
 * Without a usable GPU (every CI machine) only the launchers' argument
 * checks run, and the test says the device part is skipped; scripts/gpu-check
 * requires that it is not skipped there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "check.h"
#include "cuda_check.h"
#include "model/gpu_layout.h"
#include "model/gpu_step_kernels.h"
#include "model/gpu_step_ops.h"
#include "model/gpu_update_kernels.h"
#include "model/gpu_update_ops.h"

/* Shapes: odd sizes, so SAME pads both ways and R = 37 leaves a short
 * last block; C = 24 channels (one partial block of threads). */
enum { B = 3, H = 13, W = 10, C = 24, HO = (H + 1) / 2, WO = (W + 1) / 2 };
static const long ROWS = (long)B * H * W, R = 37;

static void test_arguments_refused(void) {
    /* negative counts, channel counts and kernel sizes below 1, R < 1, count <= 0 */
    CHECK_EQ_INT(gpu_bn_running(NULL, NULL, NULL, 0, 0.99f, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_eval(NULL, NULL, NULL, -1, 1e-5f, NULL, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_sums_float(NULL, NULL, -1, C, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_sums_float(NULL, NULL, 4, 0, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_stats_float(NULL, C, 0.0, 1e-5f, NULL, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_stats_float(NULL, -3, 10.0, 1e-5f, NULL, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_bwd_sums(NULL, NULL, -2, C, NULL, NULL, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_colsum_partials(NULL, -1, C, R, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_colsum_partials(NULL, ROWS, C, 0, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_colsum_partials(NULL, ROWS, 0, R, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_colsum_add(NULL, -1, C, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bias_rows(NULL, -5, C, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bias_rows(NULL, ROWS, 0, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_vec_mul(NULL, NULL, -1, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_conv0_wgrad_partials(NULL, -1, H, W, 3, NULL, 16, R, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_conv0_wgrad_partials(NULL, B, H, 0, 3, NULL, 16, R, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_conv0_wgrad_partials(NULL, B, H, W, 3, NULL, 16, 0, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_krsc_from_hwio(NULL, 0, 3, 16, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_hwio_from_krsc(NULL, 3, 3, -16, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_gather_images(NULL, NULL, -1, 12, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_gather_images(NULL, NULL, 3, 0, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_finite_partials(NULL, -1, 64, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_finite_partials(NULL, 100, 0, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_finite_flag(NULL, -1, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_adam_gated(NULL, NULL, NULL, NULL, -1, NULL, NULL, 0.9f, 0.999f, 1e-8f, NULL), -1);
    /* nothing to do: no launch, so no CUDA call and success without a GPU */
    CHECK_EQ_INT(gpu_colsum_partials(NULL, 0, C, R, NULL, NULL), 0);
    CHECK_EQ_INT(gpu_bias_rows(NULL, 0, C, NULL, NULL), 0);
    CHECK_EQ_INT(gpu_vec_mul(NULL, NULL, 0, NULL, NULL), 0);
    CHECK_EQ_INT(gpu_conv0_wgrad_partials(NULL, 0, H, W, 3, NULL, 16, R, NULL, NULL), 0);
}

/* The per-channel BatchNorm kernels, in place where the step updates. */
static void test_bn_per_channel(void) {
    const long nblk = 7;
    float *mean = frand(C, -1, 1), *var = frand(C, 0, 3), *bias = frand(C, -0.3, 0.3),
          *rm = frand(C, -1, 1), *rv = frand(C, 0.1, 2), *ds = frand(C, -1, 1), *db = frand(C, -1, 1);
    double *p1 = drand(nblk * C, -50, 50), *p2 = drand(nblk * C, 0, 80);
    float wm[C], wv[C], wi[C], wbuf[2 * C], ws1[C], ws2[C], wds[C], wdb[C], wds2[C];
    float gm[C], gv[C], gi[C], gbuf[2 * C], gs1[C], gs2[C], gds[C], gdb[C];
    var[0] = 0.0f; /* a zero variance too */
    float *d_mean = up(mean, C * 4), *d_var = up(var, C * 4), *d_bias = up(bias, C * 4),
          *d_rm = up(rm, C * 4), *d_rv = up(rv, C * 4), *d_ds = up(ds, C * 4), *d_db = up(db, C * 4);
    float *d_m = up(NULL, C * 4), *d_v = up(NULL, C * 4), *d_i = up(NULL, C * 4),
          *d_buf = up(NULL, 2 * C * 4), *d_s1 = up(NULL, C * 4), *d_s2 = up(NULL, C * 4);
    double *d_p1 = up(p1, nblk * C * 8), *d_p2 = up(p2, nblk * C * 8);
    CHECK(mean && var && bias && rm && rv && ds && db && p1 && p2 && d_mean && d_var && d_bias &&
          d_rm && d_rv && d_ds && d_db && d_m && d_v && d_i && d_buf && d_s1 && d_s2 && d_p1 && d_p2);

    for (int c = 0; c < C; c++) gm_bn_running_at(mean, var, bias, 0.99f, c, rm, rv);
    CHECK_EQ_INT(gpu_bn_running(d_mean, d_var, d_bias, C, 0.99f, d_rm, d_rv, NULL), 0);
    CHECK(down(gm, d_rm, C * 4) && down(gv, d_rv, C * 4) && same("bn_running rmean", rm, gm, C, 4) &&
          same("bn_running rvar", rv, gv, C, 4));

    for (int c = 0; c < C; c++) gm_bn_eval_at(rm, rv, bias, 1e-5f, c, wm, wv, wi);
    CHECK_EQ_INT(gpu_bn_eval(d_rm, d_rv, d_bias, C, 1e-5f, d_m, d_v, d_i, NULL), 0);
    CHECK(down(gm, d_m, C * 4) && down(gv, d_v, C * 4) && down(gi, d_i, C * 4) &&
          same("bn_eval mean", wm, gm, C, 4) && same("bn_eval var", wv, gv, C, 4) &&
          same("bn_eval invstd", wi, gi, C, 4));

    for (int c = 0; c < C; c++) gm_bn_sums_float_at(p1, p2, nblk, C, c, wbuf);
    CHECK_EQ_INT(gpu_bn_sums_float(d_p1, d_p2, nblk, C, d_buf, NULL), 0);
    CHECK(down(gbuf, d_buf, sizeof gbuf) && same("bn_sums_float", wbuf, gbuf, 2 * C, 4));

    /* the statistics from that buffer, as if all-reduced over 7 * 37 rows */
    const double count = (double)nblk * R;
    for (int c = 0; c < C; c++) gm_bn_stats_float_at(wbuf, C, count, 1e-5f, c, wm, wv, wi);
    CHECK_EQ_INT(gpu_bn_stats_float(d_buf, C, count, 1e-5f, d_m, d_v, d_i, NULL), 0);
    CHECK(down(gm, d_m, C * 4) && down(gv, d_v, C * 4) && down(gi, d_i, C * 4) &&
          same("bn_stats_float mean", wm, gm, C, 4) && same("bn_stats_float var", wv, gv, C, 4) &&
          same("bn_stats_float invstd", wi, gi, C, 4));

    /* backward sums: with a bias gradient, then without (dscale twice) */
    memcpy(wds, ds, sizeof wds);
    memcpy(wdb, db, sizeof wdb);
    for (int c = 0; c < C; c++) gm_bn_bwd_sums_at(p1, p2, nblk, C, c, ws1, ws2, wds, wdb);
    memcpy(wds2, wds, sizeof wds2);
    for (int c = 0; c < C; c++) gm_bn_bwd_sums_at(p1, p2, nblk, C, c, ws1, ws2, wds2, NULL);
    CHECK_EQ_INT(gpu_bn_bwd_sums(d_p1, d_p2, nblk, C, d_s1, d_s2, d_ds, d_db, NULL), 0);
    CHECK(down(gs1, d_s1, C * 4) && down(gs2, d_s2, C * 4) && down(gds, d_ds, C * 4) &&
          down(gdb, d_db, C * 4) && same("bn_bwd_sums s1", ws1, gs1, C, 4) &&
          same("bn_bwd_sums s2", ws2, gs2, C, 4) && same("bn_bwd_sums dscale", wds, gds, C, 4) &&
          same("bn_bwd_sums dbias", wdb, gdb, C, 4));
    CHECK_EQ_INT(gpu_bn_bwd_sums(d_p1, d_p2, nblk, C, d_s1, d_s2, d_ds, NULL, NULL), 0);
    CHECK(down(gds, d_ds, C * 4) && down(gdb, d_db, C * 4) &&
          same("bn_bwd_sums dscale, no bias", wds2, gds, C, 4) &&
          same("bn_bwd_sums dbias untouched", wdb, gdb, C, 4));

    cudaFree(d_mean), cudaFree(d_var), cudaFree(d_bias), cudaFree(d_rm), cudaFree(d_rv);
    cudaFree(d_ds), cudaFree(d_db), cudaFree(d_m), cudaFree(d_v), cudaFree(d_i), cudaFree(d_buf);
    cudaFree(d_s1), cudaFree(d_s2), cudaFree(d_p1), cudaFree(d_p2);
    free(mean), free(var), free(bias), free(rm), free(rv), free(ds), free(db), free(p1), free(p2);
}

/* Column sums (partials, then added to a gradient), the bias broadcast and
 * the vector product. */
static void test_colsum_elementwise(void) {
    const long n = ROWS * C, nblk = gm_bn_blocks(ROWS, R);
    float *a = frand(n, -3, 3), *b = frand(n, -2, 2), *bias = frand(C, -1, 1), *dst = frand(C, -1, 1);
    double *p = malloc(nblk * C * sizeof *p), *gp = malloc(nblk * C * sizeof *gp);
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    float *d_a = up(a, n * 4), *d_b = up(b, n * 4), *d_bias = up(bias, C * 4),
          *d_dst = up(dst, C * 4), *d_out = up(NULL, n * 4);
    double *d_p = up(NULL, nblk * C * 8);
    CHECK(a && b && bias && dst && p && gp && want && got && d_a && d_b && d_bias && d_dst && d_out && d_p);

    for (long i = 0; i < nblk * C; i++) p[i] = gm_colsum_partial_at(a, ROWS, C, R, i / C, (int)(i % C));
    CHECK_EQ_INT(gpu_colsum_partials(d_a, ROWS, C, R, d_p, NULL), 0);
    CHECK(down(gp, d_p, nblk * C * 8) && same("colsum_partials", p, gp, nblk * C, 8));
    for (int c = 0; c < C; c++) gm_colsum_add_at(p, nblk, C, c, dst);
    CHECK_EQ_INT(gpu_colsum_add(d_p, nblk, C, d_dst, NULL), 0);
    CHECK(down(got, d_dst, C * 4) && same("colsum_add", dst, got, C, 4));

    for (long i = 0; i < n; i++) want[i] = gm_bias_row_at(bias, C, i);
    CHECK_EQ_INT(gpu_bias_rows(d_bias, ROWS, C, d_out, NULL), 0);
    CHECK(down(got, d_out, n * 4) && same("bias_rows", want, got, n, 4));

    for (long i = 0; i < n; i++) want[i] = gm_vec_mul_at(a, b, i);
    CHECK_EQ_INT(gpu_vec_mul(d_a, d_b, n, d_out, NULL), 0);
    CHECK(down(got, d_out, n * 4) && same("vec_mul", want, got, n, 4));

    /* a batch of 5 "images" of 4 C floats' bytes gathered from the first
     * 9, as bytes: indices repeat and run backwards */
    const uint32_t idx[5] = {8, 0, 3, 3, 7};
    const long imgb = 4L * C * 4;
    uint8_t *bw = (uint8_t *)want, *bg = (uint8_t *)got;
    uint32_t *d_idx = up(idx, sizeof idx);
    for (long e = 0; e < 5 * imgb; e++) bw[e] = gm_gather_byte_at((const uint8_t *)a, idx, imgb, e);
    CHECK(d_idx && gpu_gather_images((const uint8_t *)d_a, d_idx, 5, imgb, (uint8_t *)d_out, NULL) == 0);
    CHECK(down(bg, d_out, 5 * imgb) && same("gather_images", bw, bg, 5 * imgb, 1));
    cudaFree(d_idx);

    cudaFree(d_a), cudaFree(d_b), cudaFree(d_bias), cudaFree(d_dst), cudaFree(d_out), cudaFree(d_p);
    free(a), free(b), free(bias), free(dst), free(p), free(gp), free(want), free(got);
}

/* Block 0's weight-gradient partials and their sum into the gradient: the
 * odd shape and the model's (2 images of 64 x 64 x 3, 16 filters). */
static void test_conv0_wgrad(void) {
    int cases[][4] = {{B, H, W, 16}, {2, 64, 64, 16}}; /* B, H, W, cout; cin = 3 */
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int b = cases[t][0], h = cases[t][1], w = cases[t][2], ci = 3, co = cases[t][3];
        long rows = (long)b * gm_same_out(h, 2) * gm_same_out(w, 2), nx = (long)b * h * w * ci;
        long kn = 9L * ci * co, nblk = gm_bn_blocks(rows, R), cells = nblk * kn;
        uint8_t *x = malloc(nx);
        float *dy = frand(rows * co, -0.1, 0.1), *g = frand(kn, -1, 1), *got = malloc(kn * 4);
        double *p = malloc(cells * 8), *gp = malloc(cells * 8);
        for (long i = 0; x && i < nx; i++) x[i] = (uint8_t)(urand() * 256);
        uint8_t *d_x = up(x, nx);
        float *d_dy = up(dy, rows * co * 4), *d_g = up(g, kn * 4);
        double *d_p = up(NULL, cells * 8);
        CHECK(x && dy && g && got && p && gp && d_x && d_dy && d_g && d_p);
        for (long i = 0; i < cells; i++)
            p[i] = gm_conv0_wgrad_partial_at(x, h, w, ci, dy, co, rows, R, i / kn, i % kn);
        CHECK_EQ_INT(gpu_conv0_wgrad_partials(d_x, b, h, w, ci, d_dy, co, R, d_p, NULL), 0);
        CHECK(down(gp, d_p, cells * 8) && same("conv0_wgrad_partials", p, gp, cells, 8));
        for (long e = 0; e < kn; e++) gm_colsum_add_at(p, nblk, (int)kn, (int)e, g);
        CHECK_EQ_INT(gpu_colsum_add(d_p, nblk, (int)kn, d_g, NULL), 0);
        CHECK(down(got, d_g, kn * 4) && same("conv0 wgrad summed", g, got, kn, 4));
        cudaFree(d_x), cudaFree(d_dy), cudaFree(d_g), cudaFree(d_p);
        free(x), free(dy), free(g), free(got), free(p), free(gp);
    }
}

/* The repacks, both ways, on block 0's kernel and a 16 -> 32 one: the
 * host's permutation, and back to the original. */
static void test_repack(void) {
    int cases[][3] = {{3, 3, 16}, {3, 16, 32}, {1, 5, 7}}; /* k, cin, cout */
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int k = cases[t][0], ci = cases[t][1], co = cases[t][2];
        long n = (long)k * k * ci * co;
        float *hw = frand(n, -1, 1), *kr = malloc(n * 4), *got = malloc(n * 4);
        float *d_hw = up(hw, n * 4), *d_kr = up(NULL, n * 4), *d_back = up(NULL, n * 4);
        CHECK(hw && kr && got && d_hw && d_kr && d_back);
        gm_repack_hwio_to_krsc(hw, kr, k, ci, co);
        CHECK_EQ_INT(gpu_krsc_from_hwio(d_hw, k, ci, co, d_kr, NULL), 0);
        CHECK(down(got, d_kr, n * 4) && same("krsc_from_hwio", kr, got, n, 4));
        CHECK_EQ_INT(gpu_hwio_from_krsc(d_kr, k, ci, co, d_back, NULL), 0);
        CHECK(down(got, d_back, n * 4) && same("hwio_from_krsc", hw, got, n, 4));
        cudaFree(d_hw), cudaFree(d_kr), cudaFree(d_back);
        free(hw), free(kr), free(got);
    }
}

/* The end of a step: the loss slot, the finiteness partials and flag
 * (clear, then with an infinity in the last block), and the gated Adam
 * with the flag clear (moves, as the host body) and set (moves nothing). */
static void test_update(void) {
    const long n = 10000, RR = 4096, nblk = gm_finite_blocks(n, RR);
    float *g = frand(n, -1e-2, 1e-2), *p = frand(n, -1, 1), *mu = frand(n, -1e-3, 1e-3),
          *nu = frand(n, 0, 1e-4), *got = malloc(n * 4), part[8], gpart[8];
    double loss = 1.0 / 3.0;
    float hyper[GM_HYPER_N] = {3e-4f, gm_adam_corr(0.9f, 7), gm_adam_corr(0.999f, 7)};
    float *d_g = up(g, n * 4), *d_p = up(p, n * 4), *d_mu = up(mu, n * 4), *d_nu = up(nu, n * 4),
          *d_part = up(NULL, sizeof part), *d_slot = up(NULL, 4), *d_hyper = up(hyper, sizeof hyper);
    double *d_loss = up(&loss, sizeof loss);
    int *d_flag = up(NULL, sizeof(int)), flag = -1, zero = 0;
    CHECK(g && p && mu && nu && got && d_g && d_p && d_mu && d_nu && d_part && d_slot && d_hyper &&
          d_loss && d_flag && nblk <= 8);
    float slot = gm_loss_slot(&loss), gslot;
    CHECK_EQ_INT(gpu_loss_slot(d_loss, d_slot, NULL), 0);
    CHECK(down(&gslot, d_slot, 4) && same("loss_slot", &slot, &gslot, 1, 4));
    for (int bad = 0; bad < 2; bad++) {
        if (bad) {
            float inf = 1.0f / 0.0f;
            g[n - 1] = inf;
            CHECK(cudaMemcpy(d_g + n - 1, &inf, 4, cudaMemcpyHostToDevice) == cudaSuccess);
        }
        for (long j = 0; j < nblk; j++) part[j] = gm_finite_partial_at(g, n, RR, j);
        CHECK_EQ_INT(gpu_finite_partials(d_g, n, RR, d_part, NULL), 0);
        CHECK(down(gpart, d_part, nblk * 4) && same("finite_partials", part, gpart, nblk, 4));
        CHECK_EQ_INT(gpu_finite_flag(d_part, nblk, d_flag, NULL), 0);
        CHECK(down(&flag, d_flag, sizeof flag) && flag == gm_finite_flag(part, nblk) && flag == bad);
    }
    g[n - 1] = 0.0f; /* finite again, flag clear: Adam moves as the body does */
    CHECK(cudaMemcpy(d_g + n - 1, &g[n - 1], 4, cudaMemcpyHostToDevice) == cudaSuccess &&
          cudaMemcpy(d_flag, &zero, sizeof zero, cudaMemcpyHostToDevice) == cudaSuccess);
    for (long i = 0; i < n; i++) gm_adam_gated_at(p, g, mu, nu, i, hyper, &zero, 0.9f, 0.999f, 1e-8f);
    CHECK_EQ_INT(gpu_adam_gated(d_p, d_g, d_mu, d_nu, n, d_hyper, d_flag, 0.9f, 0.999f, 1e-8f, NULL), 0);
    CHECK(down(got, d_p, n * 4) && same("adam_gated p", p, got, n, 4));
    CHECK(down(got, d_nu, n * 4) && same("adam_gated nu", nu, got, n, 4));
    int one = 1; /* flag set: nothing moves */
    CHECK(cudaMemcpy(d_flag, &one, sizeof one, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK_EQ_INT(gpu_adam_gated(d_p, d_g, d_mu, d_nu, n, d_hyper, d_flag, 0.9f, 0.999f, 1e-8f, NULL), 0);
    CHECK(down(got, d_p, n * 4) && same("adam_gated skipped", p, got, n, 4));
    cudaFree(d_g), cudaFree(d_p), cudaFree(d_mu), cudaFree(d_nu), cudaFree(d_part), cudaFree(d_slot);
    cudaFree(d_hyper), cudaFree(d_loss), cudaFree(d_flag);
    free(g), free(p), free(mu), free(nu), free(got);
}

int main(void) {
    RUN(test_arguments_refused);
    if (!gpu_present("the kernels' device results not checked")) return check_summary();
    RUN(test_bn_per_channel);
    RUN(test_colsum_elementwise);
    RUN(test_conv0_wgrad);
    RUN(test_repack);
    RUN(test_update);
    return check_summary();
}

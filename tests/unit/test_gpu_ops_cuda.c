/* test_gpu_ops_cuda.c — the model's own GPU kernels (model/gpu_ops.h) on a
 * GPU, each against the host simulation of its body (gpu_kernels.h, which
 * test_gpu_kernels checks against the CPU ops): the same inputs, every
 * output compared BIT FOR BIT. gpu_ops.cu is built with --fmad=false and
 * the bodies use only IEEE-rounded float and double operations (+ - * /
 * and sqrt, which nvcc rounds correctly by default), so a difference is a
 * bug in a kernel, a launch or the build flags, not rounding. The partial
 * sums are checked too, so a kernel that adds in another order fails.
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
#include "model/gpu_kernels.h"
#include "model/gpu_ops.h"

/* Shapes: a block-like NHWC tensor with odd sizes, so SAME pads both ways. */
enum { B = 3, H = 13, W = 10, C = 24, HO = (H + 1) / 2, WO = (W + 1) / 2 };
static const long ROWS = (long)B * H * W, N_IN = (long)B * H * W * C, N_OUT = (long)B * HO * WO * C;

static void test_arguments_refused(void) {
    CHECK_EQ_INT(gpu_pool_avg_fwd(NULL, -1, H, W, C, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_pool_avg_bwd(NULL, B, 0, W, C, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_swish_fwd(NULL, -1, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_partials(NULL, ROWS, C, 0, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_bn_stats(NULL, NULL, 1, C, 0.0, 1e-5f, NULL, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_triplet(NULL, NULL, NULL, 4, 8, 0.2f, 0, NULL, NULL, NULL, NULL, NULL), -1);
    CHECK_EQ_INT(gpu_conv0_pixels(NULL, B, H, W, 0, NULL, 8, NULL, NULL), -1);
    /* nothing to do: no launch, so no CUDA call and success without a GPU */
    CHECK_EQ_INT(gpu_swish_fwd(NULL, 0, NULL, NULL), 0);
    CHECK_EQ_INT(gpu_adam(NULL, NULL, NULL, NULL, 0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.001f, NULL), 0);
}

static void test_pools(void) {
    float *x = frand(N_IN, -2, 2), *a = frand(N_IN, -2, 2), *mul = frand(C, 0.5, 2),
          *sub = frand(C, -1, 1), *add = frand(C, -1, 1), *dy = frand(N_OUT, -1, 1);
    float *want = malloc(N_IN * sizeof *want), *got = malloc(N_IN * sizeof *got);
    float *dx_ = up(x, N_IN * 4), *da_ = up(a, N_IN * 4), *dmul = up(mul, C * 4),
          *dsub = up(sub, C * 4), *dadd = up(add, C * 4), *ddy = up(dy, N_OUT * 4),
          *dout = up(NULL, N_IN * 4);
    CHECK(x && a && want && got && dx_ && da_ && dmul && dsub && dadd && ddy && dout);

    for (long i = 0; i < N_OUT; i++) want[i] = gm_pool_avg_fwd_at(x, H, W, C, i);
    CHECK_EQ_INT(gpu_pool_avg_fwd(dx_, B, H, W, C, dout, NULL), 0);
    CHECK(down(got, dout, N_OUT * 4) && same("pool_avg_fwd", want, got, N_OUT, 4));

    for (long i = 0; i < N_OUT; i++) want[i] = gm_pool_avg_bn_add_fwd_at(x, a, mul, sub, add, H, W, C, i);
    CHECK_EQ_INT(gpu_pool_avg_bn_add_fwd(dx_, da_, dmul, dsub, dadd, B, H, W, C, dout, NULL), 0);
    CHECK(down(got, dout, N_OUT * 4) && same("pool_avg_bn_add_fwd", want, got, N_OUT, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_pool_avg_bwd_at(dy, H, W, C, i);
    CHECK_EQ_INT(gpu_pool_avg_bwd(ddy, B, H, W, C, dout, NULL), 0);
    CHECK(down(got, dout, N_IN * 4) && same("pool_avg_bwd", want, got, N_IN, 4));

    const int hw = H * W;
    for (long i = 0; i < (long)B * C; i++) want[i] = gm_pool_mean_fwd_at(x, hw, C, i);
    CHECK_EQ_INT(gpu_pool_mean_fwd(dx_, B, hw, C, dout, NULL), 0);
    CHECK(down(got, dout, (size_t)B * C * 4) && same("pool_mean_fwd", want, got, (long)B * C, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_pool_mean_bwd_at(x, hw, C, i); /* x as dy (B, C) */
    CHECK_EQ_INT(gpu_pool_mean_bwd(dx_, B, hw, C, dout, NULL), 0);
    CHECK(down(got, dout, N_IN * 4) && same("pool_mean_bwd", want, got, N_IN, 4));

    cudaFree(dx_), cudaFree(da_), cudaFree(dmul), cudaFree(dsub), cudaFree(dadd), cudaFree(ddy);
    cudaFree(dout);
    free(x), free(a), free(mul), free(sub), free(add), free(dy), free(want), free(got);
}

static void test_elementwise_and_bn(void) {
    float *a = frand(N_IN, -3, 5), *dh = frand(N_IN, -1, 1), *mean = frand(C, -1, 1),
          *inv = frand(C, 0.3, 2), *scale = frand(C, 0.5, 1.5), *s1 = frand(C, -5, 5),
          *s2 = frand(C, -5, 5);
    float *want = malloc(N_IN * sizeof *want), *got = malloc(N_IN * sizeof *got);
    float *d_a = up(a, N_IN * 4), *d_dh = up(dh, N_IN * 4), *d_mean = up(mean, C * 4),
          *d_inv = up(inv, C * 4), *d_scale = up(scale, C * 4), *d_s1 = up(s1, C * 4),
          *d_s2 = up(s2, C * 4), *d_out = up(NULL, N_IN * 4);
    CHECK(a && want && got && d_a && d_dh && d_mean && d_inv && d_scale && d_s1 && d_s2 && d_out);

    for (long i = 0; i < N_IN; i++) want[i] = gm_swish_fwd_at(a, i);
    CHECK_EQ_INT(gpu_swish_fwd(d_a, N_IN, d_out, NULL), 0);
    CHECK(down(got, d_out, N_IN * 4) && same("swish_fwd", want, got, N_IN, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_swish_bwd_at(dh, a, i);
    CHECK_EQ_INT(gpu_swish_bwd(d_dh, d_a, N_IN, d_out, NULL), 0);
    CHECK(down(got, d_out, N_IN * 4) && same("swish_bwd", want, got, N_IN, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_bn_fwd_at(a, C, mean, inv, scale, i);
    CHECK_EQ_INT(gpu_bn_fwd(d_a, ROWS, C, d_mean, d_inv, d_scale, d_out, NULL), 0);
    CHECK(down(got, d_out, N_IN * 4) && same("bn_fwd", want, got, N_IN, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_bn_swish_fwd_at(a, C, mean, inv, scale, i);
    CHECK_EQ_INT(gpu_bn_swish_fwd(d_a, ROWS, C, d_mean, d_inv, d_scale, d_out, NULL), 0);
    CHECK(down(got, d_out, N_IN * 4) && same("bn_swish_fwd", want, got, N_IN, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_bn_swish_bwd_at(dh, a, C, mean, inv, scale, i);
    CHECK_EQ_INT(gpu_bn_swish_bwd(d_dh, d_a, ROWS, C, d_mean, d_inv, d_scale, d_out, NULL), 0);
    CHECK(down(got, d_out, N_IN * 4) && same("bn_swish_bwd", want, got, N_IN, 4));

    for (long i = 0; i < N_IN; i++) want[i] = gm_bn_bwd_at(dh, a, C, mean, inv, scale, s1, s2, (double)ROWS, i);
    CHECK_EQ_INT(gpu_bn_bwd(d_dh, d_a, ROWS, C, d_mean, d_inv, d_scale, d_s1, d_s2, (double)ROWS, d_out, NULL), 0);
    CHECK(down(got, d_out, N_IN * 4) && same("bn_bwd", want, got, N_IN, 4));

    /* Statistics: partials of R = 37 rows (the last block short), then the
     * per-channel finalisation, and the backward partials. */
    const long R = 37, nblk = gm_bn_blocks(ROWS, R);
    double *p1 = malloc(nblk * C * sizeof *p1), *p2 = malloc(nblk * C * sizeof *p2);
    double *g1 = malloc(nblk * C * sizeof *g1), *g2 = malloc(nblk * C * sizeof *g2);
    double *d_p1 = up(NULL, nblk * C * 8), *d_p2 = up(NULL, nblk * C * 8);
    float wm[C], wv[C], wi[C], gm[C], gv[C], gi[C];
    float *d_m = up(NULL, C * 4), *d_v = up(NULL, C * 4), *d_i = up(NULL, C * 4);
    CHECK(p1 && p2 && g1 && g2 && d_p1 && d_p2 && d_m && d_v && d_i);
    for (long j = 0; j < nblk; j++)
        for (int c = 0; c < C; c++) gm_bn_partial_at(a, ROWS, C, R, j, c, &p1[j * C + c], &p2[j * C + c]);
    CHECK_EQ_INT(gpu_bn_partials(d_a, ROWS, C, R, d_p1, d_p2, NULL), 0);
    CHECK(down(g1, d_p1, nblk * C * 8) && down(g2, d_p2, nblk * C * 8) &&
          same("bn_partials sum", p1, g1, nblk * C, 8) && same("bn_partials sumsq", p2, g2, nblk * C, 8));
    for (int c = 0; c < C; c++) gm_bn_stats_at(p1, p2, nblk, C, c, (double)ROWS, 1e-5f, &wm[c], &wv[c], &wi[c]);
    CHECK_EQ_INT(gpu_bn_stats(d_p1, d_p2, nblk, C, (double)ROWS, 1e-5f, d_m, d_v, d_i, NULL), 0);
    CHECK(down(gm, d_m, C * 4) && down(gv, d_v, C * 4) && down(gi, d_i, C * 4) &&
          same("bn_stats mean", wm, gm, C, 4) && same("bn_stats var", wv, gv, C, 4) &&
          same("bn_stats invstd", wi, gi, C, 4));
    for (long j = 0; j < nblk; j++)
        for (int c = 0; c < C; c++)
            gm_bn_bwd_partial_at(dh, a, ROWS, C, mean, inv, R, j, c, &p1[j * C + c], &p2[j * C + c]);
    CHECK_EQ_INT(gpu_bn_bwd_partials(d_dh, d_a, ROWS, C, d_mean, d_inv, R, d_p1, d_p2, NULL), 0);
    CHECK(down(g1, d_p1, nblk * C * 8) && down(g2, d_p2, nblk * C * 8) &&
          same("bn_bwd_partials s1", p1, g1, nblk * C, 8) && same("bn_bwd_partials s2", p2, g2, nblk * C, 8));

    cudaFree(d_a), cudaFree(d_dh), cudaFree(d_mean), cudaFree(d_inv), cudaFree(d_scale);
    cudaFree(d_s1), cudaFree(d_s2), cudaFree(d_out), cudaFree(d_p1), cudaFree(d_p2);
    cudaFree(d_m), cudaFree(d_v), cudaFree(d_i);
    free(a), free(dh), free(mean), free(inv), free(scale), free(s1), free(s2), free(want), free(got);
    free(p1), free(p2), free(g1), free(g2);
}

static void test_adam_loss_conv0(void) {
    /* Adam: two steps in place, so the moments carry over. */
    const long n = 100003;
    float *p = frand(n, -1, 1), *g = frand(n, -0.1, 0.1), *mu = frand(n, -0.01, 0.01),
          *nu = frand(n, 0, 1e-4), *got = malloc(n * sizeof *got);
    float *d_p = up(p, n * 4), *d_g = up(g, n * 4), *d_mu = up(mu, n * 4), *d_nu = up(nu, n * 4);
    CHECK(p && got && d_p && d_g && d_mu && d_nu);
    for (int step = 1; step <= 2; step++) {
        float c1 = gm_adam_corr(0.9f, step), c2 = gm_adam_corr(0.999f, step);
        for (long i = 0; i < n; i++) gm_adam_at(p, g, mu, nu, i, 1e-3f, 0.9f, 0.999f, 1e-8f, c1, c2);
        CHECK_EQ_INT(gpu_adam(d_p, d_g, d_mu, d_nu, n, 1e-3f, 0.9f, 0.999f, 1e-8f, c1, c2, NULL), 0);
    }
    CHECK(down(got, d_p, n * 4) && same("adam p", p, got, n, 4));
    CHECK(down(got, d_mu, n * 4) && same("adam mu", mu, got, n, 4));
    CHECK(down(got, d_nu, n * 4) && same("adam nu", nu, got, n, 4));
    cudaFree(d_p), cudaFree(d_g), cudaFree(d_mu), cudaFree(d_nu);
    free(p), free(g), free(mu), free(nu), free(got);

    /* The triplet loss: norms around 1 so some penalties are active. */
    enum { TB = 16, D = 64 };
    float *s = frand(TB * D, -0.2, 0.2), *pp = frand(TB * D, -0.2, 0.2), *nn = frand(TB * D, -0.2, 0.2);
    float ws[TB * D], wp[TB * D], wn[TB * D], gs[TB * D], gp[TB * D], gn[TB * D];
    double wt[2 * TB], gt[2 * TB], wl, gl = 0;
    float *d_s = up(s, sizeof ws), *d_pp = up(pp, sizeof ws), *d_nn = up(nn, sizeof ws);
    float *d_gs = up(NULL, sizeof ws), *d_gp = up(NULL, sizeof ws), *d_gn = up(NULL, sizeof ws);
    double *d_t = up(NULL, sizeof wt), *d_l = up(NULL, sizeof gl);
    CHECK(s && d_s && d_pp && d_nn && d_gs && d_gp && d_gn && d_t && d_l);
    for (int b = 0; b < TB; b++) gm_triplet_at(s, pp, nn, D, 0.2f, 32, b, ws, wp, wn, &wt[2 * b]);
    wl = gm_triplet_loss(wt, TB, 0.2f, 32);
    CHECK_EQ_INT(gpu_triplet(d_s, d_pp, d_nn, TB, D, 0.2f, 32, d_gs, d_gp, d_gn, d_t, NULL), 0);
    CHECK_EQ_INT(gpu_triplet_loss(d_t, TB, 0.2f, 32, d_l, NULL), 0);
    CHECK(down(gs, d_gs, sizeof gs) && down(gp, d_gp, sizeof gp) && down(gn, d_gn, sizeof gn) &&
          down(gt, d_t, sizeof gt) && down(&gl, d_l, sizeof gl));
    CHECK(same("triplet ds", ws, gs, TB * D, 4) && same("triplet dp", wp, gp, TB * D, 4) &&
          same("triplet dn", wn, gn, TB * D, 4) && same("triplet terms", wt, gt, 2 * TB, 8) &&
          same("triplet loss", &wl, &gl, 1, 8));
    cudaFree(d_s), cudaFree(d_pp), cudaFree(d_nn), cudaFree(d_gs), cudaFree(d_gp), cudaFree(d_gn);
    cudaFree(d_t), cudaFree(d_l);
    free(s), free(pp), free(nn);

    /* Block 0's convolution of uint8 pixels, 3 -> 16 channels. */
    enum { CI = 3, CO = 16 };
    long nx = (long)B * H * W * CI, ny = (long)B * HO * WO * CO;
    uint8_t *x = malloc(nx);
    float *w = frand(9 * CI * CO, -0.5, 0.5), *want = malloc(ny * 4), *got2 = malloc(ny * 4);
    for (long i = 0; x && i < nx; i++) x[i] = (uint8_t)(urand() * 256);
    uint8_t *d_x = up(x, nx);
    float *d_w = up(w, 9 * CI * CO * 4), *d_y = up(NULL, ny * 4);
    CHECK(x && w && want && got2 && d_x && d_w && d_y);
    for (long i = 0; i < ny; i++) want[i] = gm_conv0_pixels_at(x, H, W, CI, w, CO, i);
    CHECK_EQ_INT(gpu_conv0_pixels(d_x, B, H, W, CI, d_w, CO, d_y, NULL), 0);
    CHECK(down(got2, d_y, ny * 4) && same("conv0_pixels", want, got2, ny, 4));
    cudaFree(d_x), cudaFree(d_w), cudaFree(d_y);
    free(x), free(w), free(want), free(got2);
}

int main(void) {
    RUN(test_arguments_refused);
    if (!gpu_present("the kernels' device results not checked")) return check_summary();
    RUN(test_pools);
    RUN(test_elementwise_and_bn);
    RUN(test_adam_loss_conv0);
    return check_summary();
}

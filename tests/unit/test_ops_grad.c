/* test_ops_grad.c — every model op against a float64 reference: the float
 * forward against a naive double forward, and the float backward against
 * central finite differences of the double forward.
 *
 * Each op's scalar test loss is L = sum_i w_i y_i with fixed random w, so
 * dL/dy = w. Finite differences in double with h = 1e-5 are accurate to
 * ~1e-9, far below the float32 rounding of the op under test (~1e-6
 * relative), so the tolerances (atol 1e-4, rtol 1e-3) only have to absorb
 * float32 accumulation over at most a few hundred terms.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/adam.h"
#include "model/batchnorm.h"
#include "model/bn_swish.h"
#include "check.h"
#include "check_isa.h"
#include "model/conv.h"
#include "model/linear.h"
#include "model/loss.h"
#include "model/pool.h"
#include "base/rng.h"
#include "model/simd.h"
#include "model/swish.h"

#define FD_H 1e-5
#define ATOL 1e-4
#define RTOL 1e-3

static rng_state rng;

static void fill(float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(rng_normal(&rng) * scale);
}

static void to_double(const float *x, size_t n, double *d) {
    for (size_t i = 0; i < n; i++) d[i] = x[i];
}

static double dotw(const double *y, const float *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += y[i] * w[i];
    return s;
}

/* Checks analytic gradient g (float, n) of f against central differences on
 * the double vector x (perturbed in place). Reports the worst element. */
typedef double (*loss_fn)(void *ctx);
static void check_grad(const char *what, double *x, size_t n, const float *g, loss_fn f,
                       void *ctx) {
    double worst = 0;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + FD_H;
        double lp = f(ctx);
        x[i] = x0 - FD_H;
        double lm = f(ctx);
        x[i] = x0;
        double fd = (lp - lm) / (2 * FD_H);
        double err = fabs(g[i] - fd) - (ATOL + RTOL * fabs(fd));
        if (err > 0) bad = 1;
        if (i == 0 || err > worst) {
            worst = err;
            wi = i;
        }
    }
    if (bad) fprintf(stderr, "  %s: worst element %zu exceeds tolerance by %g\n", what, wi, worst);
    CHECK(!bad);
}

static void check_close_vec(const char *what, const float *a, const double *b, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= ATOL + RTOL * fabs(b[i]))) {
            if (!bad) fprintf(stderr, "  %s[%zu]: %.9g vs %.9g\n", what, i, a[i], b[i]);
            bad = 1;
        }
    CHECK(!bad);
}

/* ---- 3x3 stride-2 SAME convolution ---- */

typedef struct {
    int B, H, W, C, F, k, s;
    double *x, *w, *b, *y;
    const float *wt; /* loss weights over y */
} conv_ref;

static void conv_ref_forward(conv_ref *c) {
    int ho = conv_same_out(c->H, c->s), wo = conv_same_out(c->W, c->s);
    int pt = conv_same_pad_before(c->H, c->k, c->s), pl = conv_same_pad_before(c->W, c->k, c->s);
    for (int b = 0; b < c->B; b++)
        for (int oh = 0; oh < ho; oh++)
            for (int ow = 0; ow < wo; ow++)
                for (int f = 0; f < c->F; f++) {
                    double acc = c->b[f];
                    for (int kh = 0; kh < c->k; kh++)
                        for (int kw = 0; kw < c->k; kw++) {
                            int ih = oh * c->s - pt + kh, iw = ow * c->s - pl + kw;
                            if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                            for (int ci = 0; ci < c->C; ci++)
                                acc += c->x[((b * c->H + ih) * c->W + iw) * c->C + ci] *
                                       c->w[((kh * c->k + kw) * c->C + ci) * c->F + f];
                        }
                    c->y[((b * ho + oh) * wo + ow) * c->F + f] = acc;
                }
}

static double conv_ref_loss(void *arg) {
    conv_ref *c = arg;
    conv_ref_forward(c);
    size_t ny = (size_t)c->B * conv_same_out(c->H, c->s) * conv_same_out(c->W, c->s) * c->F;
    return dotw(c->y, c->wt, ny);
}

static void conv_case(int B, int H, int W, int C, int F) {
    conv_geom g;
    conv_geom_init(&g, H, W, C, 3, 2);
    size_t nx = (size_t)B * H * W * C, nw = (size_t)9 * C * F, rows = (size_t)B * g.ho * g.wo,
           ny = rows * F;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(F * 4), *y = malloc(ny * 4),
          *wt = malloc(ny * 4), *col = malloc(rows * g.kdim * 4), *dcol = malloc(rows * g.kdim * 4),
          *dx = malloc(nx * 4), *dw = malloc(nw * 4), *db = malloc(F * 4);
    fill(x, nx, 1);
    fill(w, nw, 0.3);
    fill(b, F, 0.1);
    fill(wt, ny, 1);
    conv_im2col(&g, x, 0, (long)rows, col);
    linear_forward(col, (long)rows, g.kdim, F, w, b, y);
    conv_ref c = {B, H, W, C, F, 3, 2, malloc(nx * 8), malloc(nw * 8), malloc(F * 8), malloc(ny * 8), wt};
    to_double(x, nx, c.x);
    to_double(w, nw, c.w);
    to_double(b, F, c.b);
    conv_ref_forward(&c);
    check_close_vec("conv forward", y, c.y, ny);
    /* backward with dy = wt */
    linear_backward_params(col, wt, (long)rows, g.kdim, F, dw, db, 0);
    linear_backward_input(wt, (long)rows, g.kdim, F, w, dcol, 0);
    /* col2im in two ranges, as two threads would */
    long half = (long)(B * H * W) / 2;
    conv_col2im(&g, dcol, 0, half, dx);
    conv_col2im(&g, dcol, half, (long)B * H * W, dx + half * C);
    check_grad("conv dx", c.x, nx, dx, conv_ref_loss, &c);
    check_grad("conv dw", c.w, nw, dw, conv_ref_loss, &c);
    check_grad("conv db", c.b, F, db, conv_ref_loss, &c);
    free(c.x), free(c.w), free(c.b), free(c.y);
    free(x), free(w), free(b), free(y), free(wt), free(col), free(dcol), free(dx), free(dw), free(db);
}

static void test_conv_same_padding(void) {
    /* even: 0 before, 1 after; odd 5: (3-1)*2+3-5 = 2 -> 1 before */
    CHECK_EQ_INT(conv_same_out(8, 2), 4);
    CHECK_EQ_INT(conv_same_pad_before(8, 3, 2), 0);
    CHECK_EQ_INT(conv_same_pad_before(5, 3, 2), 1);
    CHECK_EQ_INT(conv_same_pad_before(1, 3, 2), 1);
    CHECK_EQ_INT(conv_same_pad_before(2, 3, 2), 0);
    /* on an 4x4 input of ones, output (0,0) sees a 3x3 window (9 pixels),
     * output (1,1) sees rows/cols 1..3 with 3 clipped -> 2x2 = 4 pixels */
    conv_geom g;
    conv_geom_init(&g, 4, 4, 1, 3, 2);
    float x[16], w[9], y[4], col[4 * 9];
    for (int i = 0; i < 16; i++) x[i] = 1;
    for (int i = 0; i < 9; i++) w[i] = 1;
    conv_im2col(&g, x, 0, 4, col);
    linear_forward(col, 4, 9, 1, w, NULL, y);
    CHECK_CLOSE(y[0], 9, 0, 0);
    CHECK_CLOSE(y[3], 4, 0, 0);
}

/* The first convolution reads uint8 pixels and normalises them as it goes
 * (v / 255 - 0.5 in float32, docs/model.md); padding is the normalised 0.
 * Its im2col rows must equal, bit for bit, those of the float image
 * normalised beforehand: for the 3-channel fast path and a generic one, over
 * row ranges that start and end mid-image as threads' shares do. */
static void pixels_case(int B, int H, int W, int C) {
    conv_geom g;
    conv_geom_init(&g, H, W, C, 3, 2);
    size_t nx = (size_t)B * H * W * C, rows = (size_t)B * g.ho * g.wo;
    uint8_t *px = malloc(nx);
    float *x = malloc(nx * 4), *want = malloc(rows * g.kdim * 4), *got = malloc(rows * g.kdim * 4);
    for (size_t i = 0; i < nx; i++) {
        px[i] = (uint8_t)rng_uniform(&rng, 256);
        x[i] = (float)px[i] / 255.0f - 0.5f;
    }
    conv_im2col(&g, x, 0, (long)rows, want);
    long cut = (long)rows / 3;
    conv_im2col_pixels(&g, px, 0, cut, got);
    conv_im2col_pixels(&g, px, cut, (long)rows, got + cut * g.kdim);
    CHECK(memcmp(want, got, rows * g.kdim * 4) == 0);
    /* the bottom-right pixel's window reaches past the image: zeros there */
    if (H % 2 == 0) CHECK(got[(rows - 1) * g.kdim + (size_t)g.kdim - 1] == 0.0f);
    free(px), free(x), free(want), free(got);
}

static void test_conv_pixels(void) {
    pixels_case(2, 8, 8, 3);
    pixels_case(1, 7, 5, 3);
    pixels_case(2, 6, 6, 2);
}

static void test_conv3x3_grad(void) {
    conv_case(2, 6, 6, 3, 4);
    conv_case(1, 5, 5, 2, 3);
    conv_case(2, 2, 2, 2, 2);
    conv_case(1, 1, 1, 3, 2);
}

/* ---- 1x1 conv / dense: linear ---- */

typedef struct {
    int rows, K, N;
    double *x, *w, *b, *y;
    const float *wt;
} lin_ref;

static double lin_ref_loss(void *arg) {
    lin_ref *l = arg;
    for (int r = 0; r < l->rows; r++)
        for (int n = 0; n < l->N; n++) {
            double acc = l->b[n];
            for (int k = 0; k < l->K; k++) acc += l->x[r * l->K + k] * l->w[k * l->N + n];
            l->y[r * l->N + n] = acc;
        }
    return dotw(l->y, l->wt, (size_t)l->rows * l->N);
}

static void test_linear_grad(void) {
    int rows = 7, K = 5, N = 6;
    float x[35], w[30], b[6], y[42], wt[42], dx[35], dw[30], db[6];
    fill(x, 35, 1), fill(w, 30, 0.5), fill(b, 6, 0.2), fill(wt, 42, 1);
    linear_forward(x, rows, K, N, w, b, y);
    double X[35], W[30], Bb[6], Y[42];
    to_double(x, 35, X), to_double(w, 30, W), to_double(b, 6, Bb);
    lin_ref l = {rows, K, N, X, W, Bb, Y, wt};
    lin_ref_loss(&l);
    check_close_vec("linear forward", y, Y, 42);
    /* params in two row ranges, accumulated, as the model's threads do */
    linear_backward_params(x, wt, 3, K, N, dw, db, 0);
    linear_backward_params(x + 3 * K, wt + 3 * N, rows - 3, K, N, dw, db, 1);
    linear_backward_input(wt, rows, K, N, w, dx, 0);
    check_grad("linear dx", X, 35, dx, lin_ref_loss, &l);
    check_grad("linear dw", W, 30, dw, lin_ref_loss, &l);
    check_grad("linear db", Bb, 6, db, lin_ref_loss, &l);
}

/* ---- BatchNorm (training) ---- */

typedef struct {
    int rows, C;
    double *a, *scale, *z;
    const float *wt;
} bn_ref;

static double bn_ref_loss(void *arg) {
    bn_ref *r = arg;
    for (int c = 0; c < r->C; c++) {
        double m = 0, v = 0;
        for (int i = 0; i < r->rows; i++) m += r->a[i * r->C + c];
        m /= r->rows;
        for (int i = 0; i < r->rows; i++) v += (r->a[i * r->C + c] - m) * (r->a[i * r->C + c] - m);
        v /= r->rows;
        for (int i = 0; i < r->rows; i++)
            r->z[i * r->C + c] = (r->a[i * r->C + c] - m) / sqrt(v + 1e-5) * r->scale[c];
    }
    return dotw(r->z, r->wt, (size_t)r->rows * r->C);
}

static void test_batchnorm_grad(void) {
    enum { R = 24, C = 5 };
    float a[R * C], scale[C], z[R * C], wt[R * C], da[R * C], mean[C], var[C], invstd[C];
    fill(a, R * C, 2), fill(scale, C, 1), fill(wt, R * C, 1);
    for (int i = 0; i < R * C; i++) a[i] += 0.7f; /* a non-zero mean */
    double sums[2 * C] = {0};
    bn_sums(a, 10, C, sums); /* two partial ranges, as two threads */
    bn_sums(a + 10 * C, R - 10, C, sums);
    bn_stats(sums, R, C, 1e-5f, mean, var, invstd);
    bn_forward(a, R, C, mean, invstd, scale, z);
    double A[R * C], S[C], Z[R * C];
    to_double(a, R * C, A), to_double(scale, C, S);
    bn_ref r = {R, C, A, S, Z, wt};
    bn_ref_loss(&r);
    check_close_vec("bn forward", z, Z, R * C);
    double bs[2 * C] = {0};
    bn_backward_sums(wt, a, R, C, mean, invstd, bs);
    float s1[C], s2[C];
    for (int c = 0; c < C; c++) s1[c] = (float)bs[c], s2[c] = (float)bs[C + c];
    double dsum[C] = {0};
    bn_backward(wt, a, R, C, mean, invstd, scale, s1, s2, R, da, dsum);
    for (int c = 0; c < C; c++) CHECK(fabs(dsum[c]) < 1e-4); /* BN output is shift-invariant */
    check_grad("bn da", A, R * C, da, bn_ref_loss, &r);
    check_grad("bn dscale", S, C, s2, bn_ref_loss, &r);
    /* running averages: momentum 0.99 */
    float rm[C] = {0}, rv[C] = {1, 1, 1, 1, 1};
    bn_running_update(rm, rv, mean, var, C, 0.99f);
    CHECK_CLOSE(rm[0], 0.01 * mean[0], 1e-7, 1e-6);
    CHECK_CLOSE(rv[1], 0.99 + 0.01 * var[1], 1e-7, 1e-6);
}

/* ---- fused BatchNorm + swish ---- */

typedef struct {
    bn_ref bn;
    double *h;
} bns_ref;

static double bns_ref_loss(void *arg) {
    bns_ref *r = arg;
    bn_ref_loss(&r->bn); /* fills z */
    size_t n = (size_t)r->bn.rows * r->bn.C;
    for (size_t i = 0; i < n; i++) r->h[i] = r->bn.z[i] / (1 + exp(-r->bn.z[i]));
    return dotw(r->h, r->bn.wt, n);
}

static void test_bn_swish_grad(void) {
    enum { R = 20, C = 17 }; /* C not a multiple of the vector width */
    float a[R * C], scale[C], h[R * C], wt[R * C], g[R * C], da[R * C], mean[C], var[C],
        invstd[C];
    fill(a, R * C, 1.5), fill(scale, C, 1.5), fill(wt, R * C, 1);
    double sums[2 * C] = {0};
    bn_sums(a, R, C, sums);
    bn_stats(sums, R, C, 1e-5f, mean, var, invstd);
    bn_swish_forward(a, R, C, mean, invstd, scale, h);
    double A[R * C], S[C], Z[R * C], H[R * C];
    to_double(a, R * C, A), to_double(scale, C, S);
    bns_ref r = {{R, C, A, S, Z, wt}, H};
    bns_ref_loss(&r);
    check_close_vec("bn_swish forward", h, H, R * C);
    memcpy(g, wt, sizeof g);
    double bs[2 * C] = {0};
    bn_swish_backward(g, a, R, C, mean, invstd, scale, bs);
    float s1[C], s2[C];
    for (int c = 0; c < C; c++) s1[c] = (float)bs[c], s2[c] = (float)bs[C + c];
    bn_backward(g, a, R, C, mean, invstd, scale, s1, s2, R, da, NULL);
    check_grad("bn_swish da", A, R * C, da, bns_ref_loss, &r);
    check_grad("bn_swish dscale", S, C, s2, bns_ref_loss, &r);
    /* bn_forward_add: y += BN(a) */
    float y[R * C], z[R * C];
    for (int i = 0; i < R * C; i++) y[i] = (float)i;
    bn_forward(a, R, C, mean, invstd, scale, z);
    bn_forward_add(a, R, C, mean, invstd, scale, NULL, y);
    int ok = 1;
    for (int i = 0; i < R * C; i++) ok &= fabsf(y[i] - (z[i] + (float)i)) <= 1e-5f * (1 + i);
    CHECK(ok);
}

/* ---- the vectorisable exp behind swish ---- */

static void test_simd_expf(void) {
    double worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.01953125f) {
        double e = exp((double)x), rel = fabs(simd_expf(x) - e) / e;
        if (rel > worst) worst = rel;
    }
    fprintf(stderr, "  simd_expf: worst relative error %.3g on [-87, 88]\n", worst);
    CHECK(worst < 4e-7); /* ~3 ulp */
    CHECK(simd_expf(0.0f) == 1.0f);
    CHECK(isnan(simd_expf(NAN)));
    CHECK(simd_expf(-1000.0f) < 1e-37f && simd_expf(-1000.0f) >= 0.0f);
    CHECK(simd_sigmoidf(-1000.0f) < 1e-37f && simd_sigmoidf(1000.0f) == 1.0f);
}

/* ---- swish ---- */

typedef struct {
    int n;
    double *z, *h;
    const float *wt;
} sw_ref;

static double sw_ref_loss(void *arg) {
    sw_ref *s = arg;
    for (int i = 0; i < s->n; i++) s->h[i] = s->z[i] / (1 + exp(-s->z[i]));
    return dotw(s->h, s->wt, (size_t)s->n);
}

static void test_swish_grad(void) {
    enum { N = 40 };
    float z[N], h[N], wt[N], dz[N];
    fill(z, N, 3), fill(wt, N, 1);
    z[0] = 0, z[1] = -30, z[2] = 30;
    swish_forward(z, N, h);
    swish_backward(wt, z, N, dz);
    double Z[N], H[N];
    to_double(z, N, Z);
    sw_ref s = {N, Z, H, wt};
    sw_ref_loss(&s);
    check_close_vec("swish forward", h, H, N);
    check_grad("swish dz", Z, N, dz, sw_ref_loss, &s);
}

/* ---- average pool 3x3 stride 2 SAME, / 9 ---- */

typedef struct {
    int B, H, W, C;
    double *x, *y;
    const float *wt;
} pool_ref;

static double pool_ref_loss(void *arg) {
    pool_ref *p = arg;
    int ho = conv_same_out(p->H, 2), wo = conv_same_out(p->W, 2);
    int pt = conv_same_pad_before(p->H, 3, 2), pl = conv_same_pad_before(p->W, 3, 2);
    for (int b = 0; b < p->B; b++)
        for (int oh = 0; oh < ho; oh++)
            for (int ow = 0; ow < wo; ow++)
                for (int c = 0; c < p->C; c++) {
                    double acc = 0;
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++) {
                            int ih = oh * 2 - pt + kh, iw = ow * 2 - pl + kw;
                            if (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) continue;
                            acc += p->x[((b * p->H + ih) * p->W + iw) * p->C + c];
                        }
                    p->y[((b * ho + oh) * wo + ow) * p->C + c] = acc / 9;
                }
    return dotw(p->y, p->wt, (size_t)p->B * ho * wo * p->C);
}

static void pool_case(int B, int H, int C) {
    int ho = conv_same_out(H, 2);
    size_t nx = (size_t)B * H * H * C, ny = (size_t)B * ho * ho * C;
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *wt = malloc(ny * 4), *dx = malloc(nx * 4);
    double *X = malloc(nx * 8), *Y = malloc(ny * 8);
    fill(x, nx, 1), fill(wt, ny, 1);
    long half = (long)(B * ho * ho) / 2;
    pool_avg_forward(x, H, H, C, 0, half, y);
    pool_avg_forward(x, H, H, C, half, (long)B * ho * ho, y + half * C);
    pool_avg_backward(wt, H, H, C, 0, (long)B * H * H, dx);
    to_double(x, nx, X);
    pool_ref p = {B, H, H, C, X, Y, wt};
    pool_ref_loss(&p);
    check_close_vec("pool forward", y, Y, ny);
    check_grad("pool dx", X, nx, dx, pool_ref_loss, &p);
    free(x), free(y), free(wt), free(dx), free(X), free(Y);
}

static void test_avgpool_grad(void) {
    pool_case(2, 6, 3);
    pool_case(1, 5, 2);
    pool_case(2, 1, 4); /* 1x1: one pixel, padded both sides: x / 9 */
    float x[2] = {9, 18}, y[2];
    pool_avg_forward(x, 1, 1, 2, 0, 1, y);
    CHECK_CLOSE(y[0], 1, 1e-6, 0);
    CHECK_CLOSE(y[1], 2, 1e-6, 0);
}

static void test_pool_bn_add(void) {
    /* pool_avg_forward_bn_add == bn_forward_add then pool_avg_forward */
    enum { B = 2, H = 6, C = 16 };
    float x[B * H * H * C], a[B * H * H * C], y[B * H * H * C], p1[B * 9 * C], p2[B * 9 * C];
    float mean[C], invstd[C], scale[C], bias[C], mul[C];
    fill(x, sizeof x / 4, 1), fill(a, sizeof a / 4, 1), fill(mean, C, 0.3), fill(scale, C, 1);
    fill(bias, C, 0.2);
    for (int c = 0; c < C; c++) invstd[c] = 1.5f, mul[c] = invstd[c] * scale[c];
    memcpy(y, x, sizeof y);
    bn_forward_add(a, B * H * H, C, mean, invstd, scale, bias, y);
    pool_avg_forward(y, H, H, C, 0, B * 9, p1);
    pool_avg_forward_bn_add(x, a, mul, mean, bias, H, H, C, 0, 5, p2);
    pool_avg_forward_bn_add(x, a, mul, mean, bias, H, H, C, 5, B * 9, p2 + 5 * C);
    int ok = 1;
    for (int i = 0; i < B * 9 * C; i++) ok &= fabsf(p1[i] - p2[i]) <= 1e-5f * (1 + fabsf(p1[i]));
    CHECK(ok);
}

/* ---- global mean ---- */

typedef struct {
    int B, hw, C;
    double *x, *y;
    const float *wt;
} mean_ref;

static double mean_ref_loss(void *arg) {
    mean_ref *m = arg;
    for (int b = 0; b < m->B; b++)
        for (int c = 0; c < m->C; c++) {
            double s = 0;
            for (int p = 0; p < m->hw; p++) s += m->x[(b * m->hw + p) * m->C + c];
            m->y[b * m->C + c] = s / m->hw;
        }
    return dotw(m->y, m->wt, (size_t)m->B * m->C);
}

static void test_mean_grad(void) {
    enum { B = 2, HW = 6, C = 3 };
    float x[B * HW * C], y[B * C], wt[B * C], dx[B * HW * C];
    fill(x, B * HW * C, 1), fill(wt, B * C, 1);
    pool_mean_forward(x, HW, C, 0, B, y);
    pool_mean_backward(wt, HW, C, 0, B, dx);
    double X[B * HW * C], Y[B * C];
    to_double(x, B * HW * C, X);
    mean_ref m = {B, HW, C, X, Y, wt};
    mean_ref_loss(&m);
    check_close_vec("mean forward", y, Y, B * C);
    check_grad("mean dx", X, B * HW * C, dx, mean_ref_loss, &m);
}

/* ---- triplet loss ---- */

typedef struct {
    int B, D;
    double *s, *p, *n;
    double reg;
    int denom;
} loss_ref;

static double loss_ref_loss(void *arg) {
    loss_ref *l = arg;
    double tot = 0;
    for (int b = 0; b < l->B; b++) {
        double sp = 0, sn = 0, ns = 0, np = 0, nn = 0;
        for (int i = 0; i < l->D; i++) {
            double s = l->s[b * l->D + i], p = l->p[b * l->D + i], n = l->n[b * l->D + i];
            sp += s * p, sn += s * n, ns += s * s, np += p * p, nn += n * n;
        }
        double h = 1 + sn - sp;
        tot += h > 0 ? h : 0;
        double e[3] = {sqrt(ns) - 1, sqrt(np) - 1, sqrt(nn) - 1};
        for (int j = 0; j < 3; j++) tot += l->reg * (e[j] > 0 ? e[j] : 0);
    }
    return tot / l->denom;
}

static void test_loss_grad(void) {
    enum { B = 4, D = 5 };
    float s[B * D], p[B * D], n[B * D], ds[B * D], dp[B * D], dn[B * D];
    fill(s, B * D, 0.6), fill(p, B * D, 0.6), fill(n, B * D, 0.6);
    /* one triplet with a large positive score: hinge inactive */
    for (int i = 0; i < D; i++) s[i] = 0.5f, p[i] = 0.5f, n[i] = -0.5f;
    double L = loss_triplet(s, p, n, B, D, 0.2f, 8, ds, dp, dn);
    double S[B * D], P[B * D], N[B * D];
    to_double(s, B * D, S), to_double(p, B * D, P), to_double(n, B * D, N);
    loss_ref l = {B, D, S, P, N, 0.2f, 8};
    CHECK_CLOSE(L, loss_ref_loss(&l), 1e-6, 1e-5);
    check_grad("loss ds", S, B * D, ds, loss_ref_loss, &l);
    check_grad("loss dp", P, B * D, dp, loss_ref_loss, &l);
    check_grad("loss dn", N, B * D, dn, loss_ref_loss, &l);
    /* a hand case: s = (1,0), p = (0,0), n = (0.5,0): 1 + 0.5 - 0 = 1.5, no norm > 1 */
    float s1[2] = {1, 0}, p1[2] = {0, 0}, n1[2] = {0.5f, 0};
    CHECK_CLOSE(loss_triplet(s1, p1, n1, 1, 2, 0.2f, 1, NULL, NULL, NULL), 1.5, 1e-7, 0);
    float s2[2] = {3, 4}; /* norm 5: reg * 4 = 0.8; hinge 1 + 1.5 = 2.5 */
    CHECK_CLOSE(loss_triplet(s2, p1, n1, 1, 2, 0.2f, 2, NULL, NULL, NULL), (2.5 + 0.8) / 2, 1e-6, 0);
}

/* ---- Adam against the optax formula in double ---- */

static void test_adam(void) {
    enum { N = 6 };
    float p[N], g[N], m[N] = {0}, v[N] = {0};
    double P[N], M[N] = {0}, V[N] = {0};
    fill(p, N, 1);
    to_double(p, N, P);
    for (int step = 1; step <= 5; step++) {
        fill(g, N, 0.1);
        adam_update(p, g, m, v, N, 1e-3f, 0.9f, 0.999f, 1e-8f, step);
        for (int i = 0; i < N; i++) {
            M[i] = 0.9 * M[i] + 0.1 * g[i];
            V[i] = 0.999 * V[i] + 0.001 * (double)g[i] * g[i];
            double mh = M[i] / (1 - pow(0.9, step)), vh = V[i] / (1 - pow(0.999, step));
            P[i] -= 1e-3 * mh / (sqrt(vh) + 1e-8);
        }
    }
    for (int i = 0; i < N; i++) CHECK_CLOSE(p[i], P[i], 1e-6, 1e-5);
    /* the first step moves every parameter by ~lr (sign of the gradient) */
    float q = 0, gq = 2, mq = 0, vq = 0;
    adam_update(&q, &gq, &mq, &vq, 1, 0.5f, 0.9f, 0.999f, 1e-8f, 1);
    CHECK_CLOSE(q, -0.5, 1e-6, 0);
}

int main(void) {
    rng_seed(&rng, 1234);
    RUN(test_kernel_variant);
    RUN(test_conv_same_padding);
    RUN(test_conv_pixels);
    RUN(test_conv3x3_grad);
    RUN(test_linear_grad);
    RUN(test_batchnorm_grad);
    RUN(test_simd_expf);
    RUN(test_bn_swish_grad);
    RUN(test_swish_grad);
    RUN(test_avgpool_grad);
    RUN(test_pool_bn_add);
    RUN(test_mean_grad);
    RUN(test_loss_grad);
    RUN(test_adam);
    return check_summary();
}

/* test_gpu_lib_cuda.c — model/gpu_lib.h: cuDNN's 3x3 stride-2 SAME
 * convolutions and cuBLAS's GEMMs (CUDA build only).
 *
 * Without a GPU (every CI machine): the arguments refused before any CUDA
 * call; gpu_lib_create failing with one line that names the CUDA error,
 * again and again (nothing half-made survives a failure); the plan's
 * geometry (gpu_conv3_geom_init: SAME split into cuDNN's symmetric pad and
 * explicit zero rows / columns, cuDNN's output size from the plan's own
 * descriptors) for every S = 32..512 step 32 and every block of the model,
 * and for every H, W in 1..40; and, on the host, that what the plan does —
 * pad into a copy, convolve with the symmetric pad, crop dx — equals TF's
 * SAME convolution and its two adjoints, exactly on small-integer data. The
 * device part then prints "skipped: no GPU" (scripts/gpu-check requires
 * that it is not skipped there).
 *
 * With a GPU: gpu_conv3_fwd / bwd_data / bwd_filter against direct host
 * loops over the KRSC weights (double) for the blocks at S = 64 and 512 and
 * two odd shapes, gpu_lib_gemm in all four ta / tb with beta 0 and 1, two
 * runs bit-identical, the same calls captured in a CUDA graph giving the
 * same bits, and the algorithms chosen logged, one line per plan.
 *
 * Error budget (FMA math, tf32 = 0): an output element is a sum of K
 * products, each exact or rounded once, summed in any order in float, so
 * |got - exact| <= gamma_K * sum |term|, gamma_K = K u / (1 - K u) with u =
 * 2^-24; the test allows K * 2^-23 (>= gamma_K while K u <= 1/2), with the
 * sum of |term| computed per element from the data in double beside the
 * reference. K: forward 9 cin; backward data 9 cout per convolution, both
 * convolutions' terms plus one addition when dy_b is given; backward filter
 * B Ho Wo, plus one for beta = 1 (|old dw| then counts as a term); GEMM k,
 * plus one for beta = 1. The reference's own double rounding is 2^-29 times
 * smaller and ignored.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include "base/device_cuda.h"
#include "check.h"
#include "cuda_check.h"
#include "model/gpu_layout.h"
#include "model/gpu_lib.h"
#include "model/gpu_math.h"
#include "model/params.h"
#include "model/tower.h"

enum { BATCH = 16 };
static param_table table;

/* Small integers in [-r, r]: every sum below is exact in double. */
static float *irand(long n, int r) {
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (long i = 0; x && i < n; i++) x[i] = (float)((int)(urand() * (2 * r + 1)) - r);
    return x;
}

/* ---- host references: TF SAME, 3x3, stride 2, NHWC, KRSC weights ----
 * Each also returns, per element, the sum of |term| for the error budget
 * (abs may be NULL). pad_h / pad_w: padding before; the input is
 * (B, H, W, cin) and nothing outside it is read (SAME's zeros). */
typedef struct {
    int B, H, W, cin, cout, ho, wo, pad_h, pad_w;
} shape;
static shape shape_same(int B, int H, int W, int cin, int cout) {
    shape s = {B, H, W, cin, cout, gm_same_out(H, 2), gm_same_out(W, 2),
               gm_same_pad_before(H, 3, 2), gm_same_pad_before(W, 3, 2)};
    return s;
}
static long n_x(const shape *s) { return (long)s->B * s->H * s->W * s->cin; }
static long n_y(const shape *s) { return (long)s->B * s->ho * s->wo * s->cout; }
static long n_w(const shape *s) { return 9L * s->cin * s->cout; }

static void ref_fwd(const shape *s, const float *x, const float *w, double *y, double *abs) {
    for (int b = 0; b < s->B; b++)
        for (int oh = 0; oh < s->ho; oh++)
            for (int ow = 0; ow < s->wo; ow++)
                for (int co = 0; co < s->cout; co++) {
                    double acc = 0, a = 0;
                    for (int kh = 0; kh < 3; kh++) {
                        int ih = oh * 2 - s->pad_h + kh;
                        if (ih < 0 || ih >= s->H) continue;
                        for (int kw = 0; kw < 3; kw++) {
                            int iw = ow * 2 - s->pad_w + kw;
                            if (iw < 0 || iw >= s->W) continue;
                            const float *xr = x + (((long)b * s->H + ih) * s->W + iw) * s->cin;
                            const float *wr = w + gm_krsc_offset(co, kh, kw, 0, 3, s->cin);
                            for (int ci = 0; ci < s->cin; ci++) {
                                double t = (double)xr[ci] * wr[ci];
                                acc += t;
                                a += t < 0 ? -t : t;
                            }
                        }
                    }
                    long o = (((long)b * s->ho + oh) * s->wo + ow) * s->cout + co;
                    y[o] = acc;
                    if (abs) abs[o] = a;
                }
}
/* dx += the adjoint of ref_fwd in x (accumulates: zero dx first). */
static void ref_bwd_data(const shape *s, const float *dy, const float *w, double *dx, double *abs) {
    for (int b = 0; b < s->B; b++)
        for (int oh = 0; oh < s->ho; oh++)
            for (int ow = 0; ow < s->wo; ow++)
                for (int kh = 0; kh < 3; kh++) {
                    int ih = oh * 2 - s->pad_h + kh;
                    if (ih < 0 || ih >= s->H) continue;
                    for (int kw = 0; kw < 3; kw++) {
                        int iw = ow * 2 - s->pad_w + kw;
                        if (iw < 0 || iw >= s->W) continue;
                        long xo = (((long)b * s->H + ih) * s->W + iw) * s->cin;
                        const float *dyr = dy + (((long)b * s->ho + oh) * s->wo + ow) * s->cout;
                        for (int co = 0; co < s->cout; co++) {
                            const float *wr = w + gm_krsc_offset(co, kh, kw, 0, 3, s->cin);
                            for (int ci = 0; ci < s->cin; ci++) {
                                double t = (double)dyr[co] * wr[ci];
                                dx[xo + ci] += t;
                                if (abs) abs[xo + ci] += t < 0 ? -t : t;
                            }
                        }
                    }
                }
}
/* dw += the adjoint of ref_fwd in w (accumulates). */
static void ref_bwd_filter(const shape *s, const float *x, const float *dy, double *dw, double *abs) {
    for (int b = 0; b < s->B; b++)
        for (int oh = 0; oh < s->ho; oh++)
            for (int ow = 0; ow < s->wo; ow++)
                for (int kh = 0; kh < 3; kh++) {
                    int ih = oh * 2 - s->pad_h + kh;
                    if (ih < 0 || ih >= s->H) continue;
                    for (int kw = 0; kw < 3; kw++) {
                        int iw = ow * 2 - s->pad_w + kw;
                        if (iw < 0 || iw >= s->W) continue;
                        const float *xr = x + (((long)b * s->H + ih) * s->W + iw) * s->cin;
                        const float *dyr = dy + (((long)b * s->ho + oh) * s->wo + ow) * s->cout;
                        for (int co = 0; co < s->cout; co++) {
                            long wo_ = gm_krsc_offset(co, kh, kw, 0, 3, s->cin);
                            for (int ci = 0; ci < s->cin; ci++) {
                                double t = (double)xr[ci] * dyr[co];
                                dw[wo_ + ci] += t;
                                if (abs) abs[wo_ + ci] += t < 0 ? -t : t;
                            }
                        }
                    }
                }
}

/* ---- without a GPU ---- */

static void test_arguments_refused(void) {
    stl_error err;
    gpu_lib_free(NULL);
    gpu_conv3_free(NULL);
    CHECK(gpu_conv3_plan(NULL, 2, 8, 8, 4, 4, &err) == NULL);
    CHECK(strstr(err.msg, "gpu_conv3_plan") != NULL);
    CHECK_EQ_INT(gpu_lib_gemm(NULL, 0, 0, 2, 2, 2, NULL, NULL, 0.0f, NULL, &err), -1);
    CHECK_EQ_INT(gpu_conv3_fwd(NULL, NULL, NULL, NULL, &err), -1);
    CHECK_EQ_INT(gpu_conv3_bwd_data(NULL, NULL, NULL, NULL, NULL, NULL, &err), -1);
    CHECK_EQ_INT(gpu_conv3_bwd_filter(NULL, NULL, NULL, NULL, NULL, NULL, 0.0f, &err), -1);
    gpu_conv3_geom g;
    CHECK_EQ_INT(gpu_conv3_geom_init(&g, 0, 8, 8, 4, 4, &err), -1);
    CHECK_EQ_INT(gpu_conv3_geom_init(&g, 2, 8, -1, 4, 4, &err), -1);
    CHECK_EQ_INT(gpu_conv3_geom_init(&g, 2, 8, 8, 4, 0, &err), -1);
    CHECK(strstr(err.msg, "bad shape") != NULL);
    /* one tensor past cuDNN's int strides */
    CHECK_EQ_INT(gpu_conv3_geom_init(&g, 1024, 1024, 1024, 16, 16, &err), -1);
}

static void test_create_fails_without_gpu(void) {
    stl_error err, first;
    memset(&first, 0, sizeof first);
    for (int i = 0; i < 3; i++) {
        memset(&err, 0, sizeof err);
        gpu_lib *L = gpu_lib_create(NULL, 0, &err);
        CHECK(L == NULL);
        gpu_lib_free(L);
        CHECK(strchr(err.msg, '\n') == NULL);
        CHECK(strncmp(err.msg, "gpu_lib_create: cudaGetDeviceCount: ", 36) == 0);
        CHECK(strstr(err.msg, "cudaError") != NULL); /* the CUDA error's name */
        if (i == 0) first = err;
        else CHECK_STR_EQ(err.msg, first.msg);
    }
    printf("gpu_lib_create without a GPU: %s\n", first.msg);
}

/* What the plan's geometry must be for H (or W): SAME's output size, its
 * padding split as cuDNN pad + explicit rows, and cuDNN's own output-size
 * formula on the padded extent giving ho. */
static int geom_dim_ok(int n, int sym, int before, int after, int np, int out) {
    return out == gm_same_out(n, 2) && sym + before == gm_same_pad_before(n, 3, 2) &&
           sym + after == gm_same_pad_after(n, 3, 2) && sym >= 0 && before >= 0 && after >= 0 &&
           np == before + n + after && (np + 2 * sym - 3) / 2 + 1 == out &&
           (out - 1) * 2 + 3 <= np + 2 * sym;
}

static void test_geometry_every_block(void) {
    int checked = 0, padded = 0;
    for (int S = 32; S <= 512; S += 32) {
        tower_shape ts;
        stl_error err;
        if (tower_shape_init(&ts, &table, S, &err) != 0) {
            fprintf(stderr, "S %d: %s\n", S, err.msg);
            CHECK(!"tower_shape_init");
            continue;
        }
        for (int k = 0; k < MODEL_N_BLOCKS; k++) {
            const tower_block *b = &ts.blk[k];
            gpu_conv3_geom g;
            if (gpu_conv3_geom_init(&g, BATCH, b->h, b->w, b->cin, b->f, &err) != 0) {
                fprintf(stderr, "S %d block %d: %s\n", S, k, err.msg);
                CHECK(!"gpu_conv3_geom_init");
                continue;
            }
            /* the CPU model's geometry */
            CHECK_EQ_INT(g.ho, b->g.ho);
            CHECK_EQ_INT(g.wo, b->g.wo);
            CHECK_EQ_INT(g.sym_h + g.top, b->g.pad_top);
            CHECK_EQ_INT(g.sym_w + g.left, b->g.pad_left);
            CHECK(geom_dim_ok(b->h, g.sym_h, g.top, g.bottom, g.hp, g.ho));
            CHECK(geom_dim_ok(b->w, g.sym_w, g.left, g.right, g.wp, g.wo));
            CHECK_EQ_INT(g.padded, g.top || g.bottom || g.left || g.right);
            padded += g.padded;
            checked++;
        }
    }
    CHECK_EQ_INT(checked, 16 * MODEL_N_BLOCKS);
    printf("plan geometry of %d block convolutions (S = 32..512), %d with a padded copy, "
           "agrees with the CPU model and cuDNN\n", checked, padded);
}

static void test_geometry_every_size(void) {
    int bad = 0;
    for (int h = 1; h <= 40; h++)
        for (int w = 1; w <= 40; w++) {
            gpu_conv3_geom g;
            stl_error err;
            if (gpu_conv3_geom_init(&g, 3, h, w, 5, 7, &err) != 0) {
                fprintf(stderr, "%dx%d: %s\n", h, w, err.msg);
                bad++;
                continue;
            }
            if (!geom_dim_ok(h, g.sym_h, g.top, g.bottom, g.hp, g.ho) ||
                !geom_dim_ok(w, g.sym_w, g.left, g.right, g.wp, g.wo)) {
                fprintf(stderr, "%dx%d: geometry wrong\n", h, w);
                bad++;
            }
            /* 3x3 stride 2: even sizes need one explicit row after, odd none */
            if (g.top != 0 || g.left != 0 || g.bottom != (h % 2 == 0) || g.right != (w % 2 == 0))
                bad++;
        }
    CHECK_EQ_INT(bad, 0);
}

/* What the plan computes, simulated on the host: x copied into the padded
 * buffer (zero border), the convolution with cuDNN's symmetric pad over it,
 * and for dx the same adjoint into a padded buffer then cropped. On
 * small-integer data every sum is exact, so it must equal the SAME
 * reference bit for bit; and the references are each other's adjoints:
 * <fwd(x, w), dy> = <x, bwd_data(dy, w)> = <w, bwd_filter(x, dy)>. */
static void one_padded_shape(int B, int H, int W, int cin, int cout) {
    stl_error err;
    gpu_conv3_geom g;
    CHECK(gpu_conv3_geom_init(&g, B, H, W, cin, cout, &err) == 0);
    shape s = shape_same(B, H, W, cin, cout);
    /* the padded problem: hp x wp input, cuDNN's pad sym */
    shape sp = {B, g.hp, g.wp, cin, cout, g.ho, g.wo, g.sym_h, g.sym_w};
    float *x = irand(n_x(&s), 3), *w = irand(n_w(&s), 3), *dy = irand(n_y(&s), 3);
    float *xp = calloc((size_t)n_x(&sp), sizeof *xp);
    double *y = calloc((size_t)n_y(&s), sizeof *y), *yp = calloc((size_t)n_y(&s), sizeof *yp);
    double *dx = calloc((size_t)n_x(&s), sizeof *dx), *dxp = calloc((size_t)n_x(&sp), sizeof *dxp);
    double *dw = calloc((size_t)n_w(&s), sizeof *dw), *dwp = calloc((size_t)n_w(&s), sizeof *dwp);
    CHECK(x && w && dy && xp && y && yp && dx && dxp && dw && dwp);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            memcpy(xp + (((long)b * g.hp + g.top + h) * g.wp + g.left) * cin,
                   x + ((long)b * H + h) * W * cin, (size_t)W * cin * sizeof *x);
    ref_fwd(&s, x, w, y, NULL);
    ref_fwd(&sp, xp, w, yp, NULL);
    CHECK(memcmp(y, yp, (size_t)n_y(&s) * sizeof *y) == 0);
    ref_bwd_data(&s, dy, w, dx, NULL);
    ref_bwd_data(&sp, dy, w, dxp, NULL);
    long bad = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (long i = 0; i < (long)W * cin; i++)
                bad += dx[((long)b * H + h) * W * cin + i] !=
                       dxp[((long)b * g.hp + g.top + h) * g.wp * cin + (long)g.left * cin + i];
    CHECK_EQ_INT(bad, 0);
    ref_bwd_filter(&s, x, dy, dw, NULL);
    ref_bwd_filter(&sp, xp, dy, dwp, NULL);
    CHECK(memcmp(dw, dwp, (size_t)n_w(&s) * sizeof *dw) == 0);
    double a = 0, b_ = 0, c = 0;
    for (long i = 0; i < n_y(&s); i++) a += y[i] * dy[i];
    for (long i = 0; i < n_x(&s); i++) b_ += x[i] * dx[i];
    for (long i = 0; i < n_w(&s); i++) c += w[i] * dw[i];
    CHECK(a == b_ && a == c);
    free(x), free(w), free(dy), free(xp), free(y), free(yp), free(dx), free(dxp), free(dw), free(dwp);
}
static void test_padded_plan_equals_same_on_host(void) {
    one_padded_shape(2, 8, 8, 3, 4);  /* even: a row and a column after */
    one_padded_shape(2, 7, 9, 2, 5);  /* odd: cuDNN's pad alone */
    one_padded_shape(3, 6, 11, 4, 3); /* mixed */
    one_padded_shape(1, 1, 2, 2, 2);  /* the smallest */
}

/* ---- with a GPU ---- */

static cudaStream_t stream;

/* |got - ref| <= K 2^-23 sum|term|, per element; prints the worst. */
static int within(const char *what, const float *got, const double *ref, const double *abs, long n,
                  double K) {
    double gamma = K * 0x1p-23, worst = 0;
    long bad = 0, at = -1;
    for (long i = 0; i < n; i++) {
        double e = got[i] - ref[i], lim = gamma * abs[i];
        if (e < 0) e = -e;
        if (!(e <= lim)) bad++;
        double r = lim > 0 ? e / lim : (e > 0 ? 1e30 : 0);
        if (r > worst || at < 0) worst = r, at = i;
    }
    printf("  %-28s worst error %.3g of its budget (element %ld)%s\n", what, worst, at,
           bad ? " FAIL" : "");
    if (bad) fprintf(stderr, "%s: %ld of %ld elements outside K 2^-23 sum|term| (K = %.0f)\n", what, bad, n, K);
    return bad == 0;
}
static int same_bits(const char *what, const float *a, const float *b, long n) {
    if (memcmp(a, b, (size_t)n * sizeof *a) == 0) return 1;
    fprintf(stderr, "%s: two runs differ\n", what);
    return 0;
}

/* stderr into a temporary file while a plan is made, so its log line can be
 * checked. */
static FILE *cap_file;
static int cap_saved = -1;
static void capture_begin(void) {
    fflush(stderr);
    cap_file = tmpfile();
    cap_saved = dup(2);
    if (cap_file && cap_saved >= 0) dup2(fileno(cap_file), 2);
}
static char *capture_end(void) {
    fflush(stderr);
    if (cap_saved >= 0) dup2(cap_saved, 2), close(cap_saved);
    cap_saved = -1;
    if (!cap_file) return NULL;
    long n = ftell(cap_file);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    rewind(cap_file);
    size_t got = s && n > 0 ? fread(s, 1, (size_t)n, cap_file) : 0;
    if (s) s[got] = 0;
    fclose(cap_file);
    cap_file = NULL;
    return s;
}

static gpu_lib *lib;

static void conv_case(const char *name, int B, int H, int W, int cin, int cout) {
    stl_error err;
    shape s = shape_same(B, H, W, cin, cout);
    long nx = n_x(&s), ny = n_y(&s), nw = n_w(&s);
    printf(" %s: %d x %d x %d x %d -> %d\n", name, B, H, W, cin, cout);

    capture_begin();
    gpu_conv3 *c = gpu_conv3_plan(lib, B, H, W, cin, cout, &err);
    char *log = capture_end();
    if (!c) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        CHECK(!"gpu_conv3_plan");
        free(log);
        return;
    }
    /* one line naming the three algorithms */
    CHECK(log && strstr(log, "gpu_conv3 ") && strstr(log, ": forward ") &&
          strstr(log, ", backward data ") && strstr(log, ", backward filter ") &&
          strstr(log, "deterministic"));
    CHECK(log && strchr(log, '\n') && strchr(log, '\n')[1] == 0);
    if (log) printf("  log: %s", log);
    free(log);

    float *x = frand(nx, -1, 1), *wa = frand(nw, -1, 1), *wb = frand(nw, -1, 1),
          *dya = frand(ny, -1, 1), *dyb = frand(ny, -1, 1), *dw0 = frand(nw, -1, 1);
    float *got = malloc((size_t)(nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)) * sizeof *got);
    float *got2 = malloc((size_t)(nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)) * sizeof *got2);
    double *ref = calloc((size_t)(nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)), sizeof *ref);
    double *abs = calloc((size_t)(nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)), sizeof *abs);
    float *d_x = up(x, nx * 4), *d_wa = up(wa, nw * 4), *d_wb = up(wb, nw * 4), *d_dya = up(dya, ny * 4),
          *d_dyb = up(dyb, ny * 4), *d_y = up(NULL, ny * 4), *d_dx = up(NULL, nx * 4),
          *d_dwa = up(NULL, nw * 4), *d_dwb = up(NULL, nw * 4);
    CHECK(x && wa && wb && dya && dyb && dw0 && got && got2 && ref && abs && d_x && d_wa && d_wb &&
          d_dya && d_dyb && d_y && d_dx && d_dwa && d_dwb);

    /* forward */
    ref_fwd(&s, x, wa, ref, abs);
    CHECK(gpu_conv3_fwd(c, d_x, d_wa, d_y, &err) == 0 && down(got, d_y, ny * 4));
    CHECK(within("forward", got, ref, abs, ny, 9.0 * cin));
    CHECK(gpu_conv3_fwd(c, d_x, d_wa, d_y, &err) == 0 && down(got2, d_y, ny * 4));
    CHECK(same_bits("forward", got, got2, ny));

    /* backward data, one convolution, then both */
    memset(ref, 0, (size_t)nx * sizeof *ref), memset(abs, 0, (size_t)nx * sizeof *abs);
    ref_bwd_data(&s, dya, wa, ref, abs);
    CHECK(gpu_conv3_bwd_data(c, d_dya, d_wa, NULL, NULL, d_dx, &err) == 0 && down(got, d_dx, nx * 4));
    CHECK(within("backward data (a)", got, ref, abs, nx, 9.0 * cout));
    ref_bwd_data(&s, dyb, wb, ref, abs);
    CHECK(gpu_conv3_bwd_data(c, d_dya, d_wa, d_dyb, d_wb, d_dx, &err) == 0 && down(got, d_dx, nx * 4));
    CHECK(within("backward data (a + b)", got, ref, abs, nx, 18.0 * cout + 1));
    CHECK(gpu_conv3_bwd_data(c, d_dya, d_wa, d_dyb, d_wb, d_dx, &err) == 0 && down(got2, d_dx, nx * 4));
    CHECK(same_bits("backward data", got, got2, nx));

    /* backward filter, beta 0 for both, then beta 1 onto dw0 */
    double K = (double)B * s.ho * s.wo;
    memset(ref, 0, (size_t)nw * sizeof *ref), memset(abs, 0, (size_t)nw * sizeof *abs);
    ref_bwd_filter(&s, x, dya, ref, abs);
    CHECK(gpu_conv3_bwd_filter(c, d_x, d_dya, d_dwa, d_dyb, d_dwb, 0.0f, &err) == 0 &&
          down(got, d_dwa, nw * 4));
    CHECK(within("backward filter (a)", got, ref, abs, nw, K));
    CHECK(gpu_conv3_bwd_filter(c, d_x, d_dya, d_dwa, d_dyb, d_dwb, 0.0f, &err) == 0 &&
          down(got2, d_dwa, nw * 4));
    CHECK(same_bits("backward filter", got, got2, nw));
    for (long i = 0; i < nw; i++) ref[i] = dw0[i], abs[i] = dw0[i] < 0 ? -dw0[i] : dw0[i];
    ref_bwd_filter(&s, x, dyb, ref, abs);
    CHECK(cudaMemcpy(d_dwb, dw0, nw * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(gpu_conv3_bwd_filter(c, d_x, d_dya, d_dwa, d_dyb, d_dwb, 1.0f, &err) == 0 &&
          down(got, d_dwb, nw * 4));
    CHECK(within("backward filter (b, beta 1)", got, ref, abs, nw, K + 1));

    /* the same three calls captured in a graph: the same bits */
    float *e_y = malloc(ny * 4), *e_dx = malloc(nx * 4), *e_dw = malloc(nw * 4);
    CHECK(e_y && e_dx && e_dw);
    CHECK(gpu_conv3_fwd(c, d_x, d_wa, d_y, &err) == 0 && down(e_y, d_y, ny * 4));
    CHECK(gpu_conv3_bwd_data(c, d_dya, d_wa, d_dyb, d_wb, d_dx, &err) == 0 && down(e_dx, d_dx, nx * 4));
    CHECK(gpu_conv3_bwd_filter(c, d_x, d_dya, d_dwa, NULL, NULL, 0.0f, &err) == 0 &&
          down(e_dw, d_dwa, nw * 4));
    cudaMemset(d_y, 0, ny * 4), cudaMemset(d_dx, 0, nx * 4), cudaMemset(d_dwa, 0, nw * 4);
    cudaDeviceSynchronize();
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    int captured = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
    int calls = captured && gpu_conv3_fwd(c, d_x, d_wa, d_y, &err) == 0 &&
                gpu_conv3_bwd_data(c, d_dya, d_wa, d_dyb, d_wb, d_dx, &err) == 0 &&
                gpu_conv3_bwd_filter(c, d_x, d_dya, d_dwa, NULL, NULL, 0.0f, &err) == 0;
    if (captured) captured = cudaStreamEndCapture(stream, &graph) == cudaSuccess;
    if (!calls) fprintf(stderr, "%s: under capture: %s\n", name, err.msg);
    CHECK(captured && calls && cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess &&
          cudaGraphLaunch(exec, stream) == cudaSuccess);
    CHECK(down(got, d_y, ny * 4) && same_bits("forward in a graph", e_y, got, ny));
    CHECK(down(got, d_dx, nx * 4) && same_bits("backward data in a graph", e_dx, got, nx));
    CHECK(down(got, d_dwa, nw * 4) && same_bits("backward filter in a graph", e_dw, got, nw));
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
    free(e_y), free(e_dx), free(e_dw);

    gpu_conv3_free(c);
    cudaFree(d_x), cudaFree(d_wa), cudaFree(d_wb), cudaFree(d_dya), cudaFree(d_dyb), cudaFree(d_y);
    cudaFree(d_dx), cudaFree(d_dwa), cudaFree(d_dwb);
    free(x), free(wa), free(wb), free(dya), free(dyb), free(dw0), free(got), free(got2), free(ref), free(abs);
}

static void test_conv_gpu(void) {
    stl_error err;
    for (int S = 64; S <= 512; S += 448) {
        tower_shape ts;
        CHECK(tower_shape_init(&ts, &table, S, &err) == 0);
        for (int k = 0; k < MODEL_N_BLOCKS; k++) {
            char name[64];
            snprintf(name, sizeof name, "S %d block %d", S, k);
            const tower_block *b = &ts.blk[k];
            conv_case(name, S == 512 ? 2 : 4, b->h, b->w, b->cin, b->f);
        }
    }
    conv_case("odd H, even W", 3, 13, 10, 8, 16);
    conv_case("odd H and W (no padded copy)", 3, 7, 9, 8, 12);
}

/* Row-major op(A) (m, k) times op(B) (k, n). */
static void ref_gemm(int ta, int tb, long m, long n, long k, const float *A, const float *B,
                     float beta, const float *C0, double *C, double *abs) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            double acc = beta != 0 ? (double)beta * C0[i * n + j] : 0, a = acc < 0 ? -acc : acc;
            for (long p = 0; p < k; p++) {
                double t = (double)(ta ? A[p * m + i] : A[i * k + p]) * (tb ? B[j * k + p] : B[p * n + j]);
                acc += t;
                a += t < 0 ? -t : t;
            }
            C[i * n + j] = acc;
            abs[i * n + j] = a;
        }
}
static void test_gemm_gpu(void) {
    static const long shapes[][3] = {{37, 53, 71}, {16, 64, 128}, {256, 128, 1000}, {5, 3, 1}};
    stl_error err;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        long m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
        float *A = frand(m * k, -1, 1), *B = frand(k * n, -1, 1), *C0 = frand(m * n, -1, 1);
        float *got = malloc(m * n * 4), *got2 = malloc(m * n * 4);
        double *ref = malloc(m * n * sizeof *ref), *abs = malloc(m * n * sizeof *abs);
        float *dA = up(A, m * k * 4), *dB = up(B, k * n * 4), *dC = up(NULL, m * n * 4);
        CHECK(A && B && C0 && got && got2 && ref && abs && dA && dB && dC);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bi = 0; bi < 2; bi++) {
                    float beta = (float)bi;
                    char what[96];
                    snprintf(what, sizeof what, "gemm %ldx%ldx%ld ta %d tb %d beta %d", m, n, k, ta, tb, bi);
                    ref_gemm(ta, tb, m, n, k, A, B, beta, C0, ref, abs);
                    /* beta 0 must not read C: NaN there */
                    if (bi) CHECK(cudaMemcpy(dC, C0, m * n * 4, cudaMemcpyHostToDevice) == cudaSuccess);
                    else CHECK(cudaMemset(dC, 0xff, m * n * 4) == cudaSuccess);
                    CHECK(gpu_lib_gemm(lib, ta, tb, m, n, k, dA, dB, beta, dC, &err) == 0 &&
                          down(got, dC, m * n * 4));
                    CHECK(within(what, got, ref, abs, m * n, (double)k + bi));
                    if (bi) CHECK(cudaMemcpy(dC, C0, m * n * 4, cudaMemcpyHostToDevice) == cudaSuccess);
                    CHECK(gpu_lib_gemm(lib, ta, tb, m, n, k, dA, dB, beta, dC, &err) == 0 &&
                          down(got2, dC, m * n * 4));
                    CHECK(same_bits(what, got, got2, m * n));
                }
        /* captured in a graph: the same bits (cuBLAS on its fixed workspace) */
        CHECK(gpu_lib_gemm(lib, 1, 0, m, n, k, dA, dB, 0.0f, dC, &err) == 0 && down(got, dC, m * n * 4));
        CHECK(cudaMemset(dC, 0, m * n * 4) == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess);
        cudaGraph_t graph = NULL;
        cudaGraphExec_t exec = NULL;
        int captured = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
        int called = captured && gpu_lib_gemm(lib, 1, 0, m, n, k, dA, dB, 0.0f, dC, &err) == 0;
        if (captured) captured = cudaStreamEndCapture(stream, &graph) == cudaSuccess;
        CHECK(captured && called && cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess &&
              cudaGraphLaunch(exec, stream) == cudaSuccess);
        CHECK(down(got2, dC, m * n * 4) && same_bits("gemm in a graph", got, got2, m * n));
        if (exec) cudaGraphExecDestroy(exec);
        if (graph) cudaGraphDestroy(graph);
        cudaFree(dA), cudaFree(dB), cudaFree(dC);
        free(A), free(B), free(C0), free(got), free(got2), free(ref), free(abs);
    }
    /* nothing to do is no error */
    CHECK_EQ_INT(gpu_lib_gemm(lib, 0, 0, 0, 4, 4, NULL, NULL, 0.0f, NULL, &err), 0);
    CHECK_EQ_INT(gpu_lib_gemm(lib, 0, 0, -1, 4, 4, NULL, NULL, 0.0f, NULL, &err), -1);
}

/* A library on a stream of its own; a blocking stream, so the test's plain
 * cudaMemcpy / cudaMemset on the legacy default stream stay ordered with it. */
static void test_create_gpu(void) {
    stl_error err;
    CHECK(cudaStreamCreate(&stream) == cudaSuccess);
    lib = gpu_lib_create(stream, 0, &err);
    if (!lib) fprintf(stderr, "a GPU, but %s\n", err.msg);
    CHECK(lib != NULL);
}

int main(void) {
    stl_error err;
    unsetenv("STL_QUIET"); /* the plans' log lines are checked */
    if (param_table_init(&table, 64, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    RUN(test_arguments_refused);
    RUN(test_geometry_every_block);
    RUN(test_geometry_every_size);
    RUN(test_padded_plan_equals_same_on_host);
    int n = 0;
    stl_error why;
    if (device_cuda_probe(&n, &why) != 0) {
        RUN(test_create_fails_without_gpu);
        printf("skipped: no GPU (%s): gpu_lib's convolutions and GEMMs not run\n", why.msg);
    } else {
        RUN(test_create_gpu);
        if (lib) {
            RUN(test_gemm_gpu);
            RUN(test_conv_gpu);
            gpu_lib_free(lib);
        }
        if (stream) cudaStreamDestroy(stream);
    }
    param_table_free(&table);
    return check_summary();
}

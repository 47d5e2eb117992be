/* gpu_backend_host.c — the GPU step's operations on the host (gpu_backend.h):
 * every own kernel as a loop over its elements calling the very body the
 * device kernel calls (gpu_kernels.h, gpu_step_kernels.h, gpu_layout.h,
 * gpu_update_kernels.h), the
 * GEMM through OpenBLAS, and the 3x3 convolutions as direct loops over the
 * KRSC weights (cuDNN's definition: cross-correlation, TF SAME padding).
 * Slow and single-threaded: it exists so the step's orchestration can be
 * checked on any CPU, not to train with.
 */
#include "model/gpu_backend.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/gpu_kernels.h"
#include "model/gpu_layout.h"
#include "model/gpu_math.h"
#include "model/gpu_step_kernels.h"
#include "model/gpu_update_kernels.h"

/* ---- memory ---- */

static void *h_alloc(void *lib, size_t bytes, stl_error *err) {
    (void)lib;
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p) stl_fail(err, "model (host backend): out of memory for %zu bytes", bytes);
    return p;
}
/* The host's "free device memory": the physical memory not in use. */
static int h_mem_free(void *lib, size_t *bytes, stl_error *err) {
    (void)lib;
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages < 0 || size < 0) return stl_fail(err, "model (host backend): sysconf failed");
    *bytes = (size_t)pages * (size_t)size;
    return 0;
}
static void h_release(void *lib, void *p) {
    (void)lib;
    free(p);
}
static int h_move(void *lib, void *dst, const void *src, size_t bytes, stl_error *err) {
    (void)lib;
    (void)err;
    if (bytes) memmove(dst, src, bytes);
    return 0;
}
static int h_zero(void *lib, void *dst, size_t bytes, stl_error *err) {
    (void)lib;
    (void)err;
    if (bytes) memset(dst, 0, bytes);
    return 0;
}
static const char *h_kernel_error(int code) {
    return code < 0 ? "arguments out of range" : "host backend error";
}

/* ---- own kernels: one loop per launch, same argument checks ---- */

#define UNUSED_STREAM (void)stream
static int bad(long n) { return n < 0; }

static int h_pool_avg_bn_add_fwd(const float *x, const float *a, const float *mul,
                                 const float *sub, const float *add, int B, int H, int W, int C,
                                 float *y, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || H < 1 || W < 1 || C < 1) return -1;
    long n = (long)B * gm_same_out(H, 2) * gm_same_out(W, 2) * C;
    for (long i = 0; i < n; i++) y[i] = gm_pool_avg_bn_add_fwd_at(x, a, mul, sub, add, H, W, C, i);
    return 0;
}
static int h_pool_avg_bwd(const float *dy, int B, int H, int W, int C, float *dx, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || H < 1 || W < 1 || C < 1) return -1;
    long n = (long)B * H * W * C;
    for (long i = 0; i < n; i++) dx[i] = gm_pool_avg_bwd_at(dy, H, W, C, i);
    return 0;
}
static int h_pool_mean_fwd(const float *x, int B, int hw, int C, float *y, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || hw < 1 || C < 1) return -1;
    for (long i = 0; i < (long)B * C; i++) y[i] = gm_pool_mean_fwd_at(x, hw, C, i);
    return 0;
}
static int h_pool_mean_bwd(const float *dy, int B, int hw, int C, float *dx, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || hw < 1 || C < 1) return -1;
    for (long i = 0; i < (long)B * hw * C; i++) dx[i] = gm_pool_mean_bwd_at(dy, hw, C, i);
    return 0;
}
static int h_bn_swish_fwd(const float *a, long rows, int C, const float *mean,
                          const float *invstd, const float *scale, float *h, void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1) return -1;
    for (long i = 0; i < rows * C; i++) h[i] = gm_bn_swish_fwd_at(a, C, mean, invstd, scale, i);
    return 0;
}
static int h_bn_swish_bwd(const float *dh, const float *a, long rows, int C, const float *mean,
                          const float *invstd, const float *scale, float *dz, void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1) return -1;
    for (long i = 0; i < rows * C; i++)
        dz[i] = gm_bn_swish_bwd_at(dh, a, C, mean, invstd, scale, i);
    return 0;
}
static int h_bn_partials(const float *a, long rows, int C, long R, double *psum, double *psumsq,
                         void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1 || R < 1) return -1;
    long n = gm_bn_blocks(rows, R) * C;
    for (long i = 0; i < n; i++) gm_bn_partial_at(a, rows, C, R, i / C, (int)(i % C), &psum[i], &psumsq[i]);
    return 0;
}
static int h_bn_stats(const double *psum, const double *psumsq, long nblk, int C, double count,
                      float eps, float *mean, float *var, float *invstd, void *stream) {
    UNUSED_STREAM;
    if (bad(nblk) || C < 1 || !(count > 0)) return -1;
    for (int c = 0; c < C; c++)
        gm_bn_stats_at(psum, psumsq, nblk, C, c, count, eps, &mean[c], &var[c], &invstd[c]);
    return 0;
}
static int h_bn_bwd_partials(const float *dz, const float *a, long rows, int C, const float *mean,
                             const float *invstd, long R, double *p1, double *p2, void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1 || R < 1) return -1;
    long n = gm_bn_blocks(rows, R) * C;
    for (long i = 0; i < n; i++)
        gm_bn_bwd_partial_at(dz, a, rows, C, mean, invstd, R, i / C, (int)(i % C), &p1[i], &p2[i]);
    return 0;
}
static int h_bn_bwd(const float *dz, const float *a, long rows, int C, const float *mean,
                    const float *invstd, const float *scale, const float *s1, const float *s2,
                    double count, float *da, void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1 || !(count > 0)) return -1;
    for (long i = 0; i < rows * C; i++)
        da[i] = gm_bn_bwd_at(dz, a, C, mean, invstd, scale, s1, s2, count, i);
    return 0;
}
static int h_triplet(const float *s, const float *p, const float *n, int B, int D, float reg,
                     int denom, float *ds, float *dp, float *dn, double *terms, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || D < 1 || denom < 1) return -1;
    for (int b = 0; b < B; b++) gm_triplet_at(s, p, n, D, reg, denom, b, ds, dp, dn, terms + 2 * b);
    return 0;
}
static int h_triplet_loss(const double *terms, int B, float reg, int denom, double *loss,
                          void *stream) {
    UNUSED_STREAM;
    if (B < 0 || denom < 1) return -1;
    *loss = gm_triplet_loss(terms, B, reg, denom);
    return 0;
}
static int h_conv0_pixels(const uint8_t *x, int B, int H, int W, int cin, const float *w,
                          int cout, float *y, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || H < 1 || W < 1 || cin < 1 || cout < 1) return -1;
    long n = (long)B * gm_same_out(H, 2) * gm_same_out(W, 2) * cout;
    for (long i = 0; i < n; i++) y[i] = gm_conv0_pixels_at(x, H, W, cin, w, cout, i);
    return 0;
}
static int h_bn_running(const float *mean, const float *var, const float *bias, int C,
                        float momentum, float *rmean, float *rvar, void *stream) {
    UNUSED_STREAM;
    if (C < 1) return -1;
    for (int c = 0; c < C; c++) gm_bn_running_at(mean, var, bias, momentum, c, rmean, rvar);
    return 0;
}
static int h_bn_eval(const float *rmean, const float *rvar, const float *bias, int C, float eps,
                     float *mean, float *var, float *invstd, void *stream) {
    UNUSED_STREAM;
    if (C < 1) return -1;
    for (int c = 0; c < C; c++) gm_bn_eval_at(rmean, rvar, bias, eps, c, mean, var, invstd);
    return 0;
}
static int h_bn_sums_float(const double *psum, const double *psumsq, long nblk, int C, float *buf,
                           void *stream) {
    UNUSED_STREAM;
    if (bad(nblk) || C < 1) return -1;
    for (int c = 0; c < C; c++) gm_bn_sums_float_at(psum, psumsq, nblk, C, c, buf);
    return 0;
}
static int h_bn_stats_float(const float *buf, int C, double count, float eps, float *mean,
                            float *var, float *invstd, void *stream) {
    UNUSED_STREAM;
    if (C < 1 || !(count > 0)) return -1;
    for (int c = 0; c < C; c++) gm_bn_stats_float_at(buf, C, count, eps, c, mean, var, invstd);
    return 0;
}
static int h_bn_bwd_sums(const double *p1, const double *p2, long nblk, int C, float *s1,
                         float *s2, float *dscale, float *dbias, void *stream) {
    UNUSED_STREAM;
    if (bad(nblk) || C < 1) return -1;
    for (int c = 0; c < C; c++) gm_bn_bwd_sums_at(p1, p2, nblk, C, c, s1, s2, dscale, dbias);
    return 0;
}
static int h_colsum_partials(const float *a, long rows, int C, long R, double *p, void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1 || R < 1) return -1;
    long n = gm_bn_blocks(rows, R) * C;
    for (long i = 0; i < n; i++) p[i] = gm_colsum_partial_at(a, rows, C, R, i / C, (int)(i % C));
    return 0;
}
static int h_colsum_add(const double *p, long nblk, int C, float *dst, void *stream) {
    UNUSED_STREAM;
    if (bad(nblk) || C < 1) return -1;
    for (int c = 0; c < C; c++) gm_colsum_add_at(p, nblk, C, c, dst);
    return 0;
}
static int h_bias_rows(const float *bias, long rows, int C, float *y, void *stream) {
    UNUSED_STREAM;
    if (bad(rows) || C < 1) return -1;
    for (long i = 0; i < rows * C; i++) y[i] = gm_bias_row_at(bias, C, i);
    return 0;
}
static int h_gather_images(const uint8_t *pool, const uint32_t *idx, int n, long img,
                           uint8_t *dst, void *stream) {
    UNUSED_STREAM;
    if (n < 0 || img < 1) return -1;
    for (long e = 0; e < (long)n * img; e++) dst[e] = gm_gather_byte_at(pool, idx, img, e);
    return 0;
}
static int h_vec_mul(const float *a, const float *b, long n, float *out, void *stream) {
    UNUSED_STREAM;
    if (bad(n)) return -1;
    for (long i = 0; i < n; i++) out[i] = gm_vec_mul_at(a, b, i);
    return 0;
}
static int h_conv0_wgrad_partials(const uint8_t *x, int B, int H, int W, int cin,
                                  const float *dy, int cout, long R, double *p, void *stream) {
    UNUSED_STREAM;
    if (B < 0 || H < 1 || W < 1 || cin < 1 || cout < 1 || R < 1) return -1;
    long rows = (long)B * gm_same_out(H, 2) * gm_same_out(W, 2), E = 9L * cin * cout;
    long n = gm_bn_blocks(rows, R) * E;
    for (long i = 0; i < n; i++)
        p[i] = gm_conv0_wgrad_partial_at(x, H, W, cin, dy, cout, rows, R, i / E, i % E);
    return 0;
}
static int h_krsc_from_hwio(const float *hwio, int k, int cin, int cout, float *krsc,
                            void *stream) {
    UNUSED_STREAM;
    if (k < 1 || cin < 1 || cout < 1) return -1;
    gm_repack_hwio_to_krsc(hwio, krsc, k, cin, cout);
    return 0;
}
static int h_hwio_from_krsc(const float *krsc, int k, int cin, int cout, float *hwio,
                            void *stream) {
    UNUSED_STREAM;
    if (k < 1 || cin < 1 || cout < 1) return -1;
    gm_repack_krsc_to_hwio(krsc, hwio, k, cin, cout);
    return 0;
}
static int h_loss_slot(const double *loss, float *dst, void *stream) {
    UNUSED_STREAM;
    *dst = gm_loss_slot(loss);
    return 0;
}
static int h_finite_partials(const float *x, long n, long R, float *p, void *stream) {
    UNUSED_STREAM;
    if (bad(n) || R < 1) return -1;
    for (long j = 0; j < gm_finite_blocks(n, R); j++) p[j] = gm_finite_partial_at(x, n, R, j);
    return 0;
}
static int h_finite_flag(const float *p, long nblk, int *flag, void *stream) {
    UNUSED_STREAM;
    if (bad(nblk)) return -1;
    *flag = gm_finite_flag(p, nblk);
    return 0;
}
static int h_adam_gated(float *p, const float *g, float *mu, float *nu, long n,
                        const float *hyper, const int *skip, float b1, float b2, float eps,
                        void *stream) {
    UNUSED_STREAM;
    if (bad(n)) return -1;
    for (long i = 0; i < n; i++) gm_adam_gated_at(p, g, mu, nu, i, hyper, skip, b1, b2, eps);
    return 0;
}

/* ---- the library calls ---- */

static int h_gemm(void *lib, int ta, int tb, long m, long n, long k, const float *A,
                  const float *B, float beta, float *C, stl_error *err) {
    (void)lib;
    if (m < 0 || n < 0 || k < 0) return stl_fail(err, "model (host backend): gemm: bad sizes");
    if (m == 0 || n == 0) return 0;
    if (k == 0) {
        for (long i = 0; i < m * n; i++) C[i] *= beta;
        return 0;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, 1.0f, A, ta ? (int)m : (int)k, B, tb ? (int)k : (int)n,
                beta, C, (int)n);
    return 0;
}

typedef struct {
    int B, H, W, cin, cout, ho, wo, pt, pl;
} host_conv3;

static void *h_conv3_plan(void *lib, int B, int H, int W, int cin, int cout, stl_error *err) {
    (void)lib;
    host_conv3 *c = malloc(sizeof *c);
    if (!c) {
        stl_fail(err, "model (host backend): out of memory");
        return NULL;
    }
    *c = (host_conv3){B, H, W, cin, cout, gm_same_out(H, 2), gm_same_out(W, 2),
                      gm_same_pad_before(H, 3, 2), gm_same_pad_before(W, 3, 2)};
    return c;
}
static void h_conv3_free(void *plan) { free(plan); }

/* Input position of tap k of output o (stride 2), or -1 outside [0, n). */
static int tap(int o, int k, int pad, int n) {
    int i = o * 2 - pad + k;
    return i >= 0 && i < n ? i : -1;
}

static int h_conv3_fwd(void *plan, const float *x, const float *w, float *y, stl_error *err) {
    (void)err;
    const host_conv3 *c = plan;
    for (int b = 0; b < c->B; b++)
        for (int oh = 0; oh < c->ho; oh++)
            for (int ow = 0; ow < c->wo; ow++)
                for (int co = 0; co < c->cout; co++) {
                    float acc = 0.0f;
                    for (int kh = 0; kh < 3; kh++) {
                        int ih = tap(oh, kh, c->pt, c->H);
                        if (ih < 0) continue;
                        for (int kw = 0; kw < 3; kw++) {
                            int iw = tap(ow, kw, c->pl, c->W);
                            if (iw < 0) continue;
                            const float *xi = x + (((long)b * c->H + ih) * c->W + iw) * c->cin;
                            const float *wk = w + gm_krsc_offset(co, kh, kw, 0, 3, c->cin);
                            for (int ci = 0; ci < c->cin; ci++) acc += xi[ci] * wk[ci];
                        }
                    }
                    y[(((long)b * c->ho + oh) * c->wo + ow) * c->cout + co] = acc;
                }
    return 0;
}

/* dx[b, ih, iw, ci] of one output gradient: a gather over the outputs whose
 * windows read (ih, iw). */
static float bwd_data_at(const host_conv3 *c, const float *dy, const float *w, int b, int ih,
                         int iw, int ci) {
    float acc = 0.0f;
    for (int kh = 0; kh < 3; kh++) {
        int t = ih + c->pt - kh;
        if (t < 0 || t % 2 || t / 2 >= c->ho) continue;
        for (int kw = 0; kw < 3; kw++) {
            int u = iw + c->pl - kw;
            if (u < 0 || u % 2 || u / 2 >= c->wo) continue;
            const float *d = dy + (((long)b * c->ho + t / 2) * c->wo + u / 2) * c->cout;
            for (int co = 0; co < c->cout; co++)
                acc += d[co] * w[gm_krsc_offset(co, kh, kw, ci, 3, c->cin)];
        }
    }
    return acc;
}

static int h_conv3_bwd_data(void *plan, const float *dy_a, const float *w_a, const float *dy_b,
                            const float *w_b, float *dx, stl_error *err) {
    (void)err;
    const host_conv3 *c = plan;
    for (int b = 0; b < c->B; b++)
        for (int ih = 0; ih < c->H; ih++)
            for (int iw = 0; iw < c->W; iw++)
                for (int ci = 0; ci < c->cin; ci++) {
                    float v = bwd_data_at(c, dy_a, w_a, b, ih, iw, ci);
                    if (dy_b) v += bwd_data_at(c, dy_b, w_b, b, ih, iw, ci);
                    dx[(((long)b * c->H + ih) * c->W + iw) * c->cin + ci] = v;
                }
    return 0;
}

static void bwd_filter_one(const host_conv3 *c, const float *x, const float *dy, float *dw,
                           float beta) {
    for (int co = 0; co < c->cout; co++)
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
                for (int ci = 0; ci < c->cin; ci++) {
                    float acc = 0.0f;
                    for (int b = 0; b < c->B; b++)
                        for (int oh = 0; oh < c->ho; oh++) {
                            int ih = tap(oh, kh, c->pt, c->H);
                            if (ih < 0) continue;
                            for (int ow = 0; ow < c->wo; ow++) {
                                int iw = tap(ow, kw, c->pl, c->W);
                                if (iw < 0) continue;
                                acc += x[(((long)b * c->H + ih) * c->W + iw) * c->cin + ci] *
                                       dy[(((long)b * c->ho + oh) * c->wo + ow) * c->cout + co];
                            }
                        }
                    float *d = dw + gm_krsc_offset(co, kh, kw, ci, 3, c->cin);
                    *d = beta == 0.0f ? acc : beta * *d + acc;
                }
}

static int h_conv3_bwd_filter(void *plan, const float *x, const float *dy_a, float *dw_a,
                              const float *dy_b, float *dw_b, float beta, stl_error *err) {
    (void)err;
    const host_conv3 *c = plan;
    bwd_filter_one(c, x, dy_a, dw_a, beta);
    if (dy_b) bwd_filter_one(c, x, dy_b, dw_b, beta);
    return 0;
}

void gpu_backend_host(gpu_backend *be) {
    *be = (gpu_backend){
        .name = "host",
        .alloc = h_alloc,
        .release = h_release,
        .upload = h_move,
        .download = h_move,
        .zero = h_zero,
        .copy = h_move,
        .mem_free = h_mem_free,
        .host_alloc = h_alloc,
        .host_free = h_release,
        .upload_copy = h_move,
        .kernel_error = h_kernel_error,
        .pool_avg_bn_add_fwd = h_pool_avg_bn_add_fwd,
        .pool_avg_bwd = h_pool_avg_bwd,
        .pool_mean_fwd = h_pool_mean_fwd,
        .pool_mean_bwd = h_pool_mean_bwd,
        .bn_swish_fwd = h_bn_swish_fwd,
        .bn_swish_bwd = h_bn_swish_bwd,
        .bn_partials = h_bn_partials,
        .bn_stats = h_bn_stats,
        .bn_bwd_partials = h_bn_bwd_partials,
        .bn_bwd = h_bn_bwd,
        .triplet = h_triplet,
        .triplet_loss = h_triplet_loss,
        .conv0_pixels = h_conv0_pixels,
        .bn_running = h_bn_running,
        .bn_eval = h_bn_eval,
        .bn_sums_float = h_bn_sums_float,
        .bn_stats_float = h_bn_stats_float,
        .bn_bwd_sums = h_bn_bwd_sums,
        .colsum_partials = h_colsum_partials,
        .colsum_add = h_colsum_add,
        .bias_rows = h_bias_rows,
        .vec_mul = h_vec_mul,
        .gather_images = h_gather_images,
        .conv0_wgrad_partials = h_conv0_wgrad_partials,
        .krsc_from_hwio = h_krsc_from_hwio,
        .hwio_from_krsc = h_hwio_from_krsc,
        .loss_slot = h_loss_slot,
        .finite_partials = h_finite_partials,
        .finite_flag = h_finite_flag,
        .adam_gated = h_adam_gated,
        .gemm = h_gemm,
        .conv3_plan = h_conv3_plan,
        .conv3_free = h_conv3_free,
        .conv3_fwd = h_conv3_fwd,
        .conv3_bwd_data = h_conv3_bwd_data,
        .conv3_bwd_filter = h_conv3_bwd_filter,
    };
}

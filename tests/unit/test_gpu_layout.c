/* test_gpu_layout.c — the GPU's convolution weight layout (model/gpu_layout.h)
 * on the host:
 *   - for every 3x3 convolution of the model (all blocks, S = 64), HWIO ->
 *     KRSC -> HWIO gives back every weight, and each repack is a bijection
 *     (distinct values in, each appears once out);
 *   - the offsets mean what the names say: a weight set at (co, kh, kw, ci)
 *     in HWIO is found at the same coordinates in KRSC;
 *   - a direct convolution as cuDNN defines it for NHWC input and a KRSC
 *     filter (cross-correlation, SAME padding as gpu_math.h gives it)
 *     equals the CPU path's im2col + GEMM with the HWIO kernel (conv.h,
 *     linear.h), for the model's stride-2 3x3 shapes and odd sizes.
 * Error budget of the last check: both sides sum the same K = 9 Cin
 * products in float but in different orders (the GEMM blocks and may use
 * FMA), so each differs from the exact sum by at most about K * 2^-24 *
 * sum|terms| (the first-order bound of recursive summation); the check
 * allows 2 K 2^-24 sum|terms| + 1e-30 per output, from sum|terms| computed
 * in double. A wrong layout moves whole terms and fails it by far.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/conv.h"
#include "model/gpu_layout.h"
#include "model/linear.h"
#include "model/params.h"
#include "model/tower.h"

static uint64_t lcg = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(lcg >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

typedef struct {
    int h, w, cin, cout;
} conv_case;

/* The model's 3x3 convolutions at S = 64: each block's input size, Cin and
 * Cout. */
static int model_convs(conv_case c[]) {
    param_table table;
    tower_shape s;
    stl_error err;
    if (param_table_init(&table, 64, &err) != 0 || tower_shape_init(&s, &table, 64, &err) != 0) {
        fprintf(stderr, "model shape: %s\n", err.msg);
        return 0;
    }
    for (int k = 0; k < MODEL_N_BLOCKS; k++)
        c[k] = (conv_case){s.blk[k].h, s.blk[k].w, s.blk[k].cin, s.blk[k].f};
    param_table_free(&table);
    return MODEL_N_BLOCKS;
}

static void test_round_trip_and_bijection(void) {
    conv_case c[MODEL_N_BLOCKS];
    int n = model_convs(c);
    CHECK(n == MODEL_N_BLOCKS);
    for (int b = 0; b < n; b++) {
        long len = 9L * c[b].cin * c[b].cout;
        float *w = malloc((size_t)len * sizeof *w), *p = malloc((size_t)len * sizeof *p),
              *back = malloc((size_t)len * sizeof *back);
        unsigned char *seen = calloc((size_t)len, 1);
        if (!w || !p || !back || !seen) {
            CHECK(!"alloc");
            return;
        }
        for (long i = 0; i < len; i++) w[i] = (float)i; /* exact below 2^24 */
        gm_repack_hwio_to_krsc(w, p, 3, c[b].cin, c[b].cout);
        long dup = 0;
        for (long i = 0; i < len; i++) {
            long v = (long)p[i];
            if (v < 0 || v >= len || seen[v]++) dup++;
        }
        CHECK_EQ_INT(dup, 0);
        gm_repack_krsc_to_hwio(p, back, 3, c[b].cin, c[b].cout);
        CHECK(memcmp(w, back, (size_t)len * sizeof *w) == 0);
        free(w), free(p), free(back), free(seen);
    }
}

static void test_offsets_name_the_same_weight(void) {
    const int k = 3, cin = 5, cout = 7;
    float w[3 * 3 * 5 * 7], p[3 * 3 * 5 * 7], back[3 * 3 * 5 * 7];
    for (int co = 0; co < cout; co++)
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
                for (int ci = 0; ci < cin; ci++) {
                    memset(w, 0, sizeof w);
                    w[gm_hwio_offset(co, kh, kw, ci, k, cin, cout)] = 1.0f;
                    gm_repack_hwio_to_krsc(w, p, k, cin, cout);
                    long at = gm_krsc_offset(co, kh, kw, ci, k, cin);
                    int ones = 0;
                    for (int i = 0; i < k * k * cin * cout; i++) ones += p[i] != 0.0f;
                    CHECK(ones == 1 && p[at] == 1.0f);
                    gm_repack_krsc_to_hwio(p, back, k, cin, cout);
                    CHECK(memcmp(w, back, sizeof w) == 0);
                }
    /* KRSC: Cin fastest, then kw, kh, Cout; HWIO: Cout fastest. */
    CHECK_EQ_INT(gm_krsc_offset(0, 0, 0, 1, k, cin), 1);
    CHECK_EQ_INT(gm_krsc_offset(0, 0, 1, 0, k, cin), cin);
    CHECK_EQ_INT(gm_krsc_offset(1, 0, 0, 0, k, cin), k * k * cin);
    CHECK_EQ_INT(gm_hwio_offset(1, 0, 0, 0, k, cin, cout), 1);
    CHECK_EQ_INT(gm_hwio_offset(0, 0, 0, 1, k, cin, cout), cout);
}

/* One image's direct convolution, NHWC input, KRSC filter, stride s, SAME
 * padding, accumulated in float over (kh, kw, ci); |terms| summed in double. */
static void direct_conv_krsc(const float *x, int h, int w, int cin, const float *krsc, int cout,
                             int s, float *y, double *absum) {
    const int k = 3;
    int ho = gm_same_out(h, s), wo = gm_same_out(w, s);
    int pt = gm_same_pad_before(h, k, s), pl = gm_same_pad_before(w, k, s);
    for (int oh = 0; oh < ho; oh++)
        for (int ow = 0; ow < wo; ow++)
            for (int co = 0; co < cout; co++) {
                float acc = 0.0f;
                double ab = 0.0;
                for (int kh = 0; kh < k; kh++)
                    for (int kw = 0; kw < k; kw++) {
                        int ih = oh * s - pt + kh, iw = ow * s - pl + kw;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                        for (int ci = 0; ci < cin; ci++) {
                            float t = x[((long)ih * w + iw) * cin + ci] *
                                      krsc[gm_krsc_offset(co, kh, kw, ci, k, cin)];
                            acc += t;
                            ab += fabs((double)t);
                        }
                    }
                long o = ((long)oh * wo + ow) * cout + co;
                y[o] = acc;
                absum[o] = ab;
            }
}

static void test_direct_conv_equals_cpu_conv(void) {
    conv_case cases[MODEL_N_BLOCKS + 3];
    int nc = model_convs(cases);
    CHECK(nc == MODEL_N_BLOCKS);
    cases[nc++] = (conv_case){7, 5, 3, 4};   /* odd sizes: padding 1 before and after */
    cases[nc++] = (conv_case){1, 1, 2, 3};   /* one pixel */
    cases[nc++] = (conv_case){10, 6, 16, 8}; /* even: 0 before, 1 after */
    for (int c = 0; c < nc; c++) {
        int h = cases[c].h, w = cases[c].w, cin = cases[c].cin, cout = cases[c].cout;
        conv_geom g;
        conv_geom_init(&g, h, w, cin, 3, 2);
        long rows = (long)g.ho * g.wo, kn = 9L * cin * cout;
        float *x = malloc((size_t)h * w * cin * sizeof *x);
        float *hwio = malloc((size_t)kn * sizeof *hwio), *krsc = malloc((size_t)kn * sizeof *krsc);
        float *col = malloc((size_t)rows * g.kdim * sizeof *col);
        float *y_cpu = malloc((size_t)rows * cout * sizeof *y_cpu);
        float *y_dir = malloc((size_t)rows * cout * sizeof *y_dir);
        double *absum = malloc((size_t)rows * cout * sizeof *absum);
        if (!x || !hwio || !krsc || !col || !y_cpu || !y_dir || !absum) {
            CHECK(!"alloc");
            return;
        }
        for (long i = 0; i < (long)h * w * cin; i++) x[i] = frand();
        for (long i = 0; i < kn; i++) hwio[i] = frand();
        conv_im2col(&g, x, 0, rows, col);
        linear_forward(col, rows, g.kdim, cout, hwio, NULL, y_cpu);
        gm_repack_hwio_to_krsc(hwio, krsc, 3, cin, cout);
        direct_conv_krsc(x, h, w, cin, krsc, cout, 2, y_dir, absum);
        long bad = 0;
        double worst = 0;
        for (long i = 0; i < rows * cout; i++) {
            double tol = 2.0 * g.kdim * ldexp(1.0, -24) * absum[i] + 1e-30;
            double d = fabs((double)y_cpu[i] - (double)y_dir[i]);
            if (d > tol) bad++;
            if (d / tol > worst) worst = d / tol;
        }
        if (bad)
            fprintf(stderr, "case %dx%dx%d -> %d: %ld of %ld outputs outside the budget (worst %.1fx)\n",
                    h, w, cin, cout, bad, rows * cout, worst);
        CHECK_EQ_INT(bad, 0);
        free(x), free(hwio), free(krsc), free(col), free(y_cpu), free(y_dir), free(absum);
    }
}

int main(void) {
    RUN(test_round_trip_and_bijection);
    RUN(test_offsets_name_the_same_weight);
    RUN(test_direct_conv_equals_cpu_conv);
    return check_summary();
}

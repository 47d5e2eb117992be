/* conv.c — SAME-padding geometry, im2col and col2im (see conv.h). */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "model/conv.h"

#include <string.h>

#include "model/gpu_math.h"
#include "model/pixel.h"
#include "model/simd.h"

int conv_same_out(int n, int stride) { return gm_same_out(n, stride); }

int conv_same_pad_before(int n, int k, int stride) { return gm_same_pad_before(n, k, stride); }

void conv_geom_init(conv_geom *g, int h, int w, int cin, int k, int stride) {
    g->h = h;
    g->w = w;
    g->cin = cin;
    g->k = k;
    g->stride = stride;
    g->ho = conv_same_out(h, stride);
    g->wo = conv_same_out(w, stride);
    g->pad_top = conv_same_pad_before(h, k, stride);
    g->pad_left = conv_same_pad_before(w, k, stride);
    g->kdim = k * k * cin;
}

/* One im2col row: output pixel (oh, ow) of image img, whose elements of type
 * T become floats through LOAD (a copy for floats, pixel_normalize for uint8
 * pixels); padding is 0. The k taps of an image row are contiguous. */
#define IM2COL_ROW(name, T, LOAD)                                                              \
    static inline __attribute__((always_inline)) void name(const conv_geom *g, const T *img,   \
                                                           int oh, int ow, float *dst) {       \
        const int k = g->k, cin = g->cin, H = g->h, W = g->w, n = k * cin;                    \
        int iw0 = ow * g->stride - g->pad_left;                                                \
        for (int kh = 0; kh < k; kh++) {                                                       \
            int ih = oh * g->stride - g->pad_top + kh;                                         \
            float *d = dst + kh * n;                                                           \
            if (ih < 0 || ih >= H) {                                                           \
                memset(d, 0, sizeof(float) * (size_t)n);                                       \
                continue;                                                                      \
            }                                                                                  \
            const T *row = img + (long)ih * W * cin;                                           \
            for (int kw = 0; kw < k; kw++, d += cin) {                                         \
                int iw = iw0 + kw;                                                             \
                if (iw < 0 || iw >= W) {                                                       \
                    memset(d, 0, sizeof(float) * (size_t)cin);                                 \
                    continue;                                                                  \
                }                                                                              \
                const T *src = row + (long)iw * cin;                                           \
                for (int c = 0; c < cin; c++) d[c] = LOAD(src[c]);                             \
            }                                                                                  \
        }                                                                                      \
    }
#define LOAD_FLOAT(v) (v)
IM2COL_ROW(im2col_row, float, LOAD_FLOAT)
IM2COL_ROW(im2col_row_pixels, uint8_t, pixel_normalize)
#undef LOAD_FLOAT

/* Rows [r0, r1) of the im2col matrix, walking (image, oh, ow) in NHWC order;
 * the model's first convolution (3x3 over 3 channels) gets constant sizes,
 * so its copies become a few vector moves. */
#define IM2COL_ROWS(ROW, T)                                                                    \
    const long howo = (long)g->ho * g->wo;                                                     \
    long b = r0 / howo, rem = r0 % howo;                                                       \
    int oh = (int)(rem / g->wo), ow = (int)(rem % g->wo);                                      \
    const long img_elems = (long)g->h * g->w * g->cin;                                         \
    const int first = g->k == 3 && g->cin == 3;                                                \
    for (long r = r0; r < r1; r++) {                                                           \
        if (first) {                                                                           \
            conv_geom g3 = *g;                                                                 \
            g3.k = 3;                                                                          \
            g3.cin = 3;                                                                        \
            ROW(&g3, x + b * img_elems, oh, ow, col + (r - r0) * 27);                          \
        } else {                                                                               \
            ROW(g, x + b * img_elems, oh, ow, col + (r - r0) * g->kdim);                       \
        }                                                                                      \
        if (++ow == g->wo) {                                                                   \
            ow = 0;                                                                            \
            if (++oh == g->ho) {                                                               \
                oh = 0;                                                                        \
                b++;                                                                           \
            }                                                                                  \
        }                                                                                      \
    }

STL_KERNEL(conv_im2col,
           (const conv_geom *g, const float *x, long r0, long r1, float *col),
           (g, x, r0, r1, col)) {
    IM2COL_ROWS(im2col_row, float)
}

STL_KERNEL(conv_im2col_pixels,
           (const conv_geom *g, const uint8_t *x, long r0, long r1, float *col),
           (g, x, r0, r1, col)) {
    IM2COL_ROWS(im2col_row_pixels, uint8_t)
}

STL_KERNEL(conv_col2im,
           (const conv_geom *g, const float *dcol, long p0, long p1, float *dx),
           (g, dcol, p0, p1, dx)) {
    const int k = g->k, cin = g->cin, H = g->h, W = g->w, s = g->stride;
    const long hw = (long)H * W;
    for (long p = p0; p < p1; p++) {
        long b = p / hw, rem = p % hw;
        int ih = (int)(rem / W), iw = (int)(rem % W);
        float *d = dx + (p - p0) * cin;
        for (int c = 0; c < cin; c++) d[c] = 0.0f;
        /* Output rows oh with oh*s - pad_top + kh == ih for some kh in [0, k). */
        for (int kh = 0; kh < k; kh++) {
            int t = ih + g->pad_top - kh;
            if (t < 0 || t % s) continue;
            int oh = t / s;
            if (oh >= g->ho) continue;
            for (int kw = 0; kw < k; kw++) {
                int u = iw + g->pad_left - kw;
                if (u < 0 || u % s) continue;
                int ow = u / s;
                if (ow >= g->wo) continue;
                const float *src = dcol + ((b * g->ho + oh) * (long)g->wo + ow) * g->kdim +
                                   (kh * k + kw) * cin;
                for (int c = 0; c < cin; c++) d[c] += src[c];
            }
        }
    }
}

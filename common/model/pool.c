/* pool.c — average pooling and global mean, forward and backward (pool.h).
 *
 * Both directions walk pixels in order with the window bounds computed per
 * row and column (no divisions per pixel; the bounds are gpu_math.h's, which
 * the GPU kernels share); the channel loops are inlined per
 * common channel count, as in batchnorm.c.
 */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "model/pool.h"

#include "model/conv.h"
#include "model/gpu_math.h"
#include "model/simd.h"

#define INLINE static inline __attribute__((always_inline))
#define DISPATCH(cn, CALL)                                                      \
    switch (cn) {                                                               \
    case 16: { const int n_ = 16; CALL; } break;                                \
    case 32: { const int n_ = 32; CALL; } break;                                \
    case 64: { const int n_ = 64; CALL; } break;                                \
    case 128: { const int n_ = 128; CALL; } break;                              \
    default: { const int n_ = cn; CALL; } break;                                \
    }


/* d[0..C) = (sum of the (h0..h1) x (w0..w1) window of the (rows, width, C)
 * image src) / 9: one output pixel of the forward pass (src = x) and one
 * input pixel of the backward pass (src = dy) alike. cn == C; the DISPATCH
 * macro makes it a compile-time constant for the common channel counts. */
INLINE void window_sum_div9(const float *src, int width, int C, int cn, int h0, int h1, int w0,
                            int w1, float *d) {
    if (cn > 256) {
        for (int c = 0; c < cn; c++) {
            float acc = 0.0f;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++) acc += src[((long)h * width + w) * C + c];
            d[c] = acc * (1.0f / 9.0f);
        }
        return;
    }
    float acc[256];
    for (int c = 0; c < cn; c++) acc[c] = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            const float *s = src + ((long)h * width + w) * C;
            for (int c = 0; c < cn; c++) acc[c] += s[c];
        }
    for (int c = 0; c < cn; c++) d[c] = acc[c] * (1.0f / 9.0f);
}

STL_KERNEL(pool_avg_forward,
           (const float *x, int H, int W, int C, long r0, long r1, float *y),
           (x, H, W, C, r0, r1, y)) {
    int ho = conv_same_out(H, 2), wo = conv_same_out(W, 2);
    int pt = conv_same_pad_before(H, 3, 2), pl = conv_same_pad_before(W, 3, 2);
    long howo = (long)ho * wo;
    long b = r0 / howo, rem = r0 % howo;
    int oh = (int)(rem / wo), ow = (int)(rem % wo);
    for (long r = r0; r < r1; r++) {
        int h0, h1, w0, w1;
        gm_pool_window(oh, pt, H, &h0, &h1);
        gm_pool_window(ow, pl, W, &w0, &w1);
        const float *img = x + b * (long)H * W * C;
        float *d = y + (r - r0) * C;
        DISPATCH(C, window_sum_div9(img, W, C, n_, h0, h1, w0, w1, d));
        if (++ow == wo) {
            ow = 0;
            if (++oh == ho) oh = 0, b++;
        }
    }
}

INLINE void fwd_pixel_bn_add(const float *img, const float *aimg, const float *mul,
                             const float *sub, const float *add, int W, int C, int cn, int h0,
                             int h1, int w0, int w1, float *d) {
    float acc[256];
    for (int c = 0; c < cn; c++) acc[c] = 0.0f;
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++) {
            const float *s = img + ((long)ih * W + iw) * C, *t = aimg + ((long)ih * W + iw) * C;
            for (int c = 0; c < cn; c++) acc[c] += s[c] + ((t[c] - sub[c]) * mul[c] + add[c]);
        }
    for (int c = 0; c < cn; c++) d[c] = acc[c] * (1.0f / 9.0f);
}

STL_KERNEL(pool_avg_forward_bn_add,
           (const float *x, const float *a, const float *mul, const float *sub, const float *add,
            int H, int W, int C, long r0, long r1, float *y),
           (x, a, mul, sub, add, H, W, C, r0, r1, y)) {
    int ho = conv_same_out(H, 2), wo = conv_same_out(W, 2);
    int pt = conv_same_pad_before(H, 3, 2), pl = conv_same_pad_before(W, 3, 2);
    long howo = (long)ho * wo;
    long b = r0 / howo, rem = r0 % howo;
    int oh = (int)(rem / wo), ow = (int)(rem % wo);
    for (long r = r0; r < r1; r++) {
        int h0, h1, w0, w1;
        gm_pool_window(oh, pt, H, &h0, &h1);
        gm_pool_window(ow, pl, W, &w0, &w1);
        long off = b * (long)H * W * C;
        DISPATCH(C, fwd_pixel_bn_add(x + off, a + off, mul, sub, add, W, C, n_, h0, h1, w0, w1,
                                     y + (r - r0) * C));
        if (++ow == wo) {
            ow = 0;
            if (++oh == ho) oh = 0, b++;
        }
    }
}

STL_KERNEL(pool_avg_backward,
           (const float *dy, int H, int W, int C, long p0, long p1, float *dx),
           (dy, H, W, C, p0, p1, dx)) {
    int ho = conv_same_out(H, 2), wo = conv_same_out(W, 2);
    int pt = conv_same_pad_before(H, 3, 2), pl = conv_same_pad_before(W, 3, 2);
    long hw = (long)H * W;
    long b = p0 / hw, rem = p0 % hw;
    int ih = (int)(rem / W), iw = (int)(rem % W);
    for (long p = p0; p < p1; p++) {
        int h0, h1, w0, w1;
        gm_pool_covering(ih, pt, ho, &h0, &h1);
        gm_pool_covering(iw, pl, wo, &w0, &w1);
        const float *g = dy + b * (long)ho * wo * C;
        float *d = dx + (p - p0) * C;
        DISPATCH(C, window_sum_div9(g, wo, C, n_, h0, h1, w0, w1, d));
        if (++iw == W) {
            iw = 0;
            if (++ih == H) ih = 0, b++;
        }
    }
}

void pool_mean_forward(const float *x, int hw, int C, long b0, long b1, float *y) {
    for (long b = b0; b < b1; b++) {
        float *d = y + b * C;
        for (int c = 0; c < C; c++) d[c] = 0.0f;
        for (int p = 0; p < hw; p++) {
            const float *s = x + (b * hw + p) * C;
            for (int c = 0; c < C; c++) d[c] += s[c];
        }
        for (int c = 0; c < C; c++) d[c] /= (float)hw;
    }
}

void pool_mean_backward(const float *dy, int hw, int C, long b0, long b1, float *dx) {
    for (long b = b0; b < b1; b++) {
        for (int p = 0; p < hw; p++) {
            float *d = dx + (b * hw + p) * C;
            for (int c = 0; c < C; c++) d[c] = dy[b * C + c] / (float)hw;
        }
    }
}

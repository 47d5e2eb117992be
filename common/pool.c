/* pool.c — average pooling and global mean, forward and backward (pool.h). */
#pragma GCC optimize("O3")
#include "pool.h"

#include "conv.h"
#include "simd.h"

STL_HOT
void pool_avg_forward(const float *x, int H, int W, int C, long r0, long r1, float *y) {
    int ho = conv_same_out(H, 2), wo = conv_same_out(W, 2);
    int pt = conv_same_pad_before(H, 3, 2), pl = conv_same_pad_before(W, 3, 2);
    long howo = (long)ho * wo;
    const float inv9 = 1.0f / 9.0f;
    for (long r = r0; r < r1; r++) {
        long b = r / howo, rem = r % howo;
        int oh = (int)(rem / wo), ow = (int)(rem % wo);
        float *d = y + (r - r0) * C;
        for (int c = 0; c < C; c++) d[c] = 0.0f;
        for (int kh = 0; kh < 3; kh++) {
            int ih = oh * 2 - pt + kh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < 3; kw++) {
                int iw = ow * 2 - pl + kw;
                if (iw < 0 || iw >= W) continue;
                const float *s = x + ((b * H + ih) * (long)W + iw) * C;
                for (int c = 0; c < C; c++) d[c] += s[c];
            }
        }
        for (int c = 0; c < C; c++) d[c] *= inv9;
    }
}

STL_HOT
void pool_avg_backward(const float *dy, int H, int W, int C, long p0, long p1, float *dx) {
    int ho = conv_same_out(H, 2), wo = conv_same_out(W, 2);
    int pt = conv_same_pad_before(H, 3, 2), pl = conv_same_pad_before(W, 3, 2);
    long hw = (long)H * W;
    const float inv9 = 1.0f / 9.0f;
    for (long p = p0; p < p1; p++) {
        long b = p / hw, rem = p % hw;
        int ih = (int)(rem / W), iw = (int)(rem % W);
        float *d = dx + (p - p0) * C;
        for (int c = 0; c < C; c++) d[c] = 0.0f;
        for (int kh = 0; kh < 3; kh++) {
            int t = ih + pt - kh;
            if (t < 0 || t % 2) continue;
            int oh = t / 2;
            if (oh >= ho) continue;
            for (int kw = 0; kw < 3; kw++) {
                int u = iw + pl - kw;
                if (u < 0 || u % 2) continue;
                int ow = u / 2;
                if (ow >= wo) continue;
                const float *s = dy + ((b * ho + oh) * (long)wo + ow) * C;
                for (int c = 0; c < C; c++) d[c] += s[c];
            }
        }
        for (int c = 0; c < C; c++) d[c] *= inv9;
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

/* resize.c — area (downscale) / bilinear (upscale) resampling of the centred
 * square of an RGB image to S x S; the rule is stated in resize.h. Tap
 * tables are built per call in the caller's scratch buffer, so the function
 * allocates nothing and is safe to call from many threads with separate
 * scratch. */
#include "resize.h"

#include <math.h>

/* Taps of one axis: for output i, taps start at src index start[i], count[i]
 * of them, weights w[i*max_taps + t]. */
typedef struct {
    int *start, *count;
    float *w;
    int max_taps;
} taps;

static int taps_max(int n, int S) {
    if (n < S) return 2;
    return n / S + 2; /* an interval of length r = n/S touches <= floor(r)+2 pixels */
}

static void taps_build(taps *t, int n, int S) {
    double r = (double)n / (double)S;
    for (int i = 0; i < S; i++) {
        float *w = t->w + (size_t)i * t->max_taps;
        if (n >= S) {
            double a = i * r, b = (i + 1) * r;
            if (b > n) b = n;
            int j0 = (int)floor(a), j1 = (int)ceil(b); /* [j0, j1) */
            if (j1 > n) j1 = n;
            if (j1 <= j0) j1 = j0 + 1;
            int k = 0;
            for (int j = j0; j < j1 && k < t->max_taps; j++) {
                double lo = a > j ? a : j, hi = b < j + 1 ? b : j + 1;
                w[k++] = (float)((hi - lo) / r);
            }
            t->start[i] = j0;
            t->count[i] = k;
        } else {
            double c = (i + 0.5) * r - 0.5;
            if (c < 0) c = 0;
            if (c > n - 1) c = n - 1;
            int j0 = (int)floor(c);
            double f = c - j0;
            t->start[i] = j0;
            if (j0 >= n - 1 || f == 0.0) {
                w[0] = 1.0f;
                t->count[i] = 1;
            } else {
                w[0] = (float)(1.0 - f);
                w[1] = (float)f;
                t->count[i] = 2;
            }
        }
    }
}

size_t resize_scratch_floats(int w, int h, int S) {
    int n = w < h ? w : h;
    size_t mt = (size_t)taps_max(n, S);
    /* two axes of (start, count, weights) + one row of n*3 floats */
    return 2 * ((size_t)S * 2 + (size_t)S * mt) + (size_t)n * 3;
}

static uint8_t to_u8(float v) {
    v += 0.5f;
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

void resize_square(const uint8_t *src, int w, int h, size_t stride, int S,
                   uint8_t *out, float *tmp) {
    int n = w < h ? w : h;
    int ox = (w - n) / 2, oy = (h - n) / 2;
    int mt = taps_max(n, S);
    taps ty, tx;
    float *p = tmp;
    ty.start = (int *)p; p += S;
    ty.count = (int *)p; p += S;
    ty.w = p; p += (size_t)S * mt;
    tx.start = (int *)p; p += S;
    tx.count = (int *)p; p += S;
    tx.w = p; p += (size_t)S * mt;
    float *row = p; /* n*3 */
    ty.max_taps = tx.max_taps = mt;
    taps_build(&ty, n, S);
    taps_build(&tx, n, S);

    for (int y = 0; y < S; y++) {
        /* vertical: row = sum_t wy[t] * src row (oy + start + t), window columns */
        const float *wy = ty.w + (size_t)y * mt;
        for (int x = 0; x < n * 3; x++) row[x] = 0.0f;
        for (int t = 0; t < ty.count[y]; t++) {
            const uint8_t *s = src + (size_t)(oy + ty.start[y] + t) * stride + (size_t)ox * 3;
            float wt = wy[t];
            for (int x = 0; x < n * 3; x++) row[x] += wt * (float)s[x];
        }
        /* horizontal */
        uint8_t *o = out + (size_t)y * S * 3;
        for (int x = 0; x < S; x++) {
            const float *wx = tx.w + (size_t)x * mt;
            const float *r = row + (size_t)tx.start[x] * 3;
            float a0 = 0, a1 = 0, a2 = 0;
            for (int t = 0; t < tx.count[x]; t++) {
                a0 += wx[t] * r[t * 3 + 0];
                a1 += wx[t] * r[t * 3 + 1];
                a2 += wx[t] * r[t * 3 + 2];
            }
            o[x * 3 + 0] = to_u8(a0);
            o[x * 3 + 1] = to_u8(a1);
            o[x * 3 + 2] = to_u8(a2);
        }
    }
}

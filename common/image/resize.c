/* resize.c — area (downscale) / bilinear (upscale) resampling of the centred
 * square of an RGB image to S x S; the rule is stated in resize.h. Tap
 * tables are built per call in the caller's scratch buffer, so the function
 * allocates nothing and is safe to call from many threads with separate
 * scratch. */
#include "image/resize.h"

#include <math.h>
#include <string.h>

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
    /* two axes of (start, count, weights) + one row of n*3 floats + 1 pad */
    return 2 * ((size_t)S * 2 + (size_t)S * mt) + (size_t)n * 3 + 1;
}

static uint8_t to_u8(float v) {
    v += 0.5f;
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

typedef float v4f __attribute__((vector_size(16)));

/* Vertical pass for one output row: row[x] = sum_t w[t] * src[(y0+t)*stride + x]
 * for x < len, four lanes at a time (GCC/Clang vector extensions). */
static void vpass(float *restrict row, const uint8_t *src, size_t stride, const float *w,
                  int count, int len) {
    int x = 0;
    for (; x + 4 <= len; x += 4) {
        const uint8_t *s = src + x;
        v4f acc = {0, 0, 0, 0};
        for (int t = 0; t < count; t++, s += stride) {
            v4f v = {(float)s[0], (float)s[1], (float)s[2], (float)s[3]};
            acc += w[t] * v;
        }
        memcpy(row + x, &acc, sizeof acc);
    }
    for (; x < len; x++) {
        float a = 0;
        for (int t = 0; t < count; t++) a += w[t] * (float)src[(size_t)t * stride + x];
        row[x] = a;
    }
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
    float *restrict row = p; /* n*3, then one pad float read by the last pixel's spare lane */
    row[n * 3] = 0.0f;
    ty.max_taps = tx.max_taps = mt;
    taps_build(&ty, n, S);
    taps_build(&tx, n, S);
    const int *restrict xs = tx.start, *restrict xc = tx.count;
    const float *restrict xw = tx.w;

    for (int y = 0; y < S; y++) {
        vpass(row, src + (size_t)(oy + ty.start[y]) * stride + (size_t)ox * 3, stride,
              ty.w + (size_t)y * mt, ty.count[y], n * 3);
        uint8_t *restrict o = out + (size_t)y * S * 3;
        for (int x = 0; x < S; x++) {
            /* lanes r, g, b and one spare (the next pixel's r, or the pad) */
            const float *wx = xw + (size_t)x * mt;
            const float *r = row + (size_t)xs[x] * 3;
            v4f acc = {0, 0, 0, 0};
            for (int t = 0; t < xc[x]; t++) {
                v4f v;
                memcpy(&v, r + t * 3, sizeof v);
                acc += wx[t] * v;
            }
            o[x * 3 + 0] = to_u8(acc[0]);
            o[x * 3 + 1] = to_u8(acc[1]);
            o[x * 3 + 2] = to_u8(acc[2]);
        }
    }
}

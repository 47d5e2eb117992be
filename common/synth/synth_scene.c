/* synth_scene.c — planning and rendering stl-synth's scenes (see synth_scene.h). */
#include "synth/synth_scene.h"

#include <math.h>

#include "synth/synth_style2.h"

static float uniform(rng_state *r, float lo, float hi) { return lo + (hi - lo) * rng_float(r); }

static float quantise(float x) {
    x = roundf(x * 10000.0f) / 10000.0f;
    return x < 0 ? 0 : (x > 1 ? 1 : x);
}

/* Smallest i with cdf[i] > x (binary search). */
static size_t cdf_find(const double *cdf, size_t n, double x) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static float overlap(const float *a, const float *b) {
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (w <= 0 || h <= 0) return 0;
    float aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
    return w * h / fminf(aa, ab); /* fraction of the smaller box covered */
}

void synth_scene_plan(synth_scene *s, int style, rng_state *r, const double *cdf,
                      size_t n_products, size_t n_drawable) {
    static const float count_cdf[SYNTH_SCENE_MAX] = {0.35f, 0.65f, 0.85f, 1.0f};
    static const float side_lo[SYNTH_SCENE_MAX] = {0.45f, 0.38f, 0.33f, 0.30f};
    static const float side_hi[SYNTH_SCENE_MAX] = {0.75f, 0.55f, 0.46f, 0.40f};
    float x = rng_float(r);
    int n = 1;
    while (n < SYNTH_SCENE_MAX && x >= count_cdf[n - 1]) n++;
    if ((size_t)n > n_drawable) n = (int)n_drawable;
    double total = cdf[n_products - 1];
    s->n = 0;
    for (int k = 0; k < n; k++) {
        /* Distinct products: redraw a repeat (bounded; a scene may end smaller). */
        for (int tries = 0; tries < 64; tries++) {
            uint32_t p = (uint32_t)cdf_find(cdf, n_products, rng_double(r) * total);
            int dup = 0;
            for (int j = 0; j < s->n; j++) dup |= s->product[j] == p;
            if (!dup) { s->product[s->n++] = p; break; }
        }
    }
    for (int k = 0; k < s->n; k++) {
        float best[4] = {0, 0, 0, 0}, best_ov = 2;
        for (int tries = 0; tries < 32 && best_ov > 0.12f; tries++) {
            float side = uniform(r, side_lo[s->n - 1], side_hi[s->n - 1]);
            float w = side * uniform(r, 0.9f, 1.1f), h = side * uniform(r, 0.9f, 1.1f);
            float l = uniform(r, 0, 1 - w), t = uniform(r, 0, 1 - h);
            float b[4] = {quantise(l), quantise(t), quantise(l + w), quantise(t + h)};
            float ov = 0;
            for (int j = 0; j < k; j++) ov = fmaxf(ov, overlap(b, s->bbox[j]));
            if (ov < best_ov) {
                best_ov = ov;
                for (int i = 0; i < 4; i++) best[i] = b[i];
            }
        }
        for (int i = 0; i < 4; i++) s->bbox[k][i] = best[i];
    }
    s->rng = *r;
    s->style = style;
}

/* A random solid (sometimes striped) shape of about `size` of the side. */
static void distractor(synth_image *im, rng_state *r, float size_lo, float size_hi) {
    synth_shape sh = {.n = 0};
    synth_material m = {0};
    m.base = synth_hsv(rng_float(r), uniform(r, 0.0f, 0.8f), uniform(r, 0.2f, 0.95f));
    m.second = synth_hsv(rng_float(r), uniform(r, 0.0f, 0.6f), uniform(r, 0.2f, 0.95f));
    m.pattern = rng_float(r) < 0.2f ? SYNTH_PATTERN_STRIPES : SYNTH_PATTERN_SOLID;
    m.freq = uniform(r, 2, 8);
    m.angle = uniform(r, 0, 3.14159f);
    m.shade = uniform(r, 0, 0.2f);
    switch (rng_uniform(r, 4)) {
    case 0: synth_shape_ellipse(&sh, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f); break;
    case 1: synth_shape_rect(&sh, 0, 0, 0, 0, 1, 1, uniform(r, 0, 0.3f)); break;
    case 2: synth_shape_capsule(&sh, 0, 0, 0.1f, uniform(r, 0, 1), 0.9f, uniform(r, 0, 1),
                                uniform(r, 0.04f, 0.12f)); break;
    default: {
        float tri[6];
        for (int i = 0; i < 6; i++) tri[i] = rng_float(r);
        synth_shape_poly(&sh, 0, 0, tri, 3);
    }
    }
    float w = uniform(r, size_lo, size_hi) * (float)im->w;
    float h = uniform(r, size_lo, size_hi) * (float)im->h;
    float x = uniform(r, -0.1f, 1.0f) * (float)im->w - 0.1f * w;
    float y = uniform(r, -0.1f, 1.0f) * (float)im->h - 0.1f * h;
    synth_paint(im, &sh, &m, x, y, x + w, y + h, NULL);
}

/* Each product at its box, with a brightness and a colour jitter from r. */
void synth_scene_paste_products(const synth_scene *s, const synth_product *products, rng_state *r,
                                synth_image *im) {
    for (int k = 0; k < s->n; k++) {
        synth_shape shape;
        const synth_product *p = &products[s->product[k]];
        synth_product_shape(p, &shape);
        float light = uniform(r, 0.8f, 1.15f), gain[3];
        for (int c = 0; c < 3; c++) gain[c] = light * uniform(r, 0.92f, 1.08f);
        synth_paint(im, &shape, &p->mat, s->bbox[k][0] * (float)im->w,
                    s->bbox[k][1] * (float)im->h, s->bbox[k][2] * (float)im->w,
                    s->bbox[k][3] * (float)im->h, gain);
    }
}

void synth_scene_render(const synth_scene *s, const synth_product *products, synth_image *im) {
    if (s->style == 2) {
        synth2_scene_render(s, products, im);
        return;
    }
    rng_state r = s->rng;
    synth_rgb a = synth_hsv(rng_float(&r), uniform(&r, 0.05f, 0.6f), uniform(&r, 0.3f, 0.9f));
    synth_rgb b = synth_hsv(rng_float(&r), uniform(&r, 0.05f, 0.6f), uniform(&r, 0.3f, 0.9f));
    synth_fill_gradient(im, a, b, uniform(&r, 0, 6.2831853f));
    synth_add_value_noise(im, &r, 2 + (int)rng_uniform(&r, 6), uniform(&r, 10, 35));
    if (rng_float(&r) < 0.5f) { /* a floor or table band */
        synth_shape band = {.n = 0};
        synth_shape_rect(&band, 0, 0, 0, 0, 1, 1, 0);
        synth_material m = {0};
        m.base = synth_hsv(rng_float(&r), uniform(&r, 0.05f, 0.5f), uniform(&r, 0.2f, 0.8f));
        m.shade = uniform(&r, 0, 0.3f);
        float top = uniform(&r, 0.55f, 0.85f) * (float)im->h;
        synth_paint(im, &band, &m, 0, top, (float)im->w, (float)im->h, NULL);
    }
    int n_back = 4 + (int)rng_uniform(&r, 7);
    for (int i = 0; i < n_back; i++) distractor(im, &r, 0.08f, 0.45f);
    synth_scene_paste_products(s, products, &r, im);
    int n_front = (int)rng_uniform(&r, 3);
    for (int i = 0; i < n_front; i++) distractor(im, &r, 0.04f, 0.1f);
    synth_add_pixel_noise(im, &r, 6);
}

/* synth_draw.c — shapes, materials and painting for stl-synth (see synth_draw.h). */
#include "synth/synth_draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int synth_image_init(synth_image *im, int w, int h, stl_error *err) {
    im->w = w;
    im->h = h;
    im->px = calloc((size_t)w * (size_t)h * 3, 1);
    if (!im->px) return stl_fail(err, "image %dx%d: out of memory", w, h);
    return 0;
}

void synth_image_free(synth_image *im) {
    free(im->px);
    im->px = NULL;
}

synth_rgb synth_hsv(float h, float s, float v) {
    h = (h - floorf(h)) * 6.0f;
    int i = (int)h;
    float f = h - (float)i;
    float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (i % 6) {
    case 0: return (synth_rgb){v, t, p};
    case 1: return (synth_rgb){q, v, p};
    case 2: return (synth_rgb){p, v, t};
    case 3: return (synth_rgb){p, q, v};
    case 4: return (synth_rgb){t, p, v};
    default: return (synth_rgb){v, p, q};
    }
}

static synth_prim *shape_add(synth_shape *s, int kind, int part, int cut) {
    if (s->n >= SYNTH_SHAPE_MAX) return NULL;
    synth_prim *p = &s->prim[s->n++];
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->part = (uint8_t)part;
    p->cut = (uint8_t)cut;
    return p;
}

static void set_box(synth_prim *p, float u0, float v0, float u1, float v1) {
    p->box[0] = u0, p->box[1] = v0, p->box[2] = u1, p->box[3] = v1;
}

int synth_shape_ellipse(synth_shape *s, int part, int cut, float cx, float cy, float rx, float ry) {
    synth_prim *p = shape_add(s, SYNTH_PRIM_ELLIPSE, part, cut);
    if (!p) return -1;
    p->p[0] = cx, p->p[1] = cy, p->p[2] = rx, p->p[3] = ry;
    set_box(p, cx - rx, cy - ry, cx + rx, cy + ry);
    return 0;
}

int synth_shape_rect(synth_shape *s, int part, int cut, float x0, float y0, float x1, float y1,
                     float radius) {
    synth_prim *p = shape_add(s, SYNTH_PRIM_RECT, part, cut);
    if (!p) return -1;
    p->p[0] = x0, p->p[1] = y0, p->p[2] = x1, p->p[3] = y1, p->p[4] = radius;
    set_box(p, x0, y0, x1, y1);
    return 0;
}

int synth_shape_capsule(synth_shape *s, int part, int cut, float x0, float y0, float x1,
                        float y1, float radius) {
    synth_prim *p = shape_add(s, SYNTH_PRIM_CAPSULE, part, cut);
    if (!p) return -1;
    p->p[0] = x0, p->p[1] = y0, p->p[2] = x1, p->p[3] = y1, p->p[4] = radius;
    set_box(p, fminf(x0, x1) - radius, fminf(y0, y1) - radius, fmaxf(x0, x1) + radius,
            fmaxf(y0, y1) + radius);
    return 0;
}

int synth_shape_poly(synth_shape *s, int part, int cut, const float *xy, int n) {
    if (n < 3 || n > SYNTH_POLY_MAX) return -1;
    synth_prim *p = shape_add(s, SYNTH_PRIM_POLY, part, cut);
    if (!p) return -1;
    p->n = (uint8_t)n;
    memcpy(p->p, xy, sizeof(float) * 2 * (size_t)n);
    set_box(p, xy[0], xy[1], xy[0], xy[1]);
    for (int i = 1; i < n; i++)
        set_box(p, fminf(p->box[0], xy[2 * i]), fminf(p->box[1], xy[2 * i + 1]),
                fmaxf(p->box[2], xy[2 * i]), fmaxf(p->box[3], xy[2 * i + 1]));
    return 0;
}

static int prim_inside(const synth_prim *p, float u, float v) {
    const float *q = p->p;
    if (u < p->box[0] || u > p->box[2] || v < p->box[1] || v > p->box[3]) return 0;
    switch (p->kind) {
    case SYNTH_PRIM_ELLIPSE: {
        float dx = (u - q[0]) / q[2], dy = (v - q[1]) / q[3];
        return dx * dx + dy * dy <= 1.0f;
    }
    case SYNTH_PRIM_RECT: {
        if (u < q[0] || u > q[2] || v < q[1] || v > q[3]) return 0;
        float r = q[4];
        if (r <= 0) return 1;
        /* Distance from the inner rectangle shrunk by r. */
        float cx = u < q[0] + r ? q[0] + r : (u > q[2] - r ? q[2] - r : u);
        float cy = v < q[1] + r ? q[1] + r : (v > q[3] - r ? q[3] - r : v);
        return (u - cx) * (u - cx) + (v - cy) * (v - cy) <= r * r;
    }
    case SYNTH_PRIM_CAPSULE: {
        float dx = q[2] - q[0], dy = q[3] - q[1];
        float len2 = dx * dx + dy * dy;
        float t = len2 > 0 ? ((u - q[0]) * dx + (v - q[1]) * dy) / len2 : 0;
        t = t < 0 ? 0 : (t > 1 ? 1 : t);
        float ex = u - (q[0] + t * dx), ey = v - (q[1] + t * dy);
        return ex * ex + ey * ey <= q[4] * q[4];
    }
    case SYNTH_PRIM_POLY: {
        int in = 0;
        for (int i = 0, j = p->n - 1; i < p->n; j = i++) {
            float xi = q[2 * i], yi = q[2 * i + 1], xj = q[2 * j], yj = q[2 * j + 1];
            if ((yi > v) != (yj > v) && u < (xj - xi) * (v - yi) / (yj - yi) + xi) in = !in;
        }
        return in;
    }
    }
    return 0;
}

int synth_shape_hit(const synth_shape *s, float u, float v) {
    /* The last primitive containing (u, v) decides. */
    for (int i = s->n - 1; i >= 0; i--)
        if (prim_inside(&s->prim[i], u, v)) return s->prim[i].cut ? -1 : s->prim[i].part;
    return -1;
}

static synth_rgb mix(synth_rgb a, synth_rgb b, float t) {
    return (synth_rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

/* 32-bit hash of a pattern cell (SYNTH_PATTERN_SPOTS). */
static uint32_t cell_hash(uint32_t seed, int i, int j) {
    uint32_t h = seed ^ ((uint32_t)i * 0x9e3779b1u) ^ ((uint32_t)j * 0x85ebca77u);
    h ^= h >> 16, h *= 0x7feb352du, h ^= h >> 15, h *= 0x846ca68bu, h ^= h >> 16;
    return h;
}

/* Part 0's colour for style 2's patterns; a, b: the rotated coordinates
 * times freq. */
static synth_rgb pattern2_color(const synth_material *m, float ca, float sa, float u, float v,
                                float a, float b) {
    float w = m->dot_radius;
    switch (m->pattern) {
    case SYNTH_PATTERN_GRADIENT: {
        float t = 0.5f + (u - 0.5f) * ca + (v - 0.5f) * sa;
        return mix(m->base, m->second, t < 0 ? 0 : (t > 1 ? 1 : t));
    }
    case SYNTH_PATTERN_PLAID: {
        int in_a = a - floorf(a) < w, in_b = b - floorf(b) < w;
        return in_a && in_b ? m->second : (in_a || in_b ? mix(m->base, m->second, 0.5f) : m->base);
    }
    case SYNTH_PATTERN_CHEVRON: {
        float z = a + 1.2f * fabsf(b - floorf(b) - 0.5f);
        return z - floorf(z) < 0.5f ? m->second : m->base;
    }
    case SYNTH_PATTERN_RINGS: {
        float d = sqrtf((u - 0.5f) * (u - 0.5f) + (v - 0.5f) * (v - 0.5f)) * m->freq * 1.5f;
        return d - floorf(d) < 0.5f ? m->second : m->base;
    }
    case SYNTH_PATTERN_SPOTS: {
        int i = (int)floorf(a), j = (int)floorf(b);
        uint32_t h = cell_hash(m->seed, i, j);
        float r = w * (0.6f + 0.6f * (float)(h & 255) / 255.0f);
        float cx = 0.5f + (0.5f - r) * ((float)((h >> 8) & 255) / 127.5f - 1.0f);
        float cy = 0.5f + (0.5f - r) * ((float)((h >> 16) & 255) / 127.5f - 1.0f);
        float ry = r * (0.55f + 0.45f * (float)(h >> 24) / 255.0f);
        float dx = (a - (float)i - cx) / r, dy = (b - (float)j - cy) / ry;
        return dx * dx + dy * dy <= 1.0f ? m->second : m->base;
    }
    default: /* SYNTH_PATTERN_SPLIT */
        return (u - 0.5f) * ca + (v - 0.5f) * sa > w - 0.25f ? m->second : m->base;
    }
}

/* synth_material_color with the pattern direction (cos, sin) precomputed. */
static synth_rgb material_color(const synth_material *m, float ca, float sa, int part, float u,
                                float v) {
    synth_rgb c = m->base;
    if (part == 1) {
        c = m->accent;
        if (m->sheen != 0) c = mix(c, (synth_rgb){0, 0, 0}, m->sheen * (2 * v - 1));
    } else if (m->pattern >= SYNTH_PATTERN_GRADIENT) {
        c = pattern2_color(m, ca, sa, u, v, (u * ca + v * sa) * m->freq,
                           (-u * sa + v * ca) * m->freq);
    } else if (m->pattern != SYNTH_PATTERN_SOLID) {
        float a = (u * ca + v * sa) * m->freq, b = (-u * sa + v * ca) * m->freq;
        int second = 0;
        if (m->pattern == SYNTH_PATTERN_STRIPES) {
            second = a - floorf(a) < 0.5f;
        } else if (m->pattern == SYNTH_PATTERN_CHECKS) {
            second = ((int)floorf(a) + (int)floorf(b)) & 1;
        } else if (m->pattern == SYNTH_PATTERN_DOTS) {
            float fa = a - floorf(a) - 0.5f, fb = b - floorf(b) - 0.5f;
            second = fa * fa + fb * fb < m->dot_radius * m->dot_radius;
        }
        if (second) c = m->second;
    }
    float k = 1.0f - m->shade * v;
    if (m->shade_u != 0) k -= m->shade_u * u;
    return (synth_rgb){c.r * k, c.g * k, c.b * k};
}

synth_rgb synth_material_color(const synth_material *m, int part, float u, float v) {
    return material_color(m, cosf(m->angle), sinf(m->angle), part, u, v);
}

static inline uint8_t to_byte(float x) {
    x = x * 255.0f + 0.5f;
    return x <= 0 ? 0 : (x >= 255 ? 255 : (uint8_t)x);
}

void synth_paint(synth_image *im, const synth_shape *s, const synth_material *m, float x0,
                 float y0, float x1, float y1, const float gain[3]) {
    static const float sub[2] = {0.25f, 0.75f};
    float w = x1 - x0, h = y1 - y0;
    if (w <= 0 || h <= 0) return;
    /* Only pixels under the union of the painted primitives' boxes. */
    float bu0 = 1, bv0 = 1, bu1 = 0, bv1 = 0;
    for (int i = 0; i < s->n; i++) {
        const float *b = s->prim[i].box;
        if (s->prim[i].cut) continue;
        bu0 = fminf(bu0, b[0]), bv0 = fminf(bv0, b[1]);
        bu1 = fmaxf(bu1, b[2]), bv1 = fmaxf(bv1, b[3]);
    }
    if (bu0 > bu1 || bv0 > bv1) return;
    int px0 = (int)floorf(x0 + w * fmaxf(bu0, 0)), py0 = (int)floorf(y0 + h * fmaxf(bv0, 0));
    int px1 = (int)ceilf(x0 + w * fminf(bu1, 1)) + 1, py1 = (int)ceilf(y0 + h * fminf(bv1, 1)) + 1;
    if (px0 < 0) px0 = 0;
    if (py0 < 0) py0 = 0;
    if (px1 > im->w) px1 = im->w;
    if (py1 > im->h) py1 = im->h;
    float ca = cosf(m->angle), sa = sinf(m->angle), iw = 1.0f / w, ih = 1.0f / h;
    for (int y = py0; y < py1; y++) {
        uint8_t *row = im->px + (size_t)y * (size_t)im->w * 3;
        for (int x = px0; x < px1; x++) {
            float r = 0, g = 0, b = 0;
            int hits = 0;
            for (int sy = 0; sy < 2; sy++)
                for (int sx = 0; sx < 2; sx++) {
                    float u = ((float)x + sub[sx] - x0) * iw, v = ((float)y + sub[sy] - y0) * ih;
                    if (u < 0 || u > 1 || v < 0 || v > 1) continue;
                    int part = synth_shape_hit(s, u, v);
                    if (part < 0) continue;
                    synth_rgb c = material_color(m, ca, sa, part, u, v);
                    r += c.r, g += c.g, b += c.b;
                    hits++;
                }
            if (!hits) continue;
            float cov = (float)hits / 4.0f, inv = 1.0f / (float)hits;
            r *= inv, g *= inv, b *= inv;
            if (gain) r *= gain[0], g *= gain[1], b *= gain[2];
            uint8_t *p = row + (size_t)x * 3;
            p[0] = to_byte(cov * r + (1 - cov) * (float)p[0] / 255.0f);
            p[1] = to_byte(cov * g + (1 - cov) * (float)p[1] / 255.0f);
            p[2] = to_byte(cov * b + (1 - cov) * (float)p[2] / 255.0f);
        }
    }
}

void synth_fill_gradient(synth_image *im, synth_rgb a, synth_rgb b, float angle) {
    float ca = cosf(angle), sa = sinf(angle);
    /* Project the corners to find the range of the ramp. */
    float lo = 0, hi = 0;
    for (int k = 0; k < 4; k++) {
        float d = (float)((k & 1) * im->w) * ca + (float)((k >> 1) * im->h) * sa;
        if (k == 0 || d < lo) lo = d;
        if (k == 0 || d > hi) hi = d;
    }
    float span = hi - lo > 1e-6f ? hi - lo : 1;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float t = (((float)x + 0.5f) * ca + ((float)y + 0.5f) * sa - lo) / span;
            uint8_t *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
            p[0] = to_byte(a.r + (b.r - a.r) * t);
            p[1] = to_byte(a.g + (b.g - a.g) * t);
            p[2] = to_byte(a.b + (b.b - a.b) * t);
        }
}

static inline uint8_t add_clamp(uint8_t p, float d) {
    float x = (float)p + d;
    return x <= 0 ? 0 : (x >= 255 ? 255 : (uint8_t)(x + 0.5f));
}

void synth_add_value_noise(synth_image *im, rng_state *r, int cells, float amp) {
    if (cells < 1) cells = 1;
    int g = cells + 1;
    float grid[3 * 17 * 17];
    if (g > 17) g = 17, cells = 16;
    for (int i = 0; i < 3 * g * g; i++) grid[i] = (2 * rng_float(r) - 1) * amp;
    for (int y = 0; y < im->h; y++) {
        float fy = ((float)y + 0.5f) / (float)im->h * (float)cells;
        int iy = (int)fy;
        if (iy >= cells) iy = cells - 1;
        float ty = fy - (float)iy;
        for (int x = 0; x < im->w; x++) {
            float fx = ((float)x + 0.5f) / (float)im->w * (float)cells;
            int ix = (int)fx;
            if (ix >= cells) ix = cells - 1;
            float tx = fx - (float)ix;
            uint8_t *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
            for (int c = 0; c < 3; c++) {
                const float *q = grid + c * g * g;
                float a = q[iy * g + ix] * (1 - tx) + q[iy * g + ix + 1] * tx;
                float b = q[(iy + 1) * g + ix] * (1 - tx) + q[(iy + 1) * g + ix + 1] * tx;
                p[c] = add_clamp(p[c], a * (1 - ty) + b * ty);
            }
        }
    }
}

void synth_add_pixel_noise(synth_image *im, rng_state *r, float amp) {
    size_t n = (size_t)im->w * (size_t)im->h * 3;
    for (size_t i = 0; i < n; i++) im->px[i] = add_clamp(im->px[i], (2 * rng_float(r) - 1) * amp);
}

/* synth_style2.c — style 2's product looks and silhouettes (synth_style2.h).
 *
 * Each category has two or three silhouette families, none of them style 1's
 * (synth_product.c): param[3] (or param[0]) picks the family, the other
 * params vary its proportions. Silhouettes are in the unit square, v down;
 * part 0 carries the pattern, part 1 the accent. Looks come from four
 * palettes and style 2's six patterns (synth_draw.h), never style 1's.
 */
#include "synth/synth_style2.h"

#include <math.h>

static float uniform(rng_state *r, float lo, float hi) { return lo + (hi - lo) * rng_float(r); }
static float clamp01(float x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

/* hsv(h, s, v) with s then v drawn from r (in this order: C leaves the order
 * of a call's arguments open, so no call here draws twice). */
static synth_rgb draw_hsv(rng_state *r, float h, float s_lo, float s_hi, float v_lo, float v_hi) {
    float s = uniform(r, s_lo, s_hi);
    return synth_hsv(h, s, uniform(r, v_lo, v_hi));
}

void synth2_product_look(synth_product *p, rng_state *r) {
    synth_material *m = &p->mat;
    float h = rng_float(r), s, v;
    switch (rng_uniform(r, 4)) {
    case 0: s = uniform(r, 0.15f, 0.4f), v = uniform(r, 0.82f, 0.98f); break;  /* pastel */
    case 1: h = uniform(r, 0.02f, 0.14f), s = uniform(r, 0.35f, 0.75f),
            v = uniform(r, 0.3f, 0.7f); break;                                   /* earth */
    case 2: s = uniform(r, 0.6f, 0.95f), v = uniform(r, 0.25f, 0.55f); break;  /* jewel */
    default: s = uniform(r, 0.8f, 1.0f), v = uniform(r, 0.85f, 1.0f); break;   /* neon */
    }
    m->base = synth_hsv(h, s, v);
    float second = rng_float(r), dv = uniform(r, 0.25f, 0.45f);
    if (second < 0.15f) m->second = synth_hsv(0.11f, 0.12f, 0.95f);      /* ivory */
    else if (second < 0.25f) m->second = synth_hsv(0.62f, 0.6f, 0.22f);  /* navy */
    else { /* tonal */
        float h2 = h + uniform(r, -0.1f, 0.1f);
        m->second = synth_hsv(h2, clamp01(s * uniform(r, 0.5f, 1.3f)), v > 0.6f ? v - dv : v + dv);
    }
    switch (rng_uniform(r, 4)) {
    case 0: m->accent = synth_hsv(0.12f, 0.65f, 0.85f); break;  /* gold */
    case 1: m->accent = synth_hsv(0.0f, 0.0f, 0.78f); break;    /* silver */
    case 2: m->accent = synth_hsv(rng_float(r), 0.2f, 0.12f); break;
    default: m->accent = draw_hsv(r, h + 0.5f, 0.4f, 0.9f, 0.4f, 0.9f);
    }
    if (p->category == SYNTH_CAT_SUNGLASSES) { /* tinted lenses */
        float lens = rng_float(r);
        m->accent = draw_hsv(r, lens, 0.3f, 0.8f, 0.15f, 0.45f);
    }
    m->sheen = uniform(r, 0.15f, 0.35f);
    float pat = rng_float(r);
    m->pattern = pat < 0.2f ? SYNTH_PATTERN_GRADIENT
                 : pat < 0.4f ? SYNTH_PATTERN_PLAID
                 : pat < 0.55f ? SYNTH_PATTERN_CHEVRON
                 : pat < 0.65f ? SYNTH_PATTERN_RINGS
                 : pat < 0.85f ? SYNTH_PATTERN_SPOTS : SYNTH_PATTERN_SPLIT;
    m->freq = uniform(r, 2.0f, 5.0f);
    m->angle = uniform(r, 0.0f, 3.1415927f);
    m->dot_radius = uniform(r, 0.15f, 0.35f);
    m->shade = 0;
    m->shade_u = uniform(r, 0.05f, 0.2f);
    m->seed = (uint32_t)rng_next(r);
    for (int i = 0; i < 4; i++) p->param[i] = rng_float(r);
    p->margin = uniform(r, 0.04f, 0.12f);
    float bg = rng_float(r);
    p->background = draw_hsv(r, bg, 0.03f, 0.12f, 0.88f, 0.97f);
}

/* Adds the polygon xy and its mirror image about u = 0.5. */
static void poly_pair(synth_shape *s, int part, int cut, const float *xy, int n) {
    float m[2 * SYNTH_POLY_MAX];
    for (int i = 0; i < n; i++) m[2 * i] = 1.0f - xy[2 * i], m[2 * i + 1] = xy[2 * i + 1];
    synth_shape_poly(s, part, cut, xy, n);
    synth_shape_poly(s, part, cut, m, n);
}

/* Adds the capsule and its mirror image about u = 0.5. */
static void capsule_pair(synth_shape *s, int part, float x0, float y0, float x1, float y1,
                         float radius) {
    synth_shape_capsule(s, part, 0, x0, y0, x1, y1, radius);
    synth_shape_capsule(s, part, 0, 1 - x0, y0, 1 - x1, y1, radius);
}

static void shoes(const float *a, synth_shape *s) {
    if (a[1] < 0.5f) { /* ankle boot, side view */
        float y0 = 0.05f + 0.22f * a[0];
        float boot[] = {0.16f, y0, 0.50f, y0, 0.52f, 0.58f, 0.80f, 0.66f,
                        0.95f, 0.76f, 0.95f, 0.87f, 0.16f, 0.87f};
        synth_shape_poly(s, 0, 0, boot, 7);
        synth_shape_rect(s, 1, 0, 0.14f, 0.85f, 0.97f, 0.93f, 0.02f);
        synth_shape_rect(s, 1, 0, 0.14f, 0.85f, 0.33f, 0.98f, 0.01f);
        if (a[2] < 0.5f) {
            synth_shape_rect(s, 1, 0, 0.15f, y0, 0.51f, y0 + 0.08f, 0.01f);
        } else {
            for (int i = 0; i < 3; i++) {
                float y = 0.45f + 0.08f * (float)i - 0.25f * (0.27f - y0);
                synth_shape_capsule(s, 1, 0, 0.42f, y, 0.54f, y + 0.05f, 0.015f);
            }
        }
    } else { /* a pair of slippers from above */
        float rx = 0.14f + 0.05f * a[0], ry = 0.36f + 0.08f * a[2];
        for (int k = 0; k < 2; k++) {
            float cx = k ? 0.71f : 0.29f;
            synth_shape_ellipse(s, 0, 0, cx, 0.5f, rx, ry);
            synth_shape_ellipse(s, 1, 0, cx, 0.5f + 0.35f * ry, rx * 0.62f, ry * 0.5f);
            if (a[3] < 0.5f) synth_shape_rect(s, 0, 0, cx - rx, 0.36f, cx + rx, 0.46f, 0.02f);
        }
    }
}

static void tops(const float *a, synth_shape *s) {
    if (a[3] < 0.5f) { /* tank top */
        float body[] = {0.30f, 0.22f, 0.70f, 0.22f, 0.76f, 0.45f, 0.72f, 0.62f,
                        0.78f, 0.95f, 0.22f, 0.95f, 0.28f, 0.62f, 0.24f, 0.45f};
        synth_shape_poly(s, 0, 0, body, 8);
        synth_shape_ellipse(s, 0, 1, 0.5f, 0.22f, 0.13f + 0.05f * a[1], 0.09f + 0.08f * a[2]);
        capsule_pair(s, 0, 0.33f, 0.04f, 0.34f, 0.26f, 0.025f + 0.02f * a[0]);
        synth_shape_rect(s, 1, 0, 0.22f, 0.9f, 0.78f, 0.95f, 0);
    } else { /* sweater, sleeves hanging */
        float wrist = 0.10f + 0.07f * a[0];
        capsule_pair(s, 0, 0.31f, 0.2f, wrist, 0.80f, 0.075f);
        synth_shape_rect(s, 0, 0, 0.27f, 0.13f, 0.73f, 0.92f, 0.06f);
        synth_shape_ellipse(s, 1, 0, wrist, 0.84f, 0.08f, 0.05f);
        synth_shape_ellipse(s, 1, 0, 1 - wrist, 0.84f, 0.08f, 0.05f);
        synth_shape_rect(s, 1, 0, 0.27f, 0.86f, 0.73f, 0.92f, 0.02f);
        if (a[1] < 0.5f) synth_shape_rect(s, 1, 0, 0.39f, 0.04f, 0.61f, 0.17f, 0.03f);
        else synth_shape_ellipse(s, 0, 1, 0.5f, 0.13f, 0.11f, 0.06f + 0.03f * a[2]);
    }
}

static void coats(const float *a, synth_shape *s) {
    float wrist = 0.08f + 0.06f * a[0];
    if (a[3] < 0.5f) { /* puffer: quilted bands */
        capsule_pair(s, 0, 0.27f, 0.22f, wrist, 0.84f, 0.09f);
        for (int i = 0; i < 5; i++) {
            float y = 0.14f + 0.158f * (float)i;
            synth_shape_rect(s, 0, 0, 0.21f, y, 0.79f, y + 0.168f, 0.07f);
            if (i) synth_shape_capsule(s, 1, 0, 0.23f, y + 0.004f, 0.77f, y + 0.004f, 0.007f);
        }
        synth_shape_rect(s, 1, 0, 0.35f, 0.04f, 0.65f, 0.17f, 0.04f);
        synth_shape_rect(s, 1, 0, 0.493f, 0.17f, 0.507f, 0.93f, 0);
    } else { /* hooded parka, A-line */
        capsule_pair(s, 0, 0.36f, 0.22f, wrist + 0.06f, 0.78f, 0.07f);
        float body[] = {0.34f, 0.16f, 0.66f, 0.16f, 0.81f, 0.97f, 0.19f, 0.97f};
        synth_shape_poly(s, 0, 0, body, 4);
        synth_shape_ellipse(s, 0, 0, 0.5f, 0.13f, 0.15f, 0.12f);
        synth_shape_ellipse(s, 1, 0, 0.5f, 0.15f, 0.09f, 0.08f);
        float belt = 0.48f + 0.1f * a[1];
        synth_shape_rect(s, 1, 0, 0.24f, belt, 0.76f, belt + 0.05f, 0);
        if (a[2] < 0.5f)
            for (int i = 0; i < 3; i++)
                synth_shape_capsule(s, 1, 0, 0.46f, 0.3f + 0.07f * (float)i, 0.54f,
                                    0.3f + 0.07f * (float)i, 0.012f);
        else synth_shape_rect(s, 1, 0, 0.27f, belt + 0.14f, 0.39f, belt + 0.22f, 0.02f);
    }
}

static void pants(const float *a, synth_shape *s) {
    if (a[3] < 0.5f) { /* joggers, tapered with cuffs */
        float ankle = 0.05f * a[0];
        float hip[] = {0.26f, 0.11f, 0.74f, 0.11f, 0.76f, 0.36f, 0.5f, 0.40f, 0.24f, 0.36f};
        synth_shape_poly(s, 0, 0, hip, 5);
        float leg[] = {0.24f, 0.30f, 0.5f, 0.33f, 0.47f - ankle, 0.87f, 0.31f + ankle, 0.87f};
        poly_pair(s, 0, 0, leg, 4);
        synth_shape_rect(s, 1, 0, 0.30f + ankle, 0.86f, 0.475f - ankle, 0.95f, 0.02f);
        synth_shape_rect(s, 1, 0, 0.525f + ankle, 0.86f, 0.70f - ankle, 0.95f, 0.02f);
        synth_shape_rect(s, 1, 0, 0.26f, 0.04f, 0.74f, 0.12f, 0.03f);
        synth_shape_capsule(s, 1, 0, 0.47f, 0.12f, 0.45f, 0.24f + 0.04f * a[1], 0.012f);
        synth_shape_capsule(s, 1, 0, 0.53f, 0.12f, 0.55f, 0.24f + 0.04f * a[1], 0.012f);
    } else { /* palazzo: one wide trapezoid split by a cut */
        float f = 0.06f * a[0];
        float body[] = {0.30f, 0.10f, 0.70f, 0.10f, 0.88f + f, 0.97f, 0.12f - f, 0.97f};
        synth_shape_poly(s, 0, 0, body, 4);
        float gap[] = {0.5f, 0.40f + 0.08f * a[1], 0.555f, 0.98f, 0.445f, 0.98f};
        synth_shape_poly(s, 0, 1, gap, 3);
        synth_shape_rect(s, 1, 0, 0.30f, 0.03f, 0.70f, 0.11f, 0.01f);
        capsule_pair(s, 1, 0.40f, 0.12f, 0.37f, 0.36f, 0.008f);
    }
}

static void shorts(const float *a, synth_shape *s) {
    float hem = 0.70f + 0.08f * a[1];
    if (a[3] < 0.5f) { /* board shorts: side stripes, a tie */
        float body[] = {0.18f, 0.18f, 0.82f, 0.18f, 0.86f, hem, 0.54f, hem + 0.04f,
                        0.5f, 0.54f, 0.46f, hem + 0.04f, 0.14f, hem};
        synth_shape_poly(s, 0, 0, body, 7);
        float stripe[] = {0.18f, 0.18f, 0.23f, 0.18f, 0.195f, hem + 0.003f, 0.14f, hem};
        poly_pair(s, 1, 0, stripe, 4);
        capsule_pair(s, 1, 0.5f, 0.24f, 0.43f, 0.36f + 0.06f * a[0], 0.014f);
        synth_shape_ellipse(s, 1, 0, 0.5f, 0.24f, 0.03f, 0.03f);
    } else { /* paperbag waist: ruffles, belt, rolled cuffs */
        for (int i = 0; i < 5; i++)
            synth_shape_ellipse(s, 0, 0, 0.32f + 0.09f * (float)i, 0.17f, 0.055f, 0.06f);
        float body[] = {0.28f, 0.24f, 0.72f, 0.24f, 0.84f, hem, 0.53f, hem + 0.02f,
                        0.5f, 0.5f, 0.47f, hem + 0.02f, 0.16f, hem};
        synth_shape_poly(s, 0, 0, body, 7);
        synth_shape_rect(s, 1, 0, 0.27f, 0.2f, 0.73f, 0.27f, 0.01f);
        capsule_pair(s, 1, 0.17f, hem - 0.01f, 0.46f, hem + 0.01f, 0.028f);
        synth_shape_ellipse(s, 1, 0, 0.5f + 0.1f * a[0], 0.235f, 0.05f, 0.04f);
    }
}

static void skirts(const float *a, synth_shape *s) {
    if (a[3] < 0.5f) { /* three tiers */
        float flare = 0.04f * a[0];
        for (int k = 0; k < 3; k++) {
            float top = 0.12f + 0.28f * (float)k, w0 = 0.17f + (0.09f + flare) * (float)k;
            float w1 = w0 + 0.08f + flare;
            float tier[] = {0.5f - w0, top, 0.5f + w0, top, 0.5f + w1, top + 0.29f,
                            0.5f - w1, top + 0.29f};
            synth_shape_poly(s, 0, 0, tier, 4);
            if (k) synth_shape_capsule(s, 1, 0, 0.5f - w0, top, 0.5f + w0, top, 0.01f);
        }
        float bow[] = {0.5f, 0.14f, 0.40f, 0.08f, 0.40f, 0.20f};
        poly_pair(s, 1, 0, bow, 3);
    } else { /* pencil skirt with a slit and a wrap line */
        float hem = 0.86f + 0.1f * a[1];
        float body[] = {0.32f, 0.08f, 0.68f, 0.08f, 0.71f, 0.45f, 0.66f, hem,
                        0.34f, hem, 0.29f, 0.45f};
        synth_shape_poly(s, 0, 0, body, 6);
        float slit[] = {0.55f, hem + 0.01f, 0.63f, hem + 0.01f, 0.59f, 0.62f + 0.1f * a[0]};
        synth_shape_poly(s, 0, 1, slit, 3);
        synth_shape_rect(s, 1, 0, 0.32f, 0.04f, 0.68f, 0.1f, 0.02f);
        synth_shape_capsule(s, 1, 0, 0.64f, 0.1f, 0.45f, hem, 0.008f);
        synth_shape_ellipse(s, 1, 0, 0.62f, 0.17f, 0.025f, 0.025f);
    }
}

static void bags(const float *a, synth_shape *s) {
    if (a[0] < 0.4f) { /* backpack */
        synth_shape_ellipse(s, 1, 0, 0.5f, 0.17f, 0.09f, 0.08f);
        synth_shape_ellipse(s, 1, 1, 0.5f, 0.17f, 0.055f, 0.045f);
        synth_shape_rect(s, 0, 0, 0.2f, 0.2f, 0.8f, 0.96f, 0.12f + 0.05f * a[1]);
        synth_shape_rect(s, 1, 0, 0.3f, 0.58f, 0.7f, 0.88f, 0.06f);
        synth_shape_rect(s, 0, 0, 0.32f, 0.62f, 0.68f, 0.635f, 0);
        synth_shape_ellipse(s, 1, 0, 0.5f, 0.27f, 0.28f, 0.06f + 0.04f * a[2]);
    } else if (a[0] < 0.7f) { /* round bag on a chain */
        for (int i = 0; i < 7; i++) {
            float t = 3.1415927f * (float)i / 6.0f;
            float cx = 0.5f - 0.36f * cosf(t), cy = 0.42f - 0.34f * sinf(t);
            synth_shape_ellipse(s, 1, 0, cx, cy, 0.045f, 0.045f);
            synth_shape_ellipse(s, 1, 1, cx, cy, 0.022f, 0.022f);
        }
        float r = 0.30f + 0.06f * a[1];
        synth_shape_ellipse(s, 1, 0, 0.5f, 0.98f - r, r, r);
        synth_shape_ellipse(s, 0, 0, 0.5f, 0.98f - r, r - 0.03f, r - 0.03f);
        if (a[2] < 0.5f) synth_shape_ellipse(s, 1, 0, 0.5f, 0.98f - r, 0.05f, 0.05f);
    } else { /* half moon with a peaked handle */
        synth_shape_ellipse(s, 0, 0, 0.5f, 0.44f, 0.44f, 0.52f);
        synth_shape_rect(s, 0, 1, 0, 0, 1, 0.44f, 0);
        capsule_pair(s, 1, 0.2f, 0.46f, 0.5f, 0.08f + 0.1f * a[1], 0.022f);
        synth_shape_capsule(s, 1, 0, 0.1f, 0.47f, 0.9f, 0.47f, 0.025f);
        if (a[2] < 0.5f) synth_shape_ellipse(s, 1, 0, 0.5f, 0.62f, 0.06f, 0.06f);
    }
}

static void sunglasses(const float *a, synth_shape *s) {
    if (a[0] < 0.5f) { /* aviators: teardrop lenses, double bridge */
        float d = 0.06f * a[1];
        float lens[] = {0.06f, 0.34f, 0.41f, 0.32f, 0.43f, 0.40f, 0.36f, 0.62f + d,
                        0.24f, 0.70f + d, 0.12f, 0.62f + d, 0.05f, 0.44f};
        float rim[14];
        for (int i = 0; i < 7; i++) { /* the lens grown by 14% about its centre */
            rim[2 * i] = 0.24f + (lens[2 * i] - 0.24f) * 1.14f;
            rim[2 * i + 1] = 0.5f + (lens[2 * i + 1] - 0.5f) * 1.14f;
        }
        poly_pair(s, 0, 0, rim, 7);
        poly_pair(s, 1, 0, lens, 7);
        synth_shape_capsule(s, 0, 0, 0.42f, 0.33f, 0.58f, 0.33f, 0.014f);
        synth_shape_capsule(s, 0, 0, 0.44f, 0.41f, 0.56f, 0.41f, 0.012f);
    } else { /* one-piece visor */
        float h = 0.28f + 0.1f * a[2];
        synth_shape_rect(s, 1, 0, 0.04f, 0.34f, 0.96f, 0.34f + h, 0.1f);
        synth_shape_ellipse(s, 1, 1, 0.5f, 0.38f + h, 0.08f, 0.1f + 0.04f * a[1]);
        synth_shape_rect(s, 0, 0, 0.02f, 0.29f, 0.98f, 0.37f, 0.03f);
        synth_shape_capsule(s, 0, 0, 0.47f, 0.37f, 0.53f, 0.37f, 0.03f);
    }
}

static void earrings(const float *a, synth_shape *s) {
    for (int k = 0; k < 2; k++) {
        float cx = k ? 0.74f : 0.26f, side = k ? 1.0f : -1.0f;
        synth_shape_ellipse(s, 1, 0, cx, 0.07f, 0.04f, 0.04f);
        if (a[0] < 0.35f) { /* tassel */
            float w = 0.12f + 0.05f * a[1];
            synth_shape_capsule(s, 1, 0, cx, 0.07f, cx, 0.16f, 0.012f);
            synth_shape_rect(s, 1, 0, cx - 0.05f, 0.14f, cx + 0.05f, 0.25f, 0.02f);
            float fan[] = {cx - 0.05f, 0.25f, cx + 0.05f, 0.25f, cx + w, 0.95f, cx - w, 0.95f};
            synth_shape_poly(s, 0, 0, fan, 4);
            synth_shape_capsule(s, 0, 1, cx - 0.015f, 0.45f, cx - w * 0.45f, 0.96f, 0.008f);
            synth_shape_capsule(s, 0, 1, cx + 0.015f, 0.45f, cx + w * 0.45f, 0.96f, 0.008f);
        } else if (a[0] < 0.7f) { /* three beads on a drop */
            synth_shape_capsule(s, 1, 0, cx, 0.07f, cx, 0.78f, 0.01f);
            float r0 = 0.06f + 0.02f * a[2];
            synth_shape_ellipse(s, 0, 0, cx, 0.27f, r0, r0);
            synth_shape_ellipse(s, 0, 0, cx, 0.5f, r0 * 1.4f, r0 * 1.4f);
            synth_shape_ellipse(s, 0, 0, cx, 0.79f, r0 * 2.0f, r0 * 2.0f);
        } else { /* crescent */
            float rx = 0.17f + 0.05f * a[1], ry = 0.3f;
            synth_shape_ellipse(s, 0, 0, cx, 0.6f, rx, ry);
            synth_shape_ellipse(s, 0, 1, cx + side * 0.35f * rx, 0.53f, rx * 0.85f, ry * 0.9f);
            synth_shape_capsule(s, 1, 0, cx, 0.07f, cx, 0.3f, 0.01f);
        }
    }
}

static void necklaces(const float *a, synth_shape *s) {
    if (a[0] < 0.5f) { /* a strand of beads, graded to the middle */
        float cx[11], cy[11], depth = 0.68f + 0.1f * a[1];
        for (int i = 0; i < 11; i++) {
            float t = 3.1415927f * (float)i / 10.0f;
            cx[i] = 0.5f - 0.4f * cosf(t), cy[i] = 0.08f + depth * sinf(t);
        }
        for (int i = 0; i < 10; i++)
            synth_shape_capsule(s, 1, 0, cx[i], cy[i], cx[i + 1], cy[i + 1], 0.01f);
        for (int i = 0; i < 11; i++) {
            float r = 0.035f + 0.03f * (1.0f - fabsf((float)i - 5.0f) / 5.0f) + 0.01f * a[2];
            synth_shape_ellipse(s, i & 1, 0, cx[i], cy[i], r, r);
        }
    } else { /* two V chains, a pendant on each */
        float tip = 0.62f + 0.08f * a[1];
        capsule_pair(s, 1, 0.08f, 0.04f, 0.5f, tip, 0.013f);
        capsule_pair(s, 1, 0.22f, 0.04f, 0.5f, 0.42f, 0.011f);
        synth_shape_ellipse(s, 0, 0, 0.5f, 0.45f, 0.05f, 0.05f);
        if (a[2] < 0.5f) {
            synth_shape_rect(s, 0, 0, 0.45f, tip, 0.55f, 0.97f, 0.04f);
        } else { /* a five-pointed star */
            float star[20], cy = 0.97f - 0.16f;
            for (int i = 0; i < 10; i++) {
                float t = 3.1415927f * (float)i / 5.0f, r = i & 1 ? 0.07f : 0.16f;
                star[2 * i] = 0.5f + r * sinf(t), star[2 * i + 1] = cy - r * cosf(t);
            }
            synth_shape_poly(s, 0, 0, star, 10);
        }
    }
}

void synth2_product_shape(const synth_product *p, synth_shape *out) {
    out->n = 0;
    const float *a = p->param;
    switch (p->category) {
    case SYNTH_CAT_SHOES: shoes(a, out); break;
    case SYNTH_CAT_TOPS: tops(a, out); break;
    case SYNTH_CAT_COATS: coats(a, out); break;
    case SYNTH_CAT_PANTS: pants(a, out); break;
    case SYNTH_CAT_SHORTS: shorts(a, out); break;
    case SYNTH_CAT_SKIRTS: skirts(a, out); break;
    case SYNTH_CAT_BAGS: bags(a, out); break;
    case SYNTH_CAT_SUNGLASSES: sunglasses(a, out); break;
    case SYNTH_CAT_EARRINGS: earrings(a, out); break;
    default: necklaces(a, out); break;
    }
}

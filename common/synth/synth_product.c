/* synth_product.c — categories, product looks and silhouettes for stl-synth
 * (see synth_product.h). Silhouettes are drawn in the unit square, v down;
 * part 0 carries the product's pattern, part 1 its accent colour. */
#include "synth/synth_product.h"

#include <math.h>

#include "synth/synth_style2.h"

static const struct {
    const char *name;
    float weight; /* ~ sqrt(count in the real fashion catalog) */
} categories[] = {
    {"Apparel & Accessories|Shoes", 108},
    {"Apparel & Accessories|Clothing|Shirts & Tops", 87},
    {"Apparel & Accessories|Clothing|Pants", 81},
    {"Apparel & Accessories|Handbags, Wallets & Cases", 57},
    {"Apparel & Accessories|Clothing|Outerwear|Coats & Jackets", 50},
    {"Apparel & Accessories|Clothing Accessories|Sunglasses", 42},
    {"Apparel & Accessories|Clothing|Shorts", 39},
    {"Apparel & Accessories|Clothing|Skirts", 37},
    {"Apparel & Accessories|Jewelry|Earrings", 30},
    {"Apparel & Accessories|Jewelry|Necklaces", 30},
};
_Static_assert(sizeof categories / sizeof categories[0] == SYNTH_CAT_COUNT, "category table");

int synth_category_count(void) { return SYNTH_CAT_COUNT; }
const char *synth_category_name(int i) { return categories[i].name; }

static float uniform(rng_state *r, float lo, float hi) { return lo + (hi - lo) * rng_float(r); }

void synth_product_draw(synth_product *p, int style, rng_state *r) {
    p->style = style;
    float total = 0;
    for (int i = 0; i < SYNTH_CAT_COUNT; i++) total += categories[i].weight;
    float x = rng_float(r) * total;
    p->category = SYNTH_CAT_COUNT - 1;
    for (int i = 0; i < SYNTH_CAT_COUNT; i++) {
        if (x < categories[i].weight) { p->category = i; break; }
        x -= categories[i].weight;
    }
    if (style == 2) {
        synth2_product_look(p, r);
        return;
    }
    synth_material *m = &p->mat;
    float h1 = rng_float(r);
    m->base = synth_hsv(h1, uniform(r, 0.55f, 1.0f), uniform(r, 0.45f, 0.95f));
    float second = rng_float(r);
    if (second < 0.15f) m->second = synth_hsv(0, 0, uniform(r, 0.92f, 1.0f)); /* white */
    else if (second < 0.3f) m->second = synth_hsv(0, 0, uniform(r, 0.05f, 0.15f)); /* black */
    else m->second = synth_hsv(h1 + uniform(r, 0.3f, 0.7f), uniform(r, 0.5f, 1.0f),
                               uniform(r, 0.35f, 1.0f));
    m->accent = synth_hsv(rng_float(r), uniform(r, 0.3f, 0.9f), uniform(r, 0.15f, 0.8f));
    if (p->category == SYNTH_CAT_SUNGLASSES) /* dark tinted lenses */
        m->accent = synth_hsv(rng_float(r), uniform(r, 0.2f, 0.7f), uniform(r, 0.08f, 0.3f));
    float pat = rng_float(r);
    m->pattern = pat < 0.25f ? SYNTH_PATTERN_SOLID
                 : pat < 0.55f ? SYNTH_PATTERN_STRIPES
                 : pat < 0.75f ? SYNTH_PATTERN_DOTS : SYNTH_PATTERN_CHECKS;
    m->freq = uniform(r, 3.0f, 7.0f);
    static const float angles[4] = {0.0f, 1.5707963f, 0.7853982f, -0.7853982f};
    m->angle = angles[rng_uniform(r, 4)] + uniform(r, -0.1f, 0.1f);
    m->dot_radius = uniform(r, 0.2f, 0.35f);
    m->shade = uniform(r, 0.03f, 0.18f);
    for (int i = 0; i < 4; i++) p->param[i] = rng_float(r);
    p->margin = uniform(r, 0.05f, 0.1f);
    p->background = synth_hsv(rng_float(r), uniform(r, 0.0f, 0.06f), uniform(r, 0.93f, 1.0f));
}

/* Adds the polygon xy and its mirror image about u = 0.5. */
static void poly_pair(synth_shape *s, int part, const float *xy, int n) {
    float m[2 * SYNTH_POLY_MAX];
    for (int i = 0; i < n; i++) m[2 * i] = 1.0f - xy[2 * i], m[2 * i + 1] = xy[2 * i + 1];
    synth_shape_poly(s, part, 0, xy, n);
    synth_shape_poly(s, part, 0, m, n);
}

static void shape_shoes(const float *a, synth_shape *s) {
    float t = 0.28f + 0.15f * a[0];
    if (a[1] < 0.55f) { /* sneaker / flat */
        float up[] = {0.05f, 0.84f, 0.07f, t, 0.30f, t - 0.02f, 0.42f, 0.50f,
                      0.70f, 0.55f, 0.90f, 0.62f, 0.97f, 0.74f, 0.96f, 0.84f};
        synth_shape_poly(s, 0, 0, up, 8);
        synth_shape_rect(s, 1, 0, 0.03f, 0.82f, 0.98f, 0.94f, 0.04f);
        if (a[2] < 0.5f) synth_shape_capsule(s, 1, 0, 0.33f, 0.52f, 0.52f, 0.56f, 0.025f);
    } else { /* heel */
        float up[] = {0.05f, t + 0.05f, 0.24f, t + 0.10f, 0.55f, 0.60f, 0.85f, 0.64f,
                      0.98f, 0.78f, 0.93f, 0.86f, 0.50f, 0.80f, 0.20f, 0.66f, 0.08f, 0.66f};
        synth_shape_poly(s, 0, 0, up, 9);
        float heel[] = {0.06f, 0.60f, 0.20f, 0.62f, 0.17f, 0.97f, 0.12f, 0.97f};
        synth_shape_poly(s, 1, 0, heel, 4);
    }
}

static void shape_top(const float *a, synth_shape *s, int coat) {
    float bx = coat ? 0.23f : 0.27f, bottom = coat ? 0.98f : 0.93f;
    float len = coat ? 0.9f + 0.1f * a[0] : a[0];
    synth_shape_rect(s, 0, 0, bx, 0.18f, 1.0f - bx, bottom, 0.02f);
    float sl[] = {bx + 0.04f, 0.16f, 0.03f, 0.28f + 0.55f * len, 0.13f + 0.02f * len,
                  0.33f + 0.58f * len, bx + 0.01f, 0.40f + 0.40f * len};
    poly_pair(s, 0, sl, 4);
    synth_shape_ellipse(s, 0, 1, 0.5f, 0.16f, 0.09f + 0.05f * a[1], 0.06f + 0.05f * a[2]);
    if (coat) {
        float lapel[] = {0.5f - 0.10f - 0.05f * a[1], 0.16f, 0.5f, 0.52f, 0.38f, 0.40f};
        poly_pair(s, 1, lapel, 3);
        synth_shape_rect(s, 1, 0, 0.49f, 0.5f, 0.51f, bottom, 0);
        for (int i = 0; i < 3; i++)
            synth_shape_ellipse(s, 1, 0, 0.545f, 0.6f + 0.12f * (float)i, 0.022f, 0.022f);
    } else if (a[3] < 0.5f) {
        synth_shape_rect(s, 1, 0, bx, bottom - 0.05f, 1.0f - bx, bottom, 0);
    }
}

static void shape_pants(const float *a, synth_shape *s, int shorts) {
    float w = shorts ? 0.17f : 0.27f, f = 0.08f * a[0];
    float top = shorts ? 0.12f : 0.03f, band = shorts ? 0.08f : 0.07f;
    float hem = shorts ? 0.78f + 0.08f * a[1] : 0.97f;
    synth_shape_rect(s, 0, 0, w, top + band, 1.0f - w, top + band + 0.25f, 0.0f);
    float leg[] = {w, top + band + 0.1f, 0.5f, top + band + 0.1f, 0.49f, top + band + 0.3f,
                   0.48f - (shorts ? 0.0f : 0.02f), hem, w - f - (shorts ? 0.06f : 0.0f), hem};
    poly_pair(s, 0, leg, 5);
    synth_shape_rect(s, 1, 0, w, top, 1.0f - w, top + band, 0.01f);
    if (a[2] < 0.5f && !shorts) synth_shape_rect(s, 1, 0, 0.49f, top + band, 0.51f, 0.32f, 0);
}

static void shape_skirt(const float *a, synth_shape *s) {
    float f = 0.12f * a[0], hem = 0.8f + 0.15f * a[1];
    float body[] = {0.30f, 0.15f, 0.70f, 0.15f, 0.85f + f, hem, 0.15f - f, hem};
    synth_shape_poly(s, 0, 0, body, 4);
    synth_shape_rect(s, 1, 0, 0.29f, 0.07f, 0.71f, 0.16f, 0.01f);
}

static void shape_bag(const float *a, synth_shape *s) {
    float top = 0.36f + 0.08f * a[1];
    if (a[0] < 0.6f) { /* handle */
        synth_shape_ellipse(s, 1, 0, 0.5f, top, 0.26f, 0.28f);
        synth_shape_ellipse(s, 1, 1, 0.5f, top, 0.20f, 0.22f);
    } else { /* shoulder strap */
        synth_shape_capsule(s, 1, 0, 0.14f, top + 0.02f, 0.5f, 0.04f, 0.025f);
        synth_shape_capsule(s, 1, 0, 0.86f, top + 0.02f, 0.5f, 0.04f, 0.025f);
    }
    synth_shape_rect(s, 0, 0, 0.08f, top, 0.92f, 0.92f, 0.05f + 0.05f * a[2]);
    if (a[3] < 0.5f) {
        float flap[] = {0.08f, top, 0.92f, top, 0.92f, top + 0.12f, 0.5f, top + 0.28f,
                        0.08f, top + 0.12f};
        synth_shape_poly(s, 1, 0, flap, 5);
    } else {
        synth_shape_rect(s, 1, 0, 0.44f, top + 0.08f, 0.56f, top + 0.18f, 0.02f);
    }
}

static void shape_sunglasses(const float *a, synth_shape *s) {
    float rx = 0.19f + 0.03f * a[1], ry = 0.15f + 0.07f * a[2];
    synth_shape_capsule(s, 0, 0, 0.04f, 0.40f, 0.10f, 0.36f, 0.035f);
    synth_shape_capsule(s, 0, 0, 0.96f, 0.40f, 0.90f, 0.36f, 0.035f);
    synth_shape_capsule(s, 0, 0, 0.40f, 0.42f, 0.60f, 0.42f, 0.04f);
    for (int k = 0; k < 2; k++) {
        float cx = k ? 0.72f : 0.28f;
        if (a[0] < 0.5f) {
            synth_shape_ellipse(s, 0, 0, cx, 0.5f, rx + 0.05f, ry + 0.05f);
            synth_shape_ellipse(s, 1, 0, cx, 0.5f, rx, ry);
        } else {
            synth_shape_rect(s, 0, 0, cx - rx - 0.05f, 0.5f - ry - 0.05f, cx + rx + 0.05f,
                             0.5f + ry + 0.05f, 0.06f);
            synth_shape_rect(s, 1, 0, cx - rx, 0.5f - ry, cx + rx, 0.5f + ry, 0.04f);
        }
    }
}

/* A big jewel centred at (cx, cy): disc, diamond, hoop or drop. */
static void jewel(synth_shape *s, float kind, float cx, float cy, float rx, float ry) {
    if (kind < 0.3f) {
        synth_shape_ellipse(s, 0, 0, cx, cy, rx, ry);
    } else if (kind < 0.55f) {
        float d[] = {cx, cy - ry, cx + rx, cy, cx, cy + ry, cx - rx, cy};
        synth_shape_poly(s, 0, 0, d, 4);
    } else if (kind < 0.8f) {
        synth_shape_ellipse(s, 0, 0, cx, cy, rx, ry);
        synth_shape_ellipse(s, 0, 1, cx, cy, rx * 0.55f, ry * 0.55f);
    } else {
        synth_shape_ellipse(s, 0, 0, cx, cy + ry * 0.3f, rx, ry * 0.7f);
        float t[] = {cx - rx * 0.85f, cy, cx, cy - ry, cx + rx * 0.85f, cy};
        synth_shape_poly(s, 0, 0, t, 3);
    }
}

static void shape_earrings(const float *a, synth_shape *s) {
    float rx = 0.17f + 0.05f * a[1], ry = 0.22f + 0.08f * a[2];
    for (int k = 0; k < 2; k++) {
        float cx = k ? 0.74f : 0.26f;
        synth_shape_capsule(s, 1, 0, cx, 0.06f, cx, 0.62f - ry, 0.02f);
        synth_shape_ellipse(s, 1, 0, cx, 0.08f, 0.035f, 0.035f);
        jewel(s, a[0], cx, 0.62f, rx, ry);
    }
}

static void shape_necklace(const float *a, synth_shape *s) {
    float ry = 0.30f + 0.06f * a[1];
    synth_shape_ellipse(s, 1, 0, 0.5f, 0.38f, 0.42f, ry);
    synth_shape_ellipse(s, 1, 1, 0.5f, 0.38f, 0.39f, ry - 0.03f);
    float r = 0.17f + 0.06f * a[2];
    jewel(s, a[0], 0.5f, 0.97f - r, r, r);
}

void synth_product_shape(const synth_product *p, synth_shape *out) {
    out->n = 0;
    if (p->style == 2) {
        synth2_product_shape(p, out);
        return;
    }
    const float *a = p->param;
    switch (p->category) {
    case SYNTH_CAT_SHOES: shape_shoes(a, out); break;
    case SYNTH_CAT_TOPS: shape_top(a, out, 0); break;
    case SYNTH_CAT_COATS: shape_top(a, out, 1); break;
    case SYNTH_CAT_PANTS: shape_pants(a, out, 0); break;
    case SYNTH_CAT_SHORTS: shape_pants(a, out, 1); break;
    case SYNTH_CAT_SKIRTS: shape_skirt(a, out); break;
    case SYNTH_CAT_BAGS: shape_bag(a, out); break;
    case SYNTH_CAT_SUNGLASSES: shape_sunglasses(a, out); break;
    case SYNTH_CAT_EARRINGS: shape_earrings(a, out); break;
    default: shape_necklace(a, out); break;
    }
}

void synth_product_photo(const synth_product *p, synth_image *im) {
    if (p->style == 2) {
        synth2_product_photo(p, im);
        return;
    }
    synth_rgb bg = p->background;
    synth_rgb low = {bg.r * 0.94f, bg.g * 0.94f, bg.b * 0.94f};
    synth_fill_gradient(im, bg, low, 1.5707963f);
    synth_shape shape;
    synth_product_shape(p, &shape);
    float mw = p->margin * (float)im->w, mh = p->margin * (float)im->h;
    synth_paint(im, &shape, &p->mat, mw, mh, (float)im->w - mw, (float)im->h - mh, NULL);
}

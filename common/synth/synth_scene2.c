/* synth_scene2.c — style 2's catalog photos and scenes (synth_style2.h).
 *
 * A style-2 catalog photo stands the product in a studio: a light backdrop
 * meeting a slightly darker floor, and a soft shadow under the product. A
 * style-2 scene replaces style 1's gradient, blotchy noise, floor band and
 * blobs with a room surface (wooden planks, tiles with grout, or a radial
 * glow), a vignette, 6-14 small outlined or pointed things (rings, stars,
 * crosses, frames, crescents, sticks) in colours near the scene's own hue,
 * then the products with style 1's brightness and colour jitter, 0-2 thin
 * strings across the whole picture, and a fine grain. Everything comes from
 * the scene's RNG stream, continued where its plan left it.
 */
#include "synth/synth_style2.h"

#include <math.h>

static float uniform(rng_state *r, float lo, float hi) { return lo + (hi - lo) * rng_float(r); }

static inline uint8_t to_byte(float x) {
    x = x * 255.0f + 0.5f;
    return x <= 0 ? 0 : (x >= 255 ? 255 : (uint8_t)x);
}

static void put(synth_image *im, int x, int y, synth_rgb c, float k) {
    uint8_t *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    p[0] = to_byte(c.r * k), p[1] = to_byte(c.g * k), p[2] = to_byte(c.b * k);
}

/* hsv(h, s, v) with s then v drawn from r (in this order: C leaves the order
 * of a call's arguments open, so no call here draws twice). */
static synth_rgb draw_hsv(rng_state *r, float h, float s_lo, float s_hi, float v_lo, float v_hi) {
    float s = uniform(r, s_lo, s_hi);
    return synth_hsv(h, s, uniform(r, v_lo, v_hi));
}

static synth_rgb scale(synth_rgb c, float k) { return (synth_rgb){c.r * k, c.g * k, c.b * k}; }

void synth2_product_photo(const synth_product *p, synth_image *im) {
    synth_rgb wall = p->background, floor = scale(p->background, 0.9f);
    for (int y = 0; y < im->h; y++) { /* backdrop to floor, blended over 8% */
        float t = (((float)y + 0.5f) / (float)im->h - 0.68f) / 0.08f;
        t = t < 0 ? 0 : (t > 1 ? 1 : t);
        synth_rgb c = {wall.r + (floor.r - wall.r) * t, wall.g + (floor.g - wall.g) * t,
                       wall.b + (floor.b - wall.b) * t};
        for (int x = 0; x < im->w; x++) put(im, x, y, c, 1.0f);
    }
    synth_shape shadow = {.n = 0};
    synth_shape_ellipse(&shadow, 0, 0, 0.5f, 1.0f - p->margin, 0.36f, 0.035f);
    synth_material m = {0};
    m.base = scale(floor, 0.82f);
    synth_paint(im, &shadow, &m, 0, 0, (float)im->w, (float)im->h, NULL);
    synth_shape shape;
    synth2_product_shape(p, &shape);
    float mw = p->margin * (float)im->w, mh = p->margin * (float)im->h;
    synth_paint(im, &shape, &p->mat, mw, mh, (float)im->w - mw, (float)im->h - mh, NULL);
}

/* Boards across or down the picture, each its own tone, with dark seams
 * and a streaky grain along the board. */
static void planks(synth_image *im, rng_state *r, float hue) {
    synth_rgb wood;
    if (rng_float(r) < 0.6f) {
        float h = uniform(r, 0.05f, 0.11f);
        wood = draw_hsv(r, h, 0.35f, 0.7f, 0.35f, 0.75f);
    } else {
        wood = draw_hsv(r, hue, 0.1f, 0.4f, 0.5f, 0.9f);
    }
    int n = 4 + (int)rng_uniform(r, 7), down = rng_float(r) < 0.5f;
    float tone[10], phase[10], freq = uniform(r, 20, 60);
    for (int i = 0; i < n; i++) tone[i] = uniform(r, 0.85f, 1.12f), phase[i] = uniform(r, 0, 6.3f);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float across = ((float)(down ? x : y) + 0.5f) / (float)(down ? im->w : im->h);
            float along = ((float)(down ? y : x) + 0.5f) / (float)(down ? im->h : im->w);
            float f = across * (float)n;
            int i = (int)f < n ? (int)f : n - 1;
            float in = f - (float)i;
            float k = tone[i] * (1.0f + 0.05f * sinf(along * freq + phase[i] + 9 * in));
            if (in < 0.04f || in > 0.96f) k *= 0.55f;
            put(im, x, y, wood, k);
        }
}

/* Square tiles with grout, in one or two alternating colours. */
static void tiles(synth_image *im, rng_state *r, float hue) {
    synth_rgb a = draw_hsv(r, hue, 0.05f, 0.5f, 0.55f, 0.95f), b = a;
    if (rng_float(r) >= 0.5f) {
        float h = hue + uniform(r, 0.3f, 0.7f);
        b = draw_hsv(r, h, 0.05f, 0.5f, 0.3f, 0.9f);
    }
    synth_rgb grout = synth_hsv(0, 0, rng_float(r) < 0.5f ? 0.92f : 0.25f);
    int n = 3 + (int)rng_uniform(r, 6);
    float gw = uniform(r, 0.04f, 0.09f);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float fx = ((float)x + 0.5f) / (float)im->w * (float)n;
            float fy = ((float)y + 0.5f) / (float)im->h * (float)n;
            float ix = floorf(fx), iy = floorf(fy), tx = fx - ix, ty = fy - iy;
            if (tx < gw || ty < gw) put(im, x, y, grout, 1.0f);
            else put(im, x, y, ((int)ix + (int)iy) & 1 ? b : a, 1.0f - 0.12f * (tx + ty) / 2);
        }
}

/* A light glow about a point fading to a darker surround. */
static void glow(synth_image *im, rng_state *r, float hue) {
    synth_rgb in = draw_hsv(r, hue, 0.05f, 0.35f, 0.8f, 1.0f);
    float h = hue + uniform(r, -0.15f, 0.15f);
    synth_rgb out = draw_hsv(r, h, 0.3f, 0.9f, 0.15f, 0.5f);
    float cx = uniform(r, 0.2f, 0.8f), cy = uniform(r, 0.1f, 0.6f), reach = uniform(r, 0.6f, 1.1f);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float dx = ((float)x + 0.5f) / (float)im->w - cx;
            float dy = ((float)y + 0.5f) / (float)im->h - cy;
            float t = sqrtf(dx * dx + dy * dy) / reach;
            t = t > 1 ? 1 : t * t * (3 - 2 * t);
            synth_rgb c = {in.r + (out.r - in.r) * t, in.g + (out.g - in.g) * t,
                           in.b + (out.b - in.b) * t};
            put(im, x, y, c, 1.0f);
        }
}

/* Darkens the corners by up to `amount`. */
static void vignette(synth_image *im, float amount) {
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float dx = ((float)x + 0.5f) / (float)im->w - 0.5f;
            float dy = ((float)y + 0.5f) / (float)im->h - 0.5f;
            float k = 1.0f - amount * 2.0f * (dx * dx + dy * dy);
            uint8_t *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
            for (int c = 0; c < 3; c++) p[c] = to_byte((float)p[c] / 255.0f * k);
        }
}

/* One small thing of the clutter: ring, star, cross, frame, crescent or
 * stick, about `size` of the side, coloured near `hue`. */
static void thing(synth_image *im, rng_state *r, float hue, float size_lo, float size_hi) {
    synth_shape sh = {.n = 0};
    synth_material m = {0};
    float h = rng_float(r) < 0.7f ? hue + uniform(r, -0.15f, 0.15f) : hue + 0.5f;
    m.base = draw_hsv(r, h, 0.2f, 0.9f, 0.25f, 0.95f);
    m.second = draw_hsv(r, h + 0.1f, 0.2f, 0.9f, 0.25f, 0.95f);
    float pat = rng_float(r);
    m.pattern = pat < 0.15f ? SYNTH_PATTERN_RINGS
                : pat < 0.35f ? SYNTH_PATTERN_GRADIENT : SYNTH_PATTERN_SOLID;
    m.freq = uniform(r, 2, 5);
    m.angle = uniform(r, 0, 3.14159f);
    m.shade_u = uniform(r, 0, 0.25f);
    switch (rng_uniform(r, 6)) {
    case 0: {
        float t = uniform(r, 0.5f, 0.8f);
        synth_shape_ellipse(&sh, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f);
        synth_shape_ellipse(&sh, 0, 1, 0.5f, 0.5f, 0.5f * t, 0.5f * t);
        break;
    }
    case 1: {
        float star[20], inner = uniform(r, 0.18f, 0.3f), turn = rng_float(r);
        for (int i = 0; i < 10; i++) {
            float t = 3.1415927f * ((float)i + turn) / 5.0f, rad = i & 1 ? inner : 0.5f;
            star[2 * i] = 0.5f + rad * sinf(t), star[2 * i + 1] = 0.5f - rad * cosf(t);
        }
        synth_shape_poly(&sh, 0, 0, star, 10);
        break;
    }
    case 2: {
        float t = uniform(r, 0.08f, 0.18f);
        synth_shape_rect(&sh, 0, 0, 0.5f - t, 0, 0.5f + t, 1, 0);
        synth_shape_rect(&sh, 0, 0, 0, 0.5f - t, 1, 0.5f + t, 0);
        break;
    }
    case 3: {
        float t = uniform(r, 0.1f, 0.2f);
        synth_shape_rect(&sh, 0, 0, 0, 0, 1, 1, 0);
        synth_shape_rect(&sh, 0, 1, t, t, 1 - t, 1 - t, 0);
        break;
    }
    case 4: {
        float cx = uniform(r, 0.6f, 0.8f), cy = uniform(r, 0.3f, 0.5f);
        synth_shape_ellipse(&sh, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f);
        synth_shape_ellipse(&sh, 0, 1, cx, cy, 0.45f, 0.45f);
        break;
    }
    default: {
        float x0 = rng_float(r), x1 = rng_float(r), rad = uniform(r, 0.03f, 0.07f);
        synth_shape_capsule(&sh, 0, 0, x0, 0.05f, x1, 0.95f, rad);
    }
    }
    float side = uniform(r, size_lo, size_hi), aspect = uniform(r, 0.75f, 1.33f);
    float w = side * aspect * (float)im->w, hgt = side / aspect * (float)im->h;
    float x = uniform(r, -0.1f, 1.0f) * (float)im->w - 0.1f * w;
    float y = uniform(r, -0.1f, 1.0f) * (float)im->h - 0.1f * hgt;
    synth_paint(im, &sh, &m, x, y, x + w, y + hgt, NULL);
}

/* A thin string from one edge of the picture to the opposite one. */
static void strand(synth_image *im, rng_state *r) {
    synth_shape sh = {.n = 0};
    synth_material m = {0};
    float h = rng_float(r), s = uniform(r, 0.0f, 0.5f);
    float v = rng_float(r) < 0.5f ? uniform(r, 0.05f, 0.25f) : uniform(r, 0.8f, 1.0f);
    m.base = synth_hsv(h, s, v);
    int across = rng_float(r) < 0.5f;
    float a = rng_float(r), b = rng_float(r), rad = uniform(r, 0.005f, 0.012f);
    if (across) synth_shape_capsule(&sh, 0, 0, 0, a, 1, b, rad);
    else synth_shape_capsule(&sh, 0, 0, a, 0, b, 1, rad);
    synth_paint(im, &sh, &m, 0, 0, (float)im->w, (float)im->h, NULL);
}

void synth2_scene_render(const synth_scene *s, const synth_product *products, synth_image *im) {
    rng_state r = s->rng;
    float hue = rng_float(&r);
    switch (rng_uniform(&r, 3)) {
    case 0: planks(im, &r, hue); break;
    case 1: tiles(im, &r, hue); break;
    default: glow(im, &r, hue); break;
    }
    vignette(im, uniform(&r, 0.15f, 0.45f));
    int n_back = 6 + (int)rng_uniform(&r, 9);
    for (int i = 0; i < n_back; i++) thing(im, &r, hue, 0.05f, 0.25f);
    synth_scene_paste_products(s, products, &r, im);
    int n_front = (int)rng_uniform(&r, 3);
    for (int i = 0; i < n_front; i++) strand(im, &r);
    synth_add_value_noise(im, &r, 16, uniform(&r, 4, 9));
    synth_add_pixel_noise(im, &r, 4);
}

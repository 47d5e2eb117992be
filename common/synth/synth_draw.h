/* synth_draw.h — the small raster toolkit behind stl-synth's pictures.
 *
 * An image is packed RGB uint8. Shapes are described in unit coordinates
 * (u, v in [0,1], v down) as an ordered list of primitives — ellipses,
 * rounded rectangles, polygons, capsules — each adding to or cutting from the
 * shape, each painting one "part" (0: the patterned body, 1: an accent). A
 * material colours the parts: part 0 gets a pattern (solid, stripes, dots,
 * checks; style 2's gradient, plaid, chevron, rings, spots, colour block) in
 * two colours, part 1 an accent (flat, or with a sheen in style 2). synth_paint() maps the unit
 * square onto any pixel rectangle and renders with 2x2 supersampling, so the
 * same product looks the same at every scale. Everything is plain arithmetic:
 * the same inputs give the same bytes. Callers own the image buffers
 * (synth_image_init / synth_image_free).
 */
#ifndef STL_SYNTH_DRAW_H
#define STL_SYNTH_DRAW_H

#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int w, h;
    uint8_t *px; /* (h, w, 3) */
} synth_image;

typedef struct {
    float r, g, b; /* 0..1 */
} synth_rgb;

enum synth_prim_kind {
    SYNTH_PRIM_ELLIPSE, /* p: cx, cy, rx, ry */
    SYNTH_PRIM_RECT,    /* p: x0, y0, x1, y1, corner radius */
    SYNTH_PRIM_POLY,    /* p: n_vertices pairs (u, v), convex or not */
    SYNTH_PRIM_CAPSULE, /* p: x0, y0, x1, y1, radius (a thick line) */
};

#define SYNTH_POLY_MAX 10
#define SYNTH_SHAPE_MAX 24

typedef struct {
    uint8_t kind;  /* synth_prim_kind */
    uint8_t cut;   /* 1: removes what earlier primitives painted */
    uint8_t part;  /* 0 body (patterned), 1 accent */
    uint8_t n;     /* polygon vertices */
    float p[2 * SYNTH_POLY_MAX];
    float box[4];  /* bounding box u0, v0, u1, v1 (set by the builders) */
} synth_prim;

typedef struct {
    synth_prim prim[SYNTH_SHAPE_MAX];
    int n;
} synth_shape;

enum synth_pattern {
    SYNTH_PATTERN_SOLID,
    SYNTH_PATTERN_STRIPES,
    SYNTH_PATTERN_DOTS,
    SYNTH_PATTERN_CHECKS,
    /* Style 2's looks (synth_style2.h); style 1 never draws these. */
    SYNTH_PATTERN_GRADIENT, /* base to second along angle, across the square */
    SYNTH_PATTERN_PLAID,    /* two crossing sets of bands (width dot_radius), mixed where one */
    SYNTH_PATTERN_CHEVRON,  /* zigzag stripes */
    SYNTH_PATTERN_RINGS,    /* concentric rings about the centre */
    SYNTH_PATTERN_SPOTS,    /* irregular spots, one per cell, placed by seed */
    SYNTH_PATTERN_SPLIT,    /* colour block: second beyond a line across the square */
    SYNTH_PATTERN_COUNT
};

typedef struct {
    synth_rgb base, second, accent;
    int pattern;      /* synth_pattern */
    float freq;       /* pattern repeats across the unit square */
    float angle;      /* radians */
    float dot_radius; /* fraction of a cell, dots only */
    float shade;      /* top-to-bottom darkening, 0..0.3 */
    /* Style 2 only; zero (a zero-initialised material) leaves style 1's colours. */
    float shade_u;    /* left-to-right darkening (light from the left) */
    float sheen;      /* accent part: lighter at the top, darker at the bottom, +-sheen */
    uint32_t seed;    /* where SYNTH_PATTERN_SPOTS puts its spots */
} synth_material;

int synth_image_init(synth_image *im, int w, int h, stl_error *err);
void synth_image_free(synth_image *im);

synth_rgb synth_hsv(float h, float s, float v); /* h in [0,1) */

/* Shape building: each returns 0, or -1 when the shape is full (a bug). */
int synth_shape_ellipse(synth_shape *s, int part, int cut, float cx, float cy, float rx, float ry);
int synth_shape_rect(synth_shape *s, int part, int cut, float x0, float y0, float x1, float y1,
                     float radius);
int synth_shape_capsule(synth_shape *s, int part, int cut, float x0, float y0, float x1,
                        float y1, float radius);
/* xy: n pairs. */
int synth_shape_poly(synth_shape *s, int part, int cut, const float *xy, int n);

/* The part at (u, v), or -1 outside the shape. */
int synth_shape_hit(const synth_shape *s, float u, float v);

synth_rgb synth_material_color(const synth_material *m, int part, float u, float v);

/* Paints shape s coloured by m into the pixel rectangle [x0,x1) x [y0,y1)
 * (the unit square's image; may extend past the image). gain multiplies the
 * colour per channel (brightness and colour jitter; NULL for none). */
void synth_paint(synth_image *im, const synth_shape *s, const synth_material *m, float x0,
                 float y0, float x1, float y1, const float gain[3]);

/* Linear gradient from a to b along direction `angle` over the whole image. */
void synth_fill_gradient(synth_image *im, synth_rgb a, synth_rgb b, float angle);
/* Smooth (bilinear) value noise on a cells x cells grid, +-amp of 255. */
void synth_add_value_noise(synth_image *im, rng_state *r, int cells, float amp);
/* Independent uniform noise per pixel and channel, +-amp of 255. */
void synth_add_pixel_noise(synth_image *im, rng_state *r, float amp);

#ifdef __cplusplus
}
#endif

#endif

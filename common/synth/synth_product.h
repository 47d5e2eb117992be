/* synth_product.h — stl-synth's catalog: categories, product looks, photos.
 *
 * The categories are the ten most common of the real STL fashion catalog
 * (fashion-cat.json), embedded as a static table with weights that follow the
 * real counts (square-rooted, so rare categories still get enough products).
 * A product is a category plus a look drawn once from its own RNG stream:
 * colours, a pattern (solid, stripes, dots, checks), a few shape parameters
 * that vary the category's silhouette (sleeve length, heel, flare, ...) and
 * the margin and background of its catalog photo. synth_product_shape()
 * gives the silhouette in unit coordinates (synth_draw.h), so the product can
 * be painted at any size: into its own catalog photo or into a scene.
 * Nothing here allocates except synth_product_photo's caller-owned image.
 * This file draws style 1; style 2's looks, silhouettes and photos are in
 * synth_style2.c, and the functions below hand a style-2 product to them.
 */
#ifndef STL_SYNTH_PRODUCT_H
#define STL_SYNTH_PRODUCT_H

#include "base/rng.h"
#include "synth/synth_draw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Drawing styles (stl-synth --style): 1 is the original drawing, 2 draws
 * every category, pattern and clutter differently (synth_style2.h). */
#define SYNTH_STYLE_DEFAULT 1
#define SYNTH_STYLE_COUNT 2

/* The category table's order. */
enum synth_category {
    SYNTH_CAT_SHOES, SYNTH_CAT_TOPS, SYNTH_CAT_PANTS, SYNTH_CAT_BAGS, SYNTH_CAT_COATS,
    SYNTH_CAT_SUNGLASSES, SYNTH_CAT_SHORTS, SYNTH_CAT_SKIRTS, SYNTH_CAT_EARRINGS,
    SYNTH_CAT_NECKLACES, SYNTH_CAT_COUNT
};

typedef struct {
    int style;            /* 1..SYNTH_STYLE_COUNT */
    int category;         /* index into the category table */
    synth_material mat;   /* colours and pattern */
    float param[4];       /* shape variation, each in [0,1) */
    float margin;         /* photo margin, fraction of the side */
    synth_rgb background; /* photo background (light) */
} synth_product;

int synth_category_count(void);
/* "Apparel & Accessories|Shoes", ... */
const char *synth_category_name(int i);

/* Draws a product's category and look from r in the given style (1 or 2).
 * The category is the same draw in every style, so the same stream gives the
 * same category whatever the style. */
void synth_product_draw(synth_product *p, int style, rng_state *r);

/* The product's silhouette in the unit square. */
void synth_product_shape(const synth_product *p, synth_shape *out);

/* Renders the catalog photo: the product centred on its plain light
 * background, filling the image but its margin. im must be initialised. */
void synth_product_photo(const synth_product *p, synth_image *im);

#ifdef __cplusplus
}
#endif

#endif

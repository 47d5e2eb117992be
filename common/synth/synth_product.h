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
 */
#ifndef STL_SYNTH_PRODUCT_H
#define STL_SYNTH_PRODUCT_H

#include "base/rng.h"
#include "synth/synth_draw.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int category;         /* index into the category table */
    synth_material mat;   /* colours and pattern */
    float param[4];       /* shape variation, each in [0,1) */
    float margin;         /* photo margin, fraction of the side */
    synth_rgb background; /* photo background (light) */
} synth_product;

int synth_category_count(void);
/* "Apparel & Accessories|Shoes", ... */
const char *synth_category_name(int i);

/* Draws a product's category and look from r. */
void synth_product_draw(synth_product *p, rng_state *r);

/* The product's silhouette in the unit square. */
void synth_product_shape(const synth_product *p, synth_shape *out);

/* Renders the catalog photo: the product centred on its plain light
 * background, filling the image but its margin. im must be initialised. */
void synth_product_photo(const synth_product *p, synth_image *im);

#ifdef __cplusplus
}
#endif

#endif

/* synth_scene.h — stl-synth's scenes: which products, where, and the picture.
 *
 * A scene is planned first (synth_scene_plan: how many products, which ones
 * by popularity, their boxes) so the pairs file can be written before any
 * pixel exists, then rendered (synth_scene_render): a cluttered background —
 * gradient, smooth noise, a floor band, distractor shapes — the products
 * painted into their boxes with brightness and colour jitter, a few small
 * occluders and pixel noise. Both draw from the scene's own RNG stream (the
 * plan leaves the stream where rendering continues), so a scene does not
 * depend on any other scene or on the thread that renders it. Products are
 * large (a box side is at least 30% of the scene side) and overlap little,
 * so a scene's products can be recognised from its pixels.
 */
#ifndef STL_SYNTH_SCENE_H
#define STL_SYNTH_SCENE_H

#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"
#include "synth/synth_draw.h"
#include "synth/synth_product.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SYNTH_SCENE_MAX 4

typedef struct {
    int style;                          /* drawing style, 1..SYNTH_STYLE_COUNT */
    int n;                              /* products in the scene, 1..4 */
    uint32_t product[SYNTH_SCENE_MAX];  /* indices into the catalog, distinct */
    float bbox[SYNTH_SCENE_MAX][4];     /* left, top, right, bottom in [0,1], multiples of 1e-4 */
    rng_state rng;                      /* where rendering continues */
} synth_scene;

/* Plans a scene from r (its own stream), to be drawn in `style`. cdf:
 * cumulative popularity over the n_products catalog products
 * (cdf[n_products-1] > 0; products whose weight is zero are never drawn);
 * n_drawable: how many have non-zero weight. The plan (products, boxes) does
 * not depend on the style. */
void synth_scene_plan(synth_scene *s, int style, rng_state *r, const double *cdf,
                      size_t n_products, size_t n_drawable);

/* Pastes the planned scene's products into im at their boxes, each with a
 * brightness and colour jitter drawn from r (both styles do it this way). */
void synth_scene_paste_products(const synth_scene *s, const synth_product *products, rng_state *r,
                                synth_image *im);

/* Renders the planned scene into im (initialised, any size); style 2's
 * background and clutter are synth_style2.h's. */
void synth_scene_render(const synth_scene *s, const synth_product *products, synth_image *im);

#ifdef __cplusplus
}
#endif

#endif

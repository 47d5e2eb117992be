/* synth_style2.h — stl-synth's second drawing style (--style 2).
 *
 * The learning results on the synthetic set must not be tuned to one way of
 * drawing it, so style 2 draws the same data set (same categories, keys,
 * pairs, boxes and jitter: the plan is shared) with other pictures: every
 * category gets another silhouette family (boots and top-down slippers
 * instead of sneakers and heels, tank tops and sweaters with hanging sleeves
 * instead of T-shirts, puffers and hooded parkas instead of lapel coats,
 * joggers and palazzo trousers, board and paperbag shorts, tiered and pencil
 * skirts, backpacks and round or half-moon bags, aviators and visors,
 * tassel, bead and crescent earrings, bead strands and layered V chains),
 * other looks (muted, earthy, jewel or neon palettes with gradients, plaid,
 * chevrons, rings, irregular spots or colour blocks, lit from the side,
 * accents with a sheen), other catalog photos (a studio backdrop with a
 * floor and a soft shadow) and other clutter (planks, tiles or a radial glow,
 * a vignette, many rings, stars, crosses, frames, crescents and lines,
 * strings across the products, fine grain). synth_product.c and
 * synth_scene.c hand a style-2 product or scene to these functions; they use
 * the same RNG streams as style 1, so style 2 is deterministic the same way.
 */
#ifndef STL_SYNTH_STYLE2_H
#define STL_SYNTH_STYLE2_H

#include "base/rng.h"
#include "synth/synth_draw.h"
#include "synth/synth_product.h"
#include "synth/synth_scene.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Draws the look of p (its category already drawn) from r. */
void synth2_product_look(synth_product *p, rng_state *r);

/* p's style-2 silhouette in the unit square. */
void synth2_product_shape(const synth_product *p, synth_shape *out);

/* p's style-2 catalog photo (im initialised). */
void synth2_product_photo(const synth_product *p, synth_image *im);

/* Renders planned scene s in style 2 (im initialised). */
void synth2_scene_render(const synth_scene *s, const synth_product *products, synth_image *im);

#ifdef __cplusplus
}
#endif

#endif

/* augment.h — seeded, deterministic data augmentation of training crops.
 *
 * Each image of a training triplet may be mirrored left-right (half the
 * time), shifted by up to S/8 pixels in x and y with the edge pixels
 * repeated (a random crop that keeps the size), and have its brightness and
 * contrast scaled by up to +-10% (colour jitter), in that order. What an
 * image gets depends only on the seed, the image's place in the training
 * stream (epoch, offset) and its role in the triplet (scene, positive,
 * negative), never on timing or threads: the same run gives the same bytes,
 * and a resumed run draws what the uninterrupted one drew. The pixels stay
 * uint8 (rounded, clamped), so the model reads augmented crops exactly as it
 * reads stored ones.
 */
#ifndef STL_AUGMENT_H
#define STL_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { AUGMENT_FLIP = 1, AUGMENT_SHIFT = 2, AUGMENT_COLOR = 4, AUGMENT_ALL = 7 };

/* "none", "all" or a comma list of flip, shift, color into *which; -1 with
 * err naming the bad word. */
int augment_parse(const char *list, unsigned *which, stl_error *err);
/* The canonical name of which: "none", "flip,shift,color", ... */
void augment_describe(unsigned which, char *buf, size_t cap);

/* Augments img (S x S x 3, in place) with the transforms in `which`, using
 * tmp (S x S x 3 bytes) as scratch. */
void augment_image(uint8_t *img, uint8_t *tmp, int S, unsigned which, uint64_t seed,
                   uint64_t epoch, uint64_t offset, int role);

#ifdef __cplusplus
}
#endif

#endif

/* input_identity.h — what a training run was trained on, as two hashes.
 *
 * A checkpoint belongs to one configuration: resuming it on other triplets
 * or other crops (a regenerated data set, a re-decode at another size or of
 * changed images) would continue one run with another's data and record the
 * mixture as if it were one. stl-train records these identities in every
 * checkpoint's configuration and refuses to resume when they differ.
 *  - triplets: a hash of everything the triplets file holds (parameters,
 *    keys, the training and test triplets, the held-out pairs);
 *  - crops: a hash of the crop size, the keys in order, and 64 bytes of
 *    every crop at fixed offsets spread over the image. Sampling keeps this
 *    to milliseconds for tens of GiB of crops; a changed image changes its
 *    sampled bytes unless the change misses all 64 of them.
 */
#ifndef STL_INPUT_IDENTITY_H
#define STL_INPUT_IDENTITY_H

#include <stdint.h>

#include "formats/crops.h"
#include "formats/triplets.h"

#ifdef __cplusplus
extern "C" {
#endif

uint64_t input_identity_triplets(const triplets_file *t);
uint64_t input_identity_crops(const crops_set *c);

#ifdef __cplusplus
}
#endif

#endif

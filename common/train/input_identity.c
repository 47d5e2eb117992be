/* input_identity.c — hashes of a run's triplets and crops (input_identity.h). */
#include "train/input_identity.h"

#include <string.h>

#include "base/rng.h"

#define IDENTITY_SEED 0x696e707574732d31ull /* any fixed value */

static uint64_t mix(uint64_t h, const void *data, size_t len) {
    return rng_hash(h, data, len);
}

static uint64_t mix_u64(uint64_t h, uint64_t v) { return mix(h, &v, sizeof v); }

uint64_t input_identity_triplets(const triplets_file *t) {
    uint64_t h = IDENTITY_SEED;
    const triplets_params *p = &t->params;
    h = mix_u64(h, p->seed);
    h = mix_u64(h, (uint64_t)p->split);
    h = mix_u64(h, (uint64_t)p->negatives);
    h = mix_u64(h, p->num_neg);
    h = mix(h, &p->test_fraction, sizeof p->test_fraction);
    h = mix(h, t->scenes, t->n_scenes * sizeof *t->scenes);
    h = mix(h, t->products, t->n_products * sizeof *t->products);
    h = mix(h, t->train, t->n_train * sizeof *t->train);
    h = mix(h, t->test, t->n_test * sizeof *t->test);
    h = mix(h, t->held_scene, t->n_held_scenes * sizeof *t->held_scene);
    h = mix(h, t->held_offset, (t->n_held_scenes + 1) * sizeof *t->held_offset);
    return mix(h, t->held_product, t->held_offset[t->n_held_scenes] * sizeof *t->held_product);
}

uint64_t input_identity_crops(const crops_set *c) {
    enum { SAMPLES = 64 };
    uint64_t h = mix_u64(IDENTITY_SEED + 1, (uint64_t)crops_size(c));
    size_t n = crops_count(c), img = (size_t)crops_size(c) * (size_t)crops_size(c) * 3;
    h = mix_u64(h, n);
    for (size_t i = 0; i < n; i++) {
        h = mix(h, crops_key(c, i), strlen(crops_key(c, i)));
        const uint8_t *px = crops_pixels(c, i);
        uint8_t sample[SAMPLES];
        for (size_t k = 0; k < SAMPLES; k++) sample[k] = px[(k * (img - 1)) / (SAMPLES - 1)];
        h = mix(h, sample, sizeof sample);
    }
    return h;
}

/* loader.h — the training batch loader: a background thread that assembles
 * the next batches (the triplets' uint8 crops gathered into NHWC batches, which
 * the model normalises as it reads them) while the current step computes.
 *
 * The training data is an endless stream of epochs; epoch e is a permutation
 * of the n training triplets drawn by the loader's rng_state, which carries
 * over from epoch to epoch (the state before epoch e's shuffle is saved in
 * checkpoints, so a resumed run draws the same permutations). Global batch k
 * is stream positions [k*B, (k+1)*B) — a batch may straddle two epochs — and
 * rank r of N takes its slice [r*B/N, (r+1)*B/N) of every global batch. A
 * position is (epoch, offset, rng at the start of that epoch): loader_pos.
 *
 * Pixels come from a callback (crops_pixels in stl-train, a fake in tests);
 * every batch also names its images by index, and with indices_only it
 * carries nothing else (the GPU keeps the images and gathers them).
 * The loader owns its thread and its `depth` batch buffers; a batch returned
 * by loader_next stays valid until loader_release. Batches come out in
 * stream order; their contents depend only on the start position, the seed
 * state and the triplets, never on timing.
 */
#ifndef STL_LOADER_H
#define STL_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where in the stream of epochs: the next triplet to use is entry `offset`
 * of epoch `epoch`'s permutation, and `rng` is the generator state from
 * which that permutation was drawn (before the shuffle). */
typedef struct {
    uint64_t epoch;
    uint64_t offset;
    rng_state rng;
} loader_pos;

/* The start of the stream for a seed: epoch 0, offset 0, rng_seed(seed). */
void loader_pos_start(loader_pos *p, uint64_t seed);

/* One training example as three image indices (into the pixel source). */
typedef struct {
    uint32_t scene, pos, neg;
} loader_item;

/* S*S*3 uint8 pixels of image `index`. */
typedef const uint8_t *(*loader_pixels_fn)(void *ctx, uint32_t index);

typedef struct loader_batch loader_batch;

typedef struct {
    const loader_item *items; /* n_items training triplets (borrowed) */
    size_t n_items;
    loader_pixels_fn pixels;
    void *pixels_ctx;
    int image_size;   /* S */
    int global_batch; /* B, divisible by nranks */
    int rank, nranks;
    int depth;        /* batches prefetched (>= 1; 0 = 2) */
    unsigned augment; /* AUGMENT_* (augment.h) applied to every image; 0: none */
    uint64_t augment_seed;
    int indices_only; /* batches carry image indices only, no pixels (the
                         model keeps the images: model_ws_keep_images);
                         pixels may be NULL; no augment */
    /* Optional: where the batches' pixel buffers come from (pinned memory
     * for a GPU: model_ws_host_alloc), NULL for malloc / free. */
    void *(*buf_alloc)(void *ctx, size_t bytes);
    void (*buf_free)(void *ctx, void *p);
    void *buf_ctx;
    /* Optional: called by the loader's thread on each batch it has filled,
     * with the batch's slot (0 .. depth-1; a slot is refilled only after
     * loader_release gave it back): stages the pixels elsewhere (the GPU:
     * model_ws_stage_batch) and may rewrite the batch's indices. Returns 0,
     * or -1 with why filled; the batch then comes out with `failed` set. */
    int (*stage)(void *ctx, int slot, loader_batch *b, stl_error *why);
    void *stage_ctx;
} loader_config;

struct loader_batch {
    uint8_t *scene, *pos, *neg; /* (B/N, S, S, 3) uint8 each; NULL with indices_only */
    uint32_t *scene_idx, *pos_idx, *neg_idx; /* (B/N) image indices each, always */
    int n;                    /* B/N */
    uint64_t index;           /* batches handed out before this one, since the start */
    loader_pos end;           /* the stream position after this global batch */
    int failed;               /* the stage callback failed on it: error says why */
    stl_error error;
};

typedef struct loader loader;

/* Starts the thread at position `start`. */
int loader_create(const loader_config *cfg, const loader_pos *start, loader **out,
                  stl_error *err);
/* The next batch, in order (blocks until it is ready). */
const loader_batch *loader_next(loader *l);
/* Gives the oldest handed-out batch's buffers back to the thread. */
void loader_release(loader *l);
/* Stops and joins the thread, frees everything. Safe on NULL. */
void loader_free(loader *l);

#ifdef __cplusplus
}
#endif

#endif

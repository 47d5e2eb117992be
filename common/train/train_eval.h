/* train_eval.h — stl-train's evaluation on the test triplets: mean triplet
 * loss (margin 1, no norm penalty: the figure the book reports) and triplet
 * accuracy (the fraction with score(scene, pos) > score(scene, neg)), with
 * the model in inference mode (model_embed: BatchNorm running averages).
 *
 * Each distinct test scene and product is embedded once per evaluation, not
 * once per triplet. With N ranks, rank r embeds its contiguous share of the
 * distinct images and the embedding tables are summed across ranks (every
 * other rank contributes zeros, so the sum is exact); every rank then scores
 * all triplets and gets the same numbers, whatever N. The evaluator owns its
 * tables; train_eval_free releases them.
 */
#ifndef STL_TRAIN_EVAL_H
#define STL_TRAIN_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "train/loader.h"
#include "model/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t n;             /* test triplets */
    uint32_t *ts, *tp, *tn; /* per triplet: rows of the scene / product tables */
    uint32_t *scenes;     /* image index of each distinct scene */
    uint32_t *products;   /* image index of each distinct product */
    size_t n_scenes, n_products;
    int output_size;
    float *emb_s, *emb_p; /* (n_scenes, D), (n_products, D) */
    uint8_t *x;           /* the images of one embed chunk */
    size_t x_images;
} train_eval;

typedef struct {
    double loss;     /* mean relu(1 + s.n - s.p) */
    double accuracy; /* fraction with s.p > s.n */
    size_t n;
} train_eval_result;

/* items: the test triplets as image indices (n may be 0: nothing to do). */
int train_eval_init(train_eval *ev, const loader_item *items, size_t n, int output_size,
                    stl_error *err);
void train_eval_free(train_eval *ev);

/* Embeds this rank's share (chunks of model_ws_batch(ws) images), combines
 * the tables with allreduce (NULL for one process) and scores. */
int train_eval_run(train_eval *ev, const model_state *m, model_ws *ws, loader_pixels_fn pixels,
                   void *pixels_ctx, int rank, int nranks, model_allreduce_fn allreduce,
                   void *allreduce_ctx, train_eval_result *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

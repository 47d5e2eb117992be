/* eval_metrics.h — ranking metrics of a recommender on held-out scenes, and
 * the random recommender's expectation of the same metrics (stl-eval's core).
 *
 * A scene is scored against all M products (one score per product); the
 * ranking is the total order of topk.h: higher score first, equal scores by
 * lower product index first. For a scene with g distinct ground-truth
 * products: Recall@K = |ground truth in the top K| / g, HitRate@K = 1 when
 * any ground truth is in the top K, reciprocal rank = 1 / rank of the best
 * ranked ground-truth product (rank 1 = first). Each is averaged over scenes
 * (every scene weighs the same). The triplet accuracy (AUC over sampled
 * negatives) is the fraction of (scene, positive, negative) triplets with
 * score(positive) > score(negative), ties counting one half.
 *
 * The random recommender ranks the M products in a uniformly random order;
 * eval_random_scene() gives its exact expectation for one scene:
 *   E[Recall@K]  = min(K, M) / M
 *   E[HitRate@K] = 1 - C(M-g, K) / C(M, K)
 *   E[RR]        = sum_r P(first hit at r) / r, P(first hit > r) = C(M-r, g) / C(M, g)
 * and its AUC is 1/2. An eval_acc accumulates sums; it owns nothing.
 *
 * The cut-offs (EVAL_N_K, eval_ks) and the plain result record (eval_metrics)
 * are part of the eval metrics file format and live in formats/eval_file.h,
 * which this header includes.
 */
#ifndef STL_EVAL_METRICS_H
#define STL_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/eval_file.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double recall[EVAL_N_K], hit_rate[EVAL_N_K], rr;
    uint64_t n_scenes;
    double triplet_wins; /* 1 per win, 1/2 per tie */
    uint64_t n_triplets;
} eval_acc;

void eval_acc_init(eval_acc *a);

/* 1-based rank of product j among scores[0..m) (the total order above). */
size_t eval_rank(const double *scores, size_t m, size_t j);

/* Adds one scene: scores[0..m) over all products, gt[0..g) distinct product
 * indices (< m), g >= 1. ranks (g entries) receives each one's rank when
 * non-NULL. */
void eval_acc_scene(eval_acc *a, const double *scores, size_t m, const uint32_t *gt,
                    size_t g, size_t *ranks);

/* Adds one triplet comparison. */
void eval_acc_triplet(eval_acc *a, double s_pos, double s_neg);

/* Adds another accumulator's sums (simulation rounds). */
void eval_acc_merge(eval_acc *a, const eval_acc *b);

/* Means (0 where nothing was added). */
void eval_acc_finish(const eval_acc *a, eval_metrics *out);

/* Adds the random recommender's exact expectation for one scene with g
 * ground-truth products out of m (1 <= g <= m) to a (as eval_acc_scene would
 * add a scene's values), and n_triplets expected triplet wins (1/2 each). */
void eval_random_scene(eval_acc *a, size_t m, size_t g);
void eval_random_triplets(eval_acc *a, uint64_t n_triplets);

#ifdef __cplusplus
}
#endif

#endif

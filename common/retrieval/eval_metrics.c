/* eval_metrics.c — ranking metrics and the random recommender's exact
 * expectation (see eval_metrics.h). Ranks are counted, not sorted: for each
 * ground-truth product one pass over the scene's scores, O(M g) per scene. */
#include "retrieval/eval_metrics.h"

#include <string.h>

void eval_acc_init(eval_acc *a) { memset(a, 0, sizeof *a); }

size_t eval_rank(const double *scores, size_t m, size_t j) {
    double sj = scores[j];
    size_t above = 0;
    for (size_t i = 0; i < j; i++) above += scores[i] >= sj;
    for (size_t i = j + 1; i < m; i++) above += scores[i] > sj;
    return above + 1;
}

void eval_acc_scene(eval_acc *a, const double *scores, size_t m, const uint32_t *gt,
                    size_t g, size_t *ranks) {
    size_t best = (size_t)-1;
    size_t in_top[EVAL_N_K] = {0};
    for (size_t t = 0; t < g; t++) {
        size_t r = eval_rank(scores, m, gt[t]);
        if (ranks) ranks[t] = r;
        if (r < best) best = r;
        for (int k = 0; k < EVAL_N_K; k++) in_top[k] += r <= (size_t)eval_ks[k];
    }
    for (int k = 0; k < EVAL_N_K; k++) {
        a->recall[k] += (double)in_top[k] / (double)g;
        a->hit_rate[k] += in_top[k] > 0;
    }
    a->rr += 1.0 / (double)best;
    a->n_scenes++;
}

void eval_acc_triplet(eval_acc *a, double s_pos, double s_neg) {
    a->triplet_wins += s_pos > s_neg ? 1.0 : s_pos == s_neg ? 0.5 : 0.0;
    a->n_triplets++;
}

void eval_acc_merge(eval_acc *a, const eval_acc *b) {
    for (int k = 0; k < EVAL_N_K; k++) {
        a->recall[k] += b->recall[k];
        a->hit_rate[k] += b->hit_rate[k];
    }
    a->rr += b->rr;
    a->n_scenes += b->n_scenes;
    a->triplet_wins += b->triplet_wins;
    a->n_triplets += b->n_triplets;
}

void eval_acc_finish(const eval_acc *a, eval_metrics *out) {
    memset(out, 0, sizeof *out);
    double ns = a->n_scenes ? (double)a->n_scenes : 1.0;
    for (int k = 0; k < EVAL_N_K; k++) {
        out->recall[k] = a->recall[k] / ns;
        out->hit_rate[k] = a->hit_rate[k] / ns;
    }
    out->mrr = a->rr / ns;
    out->auc = a->n_triplets ? a->triplet_wins / (double)a->n_triplets : 0.0;
    out->n_scenes = a->n_scenes;
    out->n_triplets = a->n_triplets;
}

/* P(no ground truth in the first K) = C(M-g, K) / C(M, K)
 *                                   = prod_{i<K} (M-g-i) / (M-i). */
static double miss_probability(size_t m, size_t g, size_t k) {
    if (k > m - g) return 0.0;
    double p = 1.0;
    for (size_t i = 0; i < k; i++) p *= (double)(m - g - i) / (double)(m - i);
    return p;
}

void eval_random_scene(eval_acc *a, size_t m, size_t g) {
    for (int k = 0; k < EVAL_N_K; k++) {
        size_t kk = (size_t)eval_ks[k];
        a->recall[k] += (double)(kk < m ? kk : m) / (double)m;
        a->hit_rate[k] += 1.0 - miss_probability(m, g, kk);
    }
    /* S_r = P(first hit > r) = C(M-r, g) / C(M, g); S_0 = 1 and
     * S_r = S_{r-1} (M-r-g+1) / (M-r+1); P(first hit = r) = S_{r-1} - S_r. */
    double s_prev = 1.0, rr = 0.0;
    for (size_t r = 1; r <= m - g + 1; r++) {
        double s = r + g - 1 >= m ? 0.0
                                  : s_prev * (double)(m - r - g + 1) / (double)(m - r + 1);
        rr += (s_prev - s) / (double)r;
        s_prev = s;
    }
    a->rr += rr;
    a->n_scenes++;
}

void eval_random_triplets(eval_acc *a, uint64_t n_triplets) {
    a->triplet_wins += 0.5 * (double)n_triplets;
    a->n_triplets += n_triplets;
}

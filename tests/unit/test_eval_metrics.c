/* test_eval_metrics.c — the ranking metrics on hand-worked scenes, the random
 * recommender's exact expectation against brute-force enumeration of every
 * ranking, and against a seeded simulation (eval_metrics.h). */
#include <stdlib.h>

#include "check.h"
#include "retrieval/eval_metrics.h"
#include "base/rng.h"

/* Scores 0.9 0.1 0.5 0.5 0.3 0.0: the order is 0, 2, 3 (tie with 2: lower
 * index first), 4, 1, 5. Ground truth {3, 2}: ranks 3 and 2. */
static void test_hand_scene(void) {
    const double s[6] = {0.9, 0.1, 0.5, 0.5, 0.3, 0.0};
    const uint32_t gt[2] = {3, 2};
    size_t ranks[2];
    eval_acc a;
    eval_acc_init(&a);
    eval_acc_scene(&a, s, 6, gt, 2, ranks);
    CHECK_EQ_INT(ranks[0], 3);
    CHECK_EQ_INT(ranks[1], 2);
    CHECK_EQ_INT(eval_rank(s, 6, 0), 1);
    CHECK_EQ_INT(eval_rank(s, 6, 5), 6);
    eval_metrics m;
    eval_acc_finish(&a, &m);
    CHECK_CLOSE(m.recall[0], 0.0, 0, 0);   /* @1: product 0 only */
    CHECK_CLOSE(m.recall[1], 1.0, 0, 0);   /* @5 */
    CHECK_CLOSE(m.hit_rate[0], 0.0, 0, 0);
    CHECK_CLOSE(m.hit_rate[1], 1.0, 0, 0);
    CHECK_CLOSE(m.mrr, 0.5, 0, 0);
    CHECK_EQ_INT(m.n_scenes, 1);
    /* a second scene: ground truth {0} (rank 1) and {1} (rank 5) separately */
    const uint32_t g0[1] = {0}, g1[1] = {1};
    eval_acc_scene(&a, s, 6, g0, 1, NULL);
    eval_acc_scene(&a, s, 6, g1, 1, NULL);
    eval_acc_finish(&a, &m);
    CHECK_CLOSE(m.recall[0], 1.0 / 3, 1e-15, 0);        /* 0, 1, 0 */
    CHECK_CLOSE(m.recall[1], 1.0, 1e-15, 0);            /* 1, 1, 1 */
    CHECK_CLOSE(m.hit_rate[0], 1.0 / 3, 1e-15, 0);
    CHECK_CLOSE(m.mrr, (0.5 + 1.0 + 0.2) / 3, 1e-15, 0);
}

static void test_triplets(void) {
    eval_acc a;
    eval_acc_init(&a);
    eval_acc_triplet(&a, 1.0, 0.5);  /* win */
    eval_acc_triplet(&a, 0.5, 0.5);  /* tie: half */
    eval_acc_triplet(&a, 0.1, 0.5);  /* loss */
    eval_acc_triplet(&a, 2.0, -1.0); /* win */
    eval_metrics m;
    eval_acc_finish(&a, &m);
    CHECK_CLOSE(m.auc, 2.5 / 4, 0, 0);
    CHECK_EQ_INT(m.n_triplets, 4);
}

/* Fewer products than K: every cut-off past M holds all of them. */
static void test_k_beyond_m(void) {
    const double s[3] = {0.1, 0.2, 0.3};
    const uint32_t gt[1] = {0}; /* rank 3 */
    eval_acc a, r;
    eval_acc_init(&a);
    eval_acc_init(&r);
    eval_acc_scene(&a, s, 3, gt, 1, NULL);
    eval_random_scene(&r, 3, 1);
    eval_metrics m, mr;
    eval_acc_finish(&a, &m);
    eval_acc_finish(&r, &mr);
    CHECK_CLOSE(m.recall[1], 1.0, 0, 0);
    CHECK_CLOSE(m.recall[3], 1.0, 0, 0);
    CHECK_CLOSE(m.mrr, 1.0 / 3, 1e-15, 0);
    CHECK_CLOSE(mr.recall[0], 1.0 / 3, 1e-15, 0);
    CHECK_CLOSE(mr.recall[1], 1.0, 1e-15, 0);
    CHECK_CLOSE(mr.hit_rate[1], 1.0, 1e-15, 0);
    CHECK_CLOSE(mr.mrr, (1.0 + 0.5 + 1.0 / 3) / 3, 1e-15, 0);
}

/* Every permutation of M items, by Heap's algorithm; the random
 * recommender's expectation is the mean over all of them. */
static void enumerate(int m, int g, eval_acc *sum) {
    int perm[8], c[8] = {0};
    double s[8];
    uint32_t gt[8];
    for (int i = 0; i < m; i++) perm[i] = i;
    for (int i = 0; i < g; i++) gt[i] = (uint32_t)(i * 2 % m); /* any g distinct items */
    if (g == 3 && m == 7) { gt[0] = 1; gt[1] = 4; gt[2] = 6; }
    for (;;) {
        for (int i = 0; i < m; i++) s[perm[i]] = (double)(m - i); /* perm[0] ranked first */
        eval_acc_scene(sum, s, (size_t)m, gt, (size_t)g, NULL);
        int i = 0;
        while (i < m && c[i] >= i) c[i++] = 0;
        if (i >= m) break;
        int j = i % 2 ? c[i] : 0, t = perm[j];
        perm[j] = perm[i];
        perm[i] = t;
        c[i]++;
    }
}

static void test_random_exact_vs_enumeration(void) {
    const int cases[][2] = {{6, 1}, {6, 2}, {7, 3}, {7, 7}, {8, 2}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int m = cases[k][0], g = cases[k][1];
        eval_acc e, x;
        eval_acc_init(&e);
        eval_acc_init(&x);
        enumerate(m, g, &e);
        eval_random_scene(&x, (size_t)m, (size_t)g);
        eval_metrics me, mx;
        eval_acc_finish(&e, &me);
        eval_acc_finish(&x, &mx);
        /* both are sums of a few thousand doubles: agreement to 1e-12 */
        for (int i = 0; i < EVAL_N_K; i++) {
            CHECK_CLOSE(mx.recall[i], me.recall[i], 1e-12, 0);
            CHECK_CLOSE(mx.hit_rate[i], me.hit_rate[i], 1e-12, 0);
        }
        CHECK_CLOSE(mx.mrr, me.mrr, 1e-12, 0);
    }
    /* closed forms: M = 6, g = 2: HitRate@1 = 2/6, MRR = sum_r P(r)/r with
     * P(1) = 5/15, P(2) = 4/15, P(3) = 3/15, P(4) = 2/15, P(5) = 1/15 */
    eval_acc x;
    eval_acc_init(&x);
    eval_random_scene(&x, 6, 2);
    eval_metrics mx;
    eval_acc_finish(&x, &mx);
    CHECK_CLOSE(mx.hit_rate[0], 2.0 / 6, 1e-15, 0);
    CHECK_CLOSE(mx.mrr, (5.0 + 4.0 / 2 + 3.0 / 3 + 2.0 / 4 + 1.0 / 5) / 15, 1e-15, 0);
    CHECK_CLOSE(mx.recall[0], 1.0 / 6, 1e-15, 0);
}

/* The simulation the stage runs (uniform random scores) against the exact
 * expectation. Each metric is a mean of n = 20000 independent per-scene
 * values in [0, 1], whose variance is at most p(1-p) <= 1/4, so its standard
 * error is at most sqrt(p(1-p)/n) (0.0035 at worst); 5 standard errors is a
 * tolerance that a correct simulation exceeds with probability < 1e-6, and the
 * seed is fixed, so the test is deterministic. */
static void test_random_exact_vs_simulation(void) {
    const size_t m = 120, g = 3, n = 20000;
    const uint32_t gt[3] = {7, 50, 119};
    double *s = malloc(m * sizeof *s);
    eval_acc sim, ex;
    eval_acc_init(&sim);
    eval_acc_init(&ex);
    for (size_t r = 0; r < n; r++) {
        rng_state st;
        rng_stream(&st, 42, r);
        for (size_t j = 0; j < m; j++) s[j] = rng_double(&st);
        eval_acc_scene(&sim, s, m, gt, g, NULL);
        eval_acc_triplet(&sim, s[gt[0]], s[60]);
        eval_random_scene(&ex, m, g);
    }
    eval_random_triplets(&ex, n);
    eval_metrics ms, me;
    eval_acc_finish(&sim, &ms);
    eval_acc_finish(&ex, &me);
    for (int i = 0; i < EVAL_N_K; i++) {
        double p = me.hit_rate[i];
        CHECK_CLOSE(ms.hit_rate[i], p, 5 * sqrt(p * (1 - p) / n) + 1e-12, 0);
        p = me.recall[i];
        CHECK_CLOSE(ms.recall[i], p, 5 * sqrt(p * (1 - p) / n) + 1e-12, 0);
    }
    CHECK_CLOSE(ms.mrr, me.mrr, 5 * sqrt(0.25 / n), 0);
    CHECK_CLOSE(ms.auc, 0.5, 5 * sqrt(0.25 / n), 0);
    CHECK_CLOSE(me.auc, 0.5, 0, 0);
    /* and the numbers themselves: E[Recall@10] = 10/120 */
    CHECK_CLOSE(me.recall[2], 10.0 / 120, 1e-12, 0); /* a mean of 20000 equal terms */
    free(s);
}

int main(void) {
    RUN(test_hand_scene);
    RUN(test_triplets);
    RUN(test_k_beyond_m);
    RUN(test_random_exact_vs_enumeration);
    RUN(test_random_exact_vs_simulation);
    return check_summary();
}

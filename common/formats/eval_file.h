/* eval_file.h — the eval metrics JSON (stl-eval --out FILE,
 * "stlrec-eval-metrics" version 1; docs/formats.md "## Eval metrics JSON"):
 * its one writer (stl-eval) and its one reader (stl-report).
 *
 * Why formats/ and not retrieval/: this is a file between stages, and every
 * such file has its owner module in formats/ (common/README.md). The writer
 * and the reader both need the plain metrics record (Recall@K, HitRate@K,
 * MRR, AUC) and the cut-offs K, which are part of the file format (the keys
 * "1", "5", "10", "50"), so `eval_metrics`, EVAL_N_K and eval_ks live here;
 * retrieval/eval_metrics.h, which computes them, includes this header. A
 * format module in retrieval/ would have worked for the layering too, but
 * would have split the formats between two layers.
 *
 * eval_file_write() produces exactly the bytes stl-eval always wrote: one
 * JSON object, keys in the documented order, indented by 2, reals with 15
 * significant digits, a final newline, written atomically (io/atomic.h).
 * eval_file_read() checks every key the writer writes, with the type and
 * range it has, and fails with "FILE: key \"model.recall.5\": ..." naming the
 * file and the (dotted) key; unknown extra keys are ignored.
 */
#ifndef STL_EVAL_FILE_H
#define STL_EVAL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVAL_N_K 4
/* The cut-offs K reported: 1, 5, 10, 50. */
extern const int eval_ks[EVAL_N_K];

/* The ranking metrics of one recommender (retrieval/eval_metrics.h computes
 * them). n_scenes and n_triplets are not in the file: the writer ignores
 * them, the reader sets them to 0 (the file's counts are test_scenes and
 * test_triplets of eval_file). */
typedef struct {
    double recall[EVAL_N_K];   /* mean Recall@eval_ks[i] */
    double hit_rate[EVAL_N_K]; /* mean HitRate@eval_ks[i] */
    double mrr;                /* mean reciprocal rank */
    double auc;                /* test triplet accuracy */
    uint64_t n_scenes;         /* scenes behind recall / hit rate / MRR */
    uint64_t n_triplets;       /* triplets behind auc */
} eval_metrics;

/* Everything the file holds. The input paths are borrowed by the writer;
 * after eval_file_read() they point into memory the struct owns (free it
 * with eval_file_free). */
typedef struct {
    const char *in_topk, *in_triplets, *in_scenes, *in_products; /* "inputs" */
    int64_t seed, sim_rounds;
    uint64_t test_scenes, test_pairs, test_triplets;
    uint64_t products; /* M, the products ranked */
    eval_metrics model, random_exact, random_simulated;
    uint64_t topk_k, topk_checked, topk_agreeing, topk_missing; /* "topk_check" */
    char *owned_; /* the reader's copy of the paths */
} eval_file;

/* Writes f to path atomically. */
int eval_file_write(const char *path, const eval_file *f, stl_error *err);

/* Reads and checks path into *out (zeroed first; nothing to free on failure). */
int eval_file_read(const char *path, eval_file *out, stl_error *err);

void eval_file_free(eval_file *f);

#ifdef __cplusplus
}
#endif

#endif

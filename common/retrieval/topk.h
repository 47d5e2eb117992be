/* topk.h — exact maximum inner product search: for each query row, the K base
 * rows with the highest dot product.
 *
 * The order of a result row is a total order: higher score first, and among
 * equal scores the lower base index first. Because that order is total, the
 * top K of a row is one well-defined set, whatever the tiling or threading.
 * A row has min(K, M) entries (topk_width): asking for more products than
 * there are returns all of them, ranked.
 *
 * How: queries are cut into blocks of TOPK_QUERY_BLOCK rows and the base into
 * tiles of TOPK_BASE_TILE rows; one cblas_sgemm (OpenBLAS) per (block, tile)
 * fills a small score tile (QUERY_BLOCK x BASE_TILE floats, 512 KiB: it stays
 * in L2) that is scanned at once against a per-row binary heap of the K best
 * so far. A work item is a group of TOPK_GROUP_BLOCKS query blocks: for each
 * base tile, all the group's blocks, so a tile comes from memory once per
 * group (a 1M-product base does not fit in any cache). Memory is
 * O(threads x (tile + group x K) + N x K), never N x M.
 *
 * Threads: `threads` pthreads (the caller's thread included) take work items
 * (a group of query blocks x a range of base tiles) from a shared counter;
 * OpenBLAS is set to one thread for the duration of the call
 * (openblas_set_num_threads, a process-wide setting, restored afterwards), so
 * T threads use T cores and no more. When there are few query groups the base is split into ranges of
 * tiles so that every thread has work; the partial top-K lists are merged.
 *
 * Determinism: block and tile boundaries are fixed constants, independent of
 * the thread count and the base split, and the final scores are recomputed
 * per query (below), so a query's row is byte-identical for any thread count,
 * any shard, and (unless its K-th and K+1-th products are within float
 * rounding of each other) any set of other queries it is run with:
 * stl-recommend's one photo gets stl-topk's row.
 *
 * Scores: sgemm's float32 sums select each row's K products; the K scores
 * are then recomputed one dot product at a time (double sums rounded to
 * float, a fixed order) and the row sorted by them, because sgemm's kernels
 * sum a query's products differently depending on its position in the
 * block. Two products whose true scores are within a few float ulps can
 * still be selected differently from an exact search. Inputs must be finite.
 */
#ifndef STL_TOPK_H
#define STL_TOPK_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TOPK_QUERY_BLOCK 128
#define TOPK_BASE_TILE 1024
/* Query blocks per work item: each base tile is reused from cache this often. */
#define TOPK_GROUP_BLOCKS 4

typedef struct {
    int threads; /* >= 1: threads to use, the caller's included */
    /* Optional: called (under a lock, from any worker) after each work item
     * with the items done so far and the total. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
} topk_options;

/* Entries per result row: min(k, m). */
size_t topk_width(size_t k, size_t m);

/* queries (n, d) and base (m, d) are row-major float32. index and score are
 * (n, topk_width(k, m)) row-major, filled best first. m must be < 2^32.
 * Fails (-1, err) on non-finite input or allocation failure. */
int topk_search(const float *queries, size_t n, const float *base, size_t m,
                size_t d, size_t k, const topk_options *opt, uint32_t *index,
                float *score, stl_error *err);

/* The parts of topk_search a search elsewhere (topk_gpu.h) shares, so its
 * rows are the same: the finiteness check (what names the input), and the
 * final scores of k selected entries per row recomputed one dot product at a
 * time and each row re-sorted by them (the rescoring above). */
int topk_check_finite(const float *x, size_t rows, size_t d, const char *what, stl_error *err);
void topk_rescore(const float *q, const float *p, size_t n, size_t d, size_t k, uint32_t *index,
                  float *score);

#ifdef __cplusplus
}
#endif

#endif

/* topk.c — exact MIPS by blocked sgemm with a fused per-row heap selection.
 *
 * See topk.h for the contract (order, determinism, threads). This file holds
 * the work decomposition, the worker threads, the tile scan and the heaps.
 * Everything it allocates is freed before topk_search returns.
 */
#include "retrieval/topk.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TOPK_X86 1
#endif

typedef struct {
    float s;
    uint32_t i;
} topk_ent;

/* a ranks below b: lower score, or equal score and higher index. */
static inline int ent_worse(topk_ent a, topk_ent b) {
    return a.s < b.s || (a.s == b.s && a.i > b.i);
}

/* Min-heap on "worse": h[0] is the entry the next better candidate evicts. */
static void heap_push(topk_ent *h, size_t *cnt, topk_ent e) {
    size_t c = (*cnt)++;
    while (c > 0) {
        size_t p = (c - 1) / 2;
        if (!ent_worse(e, h[p])) break;
        h[c] = h[p];
        c = p;
    }
    h[c] = e;
}

static void heap_replace_root(topk_ent *h, size_t cnt, topk_ent e) {
    size_t c = 0;
    for (;;) {
        size_t l = 2 * c + 1, w;
        if (l >= cnt) break;
        w = (l + 1 < cnt && ent_worse(h[l + 1], h[l])) ? l + 1 : l;
        if (!ent_worse(h[w], e)) break;
        h[c] = h[w];
        c = w;
    }
    h[c] = e;
}

/* Feeds one row of a score tile (scores of base rows j0 .. j0+len-1, in
 * increasing index order) into the row's heap. Because indices only grow, a
 * candidate equal to the current worst ranks below it, so once the heap is
 * full only scores strictly above h[0].s can enter. */
static void scan_row(const float *c, size_t len, uint32_t j0, topk_ent *h,
                     size_t *cnt, size_t k) {
    size_t j = 0;
    while (*cnt < k && j < len) {
        heap_push(h, cnt, (topk_ent){c[j], j0 + (uint32_t)j});
        j++;
    }
    if (*cnt < k) return;
    float thr = h[0].s;
#ifdef TOPK_X86
    __m128 vt = _mm_set1_ps(thr);
    for (; j + 16 <= len; j += 16) {
        __m128 m0 = _mm_cmpgt_ps(_mm_loadu_ps(c + j), vt);
        __m128 m1 = _mm_cmpgt_ps(_mm_loadu_ps(c + j + 4), vt);
        __m128 m2 = _mm_cmpgt_ps(_mm_loadu_ps(c + j + 8), vt);
        __m128 m3 = _mm_cmpgt_ps(_mm_loadu_ps(c + j + 12), vt);
        if (!_mm_movemask_ps(_mm_or_ps(_mm_or_ps(m0, m1), _mm_or_ps(m2, m3))))
            continue;
        for (size_t u = j; u < j + 16; u++) {
            if (c[u] > thr) {
                heap_replace_root(h, k, (topk_ent){c[u], j0 + (uint32_t)u});
                thr = h[0].s;
            }
        }
        vt = _mm_set1_ps(thr);
    }
#endif
    for (; j < len; j++) {
        if (c[j] > thr) {
            heap_replace_root(h, k, (topk_ent){c[j], j0 + (uint32_t)j});
            thr = h[0].s;
        }
    }
}

static int ent_cmp_best_first(const void *pa, const void *pb) {
    topk_ent a = *(const topk_ent *)pa, b = *(const topk_ent *)pb;
    if (ent_worse(b, a)) return -1;
    if (ent_worse(a, b)) return 1;
    return 0;
}

typedef struct {
    /* inputs */
    const float *q, *p;
    size_t n, m, d, width;
    size_t n_qblocks, n_groups, n_tiles, n_splits, tiles_per_split;
    /* partial results: (n_splits, n, width) sorted best first */
    topk_ent *part;
    /* work distribution */
    pthread_mutex_t lock;
    uint64_t next_item, items_done, n_items;
    int failed;
    const topk_options *opt;
} topk_job;

/* One work item: a group of up to TOPK_GROUP_BLOCKS query blocks against the
 * base tiles of split s. The tile loop is outside the block loop, so each base
 * tile is read from memory once per group and then reused from cache by the
 * group's sgemm calls; every call still has the fixed (block, tile) shape. */
static void run_item(topk_job *job, size_t item, float *tile, topk_ent *heaps,
                     size_t *counts) {
    size_t g = item / job->n_splits, s = item % job->n_splits;
    size_t b0 = g * TOPK_GROUP_BLOCKS, b1 = b0 + TOPK_GROUP_BLOCKS;
    if (b1 > job->n_qblocks) b1 = job->n_qblocks;
    size_t row0 = b0 * TOPK_QUERY_BLOCK;
    size_t rows = (b1 * TOPK_QUERY_BLOCK < job->n ? b1 * TOPK_QUERY_BLOCK : job->n) - row0;
    size_t t0 = s * job->tiles_per_split;
    size_t t1 = t0 + job->tiles_per_split;
    if (t1 > job->n_tiles) t1 = job->n_tiles;
    size_t k = job->width, d = job->d;
    memset(counts, 0, rows * sizeof *counts);
    for (size_t t = t0; t < t1; t++) {
        size_t j0 = t * TOPK_BASE_TILE;
        size_t cols = job->m - j0 < TOPK_BASE_TILE ? job->m - j0 : TOPK_BASE_TILE;
        for (size_t b = b0; b < b1; b++) {
            size_t i0 = b * TOPK_QUERY_BLOCK;
            size_t br = job->n - i0 < TOPK_QUERY_BLOCK ? job->n - i0 : TOPK_QUERY_BLOCK;
            // tile (br, cols) = Q[i0:i0+br] (br, d) . P[j0:j0+cols]^T (d, cols)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)br, (int)cols, (int)d,
                        1.0f, job->q + i0 * d, (int)d, job->p + j0 * d, (int)d, 0.0f, tile,
                        (int)cols);
            for (size_t r = 0; r < br; r++) {
                size_t gr = i0 - row0 + r;
                scan_row(tile + r * cols, cols, (uint32_t)j0, heaps + gr * k, &counts[gr], k);
            }
        }
    }
    for (size_t r = 0; r < rows; r++) {
        topk_ent *h = heaps + r * k;
        qsort(h, counts[r], sizeof *h, ent_cmp_best_first);
        topk_ent *dst = job->part + (s * job->n + row0 + r) * k;
        memcpy(dst, h, counts[r] * sizeof *h);
        // a split shorter than k (only the last one can be) pads with sentinels
        for (size_t e = counts[r]; e < k; e++) dst[e] = (topk_ent){-INFINITY, UINT32_MAX};
    }
}

static void *worker(void *arg) {
    topk_job *job = arg;
    float *tile = malloc((size_t)TOPK_QUERY_BLOCK * TOPK_BASE_TILE * sizeof *tile);
    size_t group_rows = (size_t)TOPK_GROUP_BLOCKS * TOPK_QUERY_BLOCK;
    topk_ent *heaps = malloc(group_rows * job->width * sizeof *heaps);
    size_t *counts = malloc(group_rows * sizeof *counts);
    if (!tile || !heaps || !counts) {
        pthread_mutex_lock(&job->lock);
        job->failed = 1;
        pthread_mutex_unlock(&job->lock);
    }
    for (;;) {
        pthread_mutex_lock(&job->lock);
        uint64_t item = job->next_item;
        int stop = job->failed || item >= job->n_items;
        if (!stop) job->next_item++;
        pthread_mutex_unlock(&job->lock);
        if (stop) break;
        run_item(job, (size_t)item, tile, heaps, counts);
        pthread_mutex_lock(&job->lock);
        job->items_done++;
        if (job->opt && job->opt->progress)
            job->opt->progress(job->opt->progress_ctx, job->items_done, job->n_items);
        pthread_mutex_unlock(&job->lock);
    }
    free(tile);
    free(heaps);
    free(counts);
    return NULL;
}

size_t topk_width(size_t k, size_t m) { return k < m ? k : m; }

int topk_check_finite(const float *x, size_t rows, size_t d, const char *what,
                      stl_error *err) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < d; c++)
            if (!isfinite(x[r * d + c]))
                return stl_fail(err, "%s row %zu: component %zu is not finite", what, r, c);
    return 0;
}

/* The selected entries' scores, recomputed one dot product at a time in a
 * fixed order (double sums, rounded once) and each row re-sorted by them:
 * sgemm's kernels sum differently depending on where a query sits in its
 * block, so without this a query's scores would depend on which other
 * queries it was run with. Selection stays sgemm's; only scores within a
 * few float ulps of each other can be ranked differently from it. */
void topk_rescore(const float *q, const float *p, size_t n, size_t d, size_t k,
                  uint32_t *index, float *score) {
    for (size_t i = 0; i < n; i++) {
        topk_ent row[64], *ents = k <= 64 ? row : malloc(k * sizeof *ents);
        if (!ents) continue; /* keep sgemm's scores for this row */
        const float *qi = q + i * d;
        for (size_t e = 0; e < k; e++) {
            const float *pj = p + (size_t)index[i * k + e] * d;
            double acc = 0;
            for (size_t c = 0; c < d; c++) acc += (double)qi[c] * (double)pj[c];
            ents[e] = (topk_ent){(float)acc, index[i * k + e]};
        }
        qsort(ents, k, sizeof *ents, ent_cmp_best_first);
        for (size_t e = 0; e < k; e++) {
            index[i * k + e] = ents[e].i;
            score[i * k + e] = ents[e].s;
        }
        if (ents != row) free(ents);
    }
}

/* Merges the sorted partial lists of each row (one per split) into the output. */
static void merge_parts(const topk_job *job, uint32_t *index, float *score) {
    size_t k = job->width, S = job->n_splits;
    size_t pos[64];
    for (size_t i = 0; i < job->n; i++) {
        for (size_t s = 0; s < S; s++) pos[s] = 0;
        for (size_t e = 0; e < k; e++) {
            size_t best = 0;
            const topk_ent *bp = NULL;
            for (size_t s = 0; s < S; s++) {
                if (pos[s] >= k) continue;
                const topk_ent *c = job->part + (s * job->n + i) * k + pos[s];
                if (c->i == UINT32_MAX) continue;
                if (!bp || ent_worse(*bp, *c)) { bp = c; best = s; }
            }
            // the splits hold at least k real entries in total since width <= m
            pos[best]++;
            index[i * k + e] = bp->i;
            score[i * k + e] = bp->s;
        }
    }
}

int topk_search(const float *queries, size_t n, const float *base, size_t m,
                size_t d, size_t k, const topk_options *opt, uint32_t *index,
                float *score, stl_error *err) {
    size_t width = topk_width(k, m);
    if (m >= UINT32_MAX) return stl_fail(err, "top-k: %zu base rows: at most %u", m, UINT32_MAX - 1);
    if (d == 0 || d > INT32_MAX / TOPK_BASE_TILE)
        return stl_fail(err, "top-k: dimension %zu out of range", d);
    if (n == 0 || width == 0) return 0;
    if (topk_check_finite(queries, n, d, "top-k: query", err) ||
        topk_check_finite(base, m, d, "top-k: base", err))
        return -1;
    int threads = opt && opt->threads > 0 ? opt->threads : 1;

    topk_job job = {0};
    job.q = queries; job.p = base;
    job.n = n; job.m = m; job.d = d; job.width = width;
    job.opt = opt;
    job.n_qblocks = (n + TOPK_QUERY_BLOCK - 1) / TOPK_QUERY_BLOCK;
    job.n_tiles = (m + TOPK_BASE_TILE - 1) / TOPK_BASE_TILE;
    // Few query blocks: split the base too, so every thread has several items.
    // The split cannot change the result (see topk.h), only the work shape.
    job.n_groups = (job.n_qblocks + TOPK_GROUP_BLOCKS - 1) / TOPK_GROUP_BLOCKS;
    size_t want = 4 * (size_t)threads, splits = 1;
    if (threads > 1 && job.n_groups < want) splits = (want + job.n_groups - 1) / job.n_groups;
    if (splits > 64) splits = 64;
    if (splits > job.n_tiles) splits = job.n_tiles;
    job.tiles_per_split = (job.n_tiles + splits - 1) / splits;
    job.n_splits = (job.n_tiles + job.tiles_per_split - 1) / job.tiles_per_split;
    job.n_items = (uint64_t)job.n_groups * job.n_splits;

    job.part = malloc(job.n_splits * n * width * sizeof *job.part);
    if (!job.part) return stl_fail(err, "top-k: out of memory for %zu x %zu results", n, width);
    pthread_mutex_init(&job.lock, NULL);

    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    int started = 0;
    if (tids) {
        for (int t = 1; t < threads; t++) {
            if (pthread_create(&tids[t], NULL, worker, &job) != 0) break;
            started++;
        }
    }
    worker(&job);
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    free(tids);
    openblas_set_num_threads(blas_threads);
    pthread_mutex_destroy(&job.lock);

    if (job.failed) {
        free(job.part);
        return stl_fail(err, "top-k: out of memory for the score tiles");
    }
    if (job.n_splits == 1) {
        for (size_t e = 0; e < n * width; e++) {
            index[e] = job.part[e].i;
            score[e] = job.part[e].s;
        }
    } else {
        merge_parts(&job, index, score);
    }
    free(job.part);
    topk_rescore(queries, base, n, d, width, index, score);
    return 0;
}

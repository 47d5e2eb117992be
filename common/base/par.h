/* par.h — a small fork-join pool of worker threads for the model's kernels.
 *
 * par_run(pool, fn, ctx) calls fn(ctx, tid, nthreads) once on every thread of
 * the pool (the caller is thread 0) and returns when all have returned: one
 * parallel phase. Work is split by par_range, a fixed function of (n, tid,
 * nthreads), so a given thread count always splits the same way (results
 * are deterministic for a thread count). Workers sleep on a condition
 * variable between phases after a short spin. The pool owns its threads;
 * par_free joins them.
 */
#ifndef STL_PAR_H
#define STL_PAR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct par_pool par_pool;
typedef void (*par_fn)(void *ctx, int tid, int nthreads);

/* n >= 1 threads in all (n - 1 workers are started). NULL on failure. */
par_pool *par_create(int n);
void par_free(par_pool *p);
int par_threads(const par_pool *p);
void par_run(par_pool *p, par_fn fn, void *ctx);

/* [*lo, *hi): thread tid's share of n items, contiguous and balanced. */
static inline void par_range(long n, int tid, int nthreads, long *lo, long *hi) {
    long q = n / nthreads, r = n % nthreads;
    *lo = tid * q + (tid < r ? tid : r);
    *hi = *lo + q + (tid < r ? 1 : 0);
}

#ifdef __cplusplus
}
#endif

#endif

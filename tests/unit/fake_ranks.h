/* fake_ranks.h — two simulated ranks for the model's data-parallel tests:
 * two threads of one process share a fake_world, and fake_allreduce sums a
 * buffer across them (rank 0's element plus rank 1's, in rank order, so
 * both get the same bits), as the model's collective hooks
 * (model_allreduce_fn, and model_allreduce_device_fn for a GPU workspace
 * on the host backend, whose "device" memory is host memory). Header-only,
 * for the test programs that include it.
 */
#ifndef STL_TEST_FAKE_RANKS_H
#define STL_TEST_FAKE_RANKS_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pthread_barrier_t bar;
    float *slot[2];
    float *sum;     /* rank 0's scratch for the sums */
    size_t cap;
    int calls[2];   /* all-reduces per rank */
    int waits[2];   /* fake_wait_device calls per rank */
} fake_world;

typedef struct {
    fake_world *w;
    int rank;
} fake_rank;

static inline void fake_world_init(fake_world *w) {
    memset(w, 0, sizeof *w);
    pthread_barrier_init(&w->bar, NULL, 2);
}
static inline void fake_world_free(fake_world *w) {
    pthread_barrier_destroy(&w->bar);
    free(w->sum);
}

static inline int fake_allreduce(void *ctx, float *buf, size_t n) {
    fake_rank *r = ctx;
    fake_world *w = r->w;
    int ok = 1;
    w->slot[r->rank] = buf;
    w->calls[r->rank]++;
    pthread_barrier_wait(&w->bar);
    if (r->rank == 0 && n > w->cap) {
        free(w->sum);
        w->sum = malloc(n * sizeof(float));
        w->cap = w->sum ? n : 0;
    }
    pthread_barrier_wait(&w->bar);
    if (n > w->cap) ok = 0;
    if (ok && r->rank == 0)
        for (size_t i = 0; i < n; i++) w->sum[i] = w->slot[0][i] + w->slot[1][i]; /* rank order */
    pthread_barrier_wait(&w->bar);
    if (ok) memcpy(buf, w->sum, n * sizeof(float));
    pthread_barrier_wait(&w->bar); /* the sums are read before the next call reuses them */
    return ok ? 0 : -1;
}

static inline int fake_allreduce_device(void *ctx, float *dbuf, size_t n, void *stream) {
    (void)stream;
    return fake_allreduce(ctx, dbuf, n);
}
static inline int fake_wait_device(void *ctx, void *stream) {
    fake_rank *r = ctx;
    (void)stream;
    r->w->waits[r->rank]++;
    return 0;
}

#endif

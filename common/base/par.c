/* par.c — the fork-join worker pool of par.h (pthreads).
 *
 * A phase is published by bumping `gen` under the mutex; workers wait for a
 * new generation (spinning briefly, then on the condition variable), run the
 * function, and count themselves done; the caller runs share 0 and waits for
 * the count. The pool and its threads belong to whoever called par_create.
 */
#include "base/par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct par_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_start, cv_done;
    atomic_long gen;
    atomic_int done;
    int quit;
    par_fn fn;
    void *ctx;
};

typedef struct {
    par_pool *p;
    int tid;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    par_pool *p = wa->p;
    int tid = wa->tid;
    free(wa);
    long seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && spins < 20000) spins++;
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->gen) == seen && !p->quit) pthread_cond_wait(&p->cv_start, &p->mu);
        int quit = p->quit;
        pthread_mutex_unlock(&p->mu);
        if (quit) return NULL;
        seen = atomic_load(&p->gen);
        p->fn(p->ctx, tid, p->n);
        pthread_mutex_lock(&p->mu);
        if (atomic_fetch_add(&p->done, 1) + 1 == p->n - 1) pthread_cond_signal(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
}

par_pool *par_create(int n) {
    if (n < 1) n = 1;
    par_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_start, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->done, 0);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < n; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->p = p;
            wa->tid = i;
        }
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n = i; /* join what started */
            par_free(p);
            return NULL;
        }
    }
    return p;
}

void par_free(par_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_start);
    pthread_cond_destroy(&p->cv_done);
    free(p->threads);
    free(p);
}

int par_threads(const par_pool *p) { return p ? p->n : 1; }

void par_run(par_pool *p, par_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n - 1 && spins < 20000) spins++;
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->done) < p->n - 1) pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* loader.c — the background batch loader (loader.h).
 *
 * One producer thread fills a ring of `depth` batch slots in stream order;
 * the main thread takes them with loader_next and gives them back with
 * loader_release. The producer owns the epoch permutation and the generator;
 * it moves to the next epoch the moment an epoch's last entry is used, so a
 * position never has offset == n and a run resumed from a batch's `end`
 * position draws exactly what the uninterrupted run drew.
 */
#include "train/loader.h"

#include "train/augment.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    loader_batch b;
    int filled;
} loader_slot;

struct loader {
    loader_config cfg;
    int local;          /* B / N */
    size_t img;         /* S*S*3 */
    loader_slot *slots; /* depth */
    uint32_t *perm;     /* the current epoch's permutation */
    loader_pos cur;     /* producer position (cur.rng: before this epoch's shuffle) */
    rng_state after;    /* the generator after this epoch's shuffle: the next epoch's */
    uint64_t produced, consumed;
    uint8_t *aug_tmp;   /* S*S*3: augmentation scratch */
    int stop;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* A batch's pixel buffer, from the configured allocator or malloc. */
static void *buf_alloc(loader *l, size_t bytes) {
    return l->cfg.buf_alloc ? l->cfg.buf_alloc(l->cfg.buf_ctx, bytes) : malloc(bytes);
}
static void buf_free(loader *l, void *p) {
    if (!p) return;
    if (l->cfg.buf_free) l->cfg.buf_free(l->cfg.buf_ctx, p);
    else free(p);
}

void loader_pos_start(loader_pos *p, uint64_t seed) {
    memset(p, 0, sizeof *p);
    rng_seed(&p->rng, seed);
}

/* perm = a fresh permutation of 0..n-1 drawn from cur.rng; after = the state
 * the draw leaves. Depends only on cur.rng and n. */
static void loader_shuffle_epoch(loader *l) {
    size_t n = l->cfg.n_items;
    for (size_t i = 0; i < n; i++) l->perm[i] = (uint32_t)i;
    l->after = l->cur.rng;
    rng_shuffle_u32(&l->after, l->perm, n);
}

/* Takes the next stream entry; moves to the next epoch after the last. */
static uint32_t loader_take(loader *l) {
    uint32_t it = l->perm[l->cur.offset];
    if (++l->cur.offset == l->cfg.n_items) {
        l->cur.epoch++;
        l->cur.offset = 0;
        l->cur.rng = l->after;
        loader_shuffle_epoch(l);
    }
    return it;
}

static void loader_fill(loader *l, loader_batch *b) {
    const loader_config *c = &l->cfg;
    int lo = c->rank * l->local, hi = lo + l->local;
    for (int j = 0; j < c->global_batch; j++) {
        loader_pos at = l->cur; /* this entry's place in the stream */
        uint32_t it = loader_take(l);
        if (j < lo || j >= hi) continue;
        const loader_item *x = &c->items[it];
        b->scene_idx[j - lo] = x->scene;
        b->pos_idx[j - lo] = x->pos;
        b->neg_idx[j - lo] = x->neg;
        if (c->indices_only) continue;
        size_t off = (size_t)(j - lo) * l->img;
        memcpy(b->scene + off, c->pixels(c->pixels_ctx, x->scene), l->img);
        memcpy(b->pos + off, c->pixels(c->pixels_ctx, x->pos), l->img);
        memcpy(b->neg + off, c->pixels(c->pixels_ctx, x->neg), l->img);
        if (c->augment) {
            uint8_t *img[3] = {b->scene + off, b->pos + off, b->neg + off};
            for (int role = 0; role < 3; role++)
                augment_image(img[role], l->aug_tmp, c->image_size, c->augment, c->augment_seed,
                              at.epoch, at.offset, role);
        }
    }
    b->end = l->cur;
}

static void *loader_main(void *arg) {
    loader *l = arg;
    int depth = l->cfg.depth;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && l->produced - l->consumed >= (uint64_t)depth)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop) break;
        loader_slot *s = &l->slots[l->produced % (uint64_t)depth];
        pthread_mutex_unlock(&l->mu);
        loader_fill(l, &s->b); /* the slot is ours: the consumer waits for `filled` */
        if (l->cfg.stage) {
            s->b.failed = l->cfg.stage(l->cfg.stage_ctx, (int)(s - l->slots), &s->b,
                                       &s->b.error) != 0;
        }
        pthread_mutex_lock(&l->mu);
        s->b.index = l->produced;
        s->filled = 1;
        l->produced++;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int loader_create(const loader_config *cfg, const loader_pos *start, loader **out,
                  stl_error *err) {
    *out = NULL;
    if (cfg->n_items == 0) return stl_fail(err, "loader: no training triplets");
    if (cfg->n_items > UINT32_MAX) return stl_fail(err, "loader: too many triplets");
    if (cfg->nranks < 1 || cfg->rank < 0 || cfg->rank >= cfg->nranks || cfg->global_batch < 1 ||
        cfg->global_batch % cfg->nranks != 0)
        return stl_fail(err, "loader: batch %d cannot be split over %d ranks", cfg->global_batch,
                        cfg->nranks);
    if (cfg->indices_only && cfg->augment)
        return stl_fail(err, "loader: augmentation needs the pixels (not indices only)");
    if (cfg->indices_only && cfg->stage)
        return stl_fail(err, "loader: staging needs the pixels (not indices only)");
    if (start->offset >= cfg->n_items)
        return stl_fail(err, "loader: start offset %llu is past the %zu triplets",
                        (unsigned long long)start->offset, cfg->n_items);
    loader *l = calloc(1, sizeof *l);
    if (!l) return stl_fail(err, "loader: out of memory");
    l->cfg = *cfg;
    if (l->cfg.depth <= 0) l->cfg.depth = 2;
    l->local = cfg->global_batch / cfg->nranks;
    l->img = (size_t)cfg->image_size * (size_t)cfg->image_size * 3;
    l->slots = calloc((size_t)l->cfg.depth, sizeof *l->slots);
    l->perm = malloc(cfg->n_items * sizeof *l->perm);
    l->aug_tmp = malloc(l->img);
    int bad = !l->slots || !l->perm || !l->aug_tmp;
    for (int i = 0; !bad && i < l->cfg.depth; i++) {
        loader_batch *b = &l->slots[i].b;
        size_t nb = cfg->indices_only ? 0 : (size_t)l->local * l->img;
        size_t ni = sizeof(uint32_t) * (size_t)l->local;
        if (nb) {
            b->scene = buf_alloc(l, nb);
            b->pos = buf_alloc(l, nb);
            b->neg = buf_alloc(l, nb);
        }
        b->scene_idx = malloc(ni);
        b->pos_idx = malloc(ni);
        b->neg_idx = malloc(ni);
        b->n = l->local;
        bad = (nb && (!b->scene || !b->pos || !b->neg)) || !b->scene_idx || !b->pos_idx ||
              !b->neg_idx;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (bad) {
        loader_free(l);
        return stl_fail(err, "loader: out of memory for %d batches of %d x 3 images",
                        cfg->depth, cfg->global_batch / cfg->nranks);
    }
    l->cur = *start;
    loader_shuffle_epoch(l);
    if (pthread_create(&l->thread, NULL, loader_main, l) != 0) {
        loader_free(l);
        return stl_fail(err, "loader: cannot start the loader thread");
    }
    l->thread_started = 1;
    *out = l;
    return 0;
}

const loader_batch *loader_next(loader *l) {
    pthread_mutex_lock(&l->mu);
    loader_slot *s = &l->slots[l->consumed % (uint64_t)l->cfg.depth];
    while (!s->filled) pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return &s->b;
}

void loader_release(loader *l) {
    pthread_mutex_lock(&l->mu);
    l->slots[l->consumed % (uint64_t)l->cfg.depth].filled = 0;
    l->consumed++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void loader_free(loader *l) {
    if (!l) return;
    if (l->thread_started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    if (l->slots)
        for (int i = 0; i < l->cfg.depth; i++) {
            buf_free(l, l->slots[i].b.scene);
            buf_free(l, l->slots[i].b.pos);
            buf_free(l, l->slots[i].b.neg);
            free(l->slots[i].b.scene_idx);
            free(l->slots[i].b.pos_idx);
            free(l->slots[i].b.neg_idx);
        }
    free(l->slots);
    free(l->perm);
    free(l->aug_tmp);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

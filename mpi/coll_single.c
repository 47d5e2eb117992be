/* coll_single.c — the one-process backend of coll.h: rank 0 of 1, every
 * collective is the identity (coll.c never even calls them when size is 1),
 * abort is _exit. Used whenever the process was not started by a launcher.
 */
#include "coll.h"

#include <unistd.h>

static int single_allreduce(void *ctx, float *buf, size_t n, stl_error *err) {
    (void)ctx, (void)buf, (void)n, (void)err;
    return 0;
}

static int single_broadcast(void *ctx, void *buf, size_t bytes, int root, stl_error *err) {
    (void)ctx, (void)buf, (void)bytes, (void)root, (void)err;
    return 0;
}

static int single_barrier(void *ctx, stl_error *err) {
    (void)ctx, (void)err;
    return 0;
}

static void single_abort(void *ctx, int code) {
    (void)ctx;
    _exit(code);
}

static void single_finalize(void *ctx) { (void)ctx; }

static const coll_ops single_ops = {
    .name = "single",
    .allreduce_sum = single_allreduce,
    .broadcast = single_broadcast,
    .barrier = single_barrier,
    .abort = single_abort,
    .finalize = single_finalize,
};

int coll_single_init(coll *c, stl_error *err) {
    (void)err;
    c->backend = COLL_BACKEND_SINGLE;
    c->ops = &single_ops;
    c->ctx = NULL;
    c->rank = 0;
    c->size = 1;
    c->local_rank = 0;
    c->local_size = 1;
    return 0;
}

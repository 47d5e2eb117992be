/* coll.c — the backend-independent half of the collective layer (coll.h):
 * choosing a backend from the environment, dispatching through its coll_ops
 * (the device collectives too, which only the NCCL layer fills), the failure
 * vote, the model's all-reduce hooks and the per-rank thread budget. The
 * backends live in coll_single.c and coll_mpi.c, the NCCL layer in
 * coll_nccl_cuda.c (CUDA build); the CPU build's coll_nccl_attach is the
 * stub at the end of this file. Nothing here names an NCCL symbol, so a
 * program that never attaches NCCL never links it.
 */
#include "coll.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* Backend entry points (coll_single.c, coll_mpi.c). */
int coll_single_init(coll *c, stl_error *err);
int coll_mpi_init(coll *c, int *argc, char ***argv, stl_error *err);

const char *coll_backend_name(coll_backend b) {
    switch (b) {
    case COLL_BACKEND_AUTO: return "auto";
    case COLL_BACKEND_SINGLE: return "single";
    case COLL_BACKEND_MPI: return "mpi";
    case COLL_BACKEND_NCCL: return "nccl";
    }
    return "?";
}

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

coll_backend coll_backend_from_env(void) {
    const char *forced = getenv("STL_COLL");
    if (forced && strcmp(forced, "single") == 0) return COLL_BACKEND_SINGLE;
    if (forced && strcmp(forced, "mpi") == 0) return COLL_BACKEND_MPI;
    if (env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK"))
        return COLL_BACKEND_MPI;
    return COLL_BACKEND_SINGLE;
}

int coll_init(coll *c, coll_backend want, int *argc, char ***argv, stl_error *err) {
    memset(c, 0, sizeof *c);
    if (gethostname(c->host, sizeof c->host - 1) != 0) snprintf(c->host, sizeof c->host, "?");
    if (want == COLL_BACKEND_AUTO) want = coll_backend_from_env();
    switch (want) {
    case COLL_BACKEND_SINGLE: return coll_single_init(c, err);
    case COLL_BACKEND_MPI: return coll_mpi_init(c, argc, argv, err);
    case COLL_BACKEND_NCCL:
        return stl_fail(err, "collectives: NCCL is not started by coll_init: start MPI or single, "
                             "then coll_nccl_attach (CUDA build)");
    default: return stl_fail(err, "collectives: unknown backend %d", (int)want);
    }
}

void coll_finalize(coll *c) {
    if (c->ops && c->ops->finalize) c->ops->finalize(c->ctx);
    c->ops = NULL;
    c->ctx = NULL;
}

int coll_allreduce_sum(coll *c, float *buf, size_t n, stl_error *err) {
    if (c->size == 1 || n == 0) return 0;
    return c->ops->allreduce_sum(c->ctx, buf, n, err);
}

int coll_broadcast(coll *c, void *buf, size_t bytes, int root, stl_error *err) {
    if (root < 0 || root >= c->size)
        return stl_fail(err, "broadcast: root %d out of range (size %d)", root, c->size);
    if (c->size == 1 || bytes == 0) return 0;
    return c->ops->broadcast(c->ctx, buf, bytes, root, err);
}

int coll_barrier(coll *c, stl_error *err) {
    if (c->size == 1) return 0;
    return c->ops->barrier(c->ctx, err);
}

int coll_count_failures(coll *c, int failed, stl_error *err) {
    float v = failed ? 1.0f : 0.0f; /* small integers: exact in any order */
    if (coll_allreduce_sum(c, &v, 1, err) != 0) return -1;
    return (int)v;
}

STL_NORETURN void coll_abort(coll *c, int code, const char *msg) {
    if (c && c->size > 1)
        log_errorf("rank %d/%d on %s: %s", c->rank, c->size, c->host, msg);
    else
        log_errorf("%s", msg);
    fflush(stderr);
    if (c && c->ops && c->ops->abort) c->ops->abort(c->ctx, code);
    _exit(code); /* single process, or a backend whose abort returned */
}

/* What the model's hooks return, having printed a failure (the hooks have
 * no stl_error of their own). */
static int hook_result(const coll *c, int rc, const stl_error *err) {
    if (rc == 0) return 0;
    log_errorf("rank %d/%d on %s: %s", c->rank, c->size, c->host, err->msg);
    return -1;
}

int coll_allreduce_hook(void *ctx, float *buf, size_t n) {
    stl_error err;
    return hook_result(ctx, coll_allreduce_sum(ctx, buf, n, &err), &err);
}

int coll_has_device(const coll *c) {
    return c && c->ops && c->ops->device_live && c->ops->device_live(c->ctx);
}

/* Why the device collectives cannot run on c. */
static int no_device(const coll *c, stl_error *err, const char *what) {
    if (c && c->ops && c->ops->device_live)
        return stl_fail(err, "%s: the NCCL communicator was aborted after an earlier error", what);
    return stl_fail(err, "%s: no device collectives: NCCL is not attached (coll_nccl_attach, "
                         "CUDA build)", what);
}

int coll_allreduce_sum_device(coll *c, float *dbuf, size_t n, void *stream, stl_error *err) {
    if (!coll_has_device(c)) return no_device(c, err, "allreduce (device)");
    if (c->size == 1 || n == 0) return 0;
    return c->ops->allreduce_sum_device(c->ctx, dbuf, n, stream, err);
}

int coll_wait_device(coll *c, void *stream, stl_error *err) {
    if (!coll_has_device(c)) return no_device(c, err, "wait (device)");
    return c->ops->wait_device(c->ctx, stream, err);
}

int coll_allreduce_device_hook(void *ctx, float *dbuf, size_t n, void *stream) {
    stl_error err;
    return hook_result(ctx, coll_allreduce_sum_device(ctx, dbuf, n, stream, &err), &err);
}

int coll_wait_device_hook(void *ctx, void *stream) {
    stl_error err;
    return hook_result(ctx, coll_wait_device(ctx, stream, &err), &err);
}

#ifndef STL_CUDA
/* The CPU build has no NCCL (coll_nccl_cuda.c is CUDA-only). */
int coll_nccl_attach(coll *c, stl_error *err) {
    (void)c;
    return stl_fail(err, "NCCL: not in this build (the CUDA build only: make CUDA=1)");
}
#endif

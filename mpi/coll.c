/* coll.c — the backend-independent half of the collective layer (coll.h):
 * choosing a backend from the environment, dispatching through its coll_ops,
 * the failure vote, the model's all-reduce hook and the per-rank thread
 * budget. The backends live in coll_single.c and coll_mpi.c.
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
        return stl_fail(err, "collectives: the NCCL backend is not built (CUDA build only)");
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

int coll_allreduce_hook(void *ctx, float *buf, size_t n) {
    coll *c = ctx;
    stl_error err;
    if (coll_allreduce_sum(c, buf, n, &err) == 0) return 0;
    log_errorf("rank %d/%d on %s: %s", c->rank, c->size, c->host, err.msg);
    return -1;
}

/* coll_nccl_cuda.c — the NCCL layer of the collective layer (coll.h), CUDA
 * build only (the Makefile leaves mpi/ files named *_cuda.c out of the CPU
 * build, whose coll_nccl_attach is a stub in coll.c).
 *
 * NCCL sits on top of a host backend (MPI, or single for one rank): after
 * coll_nccl_attach the coll's function table is this file's, whose host
 * operations (broadcast, barrier, the failure vote, the host all-reduce) are
 * the backend's underneath and whose device operations are NCCL's: an
 * in-place ncclAllReduce (float32, sum) on a CUDA stream, and a wait that
 * polls the stream and the communicator's asynchronous error with short
 * sleeps and a time limit, so a dead peer or a broken link ends in an error
 * message (and ncclCommAbort) instead of a hang. The communicator is made
 * the usual way: rank 0's ncclGetUniqueId, broadcast over the host backend,
 * then ncclCommInitRank on every rank, each on the GPU the caller selected
 * (cudaSetDevice) beforehand.
 *
 * Determinism: NCCL's ring and tree all-reduce reduce each element once and
 * copy the result to every rank, so all ranks hold the same bits; for a
 * fixed rank count, length and algorithm the result repeats from run to run.
 * NCCL chooses the algorithm from the topology, so results repeat across
 * machines only with it fixed (NCCL_ALGO=Ring). Chunking (below) is a fixed
 * function of the length, so it changes nothing of that.
 */
#include "coll.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "base/timer.h"

/* Each ncclAllReduce gets at most 2^30 elements (4 GiB of floats): NCCL
 * counts in size_t, and a fixed cap keeps every count and byte count of one
 * call far below 2^32 whatever NCCL does inside. */
#define NCCL_MAX_CALL_ELEMS ((size_t)1 << 30)
/* The wait's polling: the first sleep, doubled up to the last. */
#define NCCL_POLL_FIRST_NS 50000L
#define NCCL_POLL_MAX_NS 1000000L
#define NCCL_TIMEOUT_DEFAULT_S 600.0

typedef struct {
    const coll_ops *host_ops; /* the backend underneath (MPI or single) */
    void *host_ctx;
    ncclComm_t comm;
    int aborted; /* ncclCommAbort done: comm is gone */
    int rank, size;
    char host[64];
    double timeout_s;
} nccl_ctx;

/* "NCCL: <what> (rank R/N on HOST)[: <NCCL's last error>]". Reads NCCL's
 * thread-local last error, so call it before ncclCommAbort. */
static int nccl_fail(const nccl_ctx *x, stl_error *err, ncclResult_t r, const char *call) {
    const char *detail = ncclGetLastError(NULL);
    return stl_fail(err, "NCCL: %s (rank %d/%d on %s) in %s%s%s", ncclGetErrorString(r), x->rank,
                    x->size, x->host, call, detail && *detail ? ": " : "", detail ? detail : "");
}

static int cuda_fail(const nccl_ctx *x, stl_error *err, cudaError_t e, const char *call) {
    return stl_fail(err, "NCCL: %s: error %d, %s: %s (rank %d/%d on %s)", call, (int)e,
                    cudaGetErrorName(e), cudaGetErrorString(e), x->rank, x->size, x->host);
}

static void abort_comm(nccl_ctx *x) {
    if (x->aborted) return;
    ncclCommAbort(x->comm);
    x->aborted = 1;
}

/* ---- host operations: the backend underneath ---- */

static int host_allreduce(void *ctx, float *buf, size_t n, stl_error *err) {
    nccl_ctx *x = ctx;
    return x->host_ops->allreduce_sum(x->host_ctx, buf, n, err);
}

static int host_broadcast(void *ctx, void *buf, size_t bytes, int root, stl_error *err) {
    nccl_ctx *x = ctx;
    return x->host_ops->broadcast(x->host_ctx, buf, bytes, root, err);
}

static int host_barrier(void *ctx, stl_error *err) {
    nccl_ctx *x = ctx;
    return x->host_ops->barrier(x->host_ctx, err);
}

/* NCCL first: a rank stuck in a kernel waiting for a dead peer is freed. */
static void nccl_job_abort(void *ctx, int code) {
    nccl_ctx *x = ctx;
    abort_comm(x);
    x->host_ops->abort(x->host_ctx, code);
}

static void nccl_finalize(void *ctx) {
    nccl_ctx *x = ctx;
    if (!x) return;
    if (!x->aborted) ncclCommDestroy(x->comm);
    if (x->host_ops->finalize) x->host_ops->finalize(x->host_ctx);
    free(x);
}

/* ---- device operations ---- */

static int nccl_allreduce_device(void *ctx, float *dbuf, size_t n, void *stream, stl_error *err) {
    nccl_ctx *x = ctx;
    for (size_t off = 0; off < n;) {
        size_t cnt = n - off > NCCL_MAX_CALL_ELEMS ? NCCL_MAX_CALL_ELEMS : n - off;
        ncclResult_t r = ncclAllReduce(dbuf + off, dbuf + off, cnt, ncclFloat32, ncclSum, x->comm,
                                       (cudaStream_t)stream);
        if (r != ncclSuccess) return nccl_fail(x, err, r, "ncclAllReduce");
        off += cnt;
    }
    return 0;
}

static void sleep_ns(long ns) {
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}

static int nccl_wait_device(void *ctx, void *stream, stl_error *err) {
    nccl_ctx *x = ctx;
    double t0 = timer_now();
    long pause_ns = NCCL_POLL_FIRST_NS;
    for (;;) {
        ncclResult_t async = ncclSuccess;
        ncclResult_t r = ncclCommGetAsyncError(x->comm, &async);
        if (r != ncclSuccess || (async != ncclSuccess && async != ncclInProgress)) {
            nccl_fail(x, err, r != ncclSuccess ? r : async,
                      r != ncclSuccess ? "ncclCommGetAsyncError" : "a collective (async error)");
            abort_comm(x);
            return -1;
        }
        cudaError_t e = cudaStreamQuery((cudaStream_t)stream);
        if (e == cudaSuccess) return 0;
        if (e != cudaErrorNotReady) {
            cuda_fail(x, err, e, "cudaStreamQuery");
            abort_comm(x);
            return -1;
        }
        if (timer_now() - t0 > x->timeout_s) {
            stl_fail(err,
                     "NCCL: no progress for %g s waiting for the stream (rank %d/%d on %s; "
                     "limit STL_NCCL_TIMEOUT_S): a peer is gone or stuck; communicator aborted",
                     x->timeout_s, x->rank, x->size, x->host);
            abort_comm(x);
            return -1;
        }
        sleep_ns(pause_ns);
        pause_ns = pause_ns * 2 > NCCL_POLL_MAX_NS ? NCCL_POLL_MAX_NS : pause_ns * 2;
    }
}

static int nccl_device_live(void *ctx) {
    const nccl_ctx *x = ctx;
    return x && !x->aborted;
}

static const coll_ops nccl_ops = {
    .name = "nccl",
    .allreduce_sum = host_allreduce,
    .broadcast = host_broadcast,
    .barrier = host_barrier,
    .abort = nccl_job_abort,
    .finalize = nccl_finalize,
    .allreduce_sum_device = nccl_allreduce_device,
    .wait_device = nccl_wait_device,
    .device_live = nccl_device_live,
};

/* ---- attach ---- */

/* STL_NCCL_TIMEOUT_S: unset or empty is the default; else a finite number > 0. */
static int read_timeout(double *seconds, stl_error *err) {
    const char *v = getenv("STL_NCCL_TIMEOUT_S");
    *seconds = NCCL_TIMEOUT_DEFAULT_S;
    if (!v || !*v) return 0;
    char *end = NULL;
    double s = strtod(v, &end);
    if (end == v || *end != '\0' || !isfinite(s) || s <= 0)
        return stl_fail(err, "NCCL: STL_NCCL_TIMEOUT_S=%s is not a number of seconds > 0", v);
    *seconds = s;
    return 0;
}

/* What can fail on one rank before any NCCL collective: the time limit, the
 * GPU, and (rank 0) the id. */
static int prepare(nccl_ctx *x, ncclUniqueId *id, stl_error *err) {
    if (read_timeout(&x->timeout_s, err) != 0) return -1;
    int gpus = 0;
    cudaError_t e = cudaGetDeviceCount(&gpus);
    if (e != cudaSuccess) return cuda_fail(x, err, e, "no usable GPU (cudaGetDeviceCount)");
    if (gpus < 1)
        return stl_fail(err, "NCCL: no GPU (cudaGetDeviceCount: 0) (rank %d/%d on %s)", x->rank,
                        x->size, x->host);
    int dev = -1;
    e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return cuda_fail(x, err, e, "cudaGetDevice");
    if (x->rank == 0) {
        ncclResult_t r = ncclGetUniqueId(id);
        if (r != ncclSuccess) return nccl_fail(x, err, r, "ncclGetUniqueId");
    }
    return 0;
}

int coll_nccl_attach(coll *c, stl_error *err) {
    if (!c->ops) return stl_fail(err, "NCCL: attach before coll_init");
    if (c->backend == COLL_BACKEND_NCCL) return stl_fail(err, "NCCL: already attached");
    nccl_ctx *x = calloc(1, sizeof *x);
    if (!x) return stl_fail(err, "NCCL: out of memory");
    x->rank = c->rank;
    x->size = c->size;
    snprintf(x->host, sizeof x->host, "%s", c->host);

    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    stl_error mine;
    int failed = prepare(x, &id, &mine) != 0;
    /* Every rank learns whether any failed, so none waits for the id or in
     * ncclCommInitRank for a rank that has given up. */
    int nfailed = coll_count_failures(c, failed, err);
    if (nfailed != 0) {
        free(x);
        if (nfailed < 0) return stl_fail_prefix(err, "NCCL: attach");
        if (failed) {
            *err = mine;
            return -1;
        }
        return stl_fail(err, "NCCL: attach failed on %d of %d ranks (rank %d/%d on %s is fine; "
                             "the failing ranks say why)",
                        nfailed, c->size, c->rank, c->size, c->host);
    }
    if (coll_broadcast(c, &id, sizeof id, 0, err) != 0) {
        free(x);
        return stl_fail_prefix(err, "NCCL: the id's broadcast");
    }
    ncclResult_t r = ncclCommInitRank(&x->comm, c->size, id, c->rank);
    if (r != ncclSuccess) {
        nccl_fail(x, err, r, "ncclCommInitRank");
        free(x);
        return -1;
    }
    x->host_ops = c->ops;
    x->host_ctx = c->ctx;
    c->ops = &nccl_ops;
    c->ctx = x;
    c->backend = COLL_BACKEND_NCCL;
    return 0;
}

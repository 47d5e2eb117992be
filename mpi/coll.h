/* coll.h — the collective layer of data-parallel training: one small
 * interface, several backends.
 *
 * A coll is a group of ranks (processes) that train one model together. It
 * knows its rank and size (and the ranks sharing this machine, for the thread
 * budget), sums float buffers across ranks, broadcasts bytes from one rank,
 * and can end the whole job with a message. The backends are
 *   COLL_BACKEND_SINGLE  one process, no MPI at all (collectives are no-ops);
 *   COLL_BACKEND_MPI     Open MPI over MPI_COMM_WORLD (coll_mpi.c);
 *   COLL_BACKEND_NCCL    the CUDA build's layer over either of them
 *                        (coll_nccl_cuda.c): coll_nccl_attach, after
 *                        coll_init, starts an NCCL communicator (its id
 *                        broadcast by the host backend) and adds the device
 *                        all-reduce; broadcast, barrier, the failure vote and
 *                        the host all-reduce stay on the host backend.
 * Each backend fills a table of function pointers (coll_ops); the public
 * functions below dispatch through it, so a caller never names a backend.
 *
 * Choosing a backend (coll_init with COLL_BACKEND_AUTO): MPI when the process
 * was started by a launcher (mpirun/mpiexec set OMPI_COMM_WORLD_SIZE, srun
 * sets PMIX_RANK or PMI_RANK), else single. A plain `stl-train …` therefore
 * never initialises MPI (no singleton start-up, no orted). STL_COLL=single|mpi
 * overrides the choice.
 *
 * Guarantees every backend keeps:
 *   - coll_allreduce_sum leaves the bit-identical result on every rank (the
 *     MPI backend reduces to rank 0 and broadcasts, because MPI_Allreduce does
 *     not promise the same rounding on every rank; with exactly 2 ranks it
 *     uses MPI_Allreduce, whose one addition per element is commutative
 *     and so identical on both), and for a given rank
 *     count and buffer length the result is the same from run to run.
 *   - The device all-reduce (NCCL's ring or tree) also leaves the same bits
 *     on every rank: each element is reduced once, by one rank, and the
 *     result copied to the others. For a fixed rank count, length and
 *     algorithm the result repeats from run to run; NCCL picks the algorithm
 *     from the topology, so for results that repeat across machines fix it
 *     (NCCL_ALGO=Ring).
 *   - A failing call returns -1 with err filled ("allreduce: <why>"); the
 *     caller then ends the job with coll_abort, which never returns and never
 *     leaves other ranks waiting (MPI_Abort).
 * Collectives are called from one thread (the main thread) only.
 */
#ifndef STL_COLL_H
#define STL_COLL_H

#include <stddef.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    COLL_BACKEND_AUTO = 0, /* coll_init only: pick from the environment */
    COLL_BACKEND_SINGLE,
    COLL_BACKEND_MPI,
    COLL_BACKEND_NCCL,
} coll_backend;

typedef struct coll coll;

/* What a backend implements. ctx is the backend's own state. */
typedef struct {
    const char *name;
    int (*allreduce_sum)(void *ctx, float *buf, size_t n, stl_error *err);
    int (*broadcast)(void *ctx, void *buf, size_t bytes, int root, stl_error *err);
    int (*barrier)(void *ctx, stl_error *err);
    void (*abort)(void *ctx, int code); /* must not return */
    void (*finalize)(void *ctx);
    /* Device collectives: NULL in the host backends, filled by the NCCL
     * layer (coll_nccl_attach). device_live: 1 while its communicator is
     * usable (0 after an abort). */
    int (*allreduce_sum_device)(void *ctx, float *dbuf, size_t n, void *stream, stl_error *err);
    int (*wait_device)(void *ctx, void *stream, stl_error *err);
    int (*device_live)(void *ctx);
} coll_ops;

struct coll {
    coll_backend backend;
    const coll_ops *ops;
    void *ctx;
    int rank, size;             /* in the job */
    int local_rank, local_size; /* on this machine */
    char host[64];
};

/* Starts the backend (MPI_Init_thread for MPI; argc/argv may be NULL) and
 * fills c. want: COLL_BACKEND_AUTO, SINGLE or MPI (NCCL is an error: it is
 * attached afterwards with coll_nccl_attach). */
int coll_init(coll *c, coll_backend want, int *argc, char ***argv, stl_error *err);
/* Ends the backend (MPI_Finalize; with NCCL attached, ncclCommDestroy
 * first, or nothing for a communicator already aborted). Safe on a zeroed or
 * finalised c. */
void coll_finalize(coll *c);

/* Which backend AUTO would pick in this environment (honours STL_COLL). */
coll_backend coll_backend_from_env(void);
const char *coll_backend_name(coll_backend b);
/* "  Open MPI v4.1.4, ..." (the MPI library's own first line), for --version. */
const char *coll_library_version(void);

static inline int coll_rank(const coll *c) { return c->rank; }
static inline int coll_size(const coll *c) { return c->size; }

/* Sums buf[0..n) over all ranks in place; every rank gets the same bits. */
int coll_allreduce_sum(coll *c, float *buf, size_t n, stl_error *err);
/* Copies `bytes` bytes of root's buf into every other rank's buf. */
int coll_broadcast(coll *c, void *buf, size_t bytes, int root, stl_error *err);
int coll_barrier(coll *c, stl_error *err);

/* Every rank passes its own status (0 ok, non-zero failed); returns the
 * number of ranks that failed (the same on every rank), or -1 when the
 * collective itself failed. Used after work that can fail on one rank only
 * (opening files), so that all ranks stop together instead of hanging. */
int coll_count_failures(coll *c, int failed, stl_error *err);

/* Prints "<program>: <msg>" (with "rank R/N on HOST" when size > 1) and ends
 * every rank of the job with exit status code (with NCCL attached,
 * ncclCommAbort first, then the host backend's abort). Never returns. */
STL_NORETURN void coll_abort(coll *c, int code, const char *msg);

/* Adapter for model_ws_set_allreduce (model.h): ctx is a coll *. Returns 0
 * or -1 (the error is printed, since the model's hook has no stl_error). */
int coll_allreduce_hook(void *ctx, float *buf, size_t n);

/* ---- Device collectives (NCCL, CUDA build) ----
 * One rank per GPU: NCCL refuses two ranks on one GPU, so a job with more
 * ranks than GPUs keeps the host all-reduce (STL_COLL=mpi, no attach). */

/* After coll_init (MPI or single backend) and after cudaSetDevice on this
 * rank's GPU: rank 0 makes the NCCL unique id, coll_broadcast sends it, every
 * rank calls ncclCommInitRank; then c->backend becomes COLL_BACKEND_NCCL and
 * the device functions below are live. A failure before the communicator
 * starts (no GPU, no id, a bad STL_NCCL_TIMEOUT_S) is voted over the host
 * backend, so every rank returns -1 together (the others: "NCCL: ... failed
 * on K of N ranks"); a rank whose ncclCommInitRank fails returns -1 while the
 * others may still wait in theirs. Either way the caller ends the job with
 * coll_abort. The wait limit of coll_wait_device comes from env
 * STL_NCCL_TIMEOUT_S (seconds, default 600), read here. CPU build: returns -1
 * naming that NCCL is in the CUDA build only. */
int coll_nccl_attach(coll *c, stl_error *err);
/* 1 when device collectives are live (NCCL attached and not aborted). */
int coll_has_device(const coll *c);
/* Sums n floats at device address dbuf across ranks in place, enqueued on
 * `stream` (a cudaStream_t, NULL = default stream); does not wait. Counts in
 * elements (ncclFloat32, ncclSum); n larger than what one call takes is
 * chunked. With size 1 it is a no-op. -1 without live device collectives. */
int coll_allreduce_sum_device(coll *c, float *dbuf, size_t n, void *stream, stl_error *err);
/* Waits until `stream`'s work is done, polling cudaStreamQuery and
 * ncclCommGetAsyncError (sleeping between polls: 50 us growing to 1 ms, no
 * busy spin); on an NCCL async error, a CUDA error, or after the timeout
 * (STL_NCCL_TIMEOUT_S, default 600 s) it calls ncclCommAbort and returns -1
 * with err naming what happened ("NCCL: <ncclGetErrorString> (rank R/N on
 * HOST)" or "NCCL: no progress for 600 s ..."); never hangs. The caller then
 * ends the job with coll_abort. -1 without live device collectives. */
int coll_wait_device(coll *c, void *stream, stl_error *err);
/* Adapters for the model (function-pointer hooks without stl_error: they
 * print the error with log_errorf like coll_allreduce_hook does and return
 * -1): ctx is a coll *. */
int coll_allreduce_device_hook(void *ctx, float *dbuf, size_t n, void *stream);
int coll_wait_device_hook(void *ctx, void *stream);


#ifdef __cplusplus
}
#endif

#endif

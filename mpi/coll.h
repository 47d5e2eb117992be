/* coll.h — the collective layer of data-parallel training: one small
 * interface, several backends.
 *
 * A coll is a group of ranks (processes) that train one model together. It
 * knows its rank and size (and the ranks sharing this machine, for the thread
 * budget), sums float buffers across ranks, broadcasts bytes from one rank,
 * and can end the whole job with a message. The backends are
 *   COLL_BACKEND_SINGLE  one process, no MPI at all (collectives are no-ops);
 *   COLL_BACKEND_MPI     Open MPI over MPI_COMM_WORLD (coll_mpi.c);
 *   COLL_BACKEND_NCCL    reserved for the CUDA build (same operations on
 *                        device buffers; NCCL id broadcast over MPI).
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
 * fills c. want: COLL_BACKEND_AUTO or a specific backend (NCCL: error until
 * the CUDA build provides it). */
int coll_init(coll *c, coll_backend want, int *argc, char ***argv, stl_error *err);
/* Ends the backend (MPI_Finalize). Safe on a zeroed or finalised c. */
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
 * every rank of the job with exit status code. Never returns. */
STL_NORETURN void coll_abort(coll *c, int code, const char *msg);

/* Adapter for model_ws_set_allreduce (model.h): ctx is a coll *. Returns 0
 * or -1 (the error is printed, since the model's hook has no stl_error). */
int coll_allreduce_hook(void *ctx, float *buf, size_t n);


#ifdef __cplusplus
}
#endif

#endif

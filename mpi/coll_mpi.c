/* coll_mpi.c — the Open MPI backend of coll.h, over MPI_COMM_WORLD.
 *
 * MPI_Init_thread(FUNNELED): only the main thread calls MPI (the batch loader
 * thread never does). Errors return (MPI_ERRORS_RETURN) and are turned into
 * stl_error messages naming the call, the rank and the host (MPI_CHECK);
 * the caller ends the job with coll_abort -> MPI_Abort, so a failing rank
 * never leaves the others blocked in a collective.
 *
 * The all-reduce with more than 2 ranks is MPI_Reduce to rank 0 followed by
 * MPI_Bcast from it: the MPI standard does not promise that MPI_Allreduce
 * rounds identically on every rank (Open MPI's algorithms may combine
 * partial sums in a different order on different ranks), and data-parallel
 * training needs bit-identical parameters everywhere. With exactly 2 ranks
 * every element's sum is one float addition, a + b on one rank and b + a on
 * the other, which IEEE 754 rounds identically (addition is commutative), so
 * plain MPI_Allreduce keeps the guarantee at half the latency (synchronised
 * BatchNorm makes ~90 small all-reduces per step). For a fixed rank count
 * and length Open MPI picks the same algorithm every time, so results repeat
 * from run to run.
 * Buffers longer than INT_MAX elements are sent in chunks.
 */
#include "coll.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int rank, size;
    const char *host;
    int finalized;
} mpi_ctx;

static int mpi_fail(const mpi_ctx *m, stl_error *err, const char *what, int rc,
                    const char *file, int line) {
    char s[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", rc);
    return stl_fail(err, "%s failed on rank %d/%d (%s) at %s:%d: %s", what, m->rank, m->size,
                    m->host, file, line, s);
}

#define MPI_CHECK(m, err, call)                                                     \
    do {                                                                            \
        int mpi_rc_ = (call);                                                       \
        if (mpi_rc_ != MPI_SUCCESS)                                                 \
            return mpi_fail((m), (err), #call, mpi_rc_, __FILE__, __LINE__);        \
    } while (0)

static int mpi_allreduce(void *ctx, float *buf, size_t n, stl_error *err) {
    mpi_ctx *m = ctx;
    float *tmp = NULL;
    if (m->size == 2) {
        for (size_t off = 0; off < n;) {
            int cnt = (int)(n - off > INT_MAX ? INT_MAX : n - off);
            MPI_CHECK(m, err, MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM,
                                            MPI_COMM_WORLD));
            off += (size_t)cnt;
        }
        return 0;
    }
    if (m->rank == 0) {
        /* Rank 0 reduces in place. */
        for (size_t off = 0; off < n;) {
            int cnt = (int)(n - off > INT_MAX ? INT_MAX : n - off);
            MPI_CHECK(m, err, MPI_Reduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, 0,
                                         MPI_COMM_WORLD));
            off += (size_t)cnt;
        }
    } else {
        for (size_t off = 0; off < n;) {
            int cnt = (int)(n - off > INT_MAX ? INT_MAX : n - off);
            MPI_CHECK(m, err, MPI_Reduce(buf + off, tmp, cnt, MPI_FLOAT, MPI_SUM, 0,
                                         MPI_COMM_WORLD));
            off += (size_t)cnt;
        }
    }
    for (size_t off = 0; off < n;) {
        int cnt = (int)(n - off > INT_MAX ? INT_MAX : n - off);
        MPI_CHECK(m, err, MPI_Bcast(buf + off, cnt, MPI_FLOAT, 0, MPI_COMM_WORLD));
        off += (size_t)cnt;
    }
    return 0;
}

static int mpi_broadcast(void *ctx, void *buf, size_t bytes, int root, stl_error *err) {
    mpi_ctx *m = ctx;
    char *p = buf;
    for (size_t off = 0; off < bytes;) {
        int cnt = (int)(bytes - off > INT_MAX ? INT_MAX : bytes - off);
        MPI_CHECK(m, err, MPI_Bcast(p + off, cnt, MPI_BYTE, root, MPI_COMM_WORLD));
        off += (size_t)cnt;
    }
    return 0;
}

static int mpi_barrier(void *ctx, stl_error *err) {
    mpi_ctx *m = ctx;
    MPI_CHECK(m, err, MPI_Barrier(MPI_COMM_WORLD));
    return 0;
}

static void mpi_abort(void *ctx, int code) {
    (void)ctx;
    MPI_Abort(MPI_COMM_WORLD, code);
}

static void mpi_finalize(void *ctx) {
    mpi_ctx *m = ctx;
    if (!m) return;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
    free(m);
}

static const coll_ops mpi_ops = {
    .name = "mpi",
    .allreduce_sum = mpi_allreduce,
    .broadcast = mpi_broadcast,
    .barrier = mpi_barrier,
    .abort = mpi_abort,
    .finalize = mpi_finalize,
};

int coll_mpi_init(coll *c, int *argc, char ***argv, stl_error *err) {
    mpi_ctx *m = calloc(1, sizeof *m);
    if (!m) return stl_fail(err, "collectives: out of memory");
    m->host = c->host;
    m->size = 1;
    /* Waiting ranks yield the core instead of spinning, unless the user chose
     * otherwise: on a machine shared with other work (or with the loader
     * thread) a spinning rank steals the core its partner needs, and
     * synchronised BatchNorm waits ~90 times a step (docs/training.md). */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        free(m);
        return stl_fail(err, "MPI_Init_thread failed (error %d)", rc);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    c->backend = COLL_BACKEND_MPI;
    c->ops = &mpi_ops;
    c->ctx = m;
    c->rank = m->rank;
    c->size = m->size;
    /* Ranks sharing this machine: for the per-rank thread budget. */
    MPI_Comm node;
    c->local_rank = 0;
    c->local_size = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m->rank, MPI_INFO_NULL,
                            &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &c->local_rank);
        MPI_Comm_size(node, &c->local_size);
        MPI_Comm_free(&node);
    }
    return 0;
}

const char *coll_library_version(void) {
    static char line[MPI_MAX_LIBRARY_VERSION_STRING + 4];
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS) return "  MPI (version unknown)";
    v[len < (int)sizeof v ? len : (int)sizeof v - 1] = '\0';
    v[strcspn(v, "\n")] = '\0';
    snprintf(line, sizeof line, "  %s", v);
    return line;
}

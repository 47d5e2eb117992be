/* test_nccl_id_cuda.c — the NCCL unique id, made on rank 0 and broadcast
 * over the collective layer (mpi/coll.h's coll_broadcast, the path the NCCL
 * backend will use), without a GPU: ncclGetUniqueId needs none (it only
 * sets up NCCL's bootstrap socket). CUDA build only.
 *
 * Run plainly (tests/run.sh) it checks the id on the single-process
 * backend; tests/stage/test_nccl_id_mpi.sh runs it under `mpirun -np 2`,
 * where every rank must end with rank 0's exact bytes: each rank's bytes
 * are summed, and summed squared, across ranks (small integers, exact in
 * float), and all copies are equal exactly when, per byte, the sum is size
 * times this rank's byte and size times the sum of squares is the sum
 * squared. Creating a communicator needs a GPU: without one that step says
 * "skipped: no GPU".
 */
#include <stdio.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "check.h"
#include "coll.h"

static coll C;
static ncclUniqueId id;

static void test_id_made_on_rank0(void) {
    _Static_assert(sizeof(ncclUniqueId) == NCCL_UNIQUE_ID_BYTES, "the id is its documented size");
    memset(&id, 0, sizeof id);
    if (coll_rank(&C) == 0) {
        ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess) fprintf(stderr, "ncclGetUniqueId: %s\n", ncclGetErrorString(r));
        CHECK(r == ncclSuccess);
        static const ncclUniqueId zero;
        CHECK(memcmp(&id, &zero, sizeof id) != 0);
        /* a second id differs (each carries its own bootstrap address / magic) */
        ncclUniqueId id2;
        CHECK(ncclGetUniqueId(&id2) == ncclSuccess && memcmp(&id, &id2, sizeof id) != 0);
    }
}

static void test_broadcast_same_bytes(void) {
    stl_error err;
    ncclUniqueId before = id;
    CHECK_EQ_INT(coll_broadcast(&C, &id, sizeof id, 0, &err), 0);
    if (coll_rank(&C) == 0) CHECK(memcmp(&id, &before, sizeof id) == 0);
    enum { NB = NCCL_UNIQUE_ID_BYTES };
    float s[2 * NB];
    const unsigned char *b = (const unsigned char *)&id;
    for (int i = 0; i < NB; i++) {
        s[i] = (float)b[i];
        s[NB + i] = (float)b[i] * (float)b[i];
    }
    CHECK_EQ_INT(coll_allreduce_sum(&C, s, 2 * NB, &err), 0);
    int n = coll_size(&C), bad = 0, nonzero = 0;
    for (int i = 0; i < NB; i++) {
        bad += s[i] != (float)n * b[i];
        bad += (double)n * s[NB + i] != (double)s[i] * s[i];
        nonzero += b[i] != 0;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(nonzero > 0);
    printf("rank %d/%d: the %d-byte NCCL id equals rank 0's\n", coll_rank(&C), n, NB);
}

/* Where there is a GPU, the id starts a one-rank-per-GPU communicator. */
static void test_comm_gpu(void) {
    ncclComm_t comm;
    CHECK(cudaSetDevice(0) == cudaSuccess);
    ncclResult_t r = ncclCommInitRank(&comm, coll_size(&C), id, coll_rank(&C));
    if (r != ncclSuccess) fprintf(stderr, "ncclCommInitRank: %s\n", ncclGetErrorString(r));
    CHECK(r == ncclSuccess);
    if (r == ncclSuccess) ncclCommDestroy(comm);
}

int main(int argc, char **argv) {
    stl_error err;
    if (coll_init(&C, COLL_BACKEND_AUTO, &argc, &argv, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int version = 0;
    ncclGetVersion(&version);
    printf("NCCL %d, %s backend, %d rank(s)\n", version, coll_backend_name(C.backend),
           coll_size(&C));
    RUN(test_id_made_on_rank0);
    RUN(test_broadcast_same_bytes);
    int gpus = 0;
    cudaError_t e = cudaGetDeviceCount(&gpus);
    if (e == cudaSuccess && gpus >= 1 && coll_size(&C) == 1)
        RUN(test_comm_gpu);
    else if (e != cudaSuccess || gpus < 1)
        printf("skipped: no GPU (cudaGetDeviceCount: %s): ncclCommInitRank not tried\n",
               e != cudaSuccess ? cudaGetErrorString(e) : "0 GPUs");
    else
        printf("skipped: %d ranks cannot share one GPU under NCCL: ncclCommInitRank not tried\n",
               coll_size(&C));
    int rc = check_summary();
    coll_finalize(&C);
    return rc;
}

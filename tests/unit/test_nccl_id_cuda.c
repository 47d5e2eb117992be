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
 *
 * It also tests the NCCL layer of the collective layer (coll_nccl_attach and
 * the device collectives, mpi/coll_nccl_cuda.c). On every machine: a bad
 * STL_NCCL_TIMEOUT_S is refused on every rank. Without a GPU (CI), attach
 * fails on every rank with one line naming the CUDA error, "attach refused:
 * NCCL: ..." printed per rank (test_nccl_id_mpi.sh checks both ranks say
 * it and that the job ends), leaving the coll as it was: host collectives
 * work, device ones refuse. With a GPU and one rank (scripts/gpu-check):
 * attach, the device all-reduce of a buffer on a stream (a no-op with one
 * rank, and NCCL's own one-rank all-reduce through the backend's table,
 * which must leave every bit), the wait, and the communicator's destruction
 * in coll_finalize. STL_TEST_NCCL_ATTACH_ABORT=1 attaches as a program does,
 * ending the job with coll_abort (exit 3) when attach fails, which the last
 * rank's bad STL_NCCL_TIMEOUT_S guarantees: the job must end, not hang.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* Any rank: a time limit that is not a number of seconds is refused before
 * NCCL starts, and the coll stays as it was. */
static void test_attach_bad_timeout_refused(void) {
    stl_error err;
    coll_backend before = C.backend;
    setenv("STL_NCCL_TIMEOUT_S", "soon", 1);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_nccl_attach(&C, &err), -1);
    CHECK(strstr(err.msg, "STL_NCCL_TIMEOUT_S=soon") != NULL);
    setenv("STL_NCCL_TIMEOUT_S", "-1", 1);
    CHECK_EQ_INT(coll_nccl_attach(&C, &err), -1);
    CHECK(strstr(err.msg, "STL_NCCL_TIMEOUT_S=-1") != NULL);
    unsetenv("STL_NCCL_TIMEOUT_S");
    CHECK_EQ_INT(C.backend, before);
    CHECK_EQ_INT(coll_has_device(&C), 0);
    CHECK_EQ_INT(coll_barrier(&C, &err), 0);
}

/* No GPU: attach fails naming the CUDA error; nothing changes. */
static void test_attach_without_gpu(void) {
    stl_error err;
    coll_backend before = C.backend;
    CHECK_EQ_INT(coll_has_device(&C), 0);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_nccl_attach(&C, &err), -1);
    CHECK(strncmp(err.msg, "NCCL: ", 6) == 0);
    CHECK(strstr(err.msg, "cudaGetDeviceCount") != NULL);
    CHECK(strstr(err.msg, "cudaError") != NULL); /* the CUDA error's name */
    printf("rank %d/%d: attach refused: %s\n", coll_rank(&C), coll_size(&C), err.msg);
    CHECK_EQ_INT(C.backend, before);
    CHECK_EQ_INT(coll_has_device(&C), 0);
    /* the host backend is intact */
    CHECK_EQ_INT(coll_count_failures(&C, 0, &err), 0);
    float one = 1;
    CHECK_EQ_INT(coll_allreduce_sum(&C, &one, 1, &err), 0);
    CHECK(one == (float)coll_size(&C));
    /* device collectives refuse with a message instead of crashing */
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_allreduce_sum_device(&C, NULL, 16, NULL, &err), -1);
    CHECK(strstr(err.msg, "NCCL is not attached") != NULL);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_wait_device(&C, NULL, &err), -1);
    CHECK(strstr(err.msg, "NCCL is not attached") != NULL);
}

/* GPU, one rank: NCCL through the collective layer. */
static void test_attach_allreduce_gpu(void) {
    stl_error err;
    CHECK(cudaSetDevice(0) == cudaSuccess);
    CHECK_EQ_INT(coll_has_device(&C), 0);
    if (coll_nccl_attach(&C, &err) != 0) {
        fprintf(stderr, "coll_nccl_attach: %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(C.backend, COLL_BACKEND_NCCL);
    CHECK_EQ_INT(coll_has_device(&C), 1);
    CHECK_EQ_INT(coll_nccl_attach(&C, &err), -1); /* once only */
    CHECK(strstr(err.msg, "already") != NULL);
    /* host collectives go on through the backend underneath */
    CHECK_EQ_INT(coll_count_failures(&C, 1, &err), 1);

    size_t n = ((size_t)1 << 20) + 3; /* not a multiple of anything NCCL likes */
    float *h = malloc(n * sizeof *h), *back = malloc(n * sizeof *back);
    float *d = NULL;
    cudaStream_t s = NULL;
    CHECK(h && back);
    CHECK(cudaMalloc((void **)&d, n * sizeof *d) == cudaSuccess);
    CHECK(cudaStreamCreate(&s) == cudaSuccess);
    if (!h || !back || !d || !s) goto out;
    for (size_t i = 0; i < n; i++)
        h[i] = (float)((long)(i % 1001) - 500) * 0.001953125f + 1e-7f * (float)(i % 7);
    CHECK(cudaMemcpyAsync(d, h, n * sizeof *d, cudaMemcpyHostToDevice, s) == cudaSuccess);
    CHECK_EQ_INT(coll_allreduce_sum_device(&C, d, n, s, &err), 0);
    /* NCCL's own all-reduce over one rank (the layer skips it with size 1) */
    CHECK_EQ_INT(C.ops->allreduce_sum_device(C.ctx, d, n, s, &err), 0);
    CHECK_EQ_INT(coll_allreduce_device_hook(&C, d, n, s), 0);
    int waited = coll_wait_device(&C, s, &err);
    if (waited != 0) fprintf(stderr, "coll_wait_device: %s\n", err.msg);
    CHECK_EQ_INT(waited, 0);
    CHECK_EQ_INT(coll_wait_device_hook(&C, s), 0);
    memset(back, 0xff, n * sizeof *back);
    CHECK(cudaMemcpy(back, d, n * sizeof *d, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(memcmp(back, h, n * sizeof *h) == 0); /* a sum over one rank: every bit kept */
    /* the default stream too */
    CHECK_EQ_INT(C.ops->allreduce_sum_device(C.ctx, d, 5, NULL, &err), 0);
    CHECK_EQ_INT(coll_wait_device(&C, NULL, &err), 0);
    CHECK_EQ_INT(coll_has_device(&C), 1);
    printf("NCCL with one rank: attached, %zu floats all-reduced on the device, unchanged\n", n);
out:
    if (s) cudaStreamDestroy(s);
    if (d) cudaFree(d);
    free(h);
    free(back);
}

int main(int argc, char **argv) {
    stl_error err;
    if (coll_init(&C, COLL_BACKEND_AUTO, &argc, &argv, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const char *as_caller = getenv("STL_TEST_NCCL_ATTACH_ABORT");
    if (as_caller && *as_caller == '1') {
        /* As stl-train does: attach, and on failure end the job. The last
         * rank also has a bad time limit, so it fails even on a GPU machine. */
        if (coll_rank(&C) == coll_size(&C) - 1) setenv("STL_NCCL_TIMEOUT_S", "0", 1);
        if (coll_nccl_attach(&C, &err) != 0) coll_abort(&C, 3, err.msg);
        coll_finalize(&C);
        return 0; /* not reached: the last rank's failure is every rank's */
    }
    int version = 0;
    ncclGetVersion(&version);
    printf("NCCL %d, %s backend, %d rank(s)\n", version, coll_backend_name(C.backend),
           coll_size(&C));
    RUN(test_id_made_on_rank0);
    RUN(test_broadcast_same_bytes);
    RUN(test_attach_bad_timeout_refused);
    int gpus = 0;
    cudaError_t e = cudaGetDeviceCount(&gpus);
    if (e == cudaSuccess && gpus >= 1 && coll_size(&C) == 1) {
        RUN(test_comm_gpu);
        RUN(test_attach_allreduce_gpu);
    } else if (e != cudaSuccess || gpus < 1) {
        RUN(test_attach_without_gpu);
        printf("skipped: no GPU (cudaGetDeviceCount: %s): ncclCommInitRank not tried\n",
               e != cudaSuccess ? cudaGetErrorString(e) : "0 GPUs");
    } else {
        printf("skipped: %d ranks cannot share one GPU under NCCL: ncclCommInitRank not tried\n",
               coll_size(&C));
    }
    int rc = check_summary();
    coll_finalize(&C); /* with NCCL attached: ncclCommDestroy, then the host backend's end */
    return rc;
}

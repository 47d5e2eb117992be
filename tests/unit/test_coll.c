/* test_coll.c — the collective layer (mpi/coll.h), on whatever backend the
 * environment selects: run plainly it checks the single-process backend;
 * tests/stage/test_coll_mpi.sh runs the same binary under `mpirun -np 2`
 * and `-np 3`, where it checks Open MPI.
 *
 * The all-reduce checks follow nccl-tests: inputs are small integers whose
 * float sum is exact in any order, so the result is compared bit for bit;
 * arbitrary floats are then summed and every rank's result is compared with
 * rank 0's (broadcast) to prove the "same bits on every rank" guarantee.
 * STL_TEST_COLL_ABORT=1 makes the last rank call coll_abort while the others
 * wait in a collective: the job must end (exit 3) instead of hanging.
 *
 * The device collectives (NCCL, CUDA build): without coll_nccl_attach they
 * refuse with a message on every backend, and their dispatch (the size-1
 * shortcut, an aborted communicator) is checked on a coll whose function
 * table records the calls. The CPU build's coll_nccl_attach is a stub that
 * refuses; the CUDA build's attach is tested by test_nccl_id_cuda.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coll.h"
#include "base/rng.h"
#include "base/threads.h"

static coll C;

static void check_exact_sum(size_t n) {
    float *buf = malloc(n * sizeof *buf);
    CHECK(buf != NULL);
    if (!buf) return;
    /* value(rank, i) = (i % 13) - 6 + rank * (i % 5): |sum| stays far below 2^24. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)((long)(i % 13) - 6 + (long)C.rank * (long)(i % 5));
    stl_error err;
    CHECK_EQ_INT(coll_allreduce_sum(&C, buf, n, &err), 0);
    long r_sum = (long)C.size * (C.size - 1) / 2;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = (float)(C.size * ((long)(i % 13) - 6) + r_sum * (long)(i % 5));
        if (memcmp(&buf[i], &want, sizeof want) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    free(buf);
}

static void test_allreduce_small_integers_exact(void) {
    check_exact_sum(1);
    check_exact_sum(1000);
    check_exact_sum(300007); /* past the large-message switch of Open MPI */
}

static void test_allreduce_same_bits_on_every_rank(void) {
    size_t n = 250000;
    float *buf = malloc(n * sizeof *buf);
    CHECK(buf != NULL);
    if (!buf) return;
    rng_state r;
    rng_stream(&r, 42, (uint64_t)C.rank);
    for (size_t i = 0; i < n; i++) buf[i] = (float)rng_normal(&r) * 1e-3f;
    stl_error err;
    CHECK_EQ_INT(coll_allreduce_sum(&C, buf, n, &err), 0);
    uint64_t mine = rng_hash(7, buf, n * sizeof *buf);
    uint64_t root = mine;
    CHECK_EQ_INT(coll_broadcast(&C, &root, sizeof root, 0, &err), 0);
    CHECK(mine == root);
    /* The sum itself is close to the float64 sum of the inputs. */
    double want0 = 0;
    for (int k = 0; k < C.size; k++) {
        rng_state rk;
        rng_stream(&rk, 42, (uint64_t)k);
        want0 += (double)((float)rng_normal(&rk) * 1e-3f);
    }
    CHECK_CLOSE(buf[0], want0, 1e-9, 1e-5);
    free(buf);
}

static void test_broadcast(void) {
    char msg[100];
    memset(msg, 0, sizeof msg);
    if (C.rank == C.size - 1) snprintf(msg, sizeof msg, "hello from %d", C.rank);
    stl_error err;
    CHECK_EQ_INT(coll_broadcast(&C, msg, sizeof msg, C.size - 1, &err), 0);
    char want[100];
    memset(want, 0, sizeof want);
    snprintf(want, sizeof want, "hello from %d", C.size - 1);
    CHECK(memcmp(msg, want, sizeof msg) == 0);
    CHECK_EQ_INT(coll_broadcast(&C, msg, 1, C.size, &err), -1); /* bad root */
    CHECK(strstr(err.msg, "root") != NULL);
}

static void test_count_failures(void) {
    stl_error err;
    CHECK_EQ_INT(coll_count_failures(&C, 0, &err), 0);
    CHECK_EQ_INT(coll_count_failures(&C, C.rank == 0, &err), 1);
    CHECK_EQ_INT(coll_count_failures(&C, 1, &err), C.size);
    CHECK_EQ_INT(coll_barrier(&C, &err), 0);
}

static void test_ranks_and_threads(void) {
    CHECK(C.size >= 1);
    CHECK(C.rank >= 0 && C.rank < C.size);
    CHECK(C.local_size >= 1 && C.local_size <= C.size);
    CHECK(C.local_rank >= 0 && C.local_rank < C.local_size);
    CHECK(threads_resolve(0, C.local_size) >= 1);
    const char *launched = getenv("OMPI_COMM_WORLD_SIZE");
    if (launched && *launched) {
        CHECK_EQ_INT(C.backend, COLL_BACKEND_MPI);
        CHECK_EQ_INT(C.size, atoi(launched));
    }
}

static void test_backend_choice(void) {
    if (getenv("OMPI_COMM_WORLD_SIZE")) return; /* only meaningful when run plainly */
    CHECK_EQ_INT(C.backend, COLL_BACKEND_SINGLE);
    CHECK_EQ_INT(C.size, 1);
    setenv("STL_COLL", "mpi", 1);
    CHECK_EQ_INT(coll_backend_from_env(), COLL_BACKEND_MPI);
    setenv("STL_COLL", "single", 1);
    CHECK_EQ_INT(coll_backend_from_env(), COLL_BACKEND_SINGLE);
    unsetenv("STL_COLL");
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    CHECK_EQ_INT(coll_backend_from_env(), COLL_BACKEND_MPI);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    CHECK_EQ_INT(coll_backend_from_env(), COLL_BACKEND_SINGLE);
    stl_error err;
    coll x;
    CHECK_EQ_INT(coll_init(&x, COLL_BACKEND_NCCL, NULL, NULL, &err), -1);
    CHECK(strstr(err.msg, "NCCL") != NULL);
    CHECK_STR_EQ(coll_backend_name(COLL_BACKEND_MPI), "mpi");
}

static void test_device_collectives_refused_without_nccl(void) {
    stl_error err;
    float host_buf[4] = {1, 2, 3, 4};
    CHECK_EQ_INT(coll_has_device(&C), 0);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_allreduce_sum_device(&C, host_buf, 4, NULL, &err), -1);
    CHECK(strstr(err.msg, "NCCL is not attached") != NULL);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_wait_device(&C, NULL, &err), -1);
    CHECK(strstr(err.msg, "NCCL is not attached") != NULL);
    CHECK_EQ_INT(coll_allreduce_device_hook(&C, host_buf, 4, NULL), -1);
    CHECK_EQ_INT(coll_wait_device_hook(&C, NULL), -1);
    CHECK(host_buf[0] == 1 && host_buf[3] == 4); /* never touched */
    coll zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    CHECK_EQ_INT(coll_has_device(&zeroed), 0);
    CHECK_EQ_INT(coll_wait_device(&zeroed, NULL, &err), -1);
#ifndef STL_CUDA
    /* The CPU build's stub: refuses, names the CUDA build, changes nothing. */
    coll_backend before = C.backend;
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_nccl_attach(&C, &err), -1);
    CHECK(strstr(err.msg, "NCCL") != NULL && strstr(err.msg, "CUDA build only") != NULL);
    CHECK_EQ_INT(C.backend, before);
    CHECK_EQ_INT(coll_has_device(&C), 0);
    CHECK_EQ_INT(coll_count_failures(&C, 0, &err), 0); /* host collectives still work */
#endif
}

/* A table whose device operations count their calls. */
static int fake_live, fake_allreduce_calls, fake_wait_calls;
static size_t fake_n;
static float *fake_buf;
static void *fake_stream;
static int fake_allreduce_device(void *ctx, float *dbuf, size_t n, void *stream, stl_error *err) {
    (void)ctx, (void)err;
    fake_allreduce_calls++;
    fake_buf = dbuf;
    fake_n = n;
    fake_stream = stream;
    return 0;
}
static int fake_wait_device(void *ctx, void *stream, stl_error *err) {
    (void)ctx, (void)err;
    fake_wait_calls++;
    fake_stream = stream;
    return 0;
}
static int fake_device_live(void *ctx) {
    (void)ctx;
    return fake_live;
}

static void test_device_dispatch(void) {
    static const coll_ops ops = {
        .name = "fake",
        .allreduce_sum_device = fake_allreduce_device,
        .wait_device = fake_wait_device,
        .device_live = fake_device_live,
    };
    coll f;
    memset(&f, 0, sizeof f);
    f.backend = COLL_BACKEND_NCCL;
    f.ops = &ops;
    f.size = 1;
    float b[3];
    int stream_token;
    stl_error err;
    fake_live = 1;
    CHECK_EQ_INT(coll_has_device(&f), 1);
    /* one rank: the all-reduce is a no-op, the wait still waits */
    CHECK_EQ_INT(coll_allreduce_sum_device(&f, b, 3, &stream_token, &err), 0);
    CHECK_EQ_INT(fake_allreduce_calls, 0);
    CHECK_EQ_INT(coll_wait_device(&f, &stream_token, &err), 0);
    CHECK_EQ_INT(fake_wait_calls, 1);
    CHECK(fake_stream == &stream_token);
    /* two ranks: reaches the backend with the arguments; n == 0 does not */
    f.size = 2;
    CHECK_EQ_INT(coll_allreduce_device_hook(&f, b, 3, &stream_token), 0);
    CHECK_EQ_INT(fake_allreduce_calls, 1);
    CHECK(fake_buf == b && fake_n == 3 && fake_stream == &stream_token);
    CHECK_EQ_INT(coll_allreduce_sum_device(&f, b, 0, NULL, &err), 0);
    CHECK_EQ_INT(fake_allreduce_calls, 1);
    CHECK_EQ_INT(coll_wait_device_hook(&f, NULL), 0);
    CHECK_EQ_INT(fake_wait_calls, 2);
    /* after an abort: refused with the reason, the backend not called */
    fake_live = 0;
    CHECK_EQ_INT(coll_has_device(&f), 0);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_allreduce_sum_device(&f, b, 3, NULL, &err), -1);
    CHECK(strstr(err.msg, "aborted") != NULL);
    err.msg[0] = '\0';
    CHECK_EQ_INT(coll_wait_device(&f, NULL, &err), -1);
    CHECK(strstr(err.msg, "aborted") != NULL);
    CHECK_EQ_INT(fake_allreduce_calls, 1);
    CHECK_EQ_INT(fake_wait_calls, 2);
}

int main(int argc, char **argv) {
    stl_error err;
    if (coll_init(&C, COLL_BACKEND_AUTO, &argc, &argv, &err) != 0) {
        fprintf(stderr, "test_coll: %s\n", err.msg);
        return 1;
    }
    const char *ab = getenv("STL_TEST_COLL_ABORT");
    if (ab && *ab == '1') {
        if (C.rank == C.size - 1) coll_abort(&C, 3, "test: this rank gives up");
        float x = 1;
        coll_allreduce_sum(&C, &x, 1, &err); /* the other ranks wait here */
        coll_finalize(&C);
        return 0; /* not reached when abort works */
    }
    RUN(test_ranks_and_threads);
    RUN(test_backend_choice);
    RUN(test_allreduce_small_integers_exact);
    RUN(test_allreduce_same_bits_on_every_rank);
    RUN(test_broadcast);
    RUN(test_count_failures);
    RUN(test_device_collectives_refused_without_nccl);
    RUN(test_device_dispatch);
    int rc = check_summary();
    coll_finalize(&C);
    return rc;
}

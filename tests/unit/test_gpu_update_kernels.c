/* test_gpu_update_kernels.c — the bodies of the end of a GPU step
 * (model/gpu_update_kernels.h) on the host, against the CPU path:
 * - the finiteness check: a NaN, +inf or -inf at any position (first and
 *   last element, both sides of a block boundary) sets the flag, in every
 *   block size, and the partials visited in any order give the same flag;
 *   all-finite data (huge values whose sum overflows included: the check
 *   multiplies by 0 first) leaves it clear; it agrees with
 *   model_first_nonfinite_grad's answer on the same buffer;
 * - the gated Adam: with the flag clear, bitwise adam_update (model/adam.h)
 *   with the corrections read from memory, at several step counts; with
 *   the flag set, nothing moves;
 * - the loss slot: the double loss rounded to float as the CPU path does.
 * Runs once per STL_ISA variant (tests/run.sh): adam_update's variants
 * must all agree with the body.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "check.h"
#include "check_isa.h"
#include "model/adam.h"
#include "model/gpu_update_kernels.h"
#include "model/model.h"

static float flag_of(const float *x, long n, long R, int reversed) {
    long nblk = gm_finite_blocks(n, R);
    float *p = malloc(sizeof(float) * (size_t)(nblk ? nblk : 1));
    for (long k = 0; k < nblk; k++) {
        long j = reversed ? nblk - 1 - k : k; /* blocks may run in any order */
        p[j] = gm_finite_partial_at(x, n, R, j);
    }
    int f = gm_finite_flag(p, nblk);
    free(p);
    return (float)f;
}

static void test_finite_flag(void) {
    enum { N = 1000 };
    float x[N];
    rng_state r;
    rng_seed(&r, 3);
    for (int i = 0; i < N; i++) x[i] = (float)rng_normal(&r) * 1e3f;
    const long blocks[] = {1, 7, 64, 999, 1000, 4096};
    const long where[] = {0, 63, 64, 500, N - 1};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
        CHECK(flag_of(x, N, blocks[b], 0) == 0.0f);
        CHECK(gm_finite_blocks(N, blocks[b]) == (N + blocks[b] - 1) / blocks[b]);
        for (size_t w = 0; w < sizeof where / sizeof *where; w++)
            for (size_t v = 0; v < 3; v++) {
                float keep = x[where[w]];
                x[where[w]] = bad[v];
                CHECK(flag_of(x, N, blocks[b], 0) == 1.0f);
                CHECK(flag_of(x, N, blocks[b], 1) == 1.0f);
                x[where[w]] = keep;
            }
    }
    /* finite values whose plain sum overflows to inf: still finite */
    float big[4] = {3e38f, 3e38f, 3e38f, -3e38f};
    CHECK(flag_of(big, 4, 2, 0) == 0.0f);
    CHECK(flag_of(x, 0, 64, 0) == 0.0f); /* nothing to check */
}

/* The flag and model_first_nonfinite_grad agree on a model's gradients. */
static void test_flag_matches_model(void) {
    stl_error err;
    model_state m;
    CHECK(model_init(&m, 16, 1, &err) == 0);
    long n = (long)m.table.n_params;
    for (long i = 0; i < n; i++) m.grads[i] = 1e-3f * (float)(i % 17);
    CHECK(flag_of(m.grads, n, 4096, 0) == 0.0f && model_first_nonfinite_grad(&m) == NULL);
    m.grads[n - 1] = INFINITY;
    CHECK(flag_of(m.grads, n, 4096, 0) == 1.0f && model_first_nonfinite_grad(&m) != NULL);
    model_state_free(&m);
}

static void test_adam_gated(void) {
    enum { N = 777 };
    const float lr = 3e-4f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    float p[N], g[N], mu[N], nu[N], pk[N], muk[N], nuk[N];
    rng_state r;
    rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        p[i] = pk[i] = (float)rng_normal(&r);
        g[i] = (float)rng_normal(&r) * 1e-2f;
        mu[i] = muk[i] = (float)rng_normal(&r) * 1e-3f;
        nu[i] = nuk[i] = (float)rng_uniform(&r, 1000) * 1e-6f;
    }
    const int64_t counts[] = {1, 2, 10, 1000, 100000};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        float hyper[GM_HYPER_N];
        hyper[GM_HYPER_LR] = lr;
        hyper[GM_HYPER_C1] = gm_adam_corr(b1, counts[c]);
        hyper[GM_HYPER_C2] = gm_adam_corr(b2, counts[c]);
        int skip = 0;
        adam_update(p, g, mu, nu, N, lr, b1, b2, eps, counts[c]);
        for (long i = 0; i < N; i++) gm_adam_gated_at(pk, g, muk, nuk, i, hyper, &skip, b1, b2, eps);
        CHECK(memcmp(p, pk, sizeof p) == 0 && memcmp(mu, muk, sizeof mu) == 0 &&
              memcmp(nu, nuk, sizeof nu) == 0);
        skip = 1; /* the flag set: nothing moves */
        for (long i = 0; i < N; i++) gm_adam_gated_at(pk, g, muk, nuk, i, hyper, &skip, b1, b2, eps);
        CHECK(memcmp(p, pk, sizeof p) == 0 && memcmp(mu, muk, sizeof mu) == 0 &&
              memcmp(nu, nuk, sizeof nu) == 0);
    }
}

static void test_loss_slot(void) {
    const double losses[] = {0.0, 1.0 / 3.0, 1.2345678901234567, 1e-30, NAN};
    for (size_t i = 0; i < sizeof losses / sizeof *losses; i++) {
        float want = (float)losses[i];
        float got = gm_loss_slot(&losses[i]);
        CHECK(memcmp(&want, &got, sizeof got) == 0);
    }
}

int main(void) {
    RUN(test_kernel_variant);
    RUN(test_finite_flag);
    RUN(test_flag_matches_model);
    RUN(test_adam_gated);
    RUN(test_loss_slot);
    return check_summary();
}

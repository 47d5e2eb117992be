/* test_rng.c — the RNG: published reference vectors, unbiased integers,
 * shuffles that are permutations, a chi-square uniformity check, normals. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "base/rng.h"

/* xoshiro256** from state {1,2,3,4}: the first outputs of the authors'
 * reference C code (prng.di.unimi.it), also reproduced by an independent
 * Python transcription. */
static void test_xoshiro_reference_vector(void) {
    rng_state r = {{1, 2, 3, 4}};
    CHECK(rng_next(&r) == 11520ULL);
    CHECK(rng_next(&r) == 0ULL);
    CHECK(rng_next(&r) == 1509978240ULL);
    CHECK(rng_next(&r) == 1215971899390074240ULL);
}

/* Seeding is splitmix64: its published first output for seed 0. */
static void test_splitmix_seeding(void) {
    rng_state r;
    rng_seed(&r, 0);
    CHECK(r.s[0] == 0xe220a8397b1dcdafULL);
    CHECK(r.s[1] == 0x6e789e6aa1b965f4ULL);
}

static void test_same_seed_same_sequence(void) {
    rng_state a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(&a);
        CHECK(x == rng_next(&b));
        differ |= x != rng_next(&c);
    }
    CHECK(differ);
    rng_state s1, s2;
    rng_stream(&s1, 7, 1);
    rng_stream(&s2, 7, 2);
    CHECK(rng_next(&s1) != rng_next(&s2));
}

/* n = 3 * 2^62: x % n would put 3/4 of the draws below 2^63; unbiased is 2/3. */
static void test_uniform_no_modulo_bias(void) {
    rng_state r;
    rng_seed(&r, 1);
    uint64_t n = 3ULL << 62;
    int below = 0, draws = 60000;
    for (int i = 0; i < draws; i++) {
        uint64_t x = rng_uniform(&r, n);
        CHECK(x < n);
        below += x < (1ULL << 63);
    }
    double frac = (double)below / draws;
    CHECK(frac > 0.655 && frac < 0.678); /* 2/3 +- ~5 sigma */
}

/* Chi-square over 10 bins, 100,000 draws: 9 degrees of freedom, the 0.1%
 * critical value is 27.88. */
static void test_uniform_chi_square(void) {
    rng_state r;
    rng_seed(&r, 2024);
    long counts[10] = {0};
    int draws = 100000;
    for (int i = 0; i < draws; i++) counts[rng_uniform(&r, 10)]++;
    double chi2 = 0, expect = draws / 10.0;
    for (int i = 0; i < 10; i++) chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
    CHECK(chi2 < 27.88);
    CHECK_EQ_INT(rng_uniform(&r, 1), 0);
}

static void test_floats_in_range(void) {
    rng_state r;
    rng_seed(&r, 5);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double d = rng_double(&r);
        float f = rng_float(&r);
        CHECK(d >= 0 && d < 1);
        CHECK(f >= 0 && f < 1);
        sum += d;
    }
    CHECK_CLOSE(sum / 100000, 0.5, 0.005, 0);
}

static void test_normal_moments(void) {
    rng_state r;
    rng_seed(&r, 9);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    CHECK_CLOSE(s / n, 0.0, 0.01, 0);
    CHECK_CLOSE(s2 / n, 1.0, 0.015, 0);
}

static void test_shuffle_is_permutation(void) {
    rng_state r;
    rng_seed(&r, 3);
    enum { N = 1000 };
    uint32_t a[N];
    uint64_t b[N];
    for (int i = 0; i < N; i++) a[i] = i, b[i] = i;
    rng_shuffle_u32(&r, a, N);
    rng_shuffle(&r, b, N, sizeof b[0]);
    int seen_a[N] = {0}, seen_b[N] = {0}, moved = 0;
    for (int i = 0; i < N; i++) {
        CHECK(a[i] < N && b[i] < N);
        seen_a[a[i]]++;
        seen_b[b[i]]++;
        moved += a[i] != (uint32_t)i;
    }
    for (int i = 0; i < N; i++) CHECK(seen_a[i] == 1 && seen_b[i] == 1);
    CHECK(moved > N / 2);
}

/* Each of the 6 orders of 3 elements is equally likely (Fisher–Yates, not
 * the biased swap-with-any variant): chi-square, 5 dof, 0.1% value 20.5. */
static void test_shuffle_uniform_orders(void) {
    rng_state r;
    rng_seed(&r, 11);
    long counts[6] = {0};
    int draws = 60000;
    for (int i = 0; i < draws; i++) {
        uint32_t a[3] = {0, 1, 2};
        rng_shuffle_u32(&r, a, 3);
        counts[a[0] * 2 + (a[1] > a[2])]++;
    }
    double chi2 = 0, e = draws / 6.0;
    for (int i = 0; i < 6; i++) chi2 += (counts[i] - e) * (counts[i] - e) / e;
    CHECK(chi2 < 20.5);
}

static void test_hash_stable_and_spread(void) {
    const char *k = "0123456789abcdef0123456789abcdef";
    CHECK(rng_hash(1, k, 32) == rng_hash(1, k, 32));
    CHECK(rng_hash(1, k, 32) != rng_hash(2, k, 32));
    CHECK(rng_hash(1, k, 32) != rng_hash(1, k, 31));
    int ones = 0;
    for (int i = 0; i < 1000; i++) ones += (int)(rng_hash(7, &i, sizeof i) & 1);
    CHECK(ones > 400 && ones < 600);
}

int main(void) {
    RUN(test_xoshiro_reference_vector);
    RUN(test_splitmix_seeding);
    RUN(test_same_seed_same_sequence);
    RUN(test_uniform_no_modulo_bias);
    RUN(test_uniform_chi_square);
    RUN(test_floats_in_range);
    RUN(test_normal_moments);
    RUN(test_shuffle_is_permutation);
    RUN(test_shuffle_uniform_orders);
    RUN(test_hash_stable_and_spread);
    return check_summary();
}

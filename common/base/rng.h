/* rng.h — the one random number generator of stlrec.
 *
 * xoshiro256** seeded through splitmix64. The whole state is the four words of
 * rng_state, so it can be copied, saved in a checkpoint and restored. Every
 * random draw in stlrec goes through these functions; nothing uses rand().
 * rng_stream() derives independent generators from (seed, stream id) so that
 * parallel work (one stream per item) is deterministic whatever the threads.
 */
#ifndef STL_RNG_H
#define STL_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t s[4];
} rng_state;

void rng_seed(rng_state *r, uint64_t seed);
/* A generator for (seed, stream): same inputs, same sequence. */
void rng_stream(rng_state *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng_state *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias (Lemire's method). */
uint64_t rng_uniform(rng_state *r, uint64_t n);
/* Uniform in [0, 1) with 53 (double) or 24 (float) random bits. */
double rng_double(rng_state *r);
float rng_float(rng_state *r);
/* Standard normal (Box–Muller, no cached second value, so the state is r). */
double rng_normal(rng_state *r);
/* Fisher–Yates shuffle of n elements of `size` bytes (size <= 64). */
void rng_shuffle(rng_state *r, void *base, size_t n, size_t size);
void rng_shuffle_u32(rng_state *r, uint32_t *a, size_t n);

/* splitmix64 finaliser: a good 64-bit mixing function. */
uint64_t rng_mix64(uint64_t x);
/* Seeded 64-bit hash of a byte string (stable across runs and machines). */
uint64_t rng_hash(uint64_t seed, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif

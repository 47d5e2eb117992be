/* rng.c — xoshiro256** with splitmix64 seeding (see rng.h).
 * Reference: Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators" (2018); uniform integers by Lemire, "Fast random integer
 * generation in an interval" (2019). */
#include "base/rng.h"

#include <math.h>
#include <string.h>

uint64_t rng_mix64(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void rng_seed(rng_state *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = rng_mix64(x);
    }
}

void rng_stream(rng_state *r, uint64_t seed, uint64_t stream) {
    rng_seed(r, rng_mix64(seed ^ 0x5851f42d4c957f2dULL) ^ rng_mix64(stream + 0x14057b7ef767814fULL));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng_state *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rng_uniform(rng_state *r, uint64_t n) {
    if (n <= 1) return 0;
    unsigned __int128 m = (unsigned __int128)rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n; /* 2^64 mod n */
        while (low < threshold) {
            m = (unsigned __int128)rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double rng_double(rng_state *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
float rng_float(rng_state *r) { return (float)(rng_next(r) >> 40) * 0x1.0p-24f; }

double rng_normal(rng_state *r) {
    double u1 = 1.0 - rng_double(r); /* (0, 1]: log is finite */
    double u2 = rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void rng_shuffle(rng_state *r, void *base, size_t n, size_t size) {
    unsigned char *b = base, tmp[64];
    if (size > sizeof tmp) return;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_uniform(r, i);
        if (j != i - 1) {
            memcpy(tmp, b + j * size, size);
            memcpy(b + j * size, b + (i - 1) * size, size);
            memcpy(b + (i - 1) * size, tmp, size);
        }
    }
}

void rng_shuffle_u32(rng_state *r, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_uniform(r, i);
        uint32_t t = a[j];
        a[j] = a[i - 1];
        a[i - 1] = t;
    }
}

uint64_t rng_hash(uint64_t seed, const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = rng_mix64(seed + 0x9e3779b97f4a7c15ULL) ^ (uint64_t)len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* little-endian machines only: documented in formats */
        h = rng_mix64(h ^ w) * 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < len; i++) tail |= (uint64_t)p[i] << (8 * i);
    return rng_mix64(h ^ tail ^ 0xd6e8feb86659fd93ULL);
}

/* simd.h — how the model's elementwise kernels get vectorised, and a
 * vectorisable exp.
 *
 * The project builds for x86-64-v2 (SSE4.2). A hot loop is written as
 *
 *     STL_KERNEL(swish_forward, (const float *z, long n, float *h), (z, n, h)) {
 *         ... body ...
 *     }
 *
 * which defines the public function swish_forward and compiles its body
 * three times under GCC on x86-64: for AVX-512 (arch=x86-64-v4), AVX2 + FMA
 * (x86-64-v3) and the baseline. Each call runs the variant isa_active()
 * chose once per process (isa.h: the best the CPU runs, or STL_ISA), so
 * tests can run every variant on one machine. The body is an always-inline
 * function inlined into each variant, together with the static inline
 * helpers it calls. Kernels return void. Files with such loops start with
 * `#pragma GCC optimize("O3")` so GCC's vectoriser runs with its full cost
 * model (at -O2 it vectorises almost nothing). Other compilers, and builds
 * with STL_NO_CLONES, get the baseline only.
 *
 * simd_expf is exp for float with Cephes' range reduction and degree-6
 * polynomial (max error ~2 ulp on [-87, 88]; inputs clamped there), written
 * without calls or branches so loops containing it vectorise. libm's expf is
 * a call, which stops the vectoriser.
 */
#ifndef STL_SIMD_H
#define STL_SIMD_H

#include <stdint.h>
#include <string.h>

#include "base/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STL_KERNEL_BODY static inline __attribute__((always_inline)) void

#if STL_KERNEL_CLONES
#define STL_KERNEL(name, params, args)                                                   \
    STL_KERNEL_BODY name##_body params;                                                  \
    __attribute__((target("arch=x86-64-v4"))) static void name##_avx512 params {         \
        name##_body args;                                                                \
    }                                                                                    \
    __attribute__((target("arch=x86-64-v3"))) static void name##_avx2 params {           \
        name##_body args;                                                                \
    }                                                                                    \
    static void name##_baseline params { name##_body args; }                             \
    void name params {                                                                   \
        switch (isa_active()) {                                                          \
        case ISA_AVX512: name##_avx512 args; break;                                      \
        case ISA_AVX2: name##_avx2 args; break;                                          \
        default: name##_baseline args; break;                                            \
        }                                                                                \
    }                                                                                    \
    STL_KERNEL_BODY name##_body params
#else
#define STL_KERNEL(name, params, args)                                                   \
    STL_KERNEL_BODY name##_body params;                                                  \
    void name params { name##_body args; }                                               \
    STL_KERNEL_BODY name##_body params
#endif

static inline float simd_expf(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (no call, vectorises) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    /* 2^n from the bits of n + 127 + 1.5 * 2^23, whose low mantissa bits
     * are n + 127: unsigned shifts only, so a NaN input stays defined
     * behaviour (and propagates through y) */
    float t = n + 12583039.0f;
    uint32_t u;
    memcpy(&u, &t, sizeof u);
    u <<= 23;
    float s;
    memcpy(&s, &u, sizeof s);
    return y * s;
}

/* sigmoid(z) = 1 / (1 + exp(-z)) */
static inline float simd_sigmoidf(float z) { return 1.0f / (1.0f + simd_expf(-z)); }

#ifdef __cplusplus
}
#endif

#endif

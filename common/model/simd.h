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
#include "model/gpu_math.h"

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

/* gpu_math.h holds the formula, shared with the GPU kernels. */
static inline float simd_expf(float x) { return gm_expf(x); }

/* sigmoid(z) = 1 / (1 + exp(-z)) */
static inline float simd_sigmoidf(float z) { return gm_sigmoidf(z); }

#ifdef __cplusplus
}
#endif

#endif

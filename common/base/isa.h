/* isa.h — which compiled variant of the model's hot kernels runs.
 *
 * The project builds for x86-64-v2 (SSE4.2). The hot loops (simd.h's
 * STL_KERNEL) are compiled three times: for AVX-512 (x86-64-v4), for AVX2 +
 * FMA (x86-64-v3) and for the baseline. Each variant sums in its own order
 * and contracts its own multiply-adds, so their results differ in the last
 * bits; the tests run every variant the machine can execute, so that a
 * machine with AVX-512 also checks the AVX2 path most users' machines take.
 *
 * isa_active() picks the variant once per process: the best the CPU runs,
 * or the one named by the environment variable STL_ISA (avx512, avx2,
 * baseline; "auto" or unset for the best). A name the CPU cannot run, or an
 * unknown name, is reported once on stderr and the best variant runs
 * instead: never an illegal instruction, never a silent change. Compilers
 * other than GCC on x86-64 build only the baseline.
 */
#ifndef STL_ISA_H
#define STL_ISA_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this compiler and target build the AVX-512 and AVX2 variants
 * (GCC on x86-64, unless STL_NO_CLONES), 0 when only the baseline. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(STL_NO_CLONES)
#define STL_KERNEL_CLONES 1
#else
#define STL_KERNEL_CLONES 0
#endif

typedef enum { ISA_BASELINE, ISA_AVX2, ISA_AVX512, ISA_COUNT } isa_level;

/* "baseline", "avx2", "avx512" */
const char *isa_name(isa_level isa);

/* 0 and *out set for a known name, -1 otherwise. */
int isa_parse(const char *name, isa_level *out);

/* 1 when this build has the variant and this CPU can execute it. */
int isa_supported(isa_level isa);

/* The variant the kernels run (chosen on the first call, then fixed). */
isa_level isa_active(void);

#ifdef __cplusplus
}
#endif

#endif

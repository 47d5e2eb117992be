/* isa.c — choosing the hot kernels' variant (see isa.h). */
#include "base/isa.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

static const char *const names[ISA_COUNT] = {"baseline", "avx2", "avx512"};

const char *isa_name(isa_level isa) {
    return (unsigned)isa < ISA_COUNT ? names[isa] : "unknown";
}

int isa_parse(const char *name, isa_level *out) {
    for (int i = 0; i < ISA_COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (isa_level)i;
            return 0;
        }
    }
    return -1;
}

int isa_supported(isa_level isa) {
    switch (isa) {
    case ISA_BASELINE:
        return 1;
#if STL_KERNEL_CLONES
    case ISA_AVX2:
        return __builtin_cpu_supports("x86-64-v3") ? 1 : 0;
    case ISA_AVX512:
        return __builtin_cpu_supports("x86-64-v4") ? 1 : 0;
#endif
    default:
        return 0;
    }
}

static isa_level best(void) {
    for (int i = ISA_COUNT - 1; i > 0; i--)
        if (isa_supported((isa_level)i)) return (isa_level)i;
    return ISA_BASELINE;
}

/* The variant STL_ISA asks for, or the best; *why says why a request was
 * not followed (NULL when it was, or when there was none). */
static isa_level choose(const char **why) {
    isa_level b = best();
    const char *want = getenv("STL_ISA");
    *why = NULL;
    if (!want || !*want || strcmp(want, "auto") == 0) return b;
    isa_level w;
    if (isa_parse(want, &w) != 0) {
        *why = "is not one of auto, avx512, avx2, baseline";
        return b;
    }
    if (!isa_supported(w)) {
        *why = "names kernels this CPU or build cannot run";
        return b;
    }
    return w;
}

/* -1 until chosen. Threads racing on the first call compute the same answer;
 * the one whose store lands prints the warning, if any. */
static atomic_int chosen = -1;

isa_level isa_active(void) {
    int c = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (c >= 0) return (isa_level)c;
    const char *why;
    int mine = (int)choose(&why), expected = -1;
    if (!atomic_compare_exchange_strong(&chosen, &expected, mine)) return (isa_level)expected;
    if (why)
        log_warn("STL_ISA=%s %s: running the %s kernels", getenv("STL_ISA"), why,
                 isa_name((isa_level)mine));
    return (isa_level)mine;
}

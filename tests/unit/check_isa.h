/* check_isa.h — the kernel variant a unit test runs is the one asked for.
 *
 * tests/run.sh runs the model's unit tests once per kernel variant this
 * machine executes, with STL_ISA naming it (isa.h). A variant that silently
 * fell back to another would make those runs repeat one variant's test, so
 * each such test starts with RUN(test_kernel_variant).
 */
#ifndef STL_CHECK_ISA_H
#define STL_CHECK_ISA_H

#include <stdlib.h>

#include "check.h"
#include "base/isa.h"

static void test_kernel_variant(void) {
    const char *want = getenv("STL_ISA");
    isa_level active = isa_active();
    if (want && *want && strcmp(want, "auto") != 0) {
        CHECK_STR_EQ(isa_name(active), want);
    } else {
        for (int i = active + 1; i < ISA_COUNT; i++) CHECK(!isa_supported((isa_level)i));
    }
    printf("kernels: %s\n", isa_name(active));
}

#endif

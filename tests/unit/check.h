/* check.h — the tiny unit-test framework of stlrec's C tests.
 *
 * A test file defines functions `static void test_x(void)` that use CHECK*
 * and lists them in main with RUN(test_x); main returns check_summary(),
 * which prints "N passed, N failed" (one per test function) and is non-zero
 * when anything failed. A failing CHECK prints file:line and the expression
 * (with values for the _EQ forms) and marks the current test failed; the test
 * goes on so one run shows every failure.
 */
#ifndef STL_CHECK_H
#define STL_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_tests_passed, check_tests_failed, check_current_failed;
static const char *check_current_name;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", check_current_name,       \
                    __FILE__, __LINE__, #cond);                                 \
            check_current_failed = 1;                                           \
        }                                                                       \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                      \
    do {                                                                        \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);         \
        if (check_a_ != check_b_) {                                             \
            fprintf(stderr, "FAIL %s (%s:%d): %s == %s (%lld != %lld)\n",       \
                    check_current_name, __FILE__, __LINE__, #a, #b, check_a_,   \
                    check_b_);                                                  \
            check_current_failed = 1;                                           \
        }                                                                       \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                      \
    do {                                                                        \
        const char *check_a_ = (a), *check_b_ = (b);                            \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {        \
            fprintf(stderr, "FAIL %s (%s:%d): %s == %s (\"%s\" != \"%s\")\n",   \
                    check_current_name, __FILE__, __LINE__, #a, #b,             \
                    check_a_ ? check_a_ : "(null)",                             \
                    check_b_ ? check_b_ : "(null)");                            \
            check_current_failed = 1;                                           \
        }                                                                       \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                           \
    do {                                                                        \
        double check_a_ = (double)(a), check_b_ = (double)(b);                  \
        if (!(fabs(check_a_ - check_b_) <= (atol) + (rtol)*fabs(check_b_))) {  \
            fprintf(stderr, "FAIL %s (%s:%d): %s ~ %s (%.9g vs %.9g)\n",        \
                    check_current_name, __FILE__, __LINE__, #a, #b, check_a_,   \
                    check_b_);                                                  \
            check_current_failed = 1;                                           \
        }                                                                       \
    } while (0)

#define RUN(fn)                                                                 \
    do {                                                                        \
        check_current_name = #fn;                                               \
        check_current_failed = 0;                                               \
        fn();                                                                   \
        if (check_current_failed) {                                             \
            check_tests_failed++;                                               \
            fprintf(stderr, "not ok %s\n", #fn);                                \
        } else {                                                                \
            check_tests_passed++;                                               \
            fprintf(stderr, "ok %s\n", #fn);                                    \
        }                                                                       \
    } while (0)

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed);
    return check_tests_failed ? 1 : 0;
}

#endif

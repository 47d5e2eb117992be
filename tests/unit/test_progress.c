/* test_progress.c — the progress lines of common/base/progress.h as written
 * to a file (not a terminal): the plain line of the stages that count items,
 * stl-train's line (no unit after the count, a detail, a rate of its own in
 * another unit and the ETA from it), the eager first line and closing line,
 * the interval that holds lines back, and STL_QUIET. stderr is sent to a
 * temporary file and read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/log.h"
#include "base/progress.h"

static char captured[4096];

/* Runs fn with stderr sent to a temporary file; leaves what it wrote in
 * `captured`. */
static void capture(void (*fn)(void)) {
    captured[0] = '\0';
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    if (saved < 0 || !tmp) {
        CHECK(!"cannot redirect stderr");
        return;
    }
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
}

static void items_lines(void) {
    progress p;
    progress_start(&p, "decoding", "images", 10);
    p.t_start -= 2.0; /* 2 s ago: 5 images in 2 s */
    p.t_last_print -= 1e6;
    progress_update(&p, 5);
}

static void test_items_line(void) {
    capture(items_lines);
    /* rate 2.5 images/s (to the clock's precision), 5 left: ETA 2 s */
    CHECK(strncmp(captured, "stl-test: decoding 5/10 images, 2.", 34) == 0);
    CHECK(strstr(captured, " images/s, ETA 2 s\n") != NULL);
}

static void train_lines(void) {
    progress p;
    progress_opts o = {.rate_unit = "triplets", .rate_per_unit = 8, .eager = 1};
    progress_start_opts(&p, "step", NULL, 12, &o);
    progress_set_detail(&p, "loss %.4f", 1.00061);
    progress_set_rate(&p, 16.0); /* 2 steps/s: 10 steps left take 5 s */
    progress_update(&p, 2);     /* eager: printed at once */
    progress_set_detail(&p, "loss %.4f", 0.5);
    progress_update(&p, 3);     /* within the interval: held back */
    progress_set_rate(&p, 32.0);
    p.done = 12;
    progress_finish(&p);        /* the closing line: no ETA */
}

static void test_train_line(void) {
    capture(train_lines);
    CHECK_STR_EQ(captured, "stl-test: step 2/12, loss 1.0006, 16.0 triplets/s, ETA 5 s\n"
                           "stl-test: step 12/12, loss 0.5000, 32.0 triplets/s\n");
}

static void not_eager_lines(void) {
    progress p;
    progress_start(&p, "top-k", "work items", 0);
    progress_update(&p, 1); /* within the first interval: nothing */
    progress_finish(&p);    /* nothing printed before: no closing line either */
}

static void test_not_eager_prints_nothing_early(void) {
    capture(not_eager_lines);
    CHECK_STR_EQ(captured, "");
}

static void test_quiet(void) {
    setenv("STL_QUIET", "1", 1);
    capture(train_lines);
    unsetenv("STL_QUIET");
    CHECK_STR_EQ(captured, "");
}

int main(void) {
    log_set_program("stl-test");
    unsetenv("STL_QUIET");
    setenv("STL_PROGRESS_INTERVAL", "1000", 1);
    RUN(test_items_line);
    RUN(test_train_line);
    RUN(test_not_eager_prints_nothing_early);
    RUN(test_quiet);
    return check_summary();
}

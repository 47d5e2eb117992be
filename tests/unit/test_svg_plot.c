/* test_svg_plot.c — the report's inline SVG charts (svg_plot.h): nice tick
 * steps, labels escaped, gaps (NaN) splitting a line, the no-data case. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/svg_plot.h"

static char *render(const svg_chart *c, int *rc) {
    char path[] = "/tmp/test_svg_plot.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    html_doc d;
    stl_error err;
    CHECK(html_begin(&d, path, "t", NULL, &err) == 0);
    *rc = svg_plot(&d, c);
    CHECK(html_end(&d, &err) == 0);
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
    remove(path);
    return buf;
}

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_nice_step(void) {
    CHECK_CLOSE(svg_nice_step(10, 5), 2, 1e-12, 0);
    CHECK_CLOSE(svg_nice_step(1, 5), 0.2, 1e-12, 0);
    CHECK_CLOSE(svg_nice_step(1000, 5), 200, 1e-9, 0);
    CHECK_CLOSE(svg_nice_step(0.7, 5), 0.2, 1e-12, 0);
    CHECK_CLOSE(svg_nice_step(37, 5), 10, 1e-12, 0);
    CHECK_CLOSE(svg_nice_step(0, 5), 1, 0, 0);
}

static void test_lines_and_escaping(void) {
    double x[5] = {0, 100, 200, 300, 400};
    double a[5] = {1.0, 0.8, 0.6, 0.5, 0.45};
    double b[5] = {NAN, 0.9, NAN, 0.7, 0.65}; /* a lone point, then a run of two */
    svg_series s[2] = {{"train <loss>", x, a, 5}, {"test & loss", x, b, 5}};
    svg_chart c = {"loss \"curve\" <script>", "step", 0, 0, s, 2};
    int rc;
    const char *out = render(&c, &rc);
    CHECK_EQ_INT(rc, 0);
    CHECK(strstr(out, "<svg") != NULL);
    CHECK(strstr(out, "<script>") == NULL);
    CHECK(strstr(out, "&lt;script&gt;") != NULL);
    CHECK(strstr(out, "train &lt;loss&gt;") != NULL);
    CHECK(strstr(out, "test &amp; loss") != NULL);
    CHECK_EQ_INT(count(out, "<polyline"), 3); /* one for a, two runs for b */
    CHECK_EQ_INT(count(out, "<circle"), 1);   /* the lone point of b */
}

static void test_no_data(void) {
    double x[2] = {0, 1}, y[2] = {NAN, NAN};
    svg_series s = {"empty", x, y, 2};
    svg_chart c = {"nothing", "step", 0, 0, &s, 1};
    int rc;
    const char *out = render(&c, &rc);
    CHECK_EQ_INT(rc, -1);
    CHECK(strstr(out, "no data") != NULL);
    CHECK(strstr(out, "</svg>") != NULL);
    CHECK_EQ_INT(count(out, "<polyline"), 0);
}

int main(void) {
    RUN(test_nice_step);
    RUN(test_lines_and_escaping);
    RUN(test_no_data);
    return check_summary();
}

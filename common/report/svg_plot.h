/* svg_plot.h — a line chart as inline SVG, for the report's training curves.
 *
 * A chart has a title, an x label and one or more series of (x, y) points
 * (a NaN y leaves a gap: the test loss exists only every eval-every steps).
 * Axes get about five "nice" ticks (1, 2 or 5 times a power of ten); the
 * series are drawn in a fixed palette with a legend. Every string (title,
 * labels, series names) is escaped through html.h. Output goes into an
 * html_doc (html.h) being written, deterministic for the same input. The
 * chart owns nothing after svg_plot returns.
 */
#ifndef STL_SVG_PLOT_H
#define STL_SVG_PLOT_H

#include <stddef.h>

#include "report/html.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;
    const double *x, *y; /* n points; y NaN = no value */
    size_t n;
} svg_series;

typedef struct {
    const char *title, *x_label;
    int width, height; /* pixels (0: 640 x 320) */
    const svg_series *series;
    size_t n_series;
} svg_chart;

/* "Nice" tick step for a span (1, 2 or 5 x 10^k, about `target` ticks). */
double svg_nice_step(double span, int target);

/* Writes one <svg> element. Returns 0, or -1 when no series has a finite
 * point (nothing drawn but a "no data" note: still valid SVG). */
int svg_plot(html_doc *d, const svg_chart *c);

#ifdef __cplusplus
}
#endif

#endif

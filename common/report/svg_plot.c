/* svg_plot.c — line charts as inline SVG (see svg_plot.h): data range, nice
 * ticks, one <polyline> per unbroken run of finite points, a legend. Tick
 * labels stay inside the viewBox: the left margin grows with the widest y
 * label, and an x label that would cross the left or right edge is anchored
 * at its start or end instead of its middle (widths are estimated from the
 * character count, an upper bound for digits in a sans-serif font). */
#include "report/svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/html.h"

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define N_PALETTE (sizeof palette / sizeof palette[0])

double svg_nice_step(double span, int target) {
    if (!(span > 0) || !isfinite(span)) return 1.0;
    double raw = span / (target > 0 ? target : 5);
    double p = pow(10.0, floor(log10(raw)));
    double f = raw / p;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * p;
}

typedef struct {
    double x0, x1, y0, y1;      /* data range */
    double left, right, top, bottom; /* plot area in pixels */
} frame;

static double px(const frame *fr, double x) {
    return fr->left + (x - fr->x0) / (fr->x1 - fr->x0) * (fr->right - fr->left);
}
static double py(const frame *fr, double y) {
    return fr->bottom - (y - fr->y0) / (fr->y1 - fr->y0) * (fr->bottom - fr->top);
}

/* Widens [*lo, *hi] to whole ticks; an empty range gets a unit around it. */
static double nice_range(double *lo, double *hi) {
    if (*hi <= *lo) {
        double c = *lo, d = fabs(c) > 0 ? fabs(c) * 0.5 : 1.0;
        *lo = c - d;
        *hi = c + d;
    }
    double st = svg_nice_step(*hi - *lo, 5);
    *lo = floor(*lo / st) * st;
    *hi = ceil(*hi / st) * st;
    return st;
}

#define TICK_FONT 11
/* Upper bound of a tick label's width in pixels: sans-serif digits, '.' and
 * '-' are narrower than 0.6 em. */
static double label_width(double v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", v);
    return (double)strlen(buf) * 0.6 * TICK_FONT;
}

/* The widest label of the ticks lo, lo+st, ..., hi. */
static double widest_label(double lo, double hi, double st) {
    double w = 0;
    for (int i = 0; i <= 100; i++) {
        double v = lo + i * st;
        if (v > hi + st * 1e-9) break;
        if (fabs(v) < st * 1e-9) v = 0.0;
        w = fmax(w, label_width(v));
    }
    return w;
}

static void axis_ticks(html_doc *d, const frame *fr, double st, int vertical, int width) {
    double lo = vertical ? fr->y0 : fr->x0, hi = vertical ? fr->y1 : fr->x1;
    for (int i = 0;; i++) {
        double v = lo + i * st;
        if (v > hi + st * 1e-9 || i > 100) break;
        if (fabs(v) < st * 1e-9) v = 0.0;
        if (vertical) {
            double y = py(fr, v);
            html_raw(d, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                     fr->left, y, fr->right, y);
            html_raw(d, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%g</text>\n",
                     fr->left - 4, y + 4, v);
        } else {
            double x = px(fr, v), half = label_width(v) / 2;
            const char *anchor = x + half > width - 2 ? "end" : x - half < 2 ? "start" : "middle";
            html_raw(d, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                     x, fr->top, x, fr->bottom);
            html_raw(d, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"11\">%g</text>\n",
                     x, fr->bottom + 14, anchor, v);
        }
    }
}

int svg_plot(html_doc *d, const svg_chart *c) {
    int w = c->width > 0 ? c->width : 640, h = c->height > 0 ? c->height : 320;
    frame fr = {INFINITY, -INFINITY, INFINITY, -INFINITY, 56, w - 12.0, 28, h - 56.0};
    size_t finite = 0;
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->series[s].n; i++) {
            double x = c->series[s].x[i], y = c->series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            finite++;
            fr.x0 = fmin(fr.x0, x);
            fr.x1 = fmax(fr.x1, x);
            fr.y0 = fmin(fr.y0, y);
            fr.y1 = fmax(fr.y1, y);
        }
    html_raw(d, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", w, h, w, h);
    html_raw(d, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", w, h);
    html_raw(d, "<text x=\"%d\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">", w / 2);
    html_text(d, c->title ? c->title : "");
    html_raw(d, "</text>\n");
    if (!finite) {
        html_raw(d, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\" "
                   "fill=\"#888\">no data</text>\n</svg>\n", w / 2, h / 2);
        return -1;
    }
    double xs = nice_range(&fr.x0, &fr.x1), ys = nice_range(&fr.y0, &fr.y1);
    fr.left = fmax(fr.left, ceil(widest_label(fr.y0, fr.y1, ys)) + 8);
    axis_ticks(d, &fr, ys, 1, w);
    axis_ticks(d, &fr, xs, 0, w);
    html_raw(d, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#444\"/>\n", fr.left, fr.top, fr.right - fr.left, fr.bottom - fr.top);
    html_raw(d, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">",
             (fr.left + fr.right) / 2, fr.bottom + 30);
    html_text(d, c->x_label ? c->x_label : "");
    html_raw(d, "</text>\n");
    for (size_t s = 0; s < c->n_series; s++) {
        const svg_series *se = &c->series[s];
        const char *col = palette[s % N_PALETTE];
        int open = 0;
        size_t run = 0;
        for (size_t i = 0; i <= se->n; i++) {
            int ok = i < se->n && isfinite(se->x[i]) && isfinite(se->y[i]);
            if (ok) {
                if (!open) {
                    html_raw(d, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
                    open = 1;
                    run = 0;
                }
                html_raw(d, "%s%.1f,%.1f", run ? " " : "", px(&fr, se->x[i]), py(&fr, se->y[i]));
                run++;
            } else if (open) {
                html_raw(d, "\"/>\n");
                if (run == 1) { /* a lone point: draw a dot so it is visible */
                    size_t j = i - 1;
                    html_raw(d, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                             px(&fr, se->x[j]), py(&fr, se->y[j]), col);
                }
                open = 0;
            }
        }
        double ly = h - 12.0, lx = fr.left + (double)s * 150;
        html_raw(d, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">",
                 lx, ly - 4, lx + 18, ly - 4, col, lx + 22, ly);
        html_text(d, se->name ? se->name : "");
        html_raw(d, "</text>\n");
    }
    html_raw(d, "</svg>\n");
    return 0;
}

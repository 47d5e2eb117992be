/* report_index.c — the metrics table, the training curves and the
 * configuration tables of stl-report's index page (see report_index.h).
 * Reals in the configuration are shown in their shortest round-trip form. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "retrieval/eval_metrics.h"
#include "report/report_index.h"
#include "report/svg_plot.h"

/* ---- index: metrics table ---- */

static double jnum(const json_t *o, const char *group, const char *k) {
    const json_t *g = json_object_get(o, group);
    const json_t *v = k ? json_object_get(g, k) : g;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void metric_row(html_doc *d, const json_t *m, const char *label, const char *group,
                       const char *k) {
    double v[3];
    const char *cols[3] = {"model", "random_exact", "random_simulated"};
    for (int i = 0; i < 3; i++) {
        const json_t *c = json_object_get(m, cols[i]);
        v[i] = jnum(c, group, k);
    }
    html_raw(d, "<tr><td class=\"l\">%s</td>", label);
    for (int i = 0; i < 3; i++)
        if (isfinite(v[i])) html_raw(d, "<td>%.4f</td>", v[i]);
        else html_raw(d, "<td>–</td>");
    if (isfinite(v[0]) && isfinite(v[1]) && v[1] > 0) html_raw(d, "<td>%.1f×</td>", v[0] / v[1]);
    else html_raw(d, "<td>–</td>");
    html_raw(d, "</tr>\n");
}

void report_index_metrics(html_doc *d, const json_t *m) {
    html_raw(d, "<h2>Metrics on the held-out test scenes</h2>\n");
    html_raw(d, "<p>%" JSON_INTEGER_FORMAT " test scenes, %" JSON_INTEGER_FORMAT
               " test triplets, %" JSON_INTEGER_FORMAT " products ranked.</p>\n",
             json_integer_value(json_object_get(m, "test_scenes")),
             json_integer_value(json_object_get(m, "test_triplets")),
             json_integer_value(json_object_get(m, "products")));
    html_raw(d, "<table id=\"metrics\"><tr><th class=\"l\">metric</th><th>model</th>"
               "<th>random (exact)</th><th>random (simulated)</th><th>model / random</th></tr>\n");
    char label[32], k[16];
    for (int i = 0; i < EVAL_N_K; i++) {
        snprintf(k, sizeof k, "%d", eval_ks[i]);
        snprintf(label, sizeof label, "Recall@%d", eval_ks[i]);
        metric_row(d, m, label, "recall", k);
    }
    for (int i = 0; i < EVAL_N_K; i++) {
        snprintf(k, sizeof k, "%d", eval_ks[i]);
        snprintf(label, sizeof label, "HitRate@%d", eval_ks[i]);
        metric_row(d, m, label, "hit_rate", k);
    }
    metric_row(d, m, "MRR", "mrr", NULL);
    metric_row(d, m, "triplet accuracy (AUC)", "auc", NULL);
    html_raw(d, "</table>\n");
}

/* ---- index: training curves ---- */

typedef struct {
    char *name;
    double *x, *y; /* the records that have this field */
    size_t n, cap;
} curve;

static int curve_add(curve *c, double x, double y) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        double *nx = realloc(c->x, cap * sizeof *nx);
        if (nx) c->x = nx;
        double *ny = realloc(c->y, cap * sizeof *ny);
        if (ny) c->y = ny;
        if (!nx || !ny) return -1;
        c->cap = cap;
    }
    c->x[c->n] = x;
    c->y[c->n++] = y;
    return 0;
}

/* Reads metrics.jsonl: x = "step", one curve per numeric field whose name
 * holds `loss` (chart 1) or `acc`/`auc` (chart 2), through the records that
 * have it (the test metrics come every eval interval only). Lines that are
 * not objects with a numeric step are skipped and counted. */
int report_index_curves(html_doc *d, const char *path, stl_error *err) {
    FILE *in = fopen(path, "rb");
    if (!in) return stl_fail(err, "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0, n = 0, bad = 0, nc = 0;
    curve *cv = NULL;
    int rc = -1;
    while (getline(&line, &cap, in) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        const json_t *st = json_object_get(o, "step");
        if (!json_is_object(o) || !json_is_number(st)) {
            bad += line[strspn(line, " \t\r\n")] != '\0';
            json_decref(o);
            continue;
        }
        n++;
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            if (!json_is_number(v) || strcmp(k, "step") == 0) continue;
            if (!strstr(k, "loss") && !strstr(k, "acc") && !strstr(k, "auc")) continue;
            size_t c = 0;
            while (c < nc && strcmp(cv[c].name, k) != 0) c++;
            if (c == nc) {
                curve *ncv = realloc(cv, (nc + 1) * sizeof *cv);
                if (!ncv) break;
                cv = ncv;
                cv[nc] = (curve){strdup(k), NULL, NULL, 0, 0};
                nc++;
            }
            if (!cv[c].name || curve_add(&cv[c], json_number_value(st), json_number_value(v)) != 0) {
                json_decref(o);
                stl_fail(err, "out of memory");
                goto out;
            }
        }
        json_decref(o);
    }
    if (ferror(in)) {
        stl_fail(err, "%s: read error", path);
        goto out;
    }
    if (bad) log_warn("%s: %zu lines without a numeric \"step\" skipped", path, bad);
    html_raw(d, "<h2>Training</h2>\n<p>%zu records from <code>", n);
    html_text(d, path);
    html_raw(d, "</code>.</p>\n");
    for (int chart = 0; chart < 2; chart++) {
        svg_series ss[16];
        size_t ns = 0;
        for (size_t c = 0; c < nc && ns < 16; c++) {
            int is_loss = strstr(cv[c].name, "loss") != NULL;
            if (is_loss != (chart == 0)) continue;
            ss[ns++] = (svg_series){cv[c].name, cv[c].x, cv[c].y, cv[c].n};
        }
        svg_chart ch = {chart == 0 ? "loss" : "accuracy", "step", 640, 320, ss, ns};
        html_raw(d, "<div class=\"chart\">");
        svg_plot(d, &ch);
        html_raw(d, "</div>\n");
    }
    rc = 0;
out:
    for (size_t c = 0; c < nc; c++) {
        free(cv[c].name);
        free(cv[c].x);
        free(cv[c].y);
    }
    free(cv);
    free(line);
    fclose(in);
    return rc;
}

/* ---- index: configuration ---- */

static void kv_row(html_doc *d, const char *k, const char *v) {
    html_raw(d, "<tr><td class=\"l\">");
    html_text(d, k);
    html_raw(d, "</td><td class=\"l\">");
    html_text(d, v);
    html_raw(d, "</td></tr>\n");
}

/* The shortest %g form of v that reads back as the same double (1 to 17
 * significant digits): 0.00016, not 0.00016000000000000001. */
static void real_shortest(double v, char *buf, size_t cap) {
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* v as compact JSON text, reals in their shortest round-trip form. */
static void json_show(FILE *f, const json_t *v) {
    char buf[64];
    size_t i;
    const char *k;
    json_t *x;
    switch (json_typeof(v)) {
    case JSON_REAL:
        real_shortest(json_real_value(v), buf, sizeof buf);
        fputs(buf, f);
        break;
    case JSON_ARRAY:
        fputc('[', f);
        json_array_foreach(v, i, x) {
            if (i) fputc(',', f);
            json_show(f, x);
        }
        fputc(']', f);
        break;
    case JSON_OBJECT: {
        int first = 1;
        fputc('{', f);
        json_object_foreach((json_t *)v, k, x) {
            json_t *ks = json_string(k);
            char *kt = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
            fprintf(f, "%s%s:", first ? "" : ",", kt ? kt : "\"\"");
            free(kt);
            json_decref(ks);
            json_show(f, x);
            first = 0;
        }
        fputc('}', f);
        break;
    }
    default: { /* strings, integers, true, false, null */
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(t ? t : "", f);
        free(t);
    }
    }
}

/* The metadata object as rows: nested objects flattened to "a.b" names (two
 * levels), strings as they are, anything else as compact JSON (json_show). */
static void meta_rows(html_doc *d, const char *prefix, const json_t *o, int depth) {
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)o, k, val) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, k);
        if (json_is_object(val) && depth < 2) {
            char sub[260];
            snprintf(sub, sizeof sub, "%s.", name);
            meta_rows(d, sub, val, depth + 1);
            continue;
        }
        char *s = NULL;
        size_t n = 0;
        if (json_is_string(val)) {
            s = strdup(json_string_value(val));
        } else {
            FILE *f = open_memstream(&s, &n);
            if (f) {
                json_show(f, val);
                fclose(f);
            }
        }
        kv_row(d, name, s ? s : "");
        free(s);
    }
}

void report_index_config(html_doc *d, const report *r) {
    html_raw(d, "<h2>Configuration</h2>\n");
    char v[128];
    if (r->t) {
        const triplets_params *p = &r->t->params;
        const triplets_counts *c = &r->t->counts;
        html_raw(d, "<h3>Triplets</h3><table id=\"config-triplets\">\n");
        kv_row(d, "file", r->o.triplets);
        snprintf(v, sizeof v, "%" PRIu64, p->seed);
        kv_row(d, "seed", v);
        snprintf(v, sizeof v, "%u", p->num_neg);
        kv_row(d, "negatives per positive", v);
        kv_row(d, "split", triplets_split_name(p->split));
        snprintf(v, sizeof v, "%g", p->test_fraction);
        kv_row(d, "test fraction", v);
        kv_row(d, "negatives", triplets_negatives_name(p->negatives));
        snprintf(v, sizeof v, "%zu scenes, %zu products", r->t->n_scenes, r->t->n_products);
        kv_row(d, "key tables", v);
        snprintf(v, sizeof v, "%" PRIu64 " train pairs (%" PRIu64 " scenes), %" PRIu64
                 " test pairs (%" PRIu64 " scenes)", c->train_pairs, c->train_scenes,
                 c->test_pairs, c->test_scenes);
        kv_row(d, "split counts", v);
        snprintf(v, sizeof v, "%zu train, %zu test", r->t->n_train, r->t->n_test);
        kv_row(d, "triplets", v);
        html_raw(d, "</table>\n");
    }
    if (r->model_meta) {
        json_t *o = json_loads(r->model_meta, 0, NULL);
        html_raw(d, "<h3>Model</h3><table id=\"config-model\">\n");
        kv_row(d, "file", r->o.model);
        meta_rows(d, "", o, 0);
        html_raw(d, "</table>\n");
        json_decref(o);
    } else if (r->o.model) {
        html_raw(d, "<p>Model <code>");
        html_text(d, r->o.model);
        html_raw(d, "</code>: no metadata sidecar.</p>\n");
    }
    if (r->metrics) {
        html_raw(d, "<h3>Evaluation</h3><table id=\"config-eval\">\n");
        const json_t *in = json_object_get(r->metrics, "inputs");
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)in, k, val)
            if (json_is_string(val)) kv_row(d, k, json_string_value(val));
        snprintf(v, sizeof v, "%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT " rounds",
                 json_integer_value(json_object_get(r->metrics, "seed")),
                 json_integer_value(json_object_get(r->metrics, "sim_rounds")));
        kv_row(d, "simulation seed", v);
        html_raw(d, "</table>\n");
    }
}

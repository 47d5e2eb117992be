/* report_index.c — the metrics table, the training curves and the
 * configuration tables of stl-report's index page (see report_index.h).
 * Reals in the configuration are shown in their shortest round-trip form. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "formats/eval_file.h"
#include "formats/train_log.h"
#include "report/report_index.h"
#include "report/svg_plot.h"

/* ---- index: metrics table ---- */

/* One row: the value of the model, the exact and the simulated random
 * recommender (pick gives a metric's value), and model / exact random. */
static void metric_row(html_doc *d, const eval_file *m, const char *label,
                       double (*pick)(const eval_metrics *, int), int i) {
    const double v[3] = {pick(&m->model, i), pick(&m->random_exact, i),
                         pick(&m->random_simulated, i)};
    html_raw(d, "<tr><td class=\"l\">%s</td>", label);
    for (int c = 0; c < 3; c++)
        if (isfinite(v[c])) html_raw(d, "<td>%.4f</td>", v[c]);
        else html_raw(d, "<td>–</td>");
    if (isfinite(v[0]) && isfinite(v[1]) && v[1] > 0) html_raw(d, "<td>%.1f×</td>", v[0] / v[1]);
    else html_raw(d, "<td>–</td>");
    html_raw(d, "</tr>\n");
}

static double pick_recall(const eval_metrics *m, int i) { return m->recall[i]; }
static double pick_hit_rate(const eval_metrics *m, int i) { return m->hit_rate[i]; }
static double pick_mrr(const eval_metrics *m, int i) { (void)i; return m->mrr; }
static double pick_auc(const eval_metrics *m, int i) { (void)i; return m->auc; }

void report_index_metrics(html_doc *d, const eval_file *m) {
    html_raw(d, "<h2>Metrics on the held-out test scenes</h2>\n");
    html_raw(d, "<p>%" PRIu64 " test scenes, %" PRIu64 " test triplets, %" PRIu64
               " products ranked.</p>\n",
             m->test_scenes, m->test_triplets, m->products);
    html_raw(d, "<table id=\"metrics\"><tr><th class=\"l\">metric</th><th>model</th>"
               "<th>random (exact)</th><th>random (simulated)</th><th>model / random</th></tr>\n");
    char label[32];
    for (int i = 0; i < EVAL_N_K; i++) {
        snprintf(label, sizeof label, "Recall@%d", eval_ks[i]);
        metric_row(d, m, label, pick_recall, i);
    }
    for (int i = 0; i < EVAL_N_K; i++) {
        snprintf(label, sizeof label, "HitRate@%d", eval_ks[i]);
        metric_row(d, m, label, pick_hit_rate, i);
    }
    metric_row(d, m, "MRR", pick_mrr, 0);
    metric_row(d, m, "triplet accuracy (AUC)", pick_auc, 0);
    html_raw(d, "</table>\n");
}

/* ---- index: training curves ---- */

/* The curves of metrics.jsonl (formats/train_log.h reads it): x = "step",
 * one curve per numeric field whose name holds `loss` (chart 1) or
 * `acc`/`auc` (chart 2), through the records that have it (the test metrics
 * come every eval interval only). Lines that are not objects with a numeric
 * step are skipped and counted. */
int report_index_curves(html_doc *d, const char *path, stl_error *err) {
    train_log_data tl;
    if (train_log_read(path, &tl, err) != 0) return -1;
    if (tl.skipped) log_warn("%s: %zu lines without a numeric \"step\" skipped", path, tl.skipped);
    html_raw(d, "<h2>Training</h2>\n<p>%zu records from <code>", tl.records);
    html_text(d, path);
    html_raw(d, "</code>.</p>\n");
    for (int chart = 0; chart < 2; chart++) {
        svg_series ss[16];
        size_t ns = 0;
        for (size_t c = 0; c < tl.n_series && ns < 16; c++) {
            const train_log_series *s = &tl.series[c];
            if (!strstr(s->name, "loss") && !strstr(s->name, "acc") && !strstr(s->name, "auc"))
                continue;
            int is_loss = strstr(s->name, "loss") != NULL;
            if (is_loss != (chart == 0)) continue;
            ss[ns++] = (svg_series){s->name, s->step, s->value, s->n};
        }
        svg_chart ch = {chart == 0 ? "loss" : "accuracy", "step", 640, 320, ss, ns};
        html_raw(d, "<div class=\"chart\">");
        svg_plot(d, &ch);
        html_raw(d, "</div>\n");
    }
    train_log_data_free(&tl);
    return 0;
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
    if (r->have_metrics) {
        const eval_file *m = &r->metrics;
        html_raw(d, "<h3>Evaluation</h3><table id=\"config-eval\">\n");
        kv_row(d, "topk", m->in_topk);
        kv_row(d, "triplets", m->in_triplets);
        kv_row(d, "scenes", m->in_scenes);
        kv_row(d, "products", m->in_products);
        snprintf(v, sizeof v, "%" PRId64 ", %" PRId64 " rounds", m->seed, m->sim_rounds);
        kv_row(d, "simulation seed", v);
        html_raw(d, "</table>\n");
    }
}

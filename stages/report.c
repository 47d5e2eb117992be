/* stl-report — a static HTML site of one run: numbers and pictures.
 *
 * Writes DIR/index.html: the eval metrics against the random recommender
 * (--metrics, stl-eval's JSON), the training and eval curves of stl-train's
 * metrics.jsonl as inline SVG (--train-metrics), the run's configuration
 * (the triplets file's parameters and counts, the model's sidecar metadata
 * with --model, reals in their shortest round-trip form) and links to one
 * page per sampled test scene, DIR/scene/<key>.html: the scene and its
 * top-K products (--topk) with rank and score (3 decimals: the dot product
 * of the two embeddings), categories (--catalog) and the held-out ground
 * truth (--triplets) marked; with --scenes/--products (the embeddings) every
 * held-out product also gets its rank among all products and its score, as
 * stl-eval ranks them. Thumbnails are decoded from --images DIR/<key>.jpg
 * and written as JPEGs into DIR/img/ at the display size, or at the
 * source's own size when it is smaller (never upscaled), so the site is
 * self-contained: relative links only, nothing fetched from the network,
 * nothing outside DIR. --random FILE (stl-random's page) is rewritten to
 * DIR/random.html with its images as thumbnails in DIR/img/ and a link back.
 * The sample of scenes is deterministic (the held-out scenes with the
 * lowest seeded hash of the key). Every string that came from a file is
 * HTML-escaped; every page is written atomically. A source image that is
 * missing or does not decode gets a placeholder box (counted and reported),
 * never a broken <img>. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "catalog.h"
#include "cli.h"
#include "embeddings.h"
#include "error.h"
#include "html.h"
#include "jpeg_decode.h"
#include "jpeg_encode.h"
#include "keys.h"
#include "log.h"
#include "metrics_eval.h"
#include "modelfile.h"
#include "rng.h"
#include "svg_plot.h"
#include "topk_file.h"
#include "triplets.h"

#include <turbojpeg.h>

/* Display sizes in CSS pixels; a thumbnail is written at the display size,
 * or at the source's short side when the source is smaller (never upscaled:
 * the browser shows it at its natural size). */
#define SCENE_THUMB 320
#define PRODUCT_THUMB 160
#define RANDOM_THUMB 200
#define THUMB_SIZES 4

typedef struct {
    const char *out, *metrics, *train_metrics, *topk, *triplets, *images, *random, *model,
        *catalog, *scenes, *products;
    long max_scenes;
} report_opts;

/* What is known of one source image (a product in many top-K lists is read
 * once): its short side (0 when missing or undecodable) and the thumbnail
 * sizes already written. */
typedef struct {
    int short_side;
    int n_sizes, sizes[THUMB_SIZES];
} thumb_entry;

typedef struct {
    key_index done; /* key -> entry */
    thumb_entry *e;
    size_t cap;
} thumb_cache;

typedef struct {
    report_opts o;
    json_t *metrics;            /* stl-eval JSON, or NULL */
    triplets_file *t;           /* or NULL */
    topk_file tk;
    int have_tk;
    catalog cat;
    int have_cat;
    key_index cat_index;        /* catalog key -> entry */
    embeddings se, pe;          /* --scenes / --products, when have_emb */
    int have_emb;
    double *scores;             /* (pe.n): one scene's scores */
    char *model_meta;           /* sidecar JSON text, or NULL */
    jpeg_decoder dec;
    jpeg_encoder enc;
    tjhandle tj;                /* header reads */
    unsigned char *file;        /* a source file's bytes */
    size_t file_cap;
    size_t thumbs, images, images_failed;
    uint8_t *pix;               /* SCENE_THUMB^2 * 3 */
    thumb_cache cache;
} report;

static const char *css =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}"
    ".grid{display:flex;flex-wrap:wrap;gap:10px}.card{width:170px;font-size:12px;"
    "border:2px solid #ddd;padding:4px}.card.gt{border-color:#2ca02c;background:#efe}"
    ".noimg{display:flex;align-items:center;justify-content:center;background:#eee;color:#888}"
    ".key{font-family:monospace;font-size:10px;word-break:break-all}"
    ".cat{overflow-wrap:break-word}h1 .key{display:block;font-size:13px;font-weight:normal;"
    "margin-top:4px}.note{color:#555;font-size:13px}.sc{white-space:nowrap}";

/* ---- thumbnails ---- */

/* The short side of the JPEG at path, or 0 when it cannot be read or its
 * header does not parse. The file is read whole into r->file (reused). */
static int source_short_side(report *r, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = 0, got;
    for (;;) {
        if (n == r->file_cap) {
            size_t cap = r->file_cap ? 2 * r->file_cap : (size_t)1 << 16;
            unsigned char *nb = realloc(r->file, cap);
            if (!nb) break;
            r->file = nb;
            r->file_cap = cap;
        }
        if ((got = fread(r->file + n, 1, r->file_cap - n, f)) == 0) break;
        n += got;
    }
    int bad = ferror(f);
    fclose(f);
    int w, h, ss, cs;
    if (bad || n == 0 || tjDecompressHeader3(r->tj, r->file, (unsigned long)n, &w, &h, &ss, &cs) != 0)
        return 0;
    return w < h ? w : h;
}

/* Writes DIR/img/<key>-<s>.jpg from the source image `src` once, s = the
 * smaller of `size` and the source's short side. Returns s, or 0 when the
 * source is missing or does not decode. */
static int thumb(report *r, const char *src, const char *key, int size) {
    thumb_cache *tc = &r->cache;
    stl_error err;
    int added;
    long i = key_index_add(&tc->done, key, &added, &err);
    if (i < 0) return 0;
    if (added) {
        if ((size_t)i >= tc->cap) {
            size_t cap = tc->cap ? 2 * tc->cap : 256;
            thumb_entry *ne = realloc(tc->e, cap * sizeof *ne);
            if (!ne) return 0;
            tc->e = ne;
            tc->cap = cap;
        }
        thumb_entry *e = &tc->e[i];
        memset(e, 0, sizeof *e);
        r->images++;
        e->short_side = source_short_side(r, src);
        if (e->short_side <= 0) { /* the decoder says why */
            char detail[256] = "";
            jpeg_decode_opts jo = {size, 1, (uint64_t)1 << 28};
            jpeg_status st = jpeg_decode_file(&r->dec, src, &jo, r->pix, detail, sizeof detail);
            e->short_side = 0;
            r->images_failed++;
            if (r->images_failed <= 5)
                log_warn("%s: %s (%s): a placeholder instead", src,
                         st == JPEG_STATUS_OK ? "no header" : jpeg_status_name(st), detail);
            return 0;
        }
    }
    thumb_entry *e = &tc->e[i];
    if (e->short_side <= 0) return 0;
    int s = size < e->short_side ? size : e->short_side;
    for (int k = 0; k < e->n_sizes; k++)
        if (e->sizes[k] == s) return s;
    if (e->n_sizes == THUMB_SIZES) return 0; /* not reached: THUMB_SIZES >= the sizes used */
    char dst[4096], detail[256] = "";
    snprintf(dst, sizeof dst, "%s/img/%s-%d.jpg", r->o.out, key, s);
    jpeg_decode_opts jo = {s, 1, (uint64_t)1 << 28};
    jpeg_status st = jpeg_decode_file(&r->dec, src, &jo, r->pix, detail, sizeof detail);
    if (st != JPEG_STATUS_OK) {
        e->short_side = 0;
        r->images_failed++;
        if (r->images_failed <= 5)
            log_warn("%s: %s (%s): a placeholder instead", src, jpeg_status_name(st), detail);
        return 0;
    }
    if (jpeg_encode_file(&r->enc, dst, r->pix, s, s, 85, &err) != 0) {
        e->short_side = 0;
        r->images_failed++;
        log_error(&err);
        return 0;
    }
    r->thumbs++;
    e->sizes[e->n_sizes++] = s;
    return s;
}

/* The markup of a thumbnail of source `src` (key: a valid key, so safe in
 * markup), or of a placeholder box of the display size; `up` is the way
 * from the page's directory to the site's ("" or "../"). */
static void img_markup(report *r, const char *src, const char *key, int size, const char *up,
                       char *buf, size_t cap) {
    int s = src ? thumb(r, src, key, size) : 0;
    if (s)
        snprintf(buf, cap, "<img src=\"%simg/%s-%d.jpg\" width=\"%d\" height=\"%d\" alt=\"%s\">",
                 up, key, s, s, s, key);
    else
        snprintf(buf, cap, "<div class=\"noimg\" style=\"width:%dpx;height:%dpx\">no image</div>",
                 size, size);
}

/* img_markup of an --images DIR/<key>.jpg into a page. */
static void img_tag(html_doc *d, report *r, const char *key, int size, const char *up) {
    char src[4096], buf[512];
    if (r->o.images) snprintf(src, sizeof src, "%s/%s.jpg", r->o.images, key);
    img_markup(r, r->o.images ? src : NULL, key, size, up, buf, sizeof buf);
    html_raw(d, "%s", buf);
}

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

static void metrics_section(html_doc *d, const json_t *m) {
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
static int curves_section(html_doc *d, const char *path, stl_error *err) {
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

static void config_section(html_doc *d, const report *r) {
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

/* ---- scene pages ---- */

typedef struct {
    size_t tk_row;     /* row in the top-k file */
    long held;         /* held-out index in the triplets, or -1 */
    uint64_t order;    /* seeded hash of the key: the sample order */
} scene_pick;

static int cmp_pick(const void *a, const void *b) {
    const scene_pick *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return (x->tk_row > y->tk_row) - (x->tk_row < y->tk_row);
}

static const char *category_of(const report *r, const char *key) {
    if (!r->have_cat) return NULL;
    long i = key_index_find(&r->cat_index, key);
    return i < 0 ? NULL : r->cat.categories[i];
}

/* A category with a line-break opportunity after every '|' (the browser
 * breaks there or at spaces, never inside a word). */
static void category_text(html_doc *d, const char *cat) {
    for (;;) {
        const char *bar = strchr(cat, '|');
        if (!bar) {
            html_text(d, cat);
            return;
        }
        char *seg = strndup(cat, (size_t)(bar - cat));
        html_text(d, seg ? seg : "");
        free(seg);
        html_raw(d, "|<wbr>");
        cat = bar + 1;
    }
}

/* One product: thumbnail, "#rank · score" (of `of` products when of > 0;
 * rank 0: not known), the ground-truth mark, category and key. */
static void product_card(html_doc *d, report *r, const char *key, int is_gt, long rank,
                         double score, size_t of) {
    html_raw(d, "<div class=\"card%s\">", is_gt ? " gt" : "");
    img_tag(d, r, key, PRODUCT_THUMB, "../");
    html_raw(d, "<div class=\"rank\">");
    if (rank > 0 && of > 0) html_raw(d, "rank %ld of %zu", rank, of);
    else if (rank > 0) html_raw(d, "#%ld", rank);
    else html_raw(d, "rank not known");
    if (isfinite(score)) html_raw(d, " · <span class=\"sc\">score %.3f</span>", score);
    if (is_gt) html_raw(d, " <b class=\"gtmark\">✓ ground truth</b>");
    html_raw(d, "</div>");
    const char *cat = category_of(r, key);
    if (cat) {
        html_raw(d, "<div class=\"cat\">");
        category_text(d, cat);
        html_raw(d, "</div>");
    }
    html_raw(d, "<div class=\"key\">%s</div></div>\n", key);
}

/* Is product key one of the held-out products of held scene h? */
static int is_ground_truth(const report *r, long h, const char *key) {
    if (h < 0) return 0;
    const triplets_file *t = r->t;
    for (uint32_t i = t->held_offset[h]; i < t->held_offset[h + 1]; i++)
        if (strcmp(t->products[t->held_product[i]].s, key) == 0) return 1;
    return 0;
}

/* With --scenes/--products: r->scores = the scene's dot product with every
 * product, in double and in stl-eval's order; 0, or -1 when the scene has
 * no embedding. */
static int scene_scores(report *r, const char *key) {
    if (r->have_emb < 2) return -1;
    long row = embeddings_find(&r->se, key);
    if (row < 0) return -1;
    size_t dim = r->se.dim;
    const float *q = r->se.data + (size_t)row * dim;
    for (size_t j = 0; j < r->pe.n; j++) {
        const float *p = r->pe.data + j * dim;
        double s = 0.0;
        for (size_t i = 0; i < dim; i++) s += (double)q[i] * (double)p[i];
        r->scores[j] = s;
    }
    return 0;
}

static int scene_page(report *r, const scene_pick *p, stl_error *err) {
    const topk_file *tk = &r->tk;
    const char *key = tk->scenes[p->tk_row].s;
    char path[4096];
    snprintf(path, sizeof path, "%s/scene/%s.html", r->o.out, key);
    html_doc page, *d = &page;
    char title[64];
    snprintf(title, sizeof title, "scene %s", key);
    if (html_begin(d, path, title, css, err) != 0) return -1;
    html_raw(d, "<p><a href=\"../index.html\">← index</a></p>\n<h1>Test scene"
               "<span class=\"key\">%s</span></h1>\n", key);
    img_tag(d, r, key, SCENE_THUMB, "../");
    size_t w = tk->width, found = 0;
    html_raw(d, "<h2>Top %zu products</h2>\n<p class=\"note\">Score: the dot product of the "
               "scene's embedding and the product's embedding; higher is better, and the "
               "products are ranked by it, best first.</p>\n<div class=\"grid\" id=\"topk\">\n", w);
    for (size_t i = 0; i < w; i++) {
        const char *pk = tk->products[tk->index[p->tk_row * w + i]].s;
        int gt = is_ground_truth(r, p->held, pk);
        found += gt;
        product_card(d, r, pk, gt, (long)i + 1, tk->score[p->tk_row * w + i], 0);
    }
    html_raw(d, "</div>\n");
    if (p->held >= 0) {
        const triplets_file *t = r->t;
        size_t g = t->held_offset[p->held + 1] - t->held_offset[p->held];
        int have_scores = scene_scores(r, key) == 0;
        html_raw(d, "<h2>Held-out products of this scene (%zu, %zu in the top %zu)</h2>\n", g,
                 found, w);
        if (have_scores)
            html_raw(d, "<p class=\"note\">Each with its rank among all %zu products ranked "
                       "(stl-eval's ranking) and its score.</p>\n", r->pe.n);
        else
            html_raw(d, "<p class=\"note\">Ranks beyond the top %zu need the embeddings "
                       "(stl-report --scenes FILE --products FILE).</p>\n", w);
        html_raw(d, "<div class=\"grid\" id=\"truth\">\n");
        for (uint32_t i = t->held_offset[p->held]; i < t->held_offset[p->held + 1]; i++) {
            const char *hk = t->products[t->held_product[i]].s;
            long rank = 0;
            double score = NAN;
            long j = have_scores ? embeddings_find(&r->pe, hk) : -1;
            if (j >= 0) {
                rank = (long)eval_rank(r->scores, r->pe.n, (size_t)j);
                score = r->scores[j];
            } else {
                for (size_t k = 0; k < w; k++)
                    if (strcmp(tk->products[tk->index[p->tk_row * w + k]].s, hk) == 0) {
                        rank = (long)k + 1;
                        score = tk->score[p->tk_row * w + k];
                    }
            }
            product_card(d, r, hk, 1, rank, score, j >= 0 ? r->pe.n : 0);
        }
        html_raw(d, "</div>\n");
    }
    return html_end(d, err);
}

/* Picks the sample and writes its pages; the index links them. */
static int scenes_section(html_doc *d, report *r, stl_error *err) {
    const topk_file *tk = &r->tk;
    key_index held_of;
    key_index_init(&held_of);
    scene_pick *pk = malloc((tk->n_scenes ? tk->n_scenes : 1) * sizeof *pk);
    int rc = -1;
    if (!pk) goto out;
    if (r->t)
        for (size_t h = 0; h < r->t->n_held_scenes; h++) {
            int added;
            if (key_index_add(&held_of, r->t->scenes[r->t->held_scene[h]].s, &added, err) < 0)
                goto out;
        }
    size_t n = 0;
    for (size_t i = 0; i < tk->n_scenes; i++) {
        long h = r->t ? key_index_find(&held_of, tk->scenes[i].s) : -1;
        if (r->t && h < 0) continue; /* with triplets: test scenes only */
        pk[n].tk_row = i;
        pk[n].held = h;
        pk[n].order = rng_hash(0x5ce4e5, tk->scenes[i].s, STL_KEY_LEN);
        n++;
    }
    qsort(pk, n, sizeof *pk, cmp_pick);
    if (n > (size_t)r->o.max_scenes) n = (size_t)r->o.max_scenes;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/scene", r->o.out);
    if (make_dirs(dir, err) != 0) goto out;
    html_raw(d, "<h2>Test scenes</h2>\n<p>%zu scenes%s, each with its top %zu products.</p>\n"
               "<div class=\"grid\" id=\"scenes\">\n", n,
             r->t ? " sampled from the held-out test scenes" : "", tk->width);
    for (size_t i = 0; i < n; i++) {
        if (scene_page(r, &pk[i], err) != 0) goto out;
        const char *key = tk->scenes[pk[i].tk_row].s;
        html_raw(d, "<div class=\"card\"><a href=\"scene/%s.html\">", key);
        img_tag(d, r, key, PRODUCT_THUMB, "");
        html_raw(d, "</a>");
        if (pk[i].held >= 0) {
            const triplets_file *t = r->t;
            size_t g = t->held_offset[pk[i].held + 1] - t->held_offset[pk[i].held], found = 0;
            for (size_t j = 0; j < tk->width; j++)
                found += is_ground_truth(r, pk[i].held,
                                         tk->products[tk->index[pk[i].tk_row * tk->width + j]].s);
            html_raw(d, "<div>%zu of %zu held-out products in the top %zu</div>", found, g,
                     tk->width);
        }
        html_raw(d, "<div class=\"key\">%s</div></div>\n", key);
    }
    html_raw(d, "</div>\n");
    rc = 0;
out:
    if (!pk) stl_fail(err, "out of memory");
    free(pk);
    key_index_free(&held_of);
    return rc;
}

/* ---- inputs and main ---- */

static int read_text(const char *path, char **out, stl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return stl_fail(err, "%s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return stl_fail(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static int load_inputs(report *r, stl_error *err) {
    if (r->o.metrics) {
        json_error_t je;
        r->metrics = json_load_file(r->o.metrics, 0, &je);
        if (!r->metrics)
            return stl_fail(err, "%s: line %d: %s (rerun stl-eval)", r->o.metrics, je.line,
                            je.text);
        const json_t *fmt = json_object_get(r->metrics, "format");
        if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "stlrec-eval-metrics") != 0)
            return stl_fail(err, "%s: not an stl-eval metrics file (no \"format\": "
                            "\"stlrec-eval-metrics\")", r->o.metrics);
    }
    if (r->o.triplets && triplets_open(r->o.triplets, &r->t, err) != 0) return -1;
    if (r->o.topk) {
        if (topk_file_read(r->o.topk, &r->tk, err) != 0) return -1;
        r->have_tk = 1;
    }
    if (r->o.catalog) {
        if (catalog_read(r->o.catalog, &r->cat, err) != 0) return -1;
        r->have_cat = 1;
        for (size_t i = 0; i < r->cat.n; i++) {
            int added;
            if (key_index_add(&r->cat_index, r->cat.keys[i].s, &added, err) < 0) return -1;
        }
    }
    if (r->o.scenes || r->o.products) {
        if (embeddings_read(r->o.scenes, &r->se, err) != 0) return -1;
        r->have_emb = 1;
        if (embeddings_read(r->o.products, &r->pe, err) != 0) return -1;
        r->have_emb = 2;
        if (strcmp(r->se.kind, "product") == 0)
            return stl_fail(err, "%s: product embeddings given as --scenes (swapped with "
                            "--products?)", r->o.scenes);
        if (strcmp(r->pe.kind, "scene") == 0)
            return stl_fail(err, "%s: scene embeddings given as --products (swapped with "
                            "--scenes?)", r->o.products);
        if (r->se.dim != r->pe.dim)
            return stl_fail(err, "%s: dimension %zu, but %s has %zu (rerun stl-embed with the "
                            "same model)", r->o.scenes, r->se.dim, r->o.products, r->pe.dim);
        if (r->pe.n == 0) return stl_fail(err, "%s: no products", r->o.products);
        r->scores = malloc(r->pe.n * sizeof *r->scores);
        if (!r->scores) return stl_fail(err, "out of memory");
    }
    if (r->o.model) {
        char *side = modelfile_sidecar_path(r->o.model);
        if (!side) return stl_fail(err, "out of memory");
        FILE *probe = fopen(side, "rb");
        if (probe) {
            fclose(probe);
            int rc = read_text(side, &r->model_meta, err);
            if (rc == 0) {
                json_t *o = json_loads(r->model_meta, 0, NULL);
                if (!json_is_object(o)) rc = stl_fail(err, "%s: not a JSON object", side);
                json_decref(o);
            }
            free(side);
            if (rc != 0) return -1;
        } else {
            free(side);
        }
    }
    return 0;
}

/* A relative link (no scheme, not absolute, not a fragment). */
static int is_relative_link(const char *v, size_t n) {
    if (n == 0 || v[0] == '/' || v[0] == '#') return 0;
    for (size_t i = 0; i < n && v[i] != '/'; i++)
        if (v[i] == ':') return 0; /* http:, data:, mailto: */
    return 1;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* v[0..n) percent-decoded into buf (the path a relative URL names). */
static void url_decode(const char *v, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (v[i] == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            buf[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
            i += 2;
        } else {
            buf[o++] = v[i];
        }
    }
    buf[o] = '\0';
}

/* One <img ...> tag [tag, end] of stl-random's page (in directory `from`)
 * as markup of the site: a relative src naming <key>.jpg becomes a
 * thumbnail in DIR/img/ (or a placeholder); a data: image stays; anything
 * else becomes a placeholder, so no link leaves DIR. */
static void random_img(report *r, const char *from, const char *tag, const char *end,
                       char *buf, size_t cap) {
    const char *a = strstr(tag, " src=\"");
    const char *v = a && a < end ? a + 6 : NULL, *ve = v ? strchr(v, '"') : NULL;
    if (v && ve && ve < end && strncmp(v, "data:", 5) == 0) {
        snprintf(buf, cap, "%.*s", (int)(end + 1 - tag), tag);
        return;
    }
    char rel[4096], src[8192], key[STL_KEY_LEN + 1] = "";
    if (v && ve && ve < end) {
        url_decode(v, (size_t)(ve - v), rel, sizeof rel);
        snprintf(src, sizeof src, "%s/%s", from, rel);
        const char *base = strrchr(rel, '/');
        base = base ? base + 1 : rel;
        size_t bl = strlen(base);
        if (bl == STL_KEY_LEN + 4 && strcmp(base + STL_KEY_LEN, ".jpg") == 0) {
            memcpy(key, base, STL_KEY_LEN);
            key[STL_KEY_LEN] = '\0';
        }
    }
    img_markup(r, key_valid_str(key) ? src : NULL, key, RANDOM_THUMB, "", buf, cap);
}

/* Rewrites stl-random's page into DIR/random.html, self-contained: its
 * images become thumbnails in DIR/img/ (random_img), any other relative
 * link is dropped (href="#"), a link back to index.html opens the body, its
 * stylesheet's fixed image width gives way to the natural size, and its
 * captions break after '|' or at spaces rather than inside a word. */
static int copy_random(report *r, const char *src, stl_error *err) {
    char *text, *from = NULL;
    if (read_text(src, &text, err) != 0) return -1;
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/random.html", r->o.out);
    from = html_dirname(src);
    int rc = -1;
    atomic_file af;
    if (!from) {
        stl_fail(err, "out of memory");
        goto out;
    }
    if (atomic_open(&af, dst, err) != 0) goto out;
    static const char *pats[] = {"<img", " src=\"", " href=\"", "<body>", "</head>",
                                 "<figcaption>", "</figcaption>", "|"};
    const char *p = text;
    int in_caption = 0;
    for (;;) {
        const char *hit = NULL;
        int which = -1;
        for (int k = 0; k < 8; k++) {
            const char *h = strstr(p, pats[k]);
            if (h && (!hit || h < hit)) {
                hit = h;
                which = k;
            }
        }
        if (!hit) {
            atomic_write(&af, p, strlen(p), NULL);
            break;
        }
        atomic_write(&af, p, (size_t)(hit - p), NULL);
        if (which == 0) { /* <img ...> */
            const char *end = strchr(hit, '>');
            if (!end) {
                p = hit + strlen(hit);
                continue;
            }
            char buf[1024];
            random_img(r, from, hit, end, buf, sizeof buf);
            atomic_printf(&af, "%s", buf);
            p = end + 1;
        } else if (which == 3) {
            atomic_printf(&af, "<body>\n<p><a href=\"index.html\">← report index</a> "
                               "(this page draws from the whole catalog; the report's "
                               "evaluation ranks only the products that appear in the "
                               "pairs)</p>\n");
            p = hit + 6;
        } else if (which == 4) {
            atomic_printf(&af, "<style>figure img{width:auto;height:auto}figcaption{word-break:"
                               "normal;overflow-wrap:break-word}figcaption code{word-break:"
                               "break-all}</style>\n</head>");
            p = hit + 7;
        } else if (which >= 5) { /* a break opportunity after '|' in captions */
            in_caption = which == 5 ? 1 : which == 6 ? 0 : in_caption;
            atomic_printf(&af, "%s%s", pats[which], which == 7 && in_caption ? "<wbr>" : "");
            p = hit + strlen(pats[which]);
        } else { /* src= / href= outside an <img> */
            const char *v = strchr(hit, '"') + 1, *end = strchr(v, '"');
            if (!end) {
                atomic_write(&af, hit, strlen(hit), NULL);
                break;
            }
            atomic_write(&af, hit, (size_t)(v - hit), NULL);
            if (is_relative_link(v, (size_t)(end - v))) atomic_printf(&af, "#");
            else atomic_write(&af, v, (size_t)(end - v), NULL);
            p = end;
        }
    }
    rc = atomic_commit(&af, err);
out:
    free(text);
    free(from);
    return rc;
}

static int write_site(report *r, stl_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/img", r->o.out);
    if (make_dirs(path, err) != 0) return -1;
    if (r->o.random && copy_random(r, r->o.random, err) != 0) return -1;
    snprintf(path, sizeof path, "%s/index.html", r->o.out);
    html_doc page, *d = &page;
    if (html_begin(d, path, "stlrec report", css, err) != 0) return -1;
    html_raw(d, "<h1>stlrec report</h1>\n");
    if (r->o.random) {
        html_raw(d, "<p>Baseline: <a href=\"random.html\">the random recommender's page</a> "
                   "(stl-random): products drawn uniformly from the whole catalog");
        if (r->have_cat) html_raw(d, " (%zu products)", r->cat.n);
        html_raw(d, ", while the evaluation below ranks only the products that appear in the "
                   "pairs");
        if (r->metrics && json_is_integer(json_object_get(r->metrics, "products")))
            html_raw(d, " (%" JSON_INTEGER_FORMAT ")",
                     json_integer_value(json_object_get(r->metrics, "products")));
        html_raw(d, ", and its random baseline draws from those.</p>\n");
    }
    if (r->metrics) metrics_section(d, r->metrics);
    if (r->o.train_metrics && curves_section(d, r->o.train_metrics, err) != 0) goto fail;
    if (r->have_tk && scenes_section(d, r, err) != 0) goto fail;
    config_section(d, r);
    return html_end(d, err);
fail:
    html_abort(d);
    return -1;
}

int main(int argc, char **argv) {
    log_set_program("stl-report");
    report r;
    memset(&r, 0, sizeof r);
    r.o.max_scenes = 24;
    cli_option opts[] = {
        {"out", CLI_STRING, &r.o.out, "DIR", "directory of the site (index.html, scene/, img/)", 1, 0, 0, NULL, 0},
        {"metrics", CLI_STRING, &r.o.metrics, "FILE", "metrics JSON from stl-eval", 0, 0, 0, NULL, 0},
        {"train-metrics", CLI_STRING, &r.o.train_metrics, "FILE", "metrics.jsonl from stl-train (curves)", 0, 0, 0, NULL, 0},
        {"topk", CLI_STRING, &r.o.topk, "FILE", "top-k lists from stl-topk (scene pages)", 0, 0, 0, NULL, 0},
        {"triplets", CLI_STRING, &r.o.triplets, "FILE", "triplets file: test scenes, ground truth, configuration", 0, 0, 0, NULL, 0},
        {"images", CLI_STRING, &r.o.images, "DIR", "source JPEGs <key>.jpg for the thumbnails", 0, 0, 0, NULL, 0},
        {"random", CLI_STRING, &r.o.random, "FILE", "stl-random's HTML page, copied and linked", 0, 0, 0, NULL, 0},
        {"max-scenes", CLI_INT, &r.o.max_scenes, "N", "test scenes with a page (a deterministic sample)", 0, 0, 1000000, NULL, 0},
        {"model", CLI_STRING, &r.o.model, "FILE", "model file whose metadata sidecar (FILE.json) joins the configuration", 0, 0, 0, NULL, 0},
        {"catalog", CLI_STRING, &r.o.catalog, "FILE", "catalog JSON: product categories on the scene pages", 0, 0, 0, NULL, 0},
        {"scenes", CLI_STRING, &r.o.scenes, "FILE", "scene embeddings (stl-embed): with --products, the rank and score of every held-out product", 0, 0, 0, NULL, 0},
        {"products", CLI_STRING, &r.o.products, "FILE", "product embeddings (stl-embed): the products ranked, as stl-eval ranks them", 0, 0, 0, NULL, 0},
    };
    cli_spec spec = {
        "stl-report",
        "Writes a self-contained static HTML site: the eval metrics against the random "
        "recommender, training curves as inline SVG, the run's configuration, and one page per "
        "sampled test scene with its top-K products and the ground truth marked.",
        NULL, opts, (int)(sizeof opts / sizeof opts[0]), NULL};
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    log_info("out %s, metrics %s, train-metrics %s, topk %s, triplets %s, images %s, random %s, "
             "model %s, catalog %s, scenes %s, products %s, max-scenes %ld",
             r.o.out, r.o.metrics ? r.o.metrics : "-", r.o.train_metrics ? r.o.train_metrics : "-",
             r.o.topk ? r.o.topk : "-", r.o.triplets ? r.o.triplets : "-",
             r.o.images ? r.o.images : "-", r.o.random ? r.o.random : "-",
             r.o.model ? r.o.model : "-", r.o.catalog ? r.o.catalog : "-",
             r.o.scenes ? r.o.scenes : "-", r.o.products ? r.o.products : "-", r.o.max_scenes);
    int rc = STL_EXIT_FAIL;
    stl_error err;
    if (!r.o.scenes != !r.o.products) {
        stl_fail(&err, "--scenes and --products go together (the embeddings that rank the "
                 "held-out products)");
        log_error(&err);
        return STL_EXIT_USAGE;
    }
    key_index_init(&r.cat_index);
    key_index_init(&r.cache.done);
    int have_dec = 0, have_enc = 0;
    r.pix = malloc((size_t)SCENE_THUMB * SCENE_THUMB * 3);
    if (!r.pix) {
        stl_fail(&err, "out of memory");
        goto done;
    }
    if (jpeg_decoder_init(&r.dec, &err) != 0) goto done;
    have_dec = 1;
    if (jpeg_encoder_init(&r.enc, &err) != 0) goto done;
    have_enc = 1;
    if (!(r.tj = tjInitDecompress())) {
        stl_fail(&err, "libjpeg-turbo: %s", tjGetErrorStr());
        goto done;
    }
    if (make_dirs(r.o.out, &err) != 0) goto done;
    if (load_inputs(&r, &err) != 0) goto done;
    if (write_site(&r, &err) != 0) goto done;
    if (r.images_failed)
        log_warn("%zu of %zu images missing or undecodable: placeholders shown", r.images_failed,
                 r.images);
    printf("%s/index.html\n", r.o.out);
    log_info("wrote %s/index.html (%zu thumbnails)", r.o.out, r.thumbs);
    rc = STL_EXIT_OK;
done:
    if (rc != STL_EXIT_OK) log_error(&err);
    if (have_dec) jpeg_decoder_free(&r.dec);
    if (have_enc) jpeg_encoder_free(&r.enc);
    free(r.pix);
    json_decref(r.metrics);
    triplets_free(r.t);
    if (r.have_tk) topk_file_free(&r.tk);
    if (r.have_cat) catalog_free(&r.cat);
    key_index_free(&r.cat_index);
    key_index_free(&r.cache.done);
    free(r.cache.e);
    if (r.tj) tjDestroy(r.tj);
    free(r.file);
    if (r.have_emb >= 1) embeddings_free(&r.se);
    if (r.have_emb >= 2) embeddings_free(&r.pe);
    free(r.scores);
    free(r.model_meta);
    return rc;
}

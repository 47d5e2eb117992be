/* eval_file.c — the eval metrics JSON's writer and checking reader
 * (eval_file.h; docs/formats.md "## Eval metrics JSON"). Built with jansson:
 * the writer builds the object in the documented key order and dumps it with
 * JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) plus a
 * newline; the reader walks the same keys and names the first one wrong. */
#include "formats/eval_file.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/input_file.h"

const int eval_ks[EVAL_N_K] = {1, 5, 10, 50};

#define EVAL_FORMAT "stlrec-eval-metrics"
#define EVAL_VERSION 1

/* ---- writing ---- */

static json_t *metrics_json(const eval_metrics *m) {
    json_t *o = json_object(), *rec = json_object(), *hit = json_object();
    char k[16];
    for (int i = 0; i < EVAL_N_K; i++) {
        snprintf(k, sizeof k, "%d", eval_ks[i]);
        json_object_set_new(rec, k, json_real(m->recall[i]));
        json_object_set_new(hit, k, json_real(m->hit_rate[i]));
    }
    json_object_set_new(o, "recall", rec);
    json_object_set_new(o, "hit_rate", hit);
    json_object_set_new(o, "mrr", json_real(m->mrr));
    json_object_set_new(o, "auc", json_real(m->auc));
    return o;
}

int eval_file_write(const char *path, const eval_file *f, stl_error *err) {
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(EVAL_FORMAT));
    json_object_set_new(root, "version", json_integer(EVAL_VERSION));
    json_t *in = json_object();
    json_object_set_new(in, "topk", json_string(f->in_topk));
    json_object_set_new(in, "triplets", json_string(f->in_triplets));
    json_object_set_new(in, "scenes", json_string(f->in_scenes));
    json_object_set_new(in, "products", json_string(f->in_products));
    json_object_set_new(root, "inputs", in);
    json_object_set_new(root, "seed", json_integer((json_int_t)f->seed));
    json_object_set_new(root, "sim_rounds", json_integer((json_int_t)f->sim_rounds));
    json_t *ks = json_array();
    for (int i = 0; i < EVAL_N_K; i++) json_array_append_new(ks, json_integer(eval_ks[i]));
    json_object_set_new(root, "k", ks);
    json_object_set_new(root, "test_scenes", json_integer((json_int_t)f->test_scenes));
    json_object_set_new(root, "test_pairs", json_integer((json_int_t)f->test_pairs));
    json_object_set_new(root, "test_triplets", json_integer((json_int_t)f->test_triplets));
    json_object_set_new(root, "products", json_integer((json_int_t)f->products));
    json_object_set_new(root, "model", metrics_json(&f->model));
    json_object_set_new(root, "random_exact", metrics_json(&f->random_exact));
    json_object_set_new(root, "random_simulated", metrics_json(&f->random_simulated));
    json_t *tc = json_object();
    json_object_set_new(tc, "k", json_integer((json_int_t)f->topk_k));
    json_object_set_new(tc, "scenes_checked", json_integer((json_int_t)f->topk_checked));
    json_object_set_new(tc, "scenes_agreeing", json_integer((json_int_t)f->topk_agreeing));
    json_object_set_new(tc, "scenes_missing", json_integer((json_int_t)f->topk_missing));
    json_object_set_new(root, "topk_check", tc);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                             JSON_REAL_PRECISION(15))
                      : NULL;
    json_decref(root);
    if (!text) return stl_fail(err, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for its NUL: write a newline instead */
    int rc = atomic_write_file(path, text, len + 1, err);
    free(text);
    return rc;
}

/* ---- reading ---- */

/* The member key of o (prefix names o's place, "" or "model.recall."). */
static const json_t *member(const char *path, const json_t *o, const char *prefix,
                            const char *key, stl_error *err) {
    const json_t *v = json_object_get(o, key);
    if (!v) stl_fail(err, "%s: key \"%s%s\": missing (rerun stl-eval)", path, prefix, key);
    return v;
}

static int get_object(const char *path, const json_t *o, const char *prefix, const char *key,
                      const json_t **out, stl_error *err) {
    const json_t *v = member(path, o, prefix, key, err);
    if (!v) return -1;
    if (!json_is_object(v))
        return stl_fail(err, "%s: key \"%s%s\": not an object", path, prefix, key);
    *out = v;
    return 0;
}

/* An integer in [lo, 2^63). */
static int get_int(const char *path, const json_t *o, const char *prefix, const char *key,
                   json_int_t lo, int64_t *out, stl_error *err) {
    const json_t *v = member(path, o, prefix, key, err);
    if (!v) return -1;
    if (!json_is_integer(v) || json_integer_value(v) < lo)
        return stl_fail(err, "%s: key \"%s%s\": not an integer >= %lld", path, prefix, key,
                        (long long)lo);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_count(const char *path, const json_t *o, const char *prefix, const char *key,
                     uint64_t *out, stl_error *err) {
    int64_t v;
    if (get_int(path, o, prefix, key, 0, &v, err) != 0) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* A number (integer or real) in [0, 1]. */
static int get_unit(const char *path, const json_t *o, const char *prefix, const char *key,
                    double *out, stl_error *err) {
    const json_t *v = member(path, o, prefix, key, err);
    if (!v) return -1;
    if (!json_is_number(v))
        return stl_fail(err, "%s: key \"%s%s\": not a number", path, prefix, key);
    double x = json_number_value(v);
    if (!(x >= 0.0 && x <= 1.0))
        return stl_fail(err, "%s: key \"%s%s\": %g is outside [0, 1]", path, prefix, key, x);
    *out = x;
    return 0;
}

static int read_metrics(const char *path, const json_t *root, const char *name,
                        eval_metrics *m, stl_error *err) {
    const json_t *o, *g;
    char prefix[64], k[16];
    if (get_object(path, root, "", name, &o, err) != 0) return -1;
    snprintf(prefix, sizeof prefix, "%s.", name);
    static const char *const groups[2] = {"recall", "hit_rate"};
    for (int gi = 0; gi < 2; gi++) {
        if (get_object(path, o, prefix, groups[gi], &g, err) != 0) return -1;
        char gprefix[96];
        snprintf(gprefix, sizeof gprefix, "%s%s.", prefix, groups[gi]);
        double *dst = gi == 0 ? m->recall : m->hit_rate;
        for (int i = 0; i < EVAL_N_K; i++) {
            snprintf(k, sizeof k, "%d", eval_ks[i]);
            if (get_unit(path, g, gprefix, k, &dst[i], err) != 0) return -1;
        }
    }
    if (get_unit(path, o, prefix, "mrr", &m->mrr, err) != 0 ||
        get_unit(path, o, prefix, "auc", &m->auc, err) != 0)
        return -1;
    m->n_scenes = m->n_triplets = 0;
    return 0;
}

static int read_root(const char *path, const json_t *root, eval_file *f, stl_error *err) {
    const json_t *fmt = json_object_get(root, "format");
    if (!json_is_object(root) || !json_is_string(fmt) ||
        strcmp(json_string_value(fmt), EVAL_FORMAT) != 0)
        return stl_fail(err, "%s: not an stl-eval metrics file (no \"format\": "
                        "\"" EVAL_FORMAT "\")", path);
    int64_t version;
    if (get_int(path, root, "", "version", 0, &version, err) != 0) return -1;
    if (version != EVAL_VERSION)
        return stl_fail(err, "%s: key \"version\": %lld, but this reader knows version %d "
                        "(rerun stl-eval)", path, (long long)version, EVAL_VERSION);

    const json_t *in;
    if (get_object(path, root, "", "inputs", &in, err) != 0) return -1;
    static const char *const names[4] = {"topk", "triplets", "scenes", "products"};
    const char *vals[4];
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
        const json_t *v = member(path, in, "inputs.", names[i], err);
        if (!v) return -1;
        if (!json_is_string(v))
            return stl_fail(err, "%s: key \"inputs.%s\": not a string", path, names[i]);
        vals[i] = json_string_value(v);
        total += strlen(vals[i]) + 1;
    }
    if (!(f->owned_ = malloc(total))) return stl_fail(err, "out of memory");
    const char **dst[4] = {&f->in_topk, &f->in_triplets, &f->in_scenes, &f->in_products};
    char *p = f->owned_;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(vals[i]) + 1;
        memcpy(p, vals[i], n);
        *dst[i] = p;
        p += n;
    }

    if (get_int(path, root, "", "seed", 0, &f->seed, err) != 0 ||
        get_int(path, root, "", "sim_rounds", 1, &f->sim_rounds, err) != 0)
        return -1;
    const json_t *ks = member(path, root, "", "k", err);
    if (!ks) return -1;
    int ks_ok = json_is_array(ks) && json_array_size(ks) == EVAL_N_K;
    for (int i = 0; ks_ok && i < EVAL_N_K; i++) {
        const json_t *x = json_array_get(ks, (size_t)i);
        ks_ok = json_is_integer(x) && json_integer_value(x) == eval_ks[i];
    }
    if (!ks_ok)
        return stl_fail(err, "%s: key \"k\": not [%d, %d, %d, %d]", path, eval_ks[0],
                        eval_ks[1], eval_ks[2], eval_ks[3]);
    if (get_count(path, root, "", "test_scenes", &f->test_scenes, err) != 0 ||
        get_count(path, root, "", "test_pairs", &f->test_pairs, err) != 0 ||
        get_count(path, root, "", "test_triplets", &f->test_triplets, err) != 0 ||
        get_count(path, root, "", "products", &f->products, err) != 0)
        return -1;
    if (read_metrics(path, root, "model", &f->model, err) != 0 ||
        read_metrics(path, root, "random_exact", &f->random_exact, err) != 0 ||
        read_metrics(path, root, "random_simulated", &f->random_simulated, err) != 0)
        return -1;
    const json_t *tc;
    if (get_object(path, root, "", "topk_check", &tc, err) != 0 ||
        get_count(path, tc, "topk_check.", "k", &f->topk_k, err) != 0 ||
        get_count(path, tc, "topk_check.", "scenes_checked", &f->topk_checked, err) != 0 ||
        get_count(path, tc, "topk_check.", "scenes_agreeing", &f->topk_agreeing, err) != 0 ||
        get_count(path, tc, "topk_check.", "scenes_missing", &f->topk_missing, err) != 0)
        return -1;
    return 0;
}

int eval_file_read(const char *path, eval_file *out, stl_error *err) {
    memset(out, 0, sizeof *out);
    json_error_t je;
    FILE *in = input_fopen(path, err);
    if (!in) return -1;
    json_t *root = json_loadf(in, 0, &je);
    fclose(in);
    if (!root)
        return stl_fail(err, "%s: line %d: %s (rerun stl-eval)", path, je.line, je.text);
    int rc = read_root(path, root, out, err);
    json_decref(root);
    if (rc != 0) eval_file_free(out);
    return rc;
}

void eval_file_free(eval_file *f) {
    free(f->owned_);
    memset(f, 0, sizeof *f);
}

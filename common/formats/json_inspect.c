/* json_inspect.c — summaries of the JSON files of the data set and the
 * pipeline (json_inspect.h).
 */
#include "formats/json_inspect.h"

#include <jansson.h>
#include <string.h>

#include "dataset/catalog.h"
#include "dataset/keys.h"
#include "dataset/pairs.h"
#include "formats/embeddings.h"
#include "formats/eval_file.h"
#include "io/input_file.h"

typedef enum { KIND_PAIRS, KIND_EVAL, KIND_SIDECAR, KIND_CATALOG, KIND_EMBEDDINGS } json_kind;

/* What a whole-file object is, from its members. */
static int object_kind(const char *path, json_t *root, json_kind *kind, stl_error *err) {
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (fmt && strcmp(fmt, "stlrec-eval-metrics") == 0) return *kind = KIND_EVAL, 0;
    if (json_is_string(json_object_get(root, "stage")) &&
        json_is_object(json_object_get(root, "config")))
        return *kind = KIND_SIDECAR, 0;
    size_t strings = 0, arrays = 0, n = json_object_size(root);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        strings += json_is_string(v);
        arrays += json_is_array(v);
    }
    if (n > 0 && strings == n) return *kind = KIND_CATALOG, 0;
    if (arrays == n) return *kind = KIND_EMBEDDINGS, 0; /* {} too: no embeddings */
    return stl_fail(err, "%s: a JSON object stlrec does not know (not eval metrics, a model "
                    "sidecar, a catalog of key: category, or embeddings of key: [floats])",
                    path);
}

static int detect(const char *path, json_kind *kind, stl_error *err) {
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (root) {
        rc = json_is_object(root) ? object_kind(path, root, kind, err)
                                  : stl_fail(err, "%s: JSON, but not an object", path);
    } else { /* not one document: a JSON-lines file? */
        rewind(f);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        rc = stl_fail(err, "%s:%d: not JSON stlrec reads: %s", path, je.line, je.text);
        while ((len = getline(&line, &cap, f)) >= 0) {
            json_t *o = json_loadb(line, (size_t)len, 0, NULL);
            int blank = strspn(line, " \t\r\n") == (size_t)len;
            if (o && json_object_get(o, "scene") && json_object_get(o, "product")) {
                *kind = KIND_PAIRS;
                rc = 0;
            }
            json_decref(o);
            if (!blank) break;
        }
        free(line);
    }
    json_decref(root);
    fclose(f);
    return rc;
}

static int inspect_pairs(const char *path, int json, FILE *out, stl_error *err) {
    pair_list pl = {0};
    if (pairs_read(path, &pl, err) != 0) return -1;
    key_index scenes, products;
    key_index_init(&scenes);
    key_index_init(&products);
    size_t bbox = 0;
    int rc = 0;
    for (size_t i = 0; i < pl.n && rc == 0; i++) {
        if (key_index_add(&scenes, pl.v[i].scene.s, NULL, err) < 0 ||
            key_index_add(&products, pl.v[i].product.s, NULL, err) < 0)
            rc = -1;
        bbox += pl.v[i].has_bbox != 0;
    }
    if (rc == 0 && json)
        fprintf(out, "{\n  \"kind\": \"pairs\",\n  \"lines\": %zu,\n  \"pairs\": %zu,\n  "
                     "\"scenes\": %zu,\n  \"products\": %zu,\n  \"with_bbox\": %zu,\n  "
                     "\"malformed\": %zu\n}\n",
                pl.lines, pl.n, scenes.n, products.n, bbox, pl.malformed);
    else if (rc == 0)
        fprintf(out, "%s: pairs (JSON lines, scene and product keys)\n  %-22s %zu\n  %-22s %zu\n"
                     "  %-22s %zu\n  %-22s %zu\n  %-22s %zu\n  %-22s %zu\n",
                path, "lines", pl.lines, "pairs", pl.n, "distinct scenes", scenes.n,
                "distinct products", products.n, "with a bbox", bbox, "malformed lines",
                pl.malformed);
    key_index_free(&scenes);
    key_index_free(&products);
    pairs_free(&pl);
    return rc;
}

static int inspect_catalog(const char *path, int json, FILE *out, stl_error *err) {
    catalog c;
    if (catalog_read(path, &c, err) != 0) return -1;
    size_t distinct = 0;
    for (size_t i = 0; i < c.n; i++) {
        size_t j = 0;
        while (j < i && strcmp(c.categories[j], c.categories[i]) != 0) j++;
        distinct += j == i;
    }
    if (json)
        fprintf(out, "{\n  \"kind\": \"catalog\",\n  \"products\": %zu,\n  \"categories\": %zu\n}\n",
                c.n, distinct);
    else
        fprintf(out, "%s: catalog (product key: category)\n  %-22s %zu\n  %-22s %zu\n%s%s%s",
                path, "products", c.n, "categories", distinct, c.n ? "  first                  " : "",
                c.n ? c.keys[0].s : "", c.n ? "\n" : "");
    catalog_free(&c);
    return 0;
}

static int inspect_eval(const char *path, int json, FILE *out, stl_error *err) {
    eval_file e;
    if (eval_file_read(path, &e, err) != 0) return -1;
    if (json) {
        fprintf(out, "{\n  \"kind\": \"eval-metrics\",\n  \"test_scenes\": %llu,\n  "
                     "\"products\": %llu,\n  \"recall\": [",
                (unsigned long long)e.test_scenes, (unsigned long long)e.products);
        for (int i = 0; i < EVAL_N_K; i++) fprintf(out, "%s%.6g", i ? ", " : "", e.model.recall[i]);
        fprintf(out, "],\n  \"mrr\": %.6g,\n  \"auc\": %.6g\n}\n", e.model.mrr, e.model.auc);
    } else {
        fprintf(out, "%s: stlrec-eval-metrics (stl-eval)\n  %-22s %llu\n  %-22s %llu\n", path,
                "test scenes", (unsigned long long)e.test_scenes, "products ranked",
                (unsigned long long)e.products);
        for (int i = 0; i < EVAL_N_K; i++)
            fprintf(out, "  Recall@%-15d %.4f (random %.4f)\n", eval_ks[i], e.model.recall[i],
                    e.random_exact.recall[i]);
        fprintf(out, "  %-22s %.4f\n  %-22s %.4f\n", "MRR", e.model.mrr, "AUC (triplets)",
                e.model.auc);
    }
    eval_file_free(&e);
    return 0;
}

static int inspect_sidecar(const char *path, int json, FILE *out, stl_error *err) {
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    json_t *root = json_loadf(f, 0, NULL);
    fclose(f);
    if (!root) return stl_fail(err, "%s: unreadable JSON", path);
    const json_t *cfg = json_object_get(root, "config");
    if (json) {
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fprintf(out, "%s\n", s ? s : "{}");
        free(s);
    } else {
        fprintf(out, "%s: model sidecar (written by %s)\n  %-22s %lld\n", path,
                json_string_value(json_object_get(root, "stage")), "step",
                (long long)json_integer_value(json_object_get(root, "step")));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)cfg, k, v) {
            char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            fprintf(out, "  %-22s %s\n", k, s ? s : "?");
            free(s);
        }
    }
    json_decref(root);
    return 0;
}

int json_inspect(const char *path, int json, FILE *out, stl_error *err) {
    json_kind kind;
    if (detect(path, &kind, err) != 0) return -1;
    switch (kind) {
    case KIND_PAIRS: return inspect_pairs(path, json, out, err);
    case KIND_CATALOG: return inspect_catalog(path, json, out, err);
    case KIND_EVAL: return inspect_eval(path, json, out, err);
    case KIND_SIDECAR: return inspect_sidecar(path, json, out, err);
    case KIND_EMBEDDINGS: return embeddings_inspect(path, json, out, err);
    }
    return stl_fail(err, "%s: unknown JSON kind", path);
}

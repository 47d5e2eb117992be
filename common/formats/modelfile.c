/* modelfile.c — stlrec model files as Flax TrainState msgpack (see modelfile.h).
 *
 * Writing: the tensors of the param table become leaves with their Flax paths
 * ("params/scene_cnn/Conv_0/bias", "batch_stats/scene_cnn/BatchNorm_0/mean"),
 * sorted component by component as JAX sorts dict keys, and are packed as
 * nested maps three times: the "params" tree from m->params/m->stats, and the
 * Adam "mu"/"nu" trees from m->adam_m/m->adam_v (zeros for the statistics).
 * The whole file is built in memory (a few MB) and written with atomic.h.
 *
 * Reading: the whole buffer is bounds-checked and unpacked (mpk.h), every
 * leaf of the tree is collected with its path, then each tensor the table
 * expects is looked up by path, decoded (flaxmsg.h), checked (float32, shape)
 * and copied; leftovers are refused. The reader owns nothing after return
 * except the model_state it filled (the caller frees it).
 */
#include "formats/modelfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/file_read.h"
#include "io/flaxmsg.h"
#include "io/mapped_file.h"
#include "io/mpk.h"
#include "io/mpk_writer.h"

enum { PATH_CAP = 160, MAX_DEPTH = 12 };

/* The three trees that mirror the parameter layout. */
static const char *const tree_prefix[3] = {"params/", "opt_state/0/mu/", "opt_state/0/nu/"};

/* ---- writing ---- */

typedef struct {
    char path[96]; /* "params/scene_cnn/Conv_0/bias" (relative to the tree) */
    const param_entry *e;
} leaf;

/* Component-wise comparison of '/'-separated paths (Python's sorted() on
 * each level's keys). */
static int path_cmp(const char *a, const char *b) {
    for (;;) {
        size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
        size_t l = la < lb ? la : lb;
        int c = memcmp(a, b, l);
        if (c) return c;
        if (la != lb) return la < lb ? -1 : 1;
        a += la;
        b += lb;
        if (!*a || !*b) return (*a != 0) - (*b != 0);
        a++;
        b++;
    }
}

static int leaf_cmp(const void *x, const void *y) {
    return path_cmp(((const leaf *)x)->path, ((const leaf *)y)->path);
}

/* Component `depth` of path: pointer and length; *last says no '/' follows. */
static const char *component(const char *path, int depth, size_t *len, int *last) {
    for (int d = 0; d < depth; d++) path = strchr(path, '/') + 1;
    *len = strcspn(path, "/");
    *last = path[*len] == '\0';
    return path;
}

typedef struct {
    const float *params; /* trainable values */
    const float *stats;  /* statistic values, or NULL: zeros */
    const float *zeros;  /* at least the largest statistic's count */
} tree_src;

static int write_tree(msgpack_packer *pk, const leaf *l, int n, int depth, const tree_src *src) {
    int groups = 0;
    size_t li, lj;
    int last;
    for (int i = 0; i < n;) {
        const char *ci = component(l[i].path, depth, &li, &last);
        int j = i + 1;
        while (j < n) {
            const char *cj = component(l[j].path, depth, &lj, &last);
            if (lj != li || memcmp(ci, cj, li) != 0) break;
            j++;
        }
        groups++;
        i = j;
    }
    int rc = msgpack_pack_map(pk, (size_t)groups);
    for (int i = 0; i < n && !rc;) {
        const char *ci = component(l[i].path, depth, &li, &last);
        int j = i + 1;
        while (j < n) {
            int lastj;
            const char *cj = component(l[j].path, depth, &lj, &lastj);
            if (lj != li || memcmp(ci, cj, li) != 0) break;
            j++;
        }
        rc |= msgpack_pack_str(pk, li);
        rc |= msgpack_pack_str_body(pk, ci, li);
        if (last) {
            const param_entry *e = l[i].e;
            const float *data = e->is_stat ? (src->stats ? src->stats + e->offset : src->zeros)
                                           : src->params + e->offset;
            rc |= flaxmsg_pack_f32(pk, e->shape, e->ndim, data);
        } else {
            rc |= write_tree(pk, l + i, j - i, depth + 1, src);
        }
        i = j;
    }
    return rc;
}

static void pack_count(msgpack_packer *pk, int *rc, int64_t v) {
    *rc |= v <= INT32_MAX ? flaxmsg_pack_i32_scalar(pk, (int32_t)v) : flaxmsg_pack_i64_scalar(pk, v);
}

/* Flax's TrainState: {step, params, opt_state: {"0": Adam's {count, mu,
 * nu}, "1": {} (optax's empty state of the chained no-op)}}. */
typedef struct {
    const model_state *m;
    const leaf *leaves;
    int n;
    const float *zeros;
} model_fields_ctx;

static void pack_model(mpk_writer *w, const void *ctx) {
    const model_fields_ctx *c = ctx;
    msgpack_packer *pk = &w->pk;
    int rc = 0; /* the packer's failures are the writer's too */
    mpk_key(w, "step");
    pack_count(pk, &rc, c->m->step);
    mpk_key(w, "params");
    tree_src ps = {c->m->params, c->m->stats, c->zeros};
    write_tree(pk, c->leaves, c->n, 0, &ps);
    mpk_key(w, "opt_state");
    mpk_map_begin(w);
    mpk_key(w, "0");
    mpk_map_begin(w);
    mpk_key(w, "count");
    pack_count(pk, &rc, c->m->step);
    mpk_key(w, "mu");
    tree_src ms = {c->m->adam_m, NULL, c->zeros};
    write_tree(pk, c->leaves, c->n, 0, &ms);
    mpk_key(w, "nu");
    tree_src vs = {c->m->adam_v, NULL, c->zeros};
    write_tree(pk, c->leaves, c->n, 0, &vs);
    mpk_map_end(w);
    mpk_key(w, "1");
    mpk_map_begin(w);
    mpk_map_end(w);
    mpk_map_end(w);
}

int modelfile_pack(const model_state *m, void **out, size_t *out_len, stl_error *err) {
    const param_table *t = &m->table;
    *out = NULL;
    *out_len = 0;
    if (m->step < 0) return stl_fail(err, "model: negative step %lld", (long long)m->step);
    leaf *leaves = calloc((size_t)t->n, sizeof *leaves);
    size_t zmax = 0;
    for (int i = 0; i < t->n; i++)
        if (t->e[i].is_stat && t->e[i].count > zmax) zmax = t->e[i].count;
    float *zeros = calloc(zmax ? zmax : 1, sizeof *zeros);
    flaxmsg_buffer b;
    flaxmsg_buffer_init(&b);
    if (!leaves || !zeros) goto oom;
    for (int i = 0; i < t->n; i++) {
        snprintf(leaves[i].path, sizeof leaves[i].path, "%s/%s",
                 t->e[i].is_stat ? "batch_stats" : "params", t->e[i].name);
        leaves[i].e = &t->e[i];
    }
    qsort(leaves, (size_t)t->n, sizeof *leaves, leaf_cmp);

    model_fields_ctx mc = {m, leaves, t->n, zeros};
    int rc = mpk_pack_counted(pack_model, &mc, b.pk.callback, b.pk.data, NULL);
    if (rc || b.failed) goto oom;
    free(leaves);
    free(zeros);
    *out = b.buf;
    *out_len = b.len;
    return 0;
oom:
    free(leaves);
    free(zeros);
    flaxmsg_buffer_free(&b);
    return stl_fail(err, "model: packing the model file: out of memory");
}

int modelfile_trained_size(const char *metadata_json, int *size) {
    if (!metadata_json) return 0;
    json_t *j = json_loads(metadata_json, 0, NULL);
    json_t *v = json_object_get(json_object_get(j, "config"), "image_size");
    int found = json_is_integer(v) && json_integer_value(v) > 0 &&
                json_integer_value(v) <= 1 << 16;
    if (found) *size = (int)json_integer_value(v);
    json_decref(j);
    return found;
}

int modelfile_trained_mode(const char *metadata_json, int *resize) {
    if (!metadata_json) return 0;
    json_t *j = json_loads(metadata_json, 0, NULL);
    const char *m = json_string_value(json_object_get(json_object_get(j, "config"), "crops_mode"));
    int found = m && (strcmp(m, "crop") == 0 || strcmp(m, "resize") == 0);
    if (found) *resize = strcmp(m, "resize") == 0;
    json_decref(j);
    return found;
}

char *modelfile_sidecar_path(const char *path) {
    size_t n = strlen(path);
    char *s = malloc(n + 6);
    if (s) {
        memcpy(s, path, n);
        memcpy(s + n, ".json", 6);
    }
    return s;
}

int modelfile_write(const char *path, const model_state *m, const char *metadata_json,
                    stl_error *err) {
    char *side = modelfile_sidecar_path(path);
    if (!side) return stl_fail(err, "%s: out of memory", path);
    if (metadata_json) {
        json_error_t je;
        json_t *j = json_loads(metadata_json, 0, &je);
        int is_obj = j && json_is_object(j);
        json_decref(j);
        if (!is_obj) {
            stl_fail(err, "%s: metadata is not a JSON object%s%s", side, j ? "" : ": ",
                     j ? "" : je.text);
            free(side);
            return -1;
        }
        if (atomic_write_file(side, metadata_json, strlen(metadata_json), err) != 0) {
            free(side);
            return -1;
        }
    } else if (unlink(side) != 0 && errno != ENOENT) {
        stl_fail(err, "%s: cannot remove the stale metadata sidecar: %s", side, strerror(errno));
        free(side);
        return -1;
    }
    void *buf;
    size_t len;
    int rc = modelfile_pack(m, &buf, &len, err);
    if (rc != 0) stl_fail_prefix(err, "%s", path);
    else {
        rc = atomic_write_file(path, buf, len, err);
        free(buf);
    }
    /* A sidecar without its model is a stale file under a final name. */
    if (rc != 0 && metadata_json) unlink(side);
    free(side);
    return rc;
}

/* ---- reading ---- */

typedef struct {
    char path[PATH_CAP];
    const msgpack_object *obj;
    int used;
} flat_leaf;

typedef struct {
    flat_leaf *v;
    size_t n, cap;
    const char *what;
} flat_list;

static const char *type_word(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_STR: return "string";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_EXT: return "ext";
    case MSGPACK_OBJECT_NIL: return "nil";
    default: return "scalar";
    }
}

/* Collects every non-map value under o with its '/'-joined path. */
static int flatten(const msgpack_object *o, char *path, size_t plen, int depth, flat_list *fl,
                   stl_error *err) {
    if (o->type != MSGPACK_OBJECT_MAP) {
        if (fl->n == fl->cap) {
            size_t cap = fl->cap ? 2 * fl->cap : 512;
            flat_leaf *nv = realloc(fl->v, cap * sizeof *nv);
            if (!nv) return stl_fail(err, "%s: out of memory", fl->what);
            fl->v = nv;
            fl->cap = cap;
        }
        flat_leaf *l = &fl->v[fl->n++];
        memcpy(l->path, path, plen + 1);
        l->obj = o;
        l->used = 0;
        return 0;
    }
    if (depth >= MAX_DEPTH)
        return stl_fail(err, "%s: %s: maps nested too deeply", fl->what, path);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return stl_fail(err, "%s: %s%sa key that is a %s, not a string", fl->what, path,
                            plen ? ": " : "", type_word(k));
        size_t kl = k->via.str.size;
        if (kl == 0 || memchr(k->via.str.ptr, '/', kl) || memchr(k->via.str.ptr, '\0', kl) ||
            plen + 1 + kl >= PATH_CAP)
            return stl_fail(err, "%s: %s%sbad key '%.*s'", fl->what, path, plen ? ": " : "",
                            (int)(kl > 64 ? 64 : kl), k->via.str.ptr);
        size_t nl = plen;
        if (plen) path[nl++] = '/';
        memcpy(path + nl, k->via.str.ptr, kl);
        path[nl + kl] = '\0';
        if (flatten(&o->via.map.ptr[i].val, path, nl + kl, depth + 1, fl, err) != 0) return -1;
        path[plen] = '\0';
    }
    return 0;
}

static int flat_cmp(const void *x, const void *y) {
    return strcmp(((const flat_leaf *)x)->path, ((const flat_leaf *)y)->path);
}

static flat_leaf *flat_find(flat_list *fl, const char *path) {
    flat_leaf key;
    snprintf(key.path, sizeof key.path, "%s", path);
    return bsearch(&key, fl->v, fl->n, sizeof *fl->v, flat_cmp);
}

/* Decodes a float32 tensor at path and checks its shape against e. */
static int get_tensor(flat_list *fl, const char *path, const param_entry *e, flaxmsg_array *a,
                      stl_error *err) {
    flat_leaf *l = flat_find(fl, path);
    if (!l) return stl_fail(err, "%s: %s: missing tensor", fl->what, path);
    l->used = 1;
    char what[PATH_CAP + 512];
    snprintf(what, sizeof what, "%s: %s", fl->what, path);
    if (flaxmsg_decode(l->obj, a, what, err) != 0) return -1;
    if (strcmp(a->dtype, "float32") != 0)
        return stl_fail(err, "%s: dtype %s, expected float32", what, a->dtype);
    int same = a->ndim == e->ndim;
    for (int i = 0; same && i < e->ndim; i++) same = a->shape[i] == e->shape[i];
    if (!same) {
        int64_t want[4];
        for (int i = 0; i < e->ndim; i++) want[i] = e->shape[i];
        char got_s[160], want_s[160];
        flaxmsg_shape_str(a->shape, a->ndim, got_s, sizeof got_s);
        flaxmsg_shape_str(want, e->ndim, want_s, sizeof want_s);
        return stl_fail(err, "%s: shape %s, expected %s", what, got_s, want_s);
    }
    return 0;
}

static int read_count(flat_list *fl, const char *path, int64_t *out, stl_error *err) {
    flat_leaf *l = flat_find(fl, path);
    if (!l) return stl_fail(err, "%s: %s: missing", fl->what, path);
    l->used = 1;
    char what[PATH_CAP + 512];
    snprintf(what, sizeof what, "%s: %s", fl->what, path);
    return flaxmsg_get_count(l->obj, out, what, err);
}

static int read_tree(const msgpack_object *root, flat_list *fl, model_state *m, stl_error *err) {
    if (root->type != MSGPACK_OBJECT_MAP)
        return stl_fail(err, "%s: not a Flax TrainState (the top level is a %s, not a map)",
                        fl->what, type_word(root));
    static const char *const top[] = {"step", "params", "opt_state"};
    for (int i = 0; i < 3; i++)
        if (!mpk_get(root, top[i]))
            return stl_fail(err, "%s: not a Flax TrainState (no '%s' entry)", fl->what, top[i]);
    char path[PATH_CAP] = "";
    if (flatten(root, path, 0, 0, fl, err) != 0) return -1;
    qsort(fl->v, fl->n, sizeof *fl->v, flat_cmp);
    for (size_t i = 1; i < fl->n; i++)
        if (strcmp(fl->v[i - 1].path, fl->v[i].path) == 0)
            return stl_fail(err, "%s: %s: duplicate entry", fl->what, fl->v[i].path);

    int64_t step, count;
    if (read_count(fl, "step", &step, err) != 0) return -1;
    if (read_count(fl, "opt_state/0/count", &count, err) != 0) return -1;
    if (count != step)
        return stl_fail(err, "%s: opt_state/0/count is %lld but step is %lld (stlrec keeps them equal)",
                        fl->what, (long long)count, (long long)step);

    /* The output size: the second dimension of the scene tower's Dense kernel. */
    const char *dense = "params/params/scene_cnn/Dense_0/kernel";
    flat_leaf *dl = flat_find(fl, dense);
    if (!dl) return stl_fail(err, "%s: %s: missing tensor", fl->what, dense);
    flaxmsg_array a;
    char what[PATH_CAP + 512];
    snprintf(what, sizeof what, "%s: %s", fl->what, dense);
    if (flaxmsg_decode(dl->obj, &a, what, err) != 0) return -1;
    if (a.ndim != 2 || a.shape[1] < 1 || a.shape[1] > (1 << 20)) {
        char s[160];
        flaxmsg_shape_str(a.shape, a.ndim, s, sizeof s);
        return stl_fail(err, "%s: shape %s, expected [128,output_size]", what, s);
    }
    if (model_state_alloc(m, (int)a.shape[1], err) != 0) return stl_fail_prefix(err, "%s", fl->what);
    m->step = step;

    const param_table *t = &m->table;
    for (int tr = 0; tr < 3; tr++) {
        for (int i = 0; i < t->n; i++) {
            const param_entry *e = &t->e[i];
            snprintf(path, sizeof path, "%s%s/%s", tree_prefix[tr],
                     e->is_stat ? "batch_stats" : "params", e->name);
            if (get_tensor(fl, path, e, &a, err) != 0) return -1;
            float *dst = NULL;
            if (e->is_stat)
                dst = tr == 0 ? m->stats : NULL; /* Adam moments of statistics: zero, unused */
            else
                dst = tr == 0 ? m->params : tr == 1 ? m->adam_m : m->adam_v;
            if (dst) memcpy(dst + e->offset, a.data, e->count * sizeof(float));
        }
    }
    for (size_t i = 0; i < fl->n; i++) {
        if (fl->v[i].used) continue;
        const flat_leaf *l = &fl->v[i];
        /* An empty map (opt_state/1) has no leaves; anything else is foreign. */
        return stl_fail(err, "%s: %s: unexpected entry (msgpack %s) not in the model of output size %d",
                        fl->what, l->path, type_word(l->obj), t->output_size);
    }
    return 0;
}

int modelfile_read_buffer(const void *buf, size_t len, const char *what, model_state *m,
                          stl_error *err) {
    memset(m, 0, sizeof *m);
    msgpack_unpacked up;
    if (mpk_unpack_buffer(buf, len, &up, what, err) != 0) {
        msgpack_unpacked_destroy(&up);
        return -1;
    }
    flat_list fl = {NULL, 0, 0, what};
    int rc = read_tree(&up.data, &fl, m, err);
    free(fl.v);
    msgpack_unpacked_destroy(&up);
    if (rc != 0 && m->params) model_state_free(m);
    return rc;
}

/* Reads a sidecar (at most 16 MiB); *out NULL when it does not exist. */
static int read_sidecar(const char *side, char **out, stl_error *err) {
    *out = NULL;
    char *s;
    size_t n;
    if (file_read_all(side, (size_t)1 << 24, &s, &n, err) != 0) return errno == ENOENT ? 0 : -1;
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    int is_obj = j && json_is_object(j);
    json_decref(j);
    if (!is_obj) {
        free(s);
        return stl_fail(err, "%s: model metadata is not a JSON object%s%s", side, j ? "" : ": ",
                        j ? "" : je.text);
    }
    *out = s;
    return 0;
}

int modelfile_read(const char *path, model_state *m, char **metadata_json, stl_error *err) {
    memset(m, 0, sizeof *m);
    if (metadata_json) *metadata_json = NULL;
    mapped_file mf;
    if (mapped_file_open(&mf, path, err) != 0) return -1;
    int rc = modelfile_read_buffer(mf.data, mf.size, path, m, err);
    mapped_file_close(&mf);
    if (rc != 0) return -1;
    if (metadata_json && modelfile_read_metadata(path, metadata_json, err) != 0) {
        model_state_free(m);
        return -1;
    }
    return 0;
}

int modelfile_read_metadata(const char *path, char **metadata_json, stl_error *err) {
    *metadata_json = NULL;
    char *side = modelfile_sidecar_path(path);
    if (!side) return stl_fail(err, "%s: out of memory", path);
    int rc = read_sidecar(side, metadata_json, err);
    free(side);
    return rc;
}

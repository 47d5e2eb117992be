/* embeddings.c — reading and writing embeddings files (see embeddings.h and
 * docs/formats.md "## Embeddings"): the stlrec msgpack form with its aligned
 * float32 blob, the book's JSON form, and lists of shard parts.
 */
#include "formats/embeddings.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/mpk_writer.h"
#include "io/path_list.h"
#include "io/input_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embeddings.c stores float32 little-endian and assumes a little-endian host"
#endif

/* ---- shared checks ---- */

static int check_rows(const char *path, const stl_key *keys, size_t n, size_t dim,
                      const float *data, stl_error *err) {
    for (size_t i = 0; i < n; i++) {
        if (!key_valid(keys[i].s, strlen(keys[i].s)))
            return stl_fail(err, "%s: row %zu: invalid key '%.40s'", path, i, keys[i].s);
        for (size_t c = 0; c < dim; c++)
            if (!isfinite(data[i * dim + c]))
                return stl_fail(err, "%s: row %zu (%s): component %zu is not finite", path, i,
                                keys[i].s, c);
    }
    return 0;
}

/* Adds keys to e->index, refusing duplicates. */
static int index_keys(embeddings *e, const char *path, const stl_key *keys, size_t n,
                      size_t row0, stl_error *err) {
    for (size_t i = 0; i < n; i++) {
        int added = 0;
        if (key_index_add(&e->index, keys[i].s, &added, err) < 0) return -1;
        if (!added)
            return stl_fail(err, "%s: row %zu: key %s appears twice", path, row0 + i, keys[i].s);
    }
    return 0;
}

/* ---- writing ---- */

static size_t bin_header_len(size_t n) { return n < 256 ? 2 : n < 65536 ? 3 : 5; }

typedef struct {
    const stl_key *keys;
    size_t n, dim;
    const float *data;
    const embeddings_meta *meta;
} embeddings_fields_ctx;

static void pack_fields(mpk_writer *w, const void *ctx) {
    const embeddings_fields_ctx *c = ctx;
    msgpack_packer *pk = &w->pk;
    size_t bytes = c->n * c->dim * sizeof(float);
    mpk_kv_u64(w, "n", c->n);
    mpk_kv_u64(w, "dim", c->dim);
    mpk_kv_str(w, "dtype", "float32");
    const embeddings_meta *m = c->meta;
    if (m->kind) mpk_kv_str(w, "kind", m->kind);
    if (m->model) mpk_kv_str(w, "model", m->model);
    if (m->shard_count > 1) {
        mpk_key(w, "shard");
        msgpack_pack_array(pk, 2);
        msgpack_pack_int64(pk, m->shard_index);
        msgpack_pack_int64(pk, m->shard_count);
        mpk_kv_u64(w, "keys_total", m->keys_total);
    }
    mpk_key(w, "keys");
    msgpack_pack_array(pk, c->n);
    for (size_t i = 0; i < c->n; i++) {
        msgpack_pack_str(pk, STL_KEY_LEN);
        msgpack_pack_str_body(pk, c->keys[i].s, STL_KEY_LEN);
    }
    // "pad": 0..63 zero bytes so that the matrix payload starts at a multiple
    // of EMBEDDINGS_ALIGN in the file (and so in the reader's mapping).
    size_t off = (size_t)mpk_offset(w) + 4 + 2 + 7 + bin_header_len(bytes);
    size_t pad = (EMBEDDINGS_ALIGN - off % EMBEDDINGS_ALIGN) % EMBEDDINGS_ALIGN;
    static const char zeros[EMBEDDINGS_ALIGN];
    mpk_key(w, "pad");
    mpk_pack_bin(pk, zeros, pad);
    mpk_key(w, "matrix"); // (n, dim) float32 little-endian, row-major
    mpk_pack_bin(pk, c->data, bytes);
}

int embeddings_write_meta(const char *path, const embeddings_meta *meta, const stl_key *keys,
                          size_t n, size_t dim, const float *data, stl_error *err) {
    static const embeddings_meta none = {0};
    if (!meta) meta = &none;
    if (dim == 0) return stl_fail(err, "%s: embeddings need a dimension of at least 1", path);
    if (n > SIZE_MAX / dim / sizeof(float)) return stl_fail(err, "%s: %zu x %zu is too large", path, n, dim);
    if (check_rows(path, keys, n, dim, data, err) != 0) return -1;
    embeddings dup = {0};
    key_index_init(&dup.index);
    int rc = index_keys(&dup, path, keys, n, 0, err);
    key_index_free(&dup.index);
    if (rc != 0) return -1;

    if (meta->model && !model_id_valid(meta->model))
        return stl_fail(err, "%s: model identity '%s' is not %d hex digits", path, meta->model,
                        MODEL_ID_LEN);
    if (meta->shard_count > 1 && (meta->shard_index < 0 || meta->shard_index >= meta->shard_count))
        return stl_fail(err, "%s: part %ld of %ld", path, meta->shard_index, meta->shard_count);
    embeddings_fields_ctx c = {keys, n, dim, data, meta};
    return mpk_write(path, EMBEDDINGS_FORMAT, EMBEDDINGS_VERSION, pack_fields, &c, err);
}

int embeddings_write_kind(const char *path, const char *kind, const stl_key *keys, size_t n,
                          size_t dim, const float *data, stl_error *err) {
    embeddings_meta meta = {.kind = kind};
    return embeddings_write_meta(path, &meta, keys, n, dim, data, err);
}

int embeddings_write(const char *path, const stl_key *keys, size_t n, size_t dim,
                     const float *data, stl_error *err) {
    return embeddings_write_kind(path, NULL, keys, n, dim, data, err);
}

int embeddings_write_json(const char *path, const stl_key *keys, size_t n, size_t dim,
                          const float *data, stl_error *err) {
    if (check_rows(path, keys, n, dim, data, err) != 0) return -1;
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    atomic_printf(&af, "{");
    for (size_t i = 0; i < n; i++) {
        atomic_printf(&af, "%s\n\"%s\": [", i ? "," : "", keys[i].s);
        for (size_t c = 0; c < dim; c++) {
            float v = data[i * dim + c];
            // "-0" would parse as the integer 0: keep the sign of zero
            if (v == 0 && signbit(v)) atomic_printf(&af, "%s-0.0", c ? ", " : "");
            else atomic_printf(&af, "%s%.9g", c ? ", " : "", (double)v);
        }
        atomic_printf(&af, "]");
    }
    atomic_printf(&af, "\n}\n");
    return atomic_commit(&af, err);
}

/* ---- reading ---- */

void embeddings_free(embeddings *e) {
    key_index_free(&e->index);
    free(e->owned);
    if (e->mapped) mpk_file_close(&e->file);
    memset(e, 0, sizeof *e);
}

long embeddings_find(const embeddings *e, const char *key) {
    return key_index_find(&e->index, key);
}

static int read_msgpack(const char *path, embeddings *e, stl_error *err) {
    if (mpk_file_open(&e->file, path, EMBEDDINGS_FORMAT, EMBEDDINGS_VERSION, err) != 0) return -1;
    e->mapped = 1;
    const mpk_file *f = &e->file;
    uint64_t n, dim;
    char dtype[16];
    const msgpack_object_array *keys;
    const void *blob;
    if (mpk_get_u64(f, f->root, "n", &n, err) || mpk_get_u64(f, f->root, "dim", &dim, err) ||
        mpk_get_strcpy(f, f->root, "dtype", dtype, sizeof dtype, err) ||
        mpk_get_array(f, f->root, "keys", &keys, err))
        return stl_fail_prefix(err, "rerun stl-embed");
    if (strcmp(dtype, "float32") != 0)
        return stl_fail(err, "%s: dtype '%s', this stlrec reads float32", path, dtype);
    if (dim == 0 || dim > (1u << 20))
        return stl_fail(err, "%s: dimension %llu out of range", path, (unsigned long long)dim);
    if (n > f->size / dim / sizeof(float))
        return stl_fail(err, "%s: %llu x %llu floats cannot fit in a %zu-byte file: corrupt",
                        path, (unsigned long long)n, (unsigned long long)dim, f->size);
    if (keys->size != n)
        return stl_fail(err, "%s: %u keys for %llu rows: corrupt, rerun stl-embed", path,
                        keys->size, (unsigned long long)n);
    if (mpk_get_bin(f, f->root, "matrix", &blob, NULL, (size_t)(n * dim * sizeof(float)), err))
        return stl_fail_prefix(err, "corrupt, rerun stl-embed");
    const msgpack_object *kind = mpk_get(f->root, "kind");
    if (kind && kind->type == MSGPACK_OBJECT_STR && kind->via.str.size < sizeof e->kind) {
        memcpy(e->kind, kind->via.str.ptr, kind->via.str.size);
        e->kind[kind->via.str.size] = '\0';
    }
    e->shard_index = 0;
    e->shard_count = 1;
    if (mpk_get(f->root, "shard")) {
        const msgpack_object_array *a;
        uint64_t total;
        if (mpk_get_array(f, f->root, "shard", &a, err) ||
            mpk_get_u64(f, f->root, "keys_total", &total, err))
            return -1;
        if (a->size != 2 || a->ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            a->ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a->ptr[1].via.u64 > 1000000 ||
            a->ptr[0].via.u64 >= a->ptr[1].via.u64 || total < n)
            return stl_fail(err, "%s: field 'shard' is not [i, N] with 0 <= i < N, or "
                            "keys_total is below the rows: corrupt, rerun stl-embed", path);
        e->shard_index = (long)a->ptr[0].via.u64;
        e->shard_count = (long)a->ptr[1].via.u64;
        e->keys_total = (size_t)total;
    }
    if (mpk_get(f->root, "model")) {
        if (mpk_get_strcpy(f, f->root, "model", e->model, sizeof e->model, err) != 0 ||
            !model_id_valid(e->model))
            return stl_fail(err, "%s: field 'model' is not a model identity: corrupt, rerun "
                            "stl-embed", path);
    }
    e->n = (size_t)n;
    e->dim = (size_t)dim;
    for (size_t i = 0; i < e->n; i++) {
        const msgpack_object *k = &keys->ptr[i];
        if (k->type != MSGPACK_OBJECT_STR || !key_valid(k->via.str.ptr, k->via.str.size))
            return stl_fail(err, "%s: keys[%zu] is not a valid key", path, i);
        char key[STL_KEY_LEN + 1];
        memcpy(key, k->via.str.ptr, STL_KEY_LEN);
        key[STL_KEY_LEN] = '\0';
        int added = 0;
        if (key_index_add(&e->index, key, &added, err) < 0) return -1;
        if (!added) return stl_fail(err, "%s: row %zu: key %s appears twice", path, i, key);
    }
    if ((uintptr_t)blob % sizeof(float) == 0) {
        e->data = blob;
    } else { // written by another tool without the pad: copy to aligned memory
        e->owned = malloc(e->n * e->dim * sizeof(float) + 1);
        if (!e->owned) return stl_fail(err, "%s: out of memory", path);
        memcpy(e->owned, blob, e->n * e->dim * sizeof(float));
        e->data = e->owned;
    }
    for (size_t i = 0; i < e->n * e->dim; i++)
        if (!isfinite(e->data[i]))
            return stl_fail(err, "%s: row %zu (%s): component %zu is not finite", path,
                            i / e->dim, e->index.keys[i / e->dim].s, i % e->dim);
    return 0;
}

static int read_json(const char *path, embeddings *e, stl_error *err) {
    json_error_t je;
    FILE *in = input_fopen(path, err);
    if (!in) return -1;
    json_t *root = json_loadf(in, JSON_REJECT_DUPLICATES, &je);
    fclose(in);
    if (!root) return stl_fail(err, "%s:%d: invalid JSON embeddings: %s", path, je.line, je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        stl_fail(err, "%s: JSON embeddings must be an object {key: [floats]}", path);
        goto done;
    }
    size_t n = json_object_size(root), dim = 0, i = 0;
    const char *key;
    json_t *row;
    json_object_foreach(root, key, row) {
        if (!key_valid_str(key)) {
            stl_fail(err, "%s: entry %zu: invalid key '%.40s'", path, i, key);
            goto done;
        }
        if (!json_is_array(row) || json_array_size(row) == 0) {
            stl_fail(err, "%s: %s: value is not a non-empty array of numbers", path, key);
            goto done;
        }
        if (i == 0) {
            dim = json_array_size(row);
            if (n > SIZE_MAX / dim / sizeof(float)) {
                stl_fail(err, "%s: too large", path);
                goto done;
            }
            e->owned = malloc(n * dim * sizeof(float));
            if (!e->owned) {
                stl_fail(err, "%s: out of memory for %zu x %zu floats", path, n, dim);
                goto done;
            }
        } else if (json_array_size(row) != dim) {
            stl_fail(err, "%s: %s: %zu numbers, the first entry has %zu", path, key,
                     json_array_size(row), dim);
            goto done;
        }
        for (size_t c = 0; c < dim; c++) {
            json_t *v = json_array_get(row, c);
            double x = json_is_number(v) ? json_number_value(v) : NAN;
            if (!isfinite(x) || fabs(x) > FLT_MAX) {
                stl_fail(err, "%s: %s: component %zu is not a finite float32 number", path, key, c);
                goto done;
            }
            e->owned[i * dim + c] = (float)x;
        }
        int added = 0;
        if (key_index_add(&e->index, key, &added, err) < 0) goto done;
        i++;
    }
    e->n = n;
    e->dim = dim;
    e->data = e->owned;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int embeddings_is_json(const char *path, stl_error *err) {
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\t' || c == '\n' || c == '\r') {}
    fclose(f);
    return c == '{';
}

static int read_one(const char *path, embeddings *e, stl_error *err) {
    memset(e, 0, sizeof *e);
    key_index_init(&e->index);
    int json = embeddings_is_json(path, err);
    int rc = json < 0 ? -1 : json ? read_json(path, e, err) : read_msgpack(path, e, err);
    if (rc != 0) {
        embeddings_free(e);
        return -1;
    }
    e->keys = e->index.keys;
    if (e->shard_count == 0) e->shard_count = 1;
    return 0;
}

/* The parts of one sharded run: all N, each once, of one N and one total. */
static int check_shards(const char *const *paths, const embeddings *parts, size_t n,
                        size_t *order, stl_error *err) {
    long count = parts[0].shard_count;
    if (count <= 1) {
        for (size_t p = 0; p < n; p++) {
            if (parts[p].shard_count > 1)
                return stl_fail(err, "%s is a shard part but %s is not: not parts of one run",
                                paths[p], paths[0]);
            order[p] = p;
        }
        return 0;
    }
    if ((size_t)count != n)
        return stl_fail(err, "%s is part %ld/%ld of a sharded run, but %zu part%s given: pass "
                        "all %ld parts (comma-separated)", paths[0], parts[0].shard_index, count,
                        n, n == 1 ? " was" : "s were", count);
    for (size_t p = 0; p < n; p++) order[p] = n;
    for (size_t p = 0; p < n; p++) {
        const embeddings *q = &parts[p];
        if (q->shard_count != count || q->keys_total != parts[0].keys_total ||
            order[q->shard_index] != n)
            return stl_fail(err, "%s (part %ld/%ld of %zu keys) does not complete %s's run "
                            "(part %ld/%ld of %zu keys)", paths[p], q->shard_index,
                            q->shard_count, q->keys_total, paths[0], parts[0].shard_index, count,
                            parts[0].keys_total);
        order[q->shard_index] = p;
    }
    return 0;
}

int embeddings_read_parts(const char *const *paths, size_t n_paths, embeddings *e,
                          stl_error *err) {
    memset(e, 0, sizeof *e);
    key_index_init(&e->index);
    embeddings *parts = calloc(n_paths ? n_paths : 1, sizeof *parts);
    size_t *order = calloc(n_paths ? n_paths : 1, sizeof *order);
    size_t got = 0;
    int rc = -1;
    if (!parts || !order) {
        stl_fail(err, "out of memory");
        goto done;
    }
    for (; got < n_paths; got++)
        if (read_one(paths[got], &parts[got], err) != 0) goto done;
    if (check_shards(paths, parts, n_paths, order, err) != 0) goto done;
    if (n_paths == 1) { /* one whole file: keep it as read (mapped, no copy) */
        *e = parts[0];
        memset(&parts[0], 0, sizeof parts[0]);
        got = 0;
        rc = 0;
        goto done;
    }
    /* concatenated in shard order (the order given for unsharded files) */
    memcpy(e->kind, parts[order[0]].kind, sizeof e->kind);
    e->dim = parts[order[0]].dim;
    e->keys_total = parts[order[0]].keys_total;
    e->shard_count = 1;
    for (size_t i = 0; i < n_paths; i++) {
        const embeddings *part = &parts[order[i]];
        const char *path = paths[order[i]];
        if (part->n > 0 && e->n > 0 && part->dim != e->dim) {
            stl_fail(err, "%s: dimension %zu, but the parts before have %zu: parts of different "
                     "runs?", path, part->dim, e->dim);
            goto done;
        }
        if (e->n == 0) e->dim = part->dim;
        if (model_id_mixed(part->model, e->model)) {
            stl_fail(err, "%s: made by model %s, but %s by model %s: parts of different runs",
                     path, part->model, paths[order[0]], e->model);
            goto done;
        }
        if (!e->model[0]) memcpy(e->model, part->model, sizeof e->model);
        if (strcmp(part->kind, e->kind) != 0) e->kind[0] = '\0';
        float *grown = realloc(e->owned, ((e->n + part->n) * e->dim + 1) * sizeof(float));
        if (!grown) {
            stl_fail(err, "%s: out of memory", path);
            goto done;
        }
        e->owned = grown;
        memcpy(e->owned + e->n * e->dim, part->data, part->n * part->dim * sizeof(float));
        if (index_keys(e, path, part->keys, part->n, 0, err) != 0) goto done;
        e->n += part->n;
    }
    e->data = e->owned;
    e->keys = e->index.keys;
    rc = 0;
done:
    for (size_t p = 0; p < got && parts; p++) embeddings_free(&parts[p]);
    free(parts);
    free(order);
    if (rc != 0) embeddings_free(e);
    return rc;
}

int embeddings_read_part(const char *path, embeddings *e, stl_error *err) {
    return read_one(path, e, err);
}

int embeddings_read(const char *path, embeddings *e, stl_error *err) {
    char **paths;
    size_t n;
    if (path_list_split(path, &paths, &n, err) != 0) {
        memset(e, 0, sizeof *e);
        return -1;
    }
    int rc = embeddings_read_parts((const char *const *)paths, n, e, err);
    path_list_free(paths, n);
    return rc;
}

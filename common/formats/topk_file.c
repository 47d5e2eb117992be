/* topk_file.c — writing, validating and merging top-k lists files (see
 * topk_file.h and docs/formats.md "## Top-k lists").
 */
#include "formats/topk_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/mpk.h"
#include "io/mpk_writer.h"
#include "io/path_list.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "topk_file.c stores uint32/float32 little-endian and assumes a little-endian host"
#endif

static void pack_keys(msgpack_packer *pk, const stl_key *keys, size_t n) {
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_str(pk, STL_KEY_LEN);
        msgpack_pack_str_body(pk, keys[i].s, STL_KEY_LEN);
    }
}

static void pack_fields(mpk_writer *w, const void *ctx) {
    const topk_file *t = ctx;
    msgpack_packer *pk = &w->pk;
    mpk_kv_u64(w, "n_scenes", t->n_scenes);
    mpk_kv_u64(w, "n_products", t->n_products);
    mpk_kv_u64(w, "k", t->width);
    mpk_kv_u64(w, "k_requested", t->k_requested);
    mpk_key(w, "shard");
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, t->shard_index);
    msgpack_pack_int64(pk, t->shard_count > 0 ? t->shard_count : 1);
    mpk_kv_u64(w, "scenes_total", t->scenes_total);
    mpk_kv_str(w, "scenes_file", t->scenes_file);
    mpk_kv_str(w, "products_file", t->products_file);
    if (t->model[0]) mpk_kv_str(w, "model", t->model);
    mpk_key(w, "scene_keys");
    pack_keys(pk, t->scenes, t->n_scenes);
    mpk_key(w, "product_keys");
    pack_keys(pk, t->products, t->n_products);
    mpk_key(w, "indices"); // (n_scenes, k) uint32 little-endian
    mpk_pack_bin(pk, t->index, t->n_scenes * t->width * sizeof *t->index);
    mpk_key(w, "scores"); // (n_scenes, k) float32 little-endian
    mpk_pack_bin(pk, t->score, t->n_scenes * t->width * sizeof *t->score);
}

int topk_file_write(const char *path, const topk_file *t, stl_error *err) {
    size_t want = t->k_requested < t->n_products ? t->k_requested : t->n_products;
    if (t->width != want)
        return stl_fail(err, "%s: width %zu, expected min(k %zu, products %zu)", path, t->width,
                        t->k_requested, t->n_products);
    for (size_t e = 0; e < t->n_scenes * t->width; e++)
        if (t->index[e] >= t->n_products)
            return stl_fail(err, "%s: scene row %zu: product index %u out of range", path,
                            e / t->width, t->index[e]);
    return mpk_write(path, TOPK_FILE_FORMAT, TOPK_FILE_VERSION, pack_fields, t, err);
}

void topk_file_free(topk_file *t) {
    key_index_free(&t->scene_index);
    free(t->products);
    free(t->index);
    free(t->score);
    memset(t, 0, sizeof *t);
}

static int read_keys(const mpk_file *f, const char *field, const msgpack_object_array *a,
                     key_index *ki, stl_error *err) {
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *k = &a->ptr[i];
        if (k->type != MSGPACK_OBJECT_STR || !key_valid(k->via.str.ptr, k->via.str.size))
            return stl_fail(err, "%s: %s[%u] is not a valid key", f->path, field, i);
        char key[STL_KEY_LEN + 1];
        memcpy(key, k->via.str.ptr, STL_KEY_LEN);
        key[STL_KEY_LEN] = '\0';
        int added = 0;
        if (key_index_add(ki, key, &added, err) < 0) return -1;
        if (!added) return stl_fail(err, "%s: %s: key %s appears twice", f->path, field, key);
    }
    return 0;
}

static int read_shard(const mpk_file *f, topk_file *t, stl_error *err) {
    const msgpack_object_array *a;
    if (mpk_get_array(f, f->root, "shard", &a, err) != 0) return -1;
    if (a->size != 2 || a->ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        a->ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a->ptr[1].via.u64 == 0 ||
        a->ptr[0].via.u64 >= a->ptr[1].via.u64 || a->ptr[1].via.u64 > 1000000)
        return stl_fail(err, "%s: field 'shard' is not [i, N] with 0 <= i < N", f->path);
    t->shard_index = (long)a->ptr[0].via.u64;
    t->shard_count = (long)a->ptr[1].via.u64;
    return 0;
}

static int read_body(const mpk_file *f, topk_file *t, stl_error *err) {
    uint64_t ns, np, k, kreq, total;
    const msgpack_object_array *sk, *pkeys;
    const void *ib, *sb;
    if (mpk_get_u64(f, f->root, "n_scenes", &ns, err) || mpk_get_u64(f, f->root, "n_products", &np, err) ||
        mpk_get_u64(f, f->root, "k", &k, err) || mpk_get_u64(f, f->root, "k_requested", &kreq, err) ||
        mpk_get_u64(f, f->root, "scenes_total", &total, err) || read_shard(f, t, err) ||
        mpk_get_array(f, f->root, "scene_keys", &sk, err) ||
        mpk_get_array(f, f->root, "product_keys", &pkeys, err))
        return -1;
    mpk_get_strcpy(f, f->root, "scenes_file", t->scenes_file, sizeof t->scenes_file, NULL);
    mpk_get_strcpy(f, f->root, "products_file", t->products_file, sizeof t->products_file, NULL);
    if (mpk_get(f->root, "model") &&
        (mpk_get_strcpy(f, f->root, "model", t->model, sizeof t->model, err) != 0 ||
         !model_id_valid(t->model)))
        return stl_fail(err, "%s: field 'model' is not a model identity: corrupt, rerun stl-topk",
                        f->path);
    if (sk->size != ns || pkeys->size != np)
        return stl_fail(err, "%s: %u scene keys / %u product keys, the header says %llu / %llu",
                        f->path, sk->size, pkeys->size, (unsigned long long)ns, (unsigned long long)np);
    if (k != (kreq < np ? kreq : np))
        return stl_fail(err, "%s: k %llu is not min(k_requested %llu, products %llu)", f->path,
                        (unsigned long long)k, (unsigned long long)kreq, (unsigned long long)np);
    if (np >= UINT32_MAX || total < ns)
        return stl_fail(err, "%s: inconsistent sizes (products %llu, scenes %llu of %llu)", f->path,
                        (unsigned long long)np, (unsigned long long)ns, (unsigned long long)total);
    // sk->size and k <= n_products <= the file's size, so no overflow below
    size_t cells = (size_t)ns * (size_t)k;
    if (mpk_get_bin(f, f->root, "indices", &ib, NULL, cells * sizeof(uint32_t), err) ||
        mpk_get_bin(f, f->root, "scores", &sb, NULL, cells * sizeof(float), err))
        return -1;
    t->n_scenes = (size_t)ns;
    t->n_products = (size_t)np;
    t->width = (size_t)k;
    t->k_requested = (size_t)kreq;
    t->scenes_total = (size_t)total;
    if (read_keys(f, "scene_keys", sk, &t->scene_index, err) != 0) return -1;
    key_index pidx;
    key_index_init(&pidx);
    int rc = read_keys(f, "product_keys", pkeys, &pidx, err);
    t->products = pidx.keys; // take the key array, drop the hash slots
    pidx.keys = NULL;
    key_index_free(&pidx);
    if (rc != 0) return -1;
    t->index = malloc(cells * sizeof *t->index + 1);
    t->score = malloc(cells * sizeof *t->score + 1);
    if (!t->index || !t->score) return stl_fail(err, "%s: out of memory", f->path);
    memcpy(t->index, ib, cells * sizeof *t->index);
    memcpy(t->score, sb, cells * sizeof *t->score);
    for (size_t i = 0; i < t->n_scenes; i++) {
        const uint32_t *ix = t->index + i * t->width;
        const float *sc = t->score + i * t->width;
        for (size_t e = 0; e < t->width; e++) {
            if (ix[e] >= np)
                return stl_fail(err, "%s: scene %s: product index %u out of range (%zu products)",
                                f->path, t->scene_index.keys[i].s, ix[e], t->n_products);
            if (isnan(sc[e]) ||
                (e > 0 && (sc[e] > sc[e - 1] || (sc[e] == sc[e - 1] && ix[e] <= ix[e - 1]))))
                return stl_fail(err, "%s: scene %s: entry %zu is out of rank order: corrupt, rerun stl-topk",
                                f->path, t->scene_index.keys[i].s, e);
        }
    }
    t->scenes = t->scene_index.keys;
    return 0;
}

static int read_one(const char *path, topk_file *t, stl_error *err) {
    memset(t, 0, sizeof *t);
    key_index_init(&t->scene_index);
    mpk_file f;
    if (mpk_file_open(&f, path, TOPK_FILE_FORMAT, TOPK_FILE_VERSION, err) != 0) return -1;
    int rc = read_body(&f, t, err);
    mpk_file_close(&f);
    if (rc != 0) {
        stl_fail_prefix(err, "top-k file");
        topk_file_free(t);
    }
    return rc;
}

/* Concatenates parts[0..n) (already in order) into t. */
static int merge(topk_file *parts, size_t n, char **paths, topk_file *t, stl_error *err) {
    memset(t, 0, sizeof *t);
    key_index_init(&t->scene_index);
    const topk_file *p0 = &parts[0];
    size_t total = 0;
    for (size_t p = 0; p < n; p++) {
        const topk_file *q = &parts[p];
        if (q->n_products != p0->n_products || q->k_requested != p0->k_requested ||
            memcmp(q->products, p0->products, q->n_products * sizeof *q->products) != 0)
            return stl_fail(err, "%s and %s: different product tables or k: not parts of one run",
                            paths[0], paths[p]);
        if (model_id_mixed(q->model, p0->model))
            return stl_fail(err, "%s (model %s) and %s (model %s): lists of different models",
                            paths[0], p0->model, paths[p], q->model);
        total += q->n_scenes;
        if (!t->model[0]) memcpy(t->model, q->model, sizeof t->model);
    }
    t->n_products = p0->n_products;
    t->width = p0->width;
    t->k_requested = p0->k_requested;
    t->shard_index = 0;
    t->shard_count = 1;
    t->scenes_total = total;
    memcpy(t->scenes_file, p0->scenes_file, sizeof t->scenes_file);
    memcpy(t->products_file, p0->products_file, sizeof t->products_file);
    t->products = malloc(t->n_products * sizeof *t->products + 1);
    t->index = malloc(total * t->width * sizeof *t->index + 1);
    t->score = malloc(total * t->width * sizeof *t->score + 1);
    if (!t->products || !t->index || !t->score) return stl_fail(err, "out of memory merging top-k parts");
    memcpy(t->products, p0->products, t->n_products * sizeof *t->products);
    for (size_t p = 0; p < n; p++) {
        const topk_file *q = &parts[p];
        for (size_t i = 0; i < q->n_scenes; i++) {
            int added = 0;
            if (key_index_add(&t->scene_index, q->scenes[i].s, &added, err) < 0) return -1;
            if (!added)
                return stl_fail(err, "%s: scene %s is also in another part", paths[p], q->scenes[i].s);
        }
        memcpy(t->index + t->n_scenes * t->width, q->index, q->n_scenes * q->width * sizeof *t->index);
        memcpy(t->score + t->n_scenes * t->width, q->score, q->n_scenes * q->width * sizeof *t->score);
        t->n_scenes += q->n_scenes;
    }
    t->scenes = t->scene_index.keys;
    return 0;
}

int topk_file_read_part(const char *path, topk_file *t, stl_error *err) {
    memset(t, 0, sizeof *t);
    return read_one(path, t, err);
}

int topk_file_read(const char *path, topk_file *t, stl_error *err) {
    char **paths;
    size_t n;
    memset(t, 0, sizeof *t);
    if (path_list_split(path, &paths, &n, err) != 0) return -1;
    if (n == 1) {
        int rc = read_one(paths[0], t, err);
        if (rc == 0 && t->shard_count > 1) {
            rc = stl_fail(err, "%s is part %ld/%ld of a sharded run: pass all %ld parts "
                          "(comma-separated)", paths[0], t->shard_index, t->shard_count,
                          t->shard_count);
            topk_file_free(t);
        }
        path_list_free(paths, n);
        return rc;
    }
    int rc = -1;
    topk_file *parts = calloc(n, sizeof *parts);
    size_t got = 0;
    if (!parts) {
        stl_fail(err, "out of memory");
        goto done;
    }
    for (; got < n; got++)
        if (read_one(paths[got], &parts[got], err) != 0) goto done;
    long count = parts[0].shard_count;
    if (count > 1) {
        // all N parts of one sharded run, merged in shard order
        if ((size_t)count != n) {
            stl_fail(err, "%s is part %ld/%ld of a sharded run, but %zu parts were given: pass all %ld",
                     paths[0], parts[0].shard_index, count, n, count);
            goto done;
        }
        unsigned char *seen = calloc(n, 1);
        for (size_t p = 0; seen && p < n; p++) {
            if (parts[p].shard_count != count || seen[parts[p].shard_index]) {
                stl_fail(err, "%s: part %ld/%ld does not complete the set of %ld parts (duplicate or other run)",
                         paths[p], parts[p].shard_index, parts[p].shard_count, count);
                free(seen);
                goto done;
            }
            seen[parts[p].shard_index] = 1;
        }
        free(seen);
        // put part s at position s, keeping each path beside its part
        for (size_t p = 0; p < n; p++) {
            while ((size_t)parts[p].shard_index != p) {
                size_t s = (size_t)parts[p].shard_index;
                topk_file tmp = parts[s];
                parts[s] = parts[p];
                parts[p] = tmp;
                char *tp = paths[s];
                paths[s] = paths[p];
                paths[p] = tp;
            }
        }
    } else {
        for (size_t p = 1; p < n; p++)
            if (parts[p].shard_count > 1) {
                stl_fail(err, "%s is a shard part but %s is not: not parts of one run", paths[p], paths[0]);
                goto done;
            }
    }
    rc = merge(parts, n, paths, t, err);
    if (rc == 0 && count > 1 && t->n_scenes != parts[0].scenes_total) {
        rc = stl_fail(err, "%s: the parts hold %zu scenes, the run had %zu", path, t->n_scenes,
                      parts[0].scenes_total);
    }
    if (rc != 0) topk_file_free(t);
done:
    for (size_t p = 0; parts && p < got; p++) topk_file_free(&parts[p]);
    free(parts);
    path_list_free(paths, n);
    return rc;
}

/* crops_write.c — the writer side of the crop shard format (crops_write.h,
 * docs/formats.md "Crop shards"): one mpk file per shard, then the index. */
#include "formats/crops_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/dirs.h"
#include "io/mpk_writer.h"

typedef struct {
    stl_key key;
    char reason[16];
    char *detail;
} crops_reject;

struct crops_writer {
    char *dir;
    int size;
    char mode[16];
    long part, parts;
    stl_key *keys;          /* stored keys, shard-major */
    size_t n_keys, cap_keys;
    size_t *shard_counts;   /* images per shard */
    size_t n_shards, cap_shards;
    crops_reject *rejects;
    size_t n_rejects, cap_rejects;
};

void crops_index_name(char *buf, size_t cap, long part, long parts) {
    snprintf(buf, cap, "part-%05ld-of-%05ld.index.mpk", part, parts);
}

void crops_shard_name(char *buf, size_t cap, long part, long parts, long shard) {
    snprintf(buf, cap, "part-%05ld-of-%05ld.shard-%05ld.mpk", part, parts, shard);
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem, stl_error *err) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q) return stl_fail(err, "out of memory");
    *p = q;
    *cap = nc;
    return 0;
}

static char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int crops_writer_open(crops_writer **out, const char *dir, int size, const char *mode,
                      long part, long parts, stl_error *err) {
    *out = NULL;
    if (size <= 0 || parts <= 0 || part < 0 || part >= parts || strlen(mode) >= 16)
        return stl_fail(err, "crops writer: bad arguments");
    if (dirs_create(dir, err) != 0) return -1;
    /* The index of an earlier run of this part goes first: the shards about
     * to be written replace the ones it names, and a run that fails or is
     * killed must not leave an index (pipeline.mk's target) behind. */
    char name[96];
    crops_index_name(name, sizeof name, part, parts);
    char *old = path_join(dir, name);
    if (!old) return stl_fail(err, "out of memory");
    if (unlink(old) != 0 && errno != ENOENT) {
        int e = errno;
        stl_fail(err, "%s: cannot remove the previous index: %s", old, strerror(e));
        free(old);
        return -1;
    }
    free(old);
    crops_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return stl_fail(err, "out of memory");
    }
    w->size = size;
    snprintf(w->mode, sizeof w->mode, "%s", mode);
    w->part = part;
    w->parts = parts;
    *out = w;
    return 0;
}

typedef struct {
    int size;
    long part, parts, shard;
    const stl_key *keys;
    const uint8_t *pixels;
    size_t n;
} shard_fields_ctx;

static void pack_keys(msgpack_packer *pk, const stl_key *keys, size_t n) {
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_str(pk, STL_KEY_LEN);
        msgpack_pack_str_body(pk, keys[i].s, STL_KEY_LEN);
    }
}

/* The crop geometry both files start with: S, and 3 channels (RGB). */
static void pack_geometry(mpk_writer *w, int size) {
    mpk_key(w, "size");
    msgpack_pack_uint32(&w->pk, (uint32_t)size);
    mpk_key(w, "channels");
    msgpack_pack_uint32(&w->pk, 3);
}

static void pack_shard(mpk_writer *w, const void *ctx) {
    const shard_fields_ctx *c = ctx;
    msgpack_packer *pk = &w->pk;
    pack_geometry(w, c->size);
    mpk_kv_u64(w, "part", c->part);
    mpk_kv_u64(w, "parts", c->parts);
    mpk_kv_u64(w, "shard", c->shard);
    mpk_kv_u64(w, "count", c->n);
    mpk_key(w, "keys");
    pack_keys(pk, c->keys, c->n);
    mpk_key(w, "pixels");
    mpk_pack_bin(pk, c->pixels, c->n * (size_t)c->size * c->size * 3);
}

int crops_shard_write(const char *dir, int size, long part, long parts, long shard,
                      const stl_key *keys, const uint8_t *pixels, size_t n, stl_error *err) {
    size_t img = (size_t)size * size * 3;
    if (n * img > CROPS_MAX_SHARD_BYTES)
        return stl_fail(err, "crops writer: shard of %zu images exceeds %zu bytes", n,
                        CROPS_MAX_SHARD_BYTES);
    char name[96];
    crops_shard_name(name, sizeof name, part, parts, shard);
    char *path = path_join(dir, name);
    if (!path) return stl_fail(err, "out of memory");
    shard_fields_ctx c = {size, part, parts, shard, keys, pixels, n};
    int rc = mpk_write(path, CROPS_SHARD_FORMAT, CROPS_VERSION, pack_shard, &c, err);
    free(path);
    return rc;
}

int crops_writer_record_shard(crops_writer *w, const stl_key *keys, size_t n, stl_error *err) {
    if (reserve((void **)&w->keys, &w->cap_keys, w->n_keys + n, sizeof *w->keys, err) ||
        reserve((void **)&w->shard_counts, &w->cap_shards, w->n_shards + 1,
                sizeof *w->shard_counts, err))
        return -1;
    if (n) memcpy(w->keys + w->n_keys, keys, n * sizeof *keys);
    w->n_keys += n;
    w->shard_counts[w->n_shards++] = n;
    return 0;
}

int crops_writer_add_shard(crops_writer *w, const stl_key *keys, const uint8_t *pixels,
                           size_t n, stl_error *err) {
    if (crops_shard_write(w->dir, w->size, w->part, w->parts, (long)w->n_shards, keys, pixels,
                          n, err) != 0)
        return -1;
    return crops_writer_record_shard(w, keys, n, err);
}

int crops_writer_reject(crops_writer *w, const char *key, const char *reason,
                        const char *detail, stl_error *err) {
    if (reserve((void **)&w->rejects, &w->cap_rejects, w->n_rejects + 1, sizeof *w->rejects,
                err))
        return -1;
    crops_reject *r = &w->rejects[w->n_rejects];
    memset(r, 0, sizeof *r);
    snprintf(r->key.s, sizeof r->key.s, "%s", key);
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    r->detail = strdup(detail ? detail : "");
    if (!r->detail) return stl_fail(err, "out of memory");
    w->n_rejects++;
    return 0;
}

static void pack_index(mpk_writer *mw, const void *ctx) {
    const crops_writer *w = ctx;
    msgpack_packer *pk = &mw->pk;
    pack_geometry(mw, w->size);
    mpk_kv_str(mw, "mode", w->mode);
    mpk_kv_u64(mw, "part", w->part);
    mpk_kv_u64(mw, "parts", w->parts);
    mpk_kv_u64(mw, "requested", w->n_keys + w->n_rejects);
    mpk_key(mw, "shards");
    msgpack_pack_array(pk, w->n_shards);
    for (size_t s = 0; s < w->n_shards; s++) {
        char sn[96];
        crops_shard_name(sn, sizeof sn, w->part, w->parts, (long)s);
        mpk_map_begin(mw);
        mpk_kv_str(mw, "file", sn);
        mpk_kv_u64(mw, "count", w->shard_counts[s]);
        mpk_map_end(mw);
    }
    mpk_key(mw, "keys");
    pack_keys(pk, w->keys, w->n_keys);
    mpk_key(mw, "rejects");
    msgpack_pack_array(pk, w->n_rejects);
    for (size_t i = 0; i < w->n_rejects; i++) {
        mpk_map_begin(mw);
        mpk_kv_str(mw, "key", w->rejects[i].key.s);
        mpk_kv_str(mw, "reason", w->rejects[i].reason);
        mpk_kv_str(mw, "detail", w->rejects[i].detail);
        mpk_map_end(mw);
    }
}

int crops_writer_commit(crops_writer *w, stl_error *err) {
    char name[96];
    crops_index_name(name, sizeof name, w->part, w->parts);
    char *path = path_join(w->dir, name);
    if (!path) return stl_fail(err, "out of memory");
    int rc = mpk_write(path, CROPS_INDEX_FORMAT, CROPS_VERSION, pack_index, w, err);
    free(path);
    if (rc != 0) return -1;
    /* Shards numbered >= n_shards belong to an earlier, larger run of this
     * part; the new index no longer names them. */
    for (long s = (long)w->n_shards;; s++) {
        crops_shard_name(name, sizeof name, w->part, w->parts, s);
        char *old = path_join(w->dir, name);
        if (!old) break;
        int gone = unlink(old) != 0;
        free(old);
        if (gone) break;
    }
    return 0;
}

void crops_remove_shards(const char *dir, long part, long parts, size_t n) {
    char name[96];
    for (size_t s = 0;; s++) {
        crops_shard_name(name, sizeof name, part, parts, (long)s);
        char *p = path_join(dir, name);
        if (!p) return;
        int gone = unlink(p) != 0 && errno == ENOENT;
        free(p);
        if (gone && s >= n) return;
    }
}

void crops_writer_free(crops_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_rejects; i++) free(w->rejects[i].detail);
    free(w->rejects);
    free(w->keys);
    free(w->shard_counts);
    free(w->dir);
    free(w);
}

size_t crops_writer_stored(const crops_writer *w) { return w->n_keys; }
size_t crops_writer_rejected(const crops_writer *w) { return w->n_rejects; }

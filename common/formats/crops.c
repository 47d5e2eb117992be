/* crops.c — the reader of crop shards (crops.h, docs/formats.md "Crop shards").
 *
 * crops_open() finds every "part-PPPPP-of-NNNNN.index.mpk" in the directory
 * (sorted by part), checks that all parts agree on size, mode and part
 * count, maps each shard file the index names (mpk.h: bounds-checked mmap),
 * checks its header, its key list against the index and its pixel blob's
 * length against count*S*S*3, and builds one key table over all parts.
 * Image order: parts ascending, then index order. Pixels are never copied.
 * The set owns the mappings; crops_close() releases them.
 */
#include "formats/crops.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/crops_write.h"
#include "io/mpk.h"

struct crops_set {
    int size;
    char mode[16];
    long parts;
    key_index ki;
    const uint8_t **pix;   /* per image, into a shard mapping */
    size_t n, cap;
    mpk_file **files;      /* open shard files (each allocated: mpk_file is not movable) */
    char **paths;          /* their paths (mpk_file keeps the pointer) */
    size_t n_files, cap_files;
};

int crops_size(const crops_set *c) { return c->size; }
const char *crops_mode(const crops_set *c) { return c->mode; }
size_t crops_count(const crops_set *c) { return c->n; }
long crops_find(const crops_set *c, const char *key) {
    if (!key_valid_str(key)) return -1;
    return key_index_find(&c->ki, key);
}
const char *crops_key(const crops_set *c, size_t i) { return i < c->n ? c->ki.keys[i].s : NULL; }
const uint8_t *crops_pixels(const crops_set *c, size_t i) { return i < c->n ? c->pix[i] : NULL; }

void crops_close(crops_set *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_files; i++) {
        mpk_file_close(c->files[i]);
        free(c->files[i]);
        free(c->paths[i]);
    }
    free(c->files);
    free(c->paths);
    free(c->pix);
    key_index_free(&c->ki);
    free(c);
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* 1 if name is exactly an index name, filling part and parts. */
static int parse_index_name(const char *name, long *part, long *parts) {
    long p, n;
    char canon[96];
    if (sscanf(name, "part-%5ld-of-%5ld.index.mpk", &p, &n) != 2) return 0;
    if (n <= 0 || p < 0 || p >= n) return 0;
    crops_index_name(canon, sizeof canon, p, n);
    if (strcmp(canon, name) != 0) return 0;
    *part = p;
    *parts = n;
    return 1;
}

typedef struct {
    long part, parts;
    char *name;
} part_entry;

static int part_cmp(const void *a, const void *b) {
    const part_entry *x = a, *y = b;
    return (x->part > y->part) - (x->part < y->part);
}

static int key_from(const msgpack_object *o, char out[STL_KEY_LEN + 1]) {
    if (o->type != MSGPACK_OBJECT_STR || !key_valid(o->via.str.ptr, o->via.str.size)) return -1;
    memcpy(out, o->via.str.ptr, STL_KEY_LEN);
    out[STL_KEY_LEN] = 0;
    return 0;
}

static int get_u64_eq(const mpk_file *f, const msgpack_object *m, const char *key,
                      uint64_t want, stl_error *err) {
    uint64_t v;
    if (mpk_get_u64(f, m, key, &v, err) != 0) return -1;
    if (v != want)
        return stl_fail(err, "%s: field '%s' is %llu, the index says %llu: rerun stl-decode",
                        f->path, key, (unsigned long long)v, (unsigned long long)want);
    return 0;
}

/* Opens one shard named by index `ix` and appends its images. */
static int open_shard(crops_set *c, const char *dir, const mpk_file *ix, long part,
                      uint64_t shard_no, const msgpack_object *entry,
                      const msgpack_object_array *ikeys, size_t *koff, stl_error *err) {
    char fname[96], want[96];
    uint64_t count;
    if (entry->type != MSGPACK_OBJECT_MAP)
        return stl_fail(err, "%s: shard entry %llu is not a map", ix->path,
                        (unsigned long long)shard_no);
    if (mpk_get_strcpy(ix, entry, "file", fname, sizeof fname, err) != 0 ||
        mpk_get_u64(ix, entry, "count", &count, err) != 0)
        return -1;
    crops_shard_name(want, sizeof want, part, c->parts, (long)shard_no);
    if (strcmp(fname, want) != 0)
        return stl_fail(err, "%s: shard %llu is named '%s', expected '%s'", ix->path,
                        (unsigned long long)shard_no, fname, want);
    if (count > ikeys->size - *koff)
        return stl_fail(err, "%s: shard counts exceed the %u keys", ix->path, ikeys->size);

    if (c->n_files == c->cap_files) {
        size_t nc = c->cap_files ? 2 * c->cap_files : 16;
        mpk_file **nf = realloc(c->files, nc * sizeof *nf);
        if (!nf) return stl_fail(err, "out of memory");
        c->files = nf;
        char **np = realloc(c->paths, nc * sizeof *np);
        if (!np) return stl_fail(err, "out of memory");
        c->paths = np;
        c->cap_files = nc;
    }
    char *path = join(dir, fname);
    mpk_file *f = calloc(1, sizeof *f);
    if (!path || !f) {
        free(path);
        free(f);
        return stl_fail(err, "out of memory");
    }
    if (mpk_file_open(f, path, CROPS_SHARD_FORMAT, CROPS_VERSION, err) != 0) {
        free(path);
        free(f);
        return stl_fail_prefix(err, "crop shard (rerun stl-decode)");
    }
    c->files[c->n_files] = f;
    c->paths[c->n_files] = path;
    c->n_files++;

    const msgpack_object_array *skeys;
    const void *pixels;
    size_t img = (size_t)c->size * c->size * 3, plen;
    if (get_u64_eq(f, f->root, "size", (uint64_t)c->size, err) ||
        get_u64_eq(f, f->root, "channels", 3, err) ||
        get_u64_eq(f, f->root, "part", (uint64_t)part, err) ||
        get_u64_eq(f, f->root, "parts", (uint64_t)c->parts, err) ||
        get_u64_eq(f, f->root, "shard", shard_no, err) ||
        get_u64_eq(f, f->root, "count", count, err) ||
        mpk_get_array(f, f->root, "keys", &skeys, err))
        return -1;
    if (skeys->size != count)
        return stl_fail(err, "%s: %u keys for count %llu: rerun stl-decode", path, skeys->size,
                        (unsigned long long)count);
    if (count > SIZE_MAX / img)
        return stl_fail(err, "%s: count %llu too large", path, (unsigned long long)count);
    if (mpk_get_bin(f, f->root, "pixels", &pixels, &plen, (size_t)count * img, err) != 0)
        return stl_fail_prefix(err, "crop shard (rerun stl-decode)");

    if (c->n + count > c->cap) {
        size_t nc = c->cap ? c->cap : 1024;
        while (nc < c->n + count) nc *= 2;
        const uint8_t **np = realloc(c->pix, nc * sizeof *np);
        if (!np) return stl_fail(err, "out of memory");
        c->pix = np;
        c->cap = nc;
    }
    for (size_t s = 0; s < count; s++) {
        char k1[STL_KEY_LEN + 1], k2[STL_KEY_LEN + 1];
        if (key_from(&skeys->ptr[s], k1) != 0)
            return stl_fail(err, "%s: key %zu is not a valid key", path, s);
        if (key_from(&ikeys->ptr[*koff + s], k2) != 0)
            return stl_fail(err, "%s: key %zu is not a valid key", ix->path, *koff + s);
        if (strcmp(k1, k2) != 0)
            return stl_fail(err, "%s: slot %zu holds %s but the index says %s: rerun stl-decode",
                            path, s, k1, k2);
        int added = 0;
        long idx = key_index_add(&c->ki, k1, &added, err);
        if (idx < 0) return -1;
        if (!added)
            return stl_fail(err, "%s: key %s is stored twice in %s (parts from different runs?)",
                            path, k1, dir);
        c->pix[idx] = (const uint8_t *)pixels + s * img;
        c->n++;
    }
    *koff += count;
    return 0;
}

static int open_part(crops_set *c, const char *dir, const part_entry *pe, int first,
                     stl_error *err) {
    char *path = join(dir, pe->name);
    if (!path) return stl_fail(err, "out of memory");
    mpk_file ix;
    if (mpk_file_open(&ix, path, CROPS_INDEX_FORMAT, CROPS_VERSION, err) != 0) {
        free(path);
        return stl_fail_prefix(err, "crop index (rerun stl-decode)");
    }
    int rc = -1;
    uint64_t size, channels, part, parts;
    char mode[16];
    const msgpack_object_array *shards, *keys;
    if (mpk_get_u64(&ix, ix.root, "size", &size, err) ||
        mpk_get_u64(&ix, ix.root, "channels", &channels, err) ||
        mpk_get_strcpy(&ix, ix.root, "mode", mode, sizeof mode, err) ||
        mpk_get_u64(&ix, ix.root, "part", &part, err) ||
        mpk_get_u64(&ix, ix.root, "parts", &parts, err) ||
        mpk_get_array(&ix, ix.root, "shards", &shards, err) ||
        mpk_get_array(&ix, ix.root, "keys", &keys, err))
        goto done;
    if (size == 0 || size > 65535 || channels != 3) {
        stl_fail(err, "%s: unsupported size %llu / channels %llu", path,
                 (unsigned long long)size, (unsigned long long)channels);
        goto done;
    }
    if ((long)part != pe->part || (long)parts != pe->parts) {
        stl_fail(err, "%s: header says part %llu of %llu, the name says otherwise", path,
                 (unsigned long long)part, (unsigned long long)parts);
        goto done;
    }
    if (first) {
        c->size = (int)size;
        snprintf(c->mode, sizeof c->mode, "%s", mode);
        c->parts = (long)parts;
    } else if ((int)size != c->size || strcmp(mode, c->mode) != 0) {
        stl_fail(err, "%s: size %llu mode %s, but other parts in %s have size %d mode %s: "
                 "remove the stale parts and rerun stl-decode", path,
                 (unsigned long long)size, mode, dir, c->size, c->mode);
        goto done;
    }
    size_t koff = 0;
    for (uint32_t s = 0; s < shards->size; s++)
        if (open_shard(c, dir, &ix, pe->part, s, &shards->ptr[s], keys, &koff, err) != 0)
            goto done;
    if (koff != keys->size) {
        stl_fail(err, "%s: shards hold %zu images but the index lists %u keys", path, koff,
                 keys->size);
        goto done;
    }
    rc = 0;
done:
    mpk_file_close(&ix);
    free(path);
    return rc;
}

int crops_open(const char *dir, crops_set **out, stl_error *err) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return stl_fail(err, "%s: cannot open crop directory: %s", dir, strerror(errno));
    part_entry *parts = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long p, np;
        if (!parse_index_name(e->d_name, &p, &np)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            part_entry *q = realloc(parts, cap * sizeof *q);
            if (!q) {
                stl_fail(err, "out of memory");
                goto done;
            }
            parts = q;
        }
        parts[n].part = p;
        parts[n].parts = np;
        parts[n].name = strdup(e->d_name);
        if (!parts[n].name) {
            stl_fail(err, "out of memory");
            goto done;
        }
        n++;
    }
    if (n == 0) {
        stl_fail(err, "%s: no crop index (part-*-of-*.index.mpk) here: run stl-decode", dir);
        goto done;
    }
    qsort(parts, n, sizeof *parts, part_cmp);
    for (size_t i = 1; i < n; i++) {
        if (parts[i].parts != parts[0].parts) {
            stl_fail(err, "%s: holds parts of %ld and of %ld (%s, %s): remove the stale "
                     "ones and rerun stl-decode", dir, parts[0].parts, parts[i].parts,
                     parts[0].name, parts[i].name);
            goto done;
        }
    }
    crops_set *c = calloc(1, sizeof *c);
    if (!c) {
        stl_fail(err, "out of memory");
        goto done;
    }
    key_index_init(&c->ki);
    for (size_t i = 0; i < n; i++) {
        if (open_part(c, dir, &parts[i], i == 0, err) != 0) {
            crops_close(c);
            goto done;
        }
    }
    *out = c;
    rc = 0;
done:
    closedir(d);
    for (size_t i = 0; i < n; i++) free(parts[i].name);
    free(parts);
    return rc;
}

/* triplets.c — the triplets file: writer, validating reader, stl-inspect view.
 *
 * Layout (docs/formats.md, "## Triplets"): one msgpack map, "format"
 * "stlrec-triplets", "version" 1, then "params" and "counts" (maps), the key
 * tables "scenes" and "products" (bin: n × 32 ASCII hex bytes, no separators)
 * and the index arrays "train", "test" (bin: n × 3 little-endian uint32:
 * scene, positive, negative), "held_scenes", "held_offsets", "held_products"
 * (bin: little-endian uint32). Blobs rather than msgpack arrays keep a million
 * pairs fast to write and read and let readers check sizes before allocating.
 * triplets_open() copies everything into owned arrays (the mapping is
 * closed), so a triplets_file from it and one from triplets_build() are alike.
 */
#include "formats/triplets.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "io/mpk.h"
#include "io/mpk_writer.h"

_Static_assert(sizeof(triplet) == 12, "triplet must be three packed uint32");

void triplets_params_default(triplets_params *p) {
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->num_neg = 5;
    p->test_fraction = 0.1;
    p->split = TRIPLETS_SPLIT_SCENE;
    p->negatives = TRIPLETS_NEG_PAIRS;
}

const char *triplets_split_name(triplets_split s) {
    return s == TRIPLETS_SPLIT_EVERY10 ? "every10" : "scene";
}

const char *triplets_negatives_name(triplets_negatives n) {
    return n == TRIPLETS_NEG_UNIFORM ? "uniform" : "pairs";
}

int triplets_split_parse(const char *name, triplets_split *out, stl_error *err) {
    if (strcmp(name, "scene") == 0) *out = TRIPLETS_SPLIT_SCENE;
    else if (strcmp(name, "every10") == 0) *out = TRIPLETS_SPLIT_EVERY10;
    else return stl_fail(err, "split '%s' is not one of scene|every10", name);
    return 0;
}

int triplets_negatives_parse(const char *name, triplets_negatives *out, stl_error *err) {
    if (strcmp(name, "pairs") == 0) *out = TRIPLETS_NEG_PAIRS;
    else if (strcmp(name, "uniform") == 0) *out = TRIPLETS_NEG_UNIFORM;
    else return stl_fail(err, "negatives '%s' is not one of pairs|uniform", name);
    return 0;
}

void triplets_free(triplets_file *t) {
    if (!t) return;
    free(t->scenes);
    free(t->products);
    free(t->train);
    free(t->test);
    free(t->val);
    free(t->held_scene);
    free(t->held_offset);
    free(t->held_product);
    free(t);
}

/* ---- writing ---- */

static void put_le32(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

/* n uint32 as one bin of 4n little-endian bytes, converted in chunks. */
static void pack_u32_bin(msgpack_packer *pk, const uint32_t *v, size_t n) {
    unsigned char buf[4096];
    msgpack_pack_bin(pk, n * 4);
    for (size_t i = 0; i < n;) {
        size_t m = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
        for (size_t j = 0; j < m; j++) put_le32(buf + 4 * j, v[i + j]);
        msgpack_pack_bin_body(pk, buf, m * 4);
        i += m;
    }
}

static void pack_keys(msgpack_packer *pk, const stl_key *k, size_t n) {
    msgpack_pack_bin(pk, n * STL_KEY_LEN);
    for (size_t i = 0; i < n; i++) msgpack_pack_bin_body(pk, k[i].s, STL_KEY_LEN);
}


static void pack_fields(mpk_writer *w, const void *ctx) {
    const triplets_file *t = ctx;
    msgpack_packer *pk = &w->pk;
    const triplets_params *p = &t->params;
    const triplets_counts *c = &t->counts;

    mpk_key(w, "params");
    mpk_map_begin(w);
    mpk_kv_u64(w, "seed", p->seed);
    mpk_kv_str(w, "split", triplets_split_name(p->split));
    mpk_kv_str(w, "negatives", triplets_negatives_name(p->negatives));
    mpk_kv_u64(w, "num_neg", p->num_neg);
    mpk_key(w, "test_fraction");
    msgpack_pack_double(pk, p->test_fraction);
    if (p->val_fraction > 0) {
        mpk_key(w, "val_fraction");
        msgpack_pack_double(pk, p->val_fraction);
    }
    if (p->hard_fraction > 0) {
        mpk_key(w, "hard_fraction");
        msgpack_pack_double(pk, p->hard_fraction);
    }
    mpk_map_end(w);

    mpk_key(w, "counts");
    mpk_map_begin(w);
    mpk_kv_u64(w, "lines", c->lines);
    mpk_kv_u64(w, "malformed", c->malformed);
    mpk_kv_u64(w, "pairs_read", c->pairs_read);
    mpk_kv_u64(w, "dropped_scene_missing", c->dropped_scene_missing);
    mpk_kv_u64(w, "dropped_product_missing", c->dropped_product_missing);
    mpk_kv_u64(w, "dropped_duplicate", c->dropped_duplicate);
    mpk_kv_u64(w, "used", c->used);
    mpk_kv_u64(w, "train_pairs", c->train_pairs);
    mpk_kv_u64(w, "test_pairs", c->test_pairs);
    mpk_kv_u64(w, "train_scenes", c->train_scenes);
    mpk_kv_u64(w, "test_scenes", c->test_scenes);
    mpk_kv_u64(w, "scenes", t->n_scenes);
    mpk_kv_u64(w, "products", t->n_products);
    mpk_kv_u64(w, "train_triplets", t->n_train);
    mpk_kv_u64(w, "test_triplets", t->n_test);
    mpk_kv_u64(w, "held_scenes", t->n_held_scenes);
    mpk_kv_u64(w, "held_pairs", t->held_offset[t->n_held_scenes]);
    if (t->n_val > 0) {
        mpk_kv_u64(w, "val_pairs", c->val_pairs);
        mpk_kv_u64(w, "val_scenes", c->val_scenes);
        mpk_kv_u64(w, "val_triplets", t->n_val);
    }
    if (p->hard_fraction > 0) {
        mpk_kv_u64(w, "train_hard", c->train_hard);
        mpk_kv_u64(w, "hard_fallback", c->hard_fallback);
    }
    mpk_map_end(w);

    mpk_key(w, "scenes");
    pack_keys(pk, t->scenes, t->n_scenes);
    mpk_key(w, "products");
    pack_keys(pk, t->products, t->n_products);
    mpk_key(w, "train");
    pack_u32_bin(pk, (const uint32_t *)t->train, t->n_train * 3);
    mpk_key(w, "test");
    pack_u32_bin(pk, (const uint32_t *)t->test, t->n_test * 3);
    if (t->n_val > 0) {
        mpk_key(w, "val");
        pack_u32_bin(pk, (const uint32_t *)t->val, t->n_val * 3);
    }
    mpk_key(w, "held_scenes");
    pack_u32_bin(pk, t->held_scene, t->n_held_scenes);
    mpk_key(w, "held_offsets");
    pack_u32_bin(pk, t->held_offset, t->n_held_scenes + 1);
    mpk_key(w, "held_products");
    pack_u32_bin(pk, t->held_product, t->held_offset[t->n_held_scenes]);
}

int triplets_write(const char *path, const triplets_file *t, stl_error *err) {
    return mpk_write(path, TRIPLETS_FORMAT, TRIPLETS_VERSION, pack_fields, t, err);
}

/* ---- reading ---- */

static uint32_t get_le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A count that sizes an array: bounded so n * 12 cannot overflow. */
static int get_count(const mpk_file *f, const msgpack_object *m, const char *key,
                     size_t *out, stl_error *err) {
    uint64_t v;
    if (mpk_get_u64(f, m, key, &v, err) != 0) return -1;
    if (v > (uint64_t)UINT32_MAX * 16)
        return stl_fail(err, "%s: counts.%s = %" PRIu64 " is implausibly large: rerun stl-triplets",
                        f->path, key, v);
    *out = (size_t)v;
    return 0;
}

/* Reads a bin of n little-endian uint32 into a new array (each < limit). */
static int read_u32s(const mpk_file *f, const char *key, size_t n, uint64_t limit,
                     uint32_t **out, stl_error *err) {
    const void *ptr;
    size_t len;
    if (mpk_get_bin(f, f->root, key, &ptr, &len, n * 4, err) != 0) return -1;
    uint32_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return stl_fail(err, "%s: out of memory for '%s' (%zu values)", f->path, key, n);
    const unsigned char *b = ptr;
    for (size_t i = 0; i < n; i++) {
        v[i] = get_le32(b + 4 * i);
        if (v[i] >= limit) {
            uint32_t bad = v[i];
            free(v);
            return stl_fail(err, "%s: %s[%zu] = %u is out of range (< %" PRIu64 "): the file "
                                 "is corrupt; rerun stl-triplets", f->path, key, i, bad, limit);
        }
    }
    *out = v;
    return 0;
}

static int read_triplets(const mpk_file *f, const char *key, size_t n, const triplets_file *t,
                         triplet **out, stl_error *err) {
    const void *ptr;
    size_t len;
    if (mpk_get_bin(f, f->root, key, &ptr, &len, n * 12, err) != 0) return -1;
    triplet *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return stl_fail(err, "%s: out of memory for '%s' (%zu triplets)", f->path, key, n);
    const unsigned char *b = ptr;
    for (size_t i = 0; i < n; i++, b += 12) {
        v[i].scene = get_le32(b);
        v[i].pos = get_le32(b + 4);
        v[i].neg = get_le32(b + 8);
        if (v[i].scene >= t->n_scenes || v[i].pos >= t->n_products || v[i].neg >= t->n_products) {
            free(v);
            return stl_fail(err, "%s: %s triplet %zu has an index out of range: the file is "
                                 "corrupt; rerun stl-triplets", f->path, key, i);
        }
        if (v[i].pos == v[i].neg) {
            uint32_t product = v[i].pos;
            free(v);
            return stl_fail(err, "%s: %s triplet %zu has its positive as its negative (product "
                                 "%u): the file is corrupt; rerun stl-triplets", f->path, key, i,
                            product);
        }
    }
    *out = v;
    return 0;
}

static int read_keys(const mpk_file *f, const char *key, size_t n, stl_key **out,
                     stl_error *err) {
    const void *ptr;
    size_t len;
    if (mpk_get_bin(f, f->root, key, &ptr, &len, n * STL_KEY_LEN, err) != 0) return -1;
    stl_key *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return stl_fail(err, "%s: out of memory for '%s' (%zu keys)", f->path, key, n);
    const char *s = ptr;
    for (size_t i = 0; i < n; i++) {
        if (!key_valid(s + i * STL_KEY_LEN, STL_KEY_LEN)) {
            free(k);
            return stl_fail(err, "%s: %s key %zu is not 32 lowercase hex characters: the file "
                                 "is corrupt; rerun stl-triplets", f->path, key, i);
        }
        memcpy(k[i].s, s + i * STL_KEY_LEN, STL_KEY_LEN);
        k[i].s[STL_KEY_LEN] = '\0';
    }
    /* each key once: the indices of the triplets name one image each */
    key_index seen;
    key_index_init(&seen);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int added = 0;
        if (key_index_add(&seen, k[i].s, &added, err) < 0) rc = -1;
        else if (!added)
            rc = stl_fail(err, "%s: %s key %zu (%s) appears twice: the file is corrupt; rerun "
                               "stl-triplets", f->path, key, i, k[i].s);
    }
    key_index_free(&seen);
    if (rc != 0) {
        free(k);
        return -1;
    }
    *out = k;
    return 0;
}

/* Each held-out scene once (its products are listed once per scene). */
static int check_held_unique(const char *path, const triplets_file *t, stl_error *err) {
    unsigned char *seen = calloc(t->n_scenes ? t->n_scenes : 1, 1);
    if (!seen) return stl_fail(err, "%s: out of memory", path);
    int rc = 0;
    for (size_t i = 0; i < t->n_held_scenes && rc == 0; i++) {
        uint32_t s = t->held_scene[i];
        if (seen[s]++)
            rc = stl_fail(err, "%s: held-out scene %u (%s) is listed twice: the file is corrupt; "
                               "rerun stl-triplets", path, s, t->scenes[s].s);
    }
    free(seen);
    return rc;
}

static int read_params(const mpk_file *f, triplets_file *t, stl_error *err) {
    const msgpack_object *pm;
    char name[16];
    uint64_t v;
    triplets_params *p = &t->params;
    if (mpk_get_map(f, f->root, "params", &pm, err) != 0) return -1;
    if (mpk_get_u64(f, pm, "seed", &p->seed, err) != 0) return -1;
    if (mpk_get_u64(f, pm, "num_neg", &v, err) != 0) return -1;
    if (v < 1 || v > UINT32_MAX)
        return stl_fail(err, "%s: params.num_neg = %" PRIu64 " is out of range", f->path, v);
    p->num_neg = (uint32_t)v;
    if (mpk_get_f64(f, pm, "test_fraction", &p->test_fraction, err) != 0) return -1;
    p->val_fraction = 0;
    if (mpk_get(pm, "val_fraction") &&
        (mpk_get_f64(f, pm, "val_fraction", &p->val_fraction, err) != 0 ||
         !(p->val_fraction > 0 && p->val_fraction < 1)))
        return stl_fail(err, "%s: params.val_fraction is not in (0, 1): the file is corrupt; "
                        "rerun stl-triplets", f->path);
    p->hard_fraction = 0;
    if (mpk_get(pm, "hard_fraction") &&
        (mpk_get_f64(f, pm, "hard_fraction", &p->hard_fraction, err) != 0 ||
         !(p->hard_fraction > 0 && p->hard_fraction <= 1)))
        return stl_fail(err, "%s: params.hard_fraction is not in (0, 1]: the file is corrupt; "
                        "rerun stl-triplets", f->path);
    if (mpk_get_strcpy(f, pm, "split", name, sizeof name, err) != 0 ||
        triplets_split_parse(name, &p->split, err) != 0)
        return stl_fail_prefix(err, "%s: params", f->path);
    if (mpk_get_strcpy(f, pm, "negatives", name, sizeof name, err) != 0 ||
        triplets_negatives_parse(name, &p->negatives, err) != 0)
        return stl_fail_prefix(err, "%s: params", f->path);
    return 0;
}

static int read_counts(const mpk_file *f, triplets_file *t, size_t *held_pairs,
                       stl_error *err) {
    const msgpack_object *cm;
    triplets_counts *c = &t->counts;
    if (mpk_get_map(f, f->root, "counts", &cm, err) != 0) return -1;
    struct {
        const char *key;
        uint64_t *dst;
    } u[] = {
        {"lines", &c->lines},
        {"malformed", &c->malformed},
        {"pairs_read", &c->pairs_read},
        {"dropped_scene_missing", &c->dropped_scene_missing},
        {"dropped_product_missing", &c->dropped_product_missing},
        {"dropped_duplicate", &c->dropped_duplicate},
        {"used", &c->used},
        {"train_pairs", &c->train_pairs},
        {"test_pairs", &c->test_pairs},
        {"train_scenes", &c->train_scenes},
        {"test_scenes", &c->test_scenes},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (mpk_get_u64(f, cm, u[i].key, u[i].dst, err) != 0) return -1;
    if (get_count(f, cm, "scenes", &t->n_scenes, err) != 0 ||
        get_count(f, cm, "products", &t->n_products, err) != 0 ||
        get_count(f, cm, "train_triplets", &t->n_train, err) != 0 ||
        get_count(f, cm, "test_triplets", &t->n_test, err) != 0 ||
        get_count(f, cm, "held_scenes", &t->n_held_scenes, err) != 0 ||
        get_count(f, cm, "held_pairs", held_pairs, err) != 0)
        return -1;
    t->n_val = 0;
    if (mpk_get(cm, "val_triplets") &&
        (mpk_get_u64(f, cm, "val_pairs", &c->val_pairs, err) != 0 ||
         mpk_get_u64(f, cm, "val_scenes", &c->val_scenes, err) != 0 ||
         get_count(f, cm, "val_triplets", &t->n_val, err) != 0))
        return -1;
    c->train_hard = c->hard_fallback = 0;
    if (t->params.hard_fraction > 0 &&
        (mpk_get_u64(f, cm, "train_hard", &c->train_hard, err) != 0 ||
         mpk_get_u64(f, cm, "hard_fallback", &c->hard_fallback, err) != 0))
        return -1;
    if (c->train_hard > t->n_train || c->hard_fallback > t->n_train - c->train_hard)
        return stl_fail(err, "%s: counts.train_hard + hard_fallback exceed the training "
                             "triplets: the file is corrupt; rerun stl-triplets", f->path);
    if (t->n_train != c->train_pairs * t->params.num_neg ||
        t->n_test != c->test_pairs * t->params.num_neg || *held_pairs != c->test_pairs ||
        t->n_val != c->val_pairs * t->params.num_neg)
        return stl_fail(err, "%s: counts disagree (triplets vs pairs x num_neg): the file is "
                             "corrupt; rerun stl-triplets", f->path);
    return 0;
}

int triplets_open(const char *path, triplets_file **out, stl_error *err) {
    *out = NULL;
    mpk_file f;
    if (mpk_file_open(&f, path, TRIPLETS_FORMAT, TRIPLETS_VERSION, err) != 0) return -1;
    triplets_file *t = calloc(1, sizeof *t);
    size_t held_pairs = 0;
    int rc = -1;
    if (!t) {
        stl_fail(err, "%s: out of memory", path);
        goto done;
    }
    if (read_params(&f, t, err) != 0 || read_counts(&f, t, &held_pairs, err) != 0) goto done;
    if (read_keys(&f, "scenes", t->n_scenes, &t->scenes, err) != 0 ||
        read_keys(&f, "products", t->n_products, &t->products, err) != 0 ||
        read_triplets(&f, "train", t->n_train, t, &t->train, err) != 0 ||
        read_triplets(&f, "test", t->n_test, t, &t->test, err) != 0 ||
        (t->n_val > 0 && read_triplets(&f, "val", t->n_val, t, &t->val, err) != 0) ||
        read_u32s(&f, "held_scenes", t->n_held_scenes, t->n_scenes, &t->held_scene, err) != 0 ||
        read_u32s(&f, "held_offsets", t->n_held_scenes + 1, (uint64_t)held_pairs + 1,
                  &t->held_offset, err) != 0 ||
        read_u32s(&f, "held_products", held_pairs, t->n_products, &t->held_product, err) != 0)
        goto done;
    if (t->held_offset[0] != 0 || t->held_offset[t->n_held_scenes] != held_pairs) {
        stl_fail(err, "%s: held_offsets do not span held_products: rerun stl-triplets", path);
        goto done;
    }
    for (size_t i = 0; i < t->n_held_scenes; i++) {
        if (t->held_offset[i + 1] < t->held_offset[i]) {
            stl_fail(err, "%s: held_offsets decrease at %zu: rerun stl-triplets", path, i);
            goto done;
        }
    }
    if (check_held_unique(path, t, err) != 0) goto done;
    rc = 0;
done:
    mpk_file_close(&f);
    if (rc == 0) *out = t;
    else triplets_free(t);
    return rc;
}

/* ---- stl-inspect ---- */

static void json_triplets(FILE *out, const char *name, const triplet *v, size_t n) {
    fprintf(out, ",\n\"%s\":[", name);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s[%u,%u,%u]", i ? "," : "", v[i].scene, v[i].pos, v[i].neg);
    fputc(']', out);
}

static void json_keys(FILE *out, const char *name, const stl_key *k, size_t n) {
    fprintf(out, ",\n\"%s\":[", name);
    for (size_t i = 0; i < n; i++) fprintf(out, "%s\"%s\"", i ? "," : "", k[i].s);
    fputc(']', out);
}

static void inspect_json(const triplets_file *t, FILE *out) {
    const triplets_params *p = &t->params;
    const triplets_counts *c = &t->counts;
    fprintf(out, "{\"format\":\"%s\",\"version\":%u,\n", TRIPLETS_FORMAT, TRIPLETS_VERSION);
    fprintf(out, "\"params\":{\"seed\":%" PRIu64 ",\"split\":\"%s\",\"negatives\":\"%s\","
                 "\"num_neg\":%u,\"test_fraction\":%.17g",
            p->seed, triplets_split_name(p->split), triplets_negatives_name(p->negatives),
            p->num_neg, p->test_fraction);
    if (p->val_fraction > 0) fprintf(out, ",\"val_fraction\":%.17g", p->val_fraction);
    if (p->hard_fraction > 0) fprintf(out, ",\"hard_fraction\":%.17g", p->hard_fraction);
    fprintf(out, "},\n");
    fprintf(out, "\"counts\":{\"lines\":%" PRIu64 ",\"malformed\":%" PRIu64
                 ",\"pairs_read\":%" PRIu64 ",\"dropped_scene_missing\":%" PRIu64
                 ",\"dropped_product_missing\":%" PRIu64 ",\"dropped_duplicate\":%" PRIu64
                 ",\"used\":%" PRIu64 ",\"train_pairs\":%" PRIu64 ",\"test_pairs\":%" PRIu64
                 ",\"train_scenes\":%" PRIu64 ",\"test_scenes\":%" PRIu64
                 ",\"scenes\":%zu,\"products\":%zu,\"train_triplets\":%zu"
                 ",\"test_triplets\":%zu,\"held_scenes\":%zu",
            c->lines, c->malformed, c->pairs_read, c->dropped_scene_missing,
            c->dropped_product_missing, c->dropped_duplicate, c->used, c->train_pairs,
            c->test_pairs, c->train_scenes, c->test_scenes, t->n_scenes, t->n_products,
            t->n_train, t->n_test, t->n_held_scenes);
    if (t->n_val > 0)
        fprintf(out, ",\"val_pairs\":%" PRIu64 ",\"val_scenes\":%" PRIu64 ",\"val_triplets\":%zu",
                c->val_pairs, c->val_scenes, t->n_val);
    if (p->hard_fraction > 0)
        fprintf(out, ",\"train_hard\":%" PRIu64 ",\"hard_fallback\":%" PRIu64, c->train_hard,
                c->hard_fallback);
    fputc('}', out);
    json_keys(out, "scenes", t->scenes, t->n_scenes);
    json_keys(out, "products", t->products, t->n_products);
    json_triplets(out, "train", t->train, t->n_train);
    json_triplets(out, "test", t->test, t->n_test);
    fprintf(out, ",\n\"held_out\":[");
    for (size_t h = 0; h < t->n_held_scenes; h++) {
        fprintf(out, "%s{\"scene\":%u,\"products\":[", h ? "," : "", t->held_scene[h]);
        for (uint32_t j = t->held_offset[h]; j < t->held_offset[h + 1]; j++)
            fprintf(out, "%s%u", j > t->held_offset[h] ? "," : "", t->held_product[j]);
        fprintf(out, "]}");
    }
    fprintf(out, "]}\n");
}

static void inspect_text(const char *path, const triplets_file *t, FILE *out) {
    const triplets_params *p = &t->params;
    const triplets_counts *c = &t->counts;
    fprintf(out, "%s: %s version %u\n", path, TRIPLETS_FORMAT, TRIPLETS_VERSION);
    fprintf(out, "params: seed %" PRIu64 ", split %s, negatives %s, num_neg %u, "
                 "test_fraction %g\n",
            p->seed, triplets_split_name(p->split), triplets_negatives_name(p->negatives),
            p->num_neg, p->test_fraction);
    fprintf(out, "pairs: %" PRIu64 " lines, %" PRIu64 " malformed, %" PRIu64 " read, %" PRIu64
                 " used; dropped %" PRIu64 " scene missing, %" PRIu64 " product missing, %" PRIu64
                 " duplicate\n",
            c->lines, c->malformed, c->pairs_read, c->used, c->dropped_scene_missing,
            c->dropped_product_missing, c->dropped_duplicate);
    fprintf(out, "split: %" PRIu64 " train pairs (%" PRIu64 " scenes), %" PRIu64
                 " test pairs (%" PRIu64 " scenes)\n",
            c->train_pairs, c->train_scenes, c->test_pairs, c->test_scenes);
    fprintf(out, "keys: %zu scenes, %zu products\n", t->n_scenes, t->n_products);
    fprintf(out, "triplets: %zu train, %zu test\n", t->n_train, t->n_test);
    fprintf(out, "held-out: %zu test scenes, %u pairs\n", t->n_held_scenes,
            t->held_offset[t->n_held_scenes]);
    if (t->n_val > 0)
        fprintf(out, "validation: %g of the other scenes: %" PRIu64 " pairs (%" PRIu64
                     " scenes), %zu triplets\n",
                p->val_fraction, c->val_pairs, c->val_scenes, t->n_val);
    if (p->hard_fraction > 0)
        fprintf(out, "hard negatives: %g of the training negatives: %" PRIu64
                     " from the positive's category, %" PRIu64 " fell back\n",
                p->hard_fraction, c->train_hard, c->hard_fallback);
}

int triplets_inspect(const char *path, int json, FILE *out, stl_error *err) {
    triplets_file *t;
    if (triplets_open(path, &t, err) != 0) return -1;
    if (json) inspect_json(t, out);
    else inspect_text(path, t, out);
    triplets_free(t);
    if (fflush(out) != 0 || ferror(out)) return stl_fail(err, "%s: writing the inspection failed", path);
    return 0;
}

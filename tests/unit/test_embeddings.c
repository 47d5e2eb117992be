/* test_embeddings.c — embeddings files (common/formats/embeddings.c): round trips of
 * both forms, the aligned zero-copy matrix, lists of parts, the book's JSON
 * as people write it, and refusal of every truncated, corrupt or
 * inconsistent file with an error that names it.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "check_files.h"
#include "formats/embeddings.h"
#include "base/rng.h"

static char dir[] = "/tmp/test_embeddings.XXXXXX";

static const char *tmp(const char *name) { return check_path(dir, name); }

static float *make_rows(rng_state *r, size_t n, size_t d) {
    float *x = malloc(n * d * sizeof *x + 1);
    for (size_t e = 0; e < n * d; e++) x[e] = (float)(rng_normal(r) * 3.0);
    return x;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}


static int read_fails(const char *path, const char *want) {
    embeddings e;
    stl_error err = {{0}};
    int rc = embeddings_read(path, &e, &err);
    if (rc == 0) {
        embeddings_free(&e);
        fprintf(stderr, "  %s: read succeeded, expected failure (%s)\n", path, want);
        return 0;
    }
    if (want && !strstr(err.msg, want)) {
        fprintf(stderr, "  %s: error '%s' lacks '%s'\n", path, err.msg, want);
        return 0;
    }
    return 1;
}

static void test_round_trip_msgpack(void) {
    rng_state r;
    rng_seed(&r, 1);
    size_t n = 37, d = 5;
    stl_key keys[37];
    check_random_keys(&r, keys, n);
    float *x = make_rows(&r, n, d);
    stl_error err = {{0}};
    CHECK_EQ_INT(embeddings_write_kind(tmp("a.emb"), "scene", keys, n, d, x, &err), 0);
    embeddings e;
    CHECK_EQ_INT(embeddings_read(tmp("a.emb"), &e, &err), 0);
    CHECK_EQ_INT(e.n, n);
    CHECK_EQ_INT(e.dim, d);
    CHECK_STR_EQ(e.kind, "scene");
    CHECK(memcmp(e.data, x, n * d * sizeof *x) == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR_EQ(e.keys[i].s, keys[i].s);
        CHECK_EQ_INT(embeddings_find(&e, keys[i].s), i);
    }
    CHECK_EQ_INT(embeddings_find(&e, "ffffffffffffffffffffffffffffffff"), -1);
    // zero-copy: the matrix points into the mapping, at an aligned offset
    CHECK(e.mapped && e.owned == NULL);
    CHECK((uintptr_t)e.data % EMBEDDINGS_ALIGN == 0);
    embeddings_free(&e);
    // byte-identical when written twice; no kind -> ""
    CHECK_EQ_INT(embeddings_write_kind(tmp("b.emb"), "scene", keys, n, d, x, &err), 0);
    size_t la, lb;
    unsigned char *ba = check_slurp(tmp("a.emb"), &la), *bb = check_slurp(tmp("b.emb"), &lb);
    CHECK(la == lb && memcmp(ba, bb, la) == 0);
    free(ba); free(bb);
    CHECK_EQ_INT(embeddings_write(tmp("c.emb"), keys, n, d, x, &err), 0);
    CHECK_EQ_INT(embeddings_read(tmp("c.emb"), &e, &err), 0);
    CHECK_STR_EQ(e.kind, "");
    embeddings_free(&e);
    // alignment holds for every size of the part before the matrix
    for (size_t m = 0; m < 20; m++) {
        CHECK_EQ_INT(embeddings_write(tmp("d.emb"), keys, m, 3, x, &err), 0);
        CHECK_EQ_INT(embeddings_read(tmp("d.emb"), &e, &err), 0);
        CHECK_EQ_INT(e.n, m);
        CHECK(m == 0 || ((uintptr_t)e.data % EMBEDDINGS_ALIGN == 0 && e.owned == NULL));
        CHECK(m == 0 || memcmp(e.data, x, m * 3 * sizeof *x) == 0);
        embeddings_free(&e);
    }
    free(x);
}

static void test_round_trip_json(void) {
    rng_state r;
    rng_seed(&r, 2);
    size_t n = 23, d = 64;
    stl_key keys[23];
    check_random_keys(&r, keys, n);
    float *x = make_rows(&r, n, d);
    x[0] = 1e-30f; x[1] = -0.0f; x[2] = 3.4e38f; x[3] = 1.17549435e-38f; x[4] = 0.1f;
    stl_error err = {{0}};
    CHECK_EQ_INT(embeddings_write_json(tmp("a.json"), keys, n, d, x, &err), 0);
    embeddings e;
    CHECK_EQ_INT(embeddings_read(tmp("a.json"), &e, &err), 0);
    CHECK_EQ_INT(e.n, n);
    CHECK_EQ_INT(e.dim, d);
    CHECK(memcmp(e.data, x, n * d * sizeof *x) == 0); // 9 digits: bit-identical
    for (size_t i = 0; i < n; i++) CHECK_STR_EQ(e.keys[i].s, keys[i].s); // file order
    embeddings_free(&e);
    // the JSON is plain JSON that jansson (and so Python) parses
    json_error_t je;
    json_t *j = json_load_file(tmp("a.json"), 0, &je);
    CHECK(j && json_object_size(j) == n);
    json_decref(j);
    free(x);
}

static void test_book_json_forms(void) {
    const char *k1 = "0123456789abcdef0123456789abcdef", *k2 = "fedcba9876543210fedcba9876543210";
    char text[512];
    snprintf(text, sizeof text, "  \n{\"%s\": [1, -2.5, 3e-1],\n \"%s\" : [0,0,7]}", k2, k1);
    write_text(tmp("book.txt"), text);
    embeddings e;
    stl_error err = {{0}};
    CHECK_EQ_INT(embeddings_read(tmp("book.txt"), &e, &err), 0);
    CHECK_EQ_INT(e.n, 2);
    CHECK_EQ_INT(e.dim, 3);
    CHECK_STR_EQ(e.keys[0].s, k2);
    CHECK(e.data[1] == -2.5f && e.data[2] == 0.3f && e.data[5] == 7.0f);
    embeddings_free(&e);
    write_text(tmp("empty.json"), "{}");
    CHECK_EQ_INT(embeddings_read(tmp("empty.json"), &e, &err), 0);
    CHECK_EQ_INT(e.n, 0);
    embeddings_free(&e);

    struct { const char *text, *want; } bad[] = {
        {"{\"%s\": [1, 2], \"%s\": [1]}", "1 numbers, the first entry has 2"},
        {"{\"%s\": [1, 2], \"%s\": [1, \"x\"]}", "component 1 is not a finite"},
        {"{\"%s\": [1, 2], \"%s\": [1, 1e39]}", "component 1 is not a finite"},
        {"{\"%s\": [], \"%s\": [1]}", "not a non-empty array"},
        {"{\"%s\": [1], \"%s\": [1], \"%s\": [2]}", "duplicate"},
        {"{\"%s\": [1], \"%s\": [1]", "invalid JSON"},
        {"{\"%s\": [1], \"%s\": 5}", "not a non-empty array"},
        {"{\"%s\": [1], \"%s\": [1], \"ABC\": [1]}", "invalid key 'ABC'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, bad[i].text, k1, k2, k1);
        write_text(tmp("bad.json"), text);
        CHECK(read_fails(tmp("bad.json"), bad[i].want));
    }
    write_text(tmp("arr.json"), "[1, 2]");
    CHECK(read_fails(tmp("arr.json"), "not an stlrec file")); // not '{': read as msgpack
}

static void test_parts(void) {
    rng_state r;
    rng_seed(&r, 3);
    size_t n = 30, d = 4;
    stl_key keys[30];
    check_random_keys(&r, keys, n);
    float *x = make_rows(&r, n, d);
    stl_error err = {{0}};
    // three parts, one of them in JSON form and one empty
    CHECK_EQ_INT(embeddings_write_kind(tmp("p0"), "product", keys, 12, d, x, &err), 0);
    CHECK_EQ_INT(embeddings_write_kind(tmp("p1"), "product", keys + 12, 0, d, x, &err), 0);
    CHECK_EQ_INT(embeddings_write_json(tmp("p2"), keys + 12, 18, d, x + 12 * d, &err), 0);
    char list[800];
    snprintf(list, sizeof list, "%s,%s,%s", tmp("p0"), tmp("p1"), tmp("p2"));
    embeddings e;
    CHECK_EQ_INT(embeddings_read(list, &e, &err), 0);
    CHECK_EQ_INT(e.n, n);
    CHECK_EQ_INT(e.dim, d);
    CHECK(memcmp(e.data, x, n * d * sizeof *x) == 0);
    for (size_t i = 0; i < n; i++) CHECK_EQ_INT(embeddings_find(&e, keys[i].s), i);
    CHECK_STR_EQ(e.kind, ""); // the JSON part has no kind
    embeddings_free(&e);
    // a key in two parts, a dimension mismatch, an empty item
    snprintf(list, sizeof list, "%s,%s", tmp("p0"), tmp("p0"));
    CHECK(read_fails(list, "appears twice"));
    CHECK_EQ_INT(embeddings_write(tmp("p3"), keys + 20, 2, d + 1, x, &err), 0);
    snprintf(list, sizeof list, "%s,%s", tmp("p0"), tmp("p3"));
    CHECK(read_fails(list, "dimension 5"));
    snprintf(list, sizeof list, "%s,,%s", tmp("p0"), tmp("p3"));
    CHECK(read_fails(list, "empty file name"));
    snprintf(list, sizeof list, "%s,%s", tmp("p0"), tmp("missing"));
    CHECK(read_fails(list, "missing"));
    free(x);
}

static void test_writer_refuses(void) {
    rng_state r;
    rng_seed(&r, 4);
    stl_key keys[3];
    check_random_keys(&r, keys, 3);
    float x[6] = {1, 2, 3, 4, 5, 6};
    stl_error err = {{0}};
    x[4] = NAN;
    CHECK_EQ_INT(embeddings_write(tmp("w.emb"), keys, 3, 2, x, &err), -1);
    CHECK(strstr(err.msg, "row 2") && strstr(err.msg, "not finite"));
    CHECK_EQ_INT(embeddings_write_json(tmp("w.json"), keys, 3, 2, x, &err), -1);
    CHECK(access(tmp("w.emb"), F_OK) != 0 && access(tmp("w.json"), F_OK) != 0);
    x[4] = 5;
    keys[2] = keys[0];
    CHECK_EQ_INT(embeddings_write(tmp("w.emb"), keys, 3, 2, x, &err), -1);
    CHECK(strstr(err.msg, "appears twice") != NULL);
    keys[2].s[5] = 'G';
    CHECK_EQ_INT(embeddings_write(tmp("w.emb"), keys, 3, 2, x, &err), -1);
    CHECK(strstr(err.msg, "invalid key") != NULL);
    CHECK_EQ_INT(embeddings_write(tmp("w.emb"), keys, 1, 0, x, &err), -1);
    CHECK(access(tmp("w.emb"), F_OK) != 0);
}

/* Every truncation of a valid file, and targeted corruptions, are refused. */
static void test_corrupt_refused(void) {
    rng_state r;
    rng_seed(&r, 5);
    size_t n = 6, d = 3;
    stl_key keys[6];
    check_random_keys(&r, keys, n);
    float *x = make_rows(&r, n, d);
    stl_error err = {{0}};
    CHECK_EQ_INT(embeddings_write(tmp("good.emb"), keys, n, d, x, &err), 0);
    size_t len;
    unsigned char *b = check_slurp(tmp("good.emb"), &len);
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        check_spill(tmp("cut.emb"), b, cut);
        refused += read_fails(tmp("cut.emb"), cut ? "truncated" : "empty");
    }
    CHECK_EQ_INT(refused, len);
    // a trailing byte
    unsigned char *c = malloc(len + 1);
    memcpy(c, b, len);
    c[len] = 0xc0;
    check_spill(tmp("long.emb"), c, len + 1);
    CHECK(read_fails(tmp("long.emb"), "unexpected bytes"));
    // NaN in the matrix (the last float of the file)
    memcpy(c, b, len);
    float nan = NAN;
    memcpy(c + len - 4, &nan, 4);
    check_spill(tmp("nan.emb"), c, len);
    CHECK(read_fails(tmp("nan.emb"), "row 5"));
    // n says 7 (fixint 6 -> 7 right after the "n" key)
    memcpy(c, b, len);
    unsigned char *p = memmem(c, len, "\xa1n\x06", 3);
    CHECK(p != NULL);
    if (p) {
        p[2] = 7;
        check_spill(tmp("n.emb"), c, len);
        CHECK(read_fails(tmp("n.emb"), "6 keys for 7 rows"));
    }
    // a bad key character
    memcpy(c, b, len);
    p = memmem(c, len, keys[3].s, STL_KEY_LEN);
    if (p) {
        p[0] = 'Z';
        check_spill(tmp("key.emb"), c, len);
        CHECK(read_fails(tmp("key.emb"), "keys[3] is not a valid key"));
    }
    // dtype other than float32
    memcpy(c, b, len);
    p = memmem(c, len, "float32", 7);
    if (p) {
        memcpy(p, "float64", 7);
        check_spill(tmp("dt.emb"), c, len);
        CHECK(read_fails(tmp("dt.emb"), "dtype 'float64'"));
    }
    // dtype "float32\0junk": a C string comparison would see "float32"
    p = memmem(b, len, "\xa7" "float32", 8);
    CHECK(p != NULL);
    if (p) {
        size_t at = (size_t)(p - b), extra = 5;
        unsigned char *d = malloc(len + extra);
        memcpy(d, b, at);
        memcpy(d + at, "\xac" "float32\0junk", 13);
        memcpy(d + at + 13, b + at + 8, len - at - 8);
        check_spill(tmp("nul.emb"), d, len + extra);
        CHECK(read_fails(tmp("nul.emb"), "field 'dtype' holds a NUL byte"));
        free(d);
    }
    // newer version, other format
    memcpy(c, b, len);
    p = memmem(c, len, "version\x01", 8);
    if (p) {
        p[7] = 2;
        check_spill(tmp("v.emb"), c, len);
        CHECK(read_fails(tmp("v.emb"), "newer"));
    }
    memcpy(c, b, len);
    p = memmem(c, len, "stlrec-embeddings", 17);
    if (p) {
        memcpy(p, "stlrec-embeddingz", 17);
        check_spill(tmp("f.emb"), c, len);
        CHECK(read_fails(tmp("f.emb"), "expected stlrec-embeddings"));
    }
    CHECK(read_fails(tmp("nonexistent.emb"), "cannot open"));
    free(c); free(b); free(x);
}

/* Random byte flips of a valid file: refused, or read with the reader's
 * promises kept (shape consistent, keys valid and unique, values finite);
 * never a crash (run under SAN=1 too). */
static void test_fuzz(void) {
    rng_state r;
    rng_seed(&r, 7);
    size_t n = 5, d = 4;
    stl_key keys[5];
    check_random_keys(&r, keys, n);
    float *x = make_rows(&r, n, d);
    stl_error err = {{0}};
    CHECK_EQ_INT(embeddings_write(tmp("fz.emb"), keys, n, d, x, &err), 0);
    size_t len;
    unsigned char *good = check_slurp(tmp("fz.emb"), &len), *buf = malloc(len);
    // flips start after the header (format, version): the header checks are
    // mpk.c's, tested in test_mpk; here the fields this reader validates
    unsigned char *v = memmem(good, len, "version\x01", 8);
    size_t hdr = v ? (size_t)(v - good) + 8 : 0;
    CHECK(hdr > 0);
    size_t accepted = 0, broken = 0;
    for (int it = 0; it < 1000; it++) {
        memcpy(buf, good, len);
        int flips = 1 + (int)rng_uniform(&r, 4);
        for (int k = 0; k < flips; k++)
            buf[hdr + rng_uniform(&r, len - hdr)] ^= (unsigned char)(1 + rng_uniform(&r, 255));
        check_spill(tmp("fz2.emb"), buf, len);
        embeddings e;
        if (embeddings_read(tmp("fz2.emb"), &e, &err) != 0) continue;
        accepted++;
        for (size_t i = 0; i < e.n; i++) {
            broken += !key_valid_str(e.keys[i].s) || embeddings_find(&e, e.keys[i].s) != (long)i;
            for (size_t c = 0; c < e.dim; c++) broken += !isfinite(e.data[i * e.dim + c]);
        }
        embeddings_free(&e);
    }
    CHECK_EQ_INT(broken, 0);
    CHECK(accepted < 1000); // the flips did reach fields the reader checks
    free(good); free(buf); free(x);
}

static void test_inspect(void) {
    rng_state r;
    rng_seed(&r, 6);
    size_t n = 5, d = 3;
    stl_key keys[5];
    check_random_keys(&r, keys, n);
    float *x = make_rows(&r, n, d);
    stl_error err = {{0}};
    CHECK_EQ_INT(embeddings_write_kind(tmp("i.emb"), "product", keys, n, d, x, &err), 0);
    FILE *f = fopen(tmp("i.txt"), "w");
    CHECK_EQ_INT(embeddings_inspect(tmp("i.emb"), 0, f, &err), 0);
    fclose(f);
    size_t len;
    char *s = (char *)check_slurp(tmp("i.txt"), &len);
    s[len] = '\0';
    CHECK(strstr(s, "stlrec-embeddings version 1") && strstr(s, "product") && strstr(s, keys[0].s));
    free(s);
    f = fopen(tmp("i.json"), "w");
    CHECK_EQ_INT(embeddings_inspect(tmp("i.emb"), 1, f, &err), 0);
    fclose(f);
    json_error_t je;
    json_t *j = json_load_file(tmp("i.json"), 0, &je);
    CHECK(j != NULL);
    json_t *em = json_object_get(j, "embeddings");
    CHECK(json_integer_value(json_object_get(j, "n")) == 5 && json_object_size(em) == 5);
    json_t *row = json_object_get(em, keys[2].s);
    CHECK(row && json_array_size(row) == 3 &&
          (float)json_number_value(json_array_get(row, 1)) == x[2 * 3 + 1]);
    json_decref(j);
    CHECK_EQ_INT(embeddings_inspect(tmp("nope"), 0, stdout, &err), -1);
    free(x);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_round_trip_msgpack);
    RUN(test_round_trip_json);
    RUN(test_book_json_forms);
    RUN(test_parts);
    RUN(test_writer_refuses);
    RUN(test_corrupt_refused);
    RUN(test_fuzz);
    RUN(test_inspect);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}

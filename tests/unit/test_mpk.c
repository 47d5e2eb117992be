/* test_mpk.c — the msgpack header convention: round trip, lookups by key in
 * any order, wrong format, newer version, truncation at every length, and
 * crafted counts that must be refused before anything is allocated; and the
 * writer's counted maps: nested maps get the number of keys packed (checked
 * against msgpack-c's own unpacker), and a writer whose two runs differ or
 * whose maps do not balance writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/mpk.h"
#include "io/mpk_writer.h"

static char path[256];

static void sample_fields(mpk_writer *w, const void *ctx) {
    (void)ctx;
    /* fields deliberately not in the order a reader asks for them */
    mpk_key(w, "blob");
    unsigned char data[100];
    for (int i = 0; i < 100; i++) data[i] = (unsigned char)i;
    mpk_pack_bin(&w->pk, data, sizeof data);
    mpk_key(w, "name");
    mpk_pack_cstr(&w->pk, "hello");
    mpk_key(w, "count");
    msgpack_pack_uint64(&w->pk, 1234567890123ULL);
    mpk_key(w, "list");
    msgpack_pack_array(&w->pk, 3);
    msgpack_pack_int(&w->pk, -1);
    msgpack_pack_double(&w->pk, 2.5);
    msgpack_pack_nil(&w->pk);
}

static void write_sample(const char *format, uint32_t version) {
    stl_error e;
    CHECK_EQ_INT(mpk_write(path, format, version, sample_fields, NULL, &e), 0);
}

/* Nested maps of 0, 1 and 20 keys inside an array, then a key after them:
 * each map header must say how many keys follow it. */
static void nested_fields(mpk_writer *w, const void *ctx) {
    (void)ctx;
    mpk_key(w, "maps");
    msgpack_pack_array(&w->pk, 3);
    static const int sizes[3] = {0, 1, 20};
    for (int m = 0; m < 3; m++) {
        mpk_map_begin(w);
        for (int k = 0; k < sizes[m]; k++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", k);
            mpk_key(w, key);
            mpk_map_begin(w); /* a map as a value: {"v": k} */
            mpk_key(w, "v");
            msgpack_pack_int(&w->pk, k);
            mpk_map_end(w);
        }
        mpk_map_end(w);
    }
    mpk_key(w, "after");
    msgpack_pack_true(&w->pk);
}

static void test_counted_maps(void) {
    stl_error e;
    CHECK_EQ_INT(mpk_write(path, "stlrec-test", 1, nested_fields, NULL, &e), 0);
    mpk_file f;
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 1, &e), 0);
    CHECK_EQ_INT(f.root->via.map.size, 4); /* format, version, maps, after */
    const msgpack_object_array *arr;
    CHECK_EQ_INT(mpk_get_array(&f, f.root, "maps", &arr, &e), 0);
    CHECK_EQ_INT(arr->size, 3);
    CHECK(arr->ptr[0].type == MSGPACK_OBJECT_MAP && arr->ptr[0].via.map.size == 0);
    CHECK(arr->ptr[1].type == MSGPACK_OBJECT_MAP && arr->ptr[1].via.map.size == 1);
    CHECK(arr->ptr[2].type == MSGPACK_OBJECT_MAP && arr->ptr[2].via.map.size == 20);
    const msgpack_object *inner = mpk_get(&arr->ptr[2], "k19");
    CHECK(inner && inner->type == MSGPACK_OBJECT_MAP && inner->via.map.size == 1);
    const msgpack_object *v = inner ? mpk_get(inner, "v") : NULL;
    CHECK(v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == 19);
    const msgpack_object *after = mpk_get(f.root, "after");
    CHECK(after && after->type == MSGPACK_OBJECT_BOOLEAN && after->via.boolean);
    mpk_file_close(&f);
}

/* A writer that packs one more key on its second run, and one that leaves a
 * map open: both are refused and leave no file. */
static int runs;
static void growing_fields(mpk_writer *w, const void *ctx) {
    (void)ctx;
    int n = runs++ ? 2 : 1;
    for (int i = 0; i < n; i++) {
        mpk_key(w, i ? "b" : "a");
        msgpack_pack_int(&w->pk, i);
    }
}
static void unbalanced_fields(mpk_writer *w, const void *ctx) {
    (void)ctx;
    mpk_key(w, "open");
    mpk_map_begin(w);
}

static void test_writer_misuse(void) {
    stl_error e;
    unlink(path);
    runs = 0;
    CHECK_EQ_INT(mpk_write(path, "stlrec-test", 1, growing_fields, NULL, &e), -1);
    CHECK(strstr(e.msg, path) && strstr(e.msg, "nothing written"));
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(mpk_write(path, "stlrec-test", 1, unbalanced_fields, NULL, &e), -1);
    CHECK(access(path, F_OK) != 0);
}

static void test_round_trip(void) {
    write_sample("stlrec-test", 1);
    mpk_file f;
    stl_error e;
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 1, &e), 0);
    CHECK_STR_EQ(f.format, "stlrec-test");
    CHECK_EQ_INT(f.version, 1);
    uint64_t count = 0;
    CHECK_EQ_INT(mpk_get_u64(&f, f.root, "count", &count, &e), 0);
    CHECK(count == 1234567890123ULL);
    char name[16];
    CHECK_EQ_INT(mpk_get_strcpy(&f, f.root, "name", name, sizeof name, &e), 0);
    CHECK_STR_EQ(name, "hello");
    const void *blob;
    size_t len;
    CHECK_EQ_INT(mpk_get_bin(&f, f.root, "blob", &blob, &len, 100, &e), 0);
    CHECK(len == 100 && ((const unsigned char *)blob)[99] == 99);
    /* zero-copy: the blob points into the mapping */
    CHECK((const char *)blob > (const char *)f.map && (const char *)blob < (const char *)f.map + f.size);
    CHECK_EQ_INT(mpk_get_bin(&f, f.root, "blob", &blob, &len, 99, &e), -1);
    const msgpack_object_array *arr;
    CHECK_EQ_INT(mpk_get_array(&f, f.root, "list", &arr, &e), 0);
    CHECK_EQ_INT(arr->size, 3);
    CHECK_EQ_INT(mpk_get_u64(&f, f.root, "missing", &count, &e), -1);
    CHECK(strstr(e.msg, "missing") && strstr(e.msg, path));
    CHECK_EQ_INT(mpk_get_u64(&f, f.root, "name", &count, &e), -1);
    mpk_file_close(&f);
}

static void test_wrong_format_and_newer_version(void) {
    mpk_file f;
    stl_error e;
    write_sample("stlrec-other", 1);
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 1, &e), -1);
    CHECK(strstr(e.msg, "stlrec-other") && strstr(e.msg, "expected stlrec-test"));
    write_sample("stlrec-test", 3);
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 2, &e), -1);
    CHECK(strstr(e.msg, "newer"));
    CHECK_EQ_INT(mpk_file_open(&f, path, NULL, 0, &e), 0);
    mpk_file_close(&f);
    write_sample("stlrec-test", 0); /* version 0 does not exist */
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 1, &e), -1);
    CHECK(strstr(e.msg, "bad version 0") != NULL);
    FILE *o = fopen(path, "w");
    fputs("<html>not msgpack</html>", o);
    fclose(o);
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 1, &e), -1);
    CHECK(strstr(e.msg, "not an stlrec file"));
    o = fopen(path, "w");
    fclose(o);
    CHECK_EQ_INT(mpk_file_open(&f, path, "stlrec-test", 1, &e), -1);
    CHECK(strstr(e.msg, "empty"));
}

/* Every proper prefix of a valid file is refused (never read past its end:
 * this runs under ASan in `make SAN=1 test`). */
static void test_truncated_everywhere(void) {
    write_sample("stlrec-test", 1);
    FILE *in = fopen(path, "rb");
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    CHECK(n > 100);
    int refused = 0;
    for (size_t cut = 1; cut < n; cut++) {
        stl_error e;
        void *copy = malloc(cut); /* exact size: ASan sees any over-read */
        memcpy(copy, buf, cut);
        refused += mpk_check_bounds(copy, cut, &e) != 0;
        free(copy);
    }
    CHECK_EQ_INT(refused, (long long)(n - 1));
    stl_error e;
    CHECK_EQ_INT(mpk_check_bounds(buf, n, &e), 0);
}

/* A 6-byte buffer claiming a 2^32-1 element array, or a 4 GiB bin, is refused
 * by the bounds check before msgpack-c would allocate for it. */
static void test_crafted_counts(void) {
    stl_error e;
    unsigned char arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_EQ_INT(mpk_check_bounds(arr32, sizeof arr32, &e), -1);
    unsigned char map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x01};
    CHECK_EQ_INT(mpk_check_bounds(map32, sizeof map32, &e), -1);
    unsigned char bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
    CHECK_EQ_INT(mpk_check_bounds(bin32, sizeof bin32, &e), -1);
    unsigned char bad[] = {0xc1};
    CHECK_EQ_INT(mpk_check_bounds(bad, sizeof bad, &e), -1);
    unsigned char trailing[] = {0x01, 0x02};
    CHECK_EQ_INT(mpk_check_bounds(trailing, sizeof trailing, &e), -1);
    unsigned char ok[] = {0x92, 0x01, 0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ_INT(mpk_check_bounds(ok, sizeof ok, &e), 0); /* [1, fixext16] */
    msgpack_unpacked up;
    CHECK_EQ_INT(mpk_unpack_buffer(ok, sizeof ok, &up, "ok", &e), 0);
    CHECK(up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size == 2);
    CHECK(up.data.via.array.ptr[1].type == MSGPACK_OBJECT_EXT);
    msgpack_unpacked_destroy(&up);
    /* nesting: MPK_MAX_NESTING arrays deep is fine, one more is refused by
     * name (msgpack-c alone gives up at 32 with "status -2"); a wide array
     * of shallow arrays is not deep, however long */
    unsigned char deep[MPK_MAX_NESTING + 2];
    memset(deep, 0x91, sizeof deep); /* [[[ ... nil ]]] */
    deep[MPK_MAX_NESTING] = 0xc0;
    CHECK_EQ_INT(mpk_check_bounds(deep, MPK_MAX_NESTING + 1, &e), 0);
    deep[MPK_MAX_NESTING] = 0x91;
    deep[MPK_MAX_NESTING + 1] = 0xc0;
    CHECK_EQ_INT(mpk_check_bounds(deep, MPK_MAX_NESTING + 2, &e), -1);
    CHECK(strstr(e.msg, "nested deeper than") != NULL);
    unsigned char wide[3 + 2 * 100];
    wide[0] = 0xdc, wide[1] = 0, wide[2] = 100; /* array16 of 100 x [nil] */
    for (int i = 0; i < 100; i++) wide[3 + 2 * i] = 0x91, wide[4 + 2 * i] = 0xc0;
    CHECK_EQ_INT(mpk_check_bounds(wide, sizeof wide, &e), 0);
    unsigned char abyss[64];
    memset(abyss, 0x91, sizeof abyss);
    abyss[63] = 0xc0;
    CHECK_EQ_INT(mpk_unpack_buffer(abyss, sizeof abyss, &up, "abyss.bin", &e), -1);
    CHECK(strstr(e.msg, "abyss.bin") && strstr(e.msg, "nested deeper than 24 levels"));
}

int main(void) {
    snprintf(path, sizeof path, "%s/stl-mpk-%d.bin", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    RUN(test_round_trip);
    RUN(test_wrong_format_and_newer_version);
    RUN(test_truncated_everywhere);
    RUN(test_crafted_counts);
    RUN(test_counted_maps);
    RUN(test_writer_misuse);
    unlink(path);
    return check_summary();
}

/* fuzz_mpk.c — libFuzzer target for the msgpack layer every stlrec file
 * goes through (mpk.c).
 *
 * The bytes go to mpk_check_bounds and mpk_unpack_buffer; when they hold a
 * map, every typed lookup (u64, i64, f64, str, strcpy, bin, array, map) is
 * tried on "format", "version" and on each string key of the map. The input
 * is also opened as a file by mpk_file_open (mmap + header checks).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/mpk.h"

static void lookups(const mpk_file *f, const msgpack_object *map, const char *key) {
    stl_error err;
    uint64_t u;
    int64_t i;
    double d;
    const char *s;
    size_t n;
    char buf[64];
    const void *bin;
    const msgpack_object_array *arr;
    const msgpack_object *m;
    mpk_get(map, key);
    mpk_get_u64(f, map, key, &u, &err);
    mpk_get_i64(f, map, key, &i, &err);
    mpk_get_f64(f, map, key, &d, &err);
    if (mpk_get_str(f, map, key, &s, &n, &err) == 0 && n && s[0] == s[n - 1]) buf[0] = s[0];
    if (mpk_get_strcpy(f, map, key, buf, sizeof buf, &err) == 0 && strlen(buf) >= sizeof buf)
        abort();
    mpk_get_bin(f, map, key, &bin, &n, (size_t)-1, &err);
    mpk_get_bin(f, map, key, &bin, &n, 16, &err);
    if (mpk_get_array(f, map, key, &arr, &err) == 0)
        for (uint32_t k = 0; k < arr->size; k++) (void)arr->ptr[k].type;
    if (mpk_get_map(f, map, key, &m, &err) == 0) mpk_get(m, "format");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    stl_error err;
    mpk_check_bounds(data, size, &err);
    msgpack_unpacked up;
    if (mpk_unpack_buffer(data, size, &up, "fuzz", &err) == 0 &&
        up.data.type == MSGPACK_OBJECT_MAP) {
        mpk_file f;
        memset(&f, 0, sizeof f);
        f.path = "fuzz";
        f.root = &up.data;
        lookups(&f, f.root, "format");
        lookups(&f, f.root, "version");
        const msgpack_object_map *mp = &up.data.via.map;
        for (uint32_t k = 0; k < mp->size && k < 64; k++) {
            const msgpack_object *key = &mp->ptr[k].key;
            /* No reader looks up "" (and mpk_get's memcmp may not take the
             * NULL that msgpack-c gives an empty string). */
            if (key->type != MSGPACK_OBJECT_STR || key->via.str.size == 0 ||
                key->via.str.size >= 64)
                continue;
            char name[64];
            memcpy(name, key->via.str.ptr, key->via.str.size);
            name[key->via.str.size] = '\0';
            lookups(&f, f.root, name);
        }
    }
    msgpack_unpacked_destroy(&up);

    char path[256];
    fuzz_file("file.mpk", data, size, path, sizeof path);
    mpk_file f;
    if (mpk_file_open(&f, path, NULL, 0, &err) == 0) mpk_file_close(&f);
    if (mpk_file_open(&f, path, "stlrec-triplets", 1, &err) == 0) mpk_file_close(&f);
    return 0;
}

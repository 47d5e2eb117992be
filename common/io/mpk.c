/* mpk.c — stlrec's msgpack header convention on msgpack-c (see mpk.h).
 *
 * The bounds check walks the raw bytes once before msgpack-c sees them: it
 * keeps the number of objects still to read and fails as soon as a declared
 * length or element count cannot fit in the bytes that remain. Only then is
 * the buffer unpacked (str/bin objects point into it, zero-copy).
 */
#include "io/mpk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/mapped_file.h"

/* ---- bounds check ---- */

static uint64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

int mpk_check_bounds(const void *buf, size_t len, stl_error *err) {
    const unsigned char *p = buf;
    size_t pos = 0;
    uint64_t pending = 1;
    /* objects left in each open container, outermost first (left[0]: the
     * one top-level object) */
    uint64_t left[MPK_MAX_NESTING + 1];
    int depth = 0;
    left[0] = 1;
    while (pending > 0) {
        while (left[depth] == 0) depth--; /* pending > 0: some level has one left */
        if (pos >= len) return stl_fail(err, "truncated (file ends at byte %zu inside an object)", len);
        unsigned char t = p[pos++];
        pending--;
        left[depth]--;
        uint64_t skip = 0, count = 0;
        int hdr = 0; /* bytes of length field */
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            skip = 0;
        } else if (t >= 0x80 && t <= 0x8f) {
            count = 2u * (t & 0x0f);
        } else if (t >= 0x90 && t <= 0x9f) {
            count = t & 0x0f;
        } else if (t >= 0xa0 && t <= 0xbf) {
            skip = t & 0x1f;
        } else {
            switch (t) {
            case 0xc4: case 0xd9: hdr = 1; break;
            case 0xc5: case 0xda: hdr = 2; break;
            case 0xc6: case 0xdb: hdr = 4; break;
            case 0xc7: hdr = 1; skip = 1; break; /* ext8: len + type */
            case 0xc8: hdr = 2; skip = 1; break;
            case 0xc9: hdr = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xde: {
                if (len - pos < 2) return stl_fail(err, "truncated at byte %zu", pos);
                uint64_t n = be(p + pos, 2);
                pos += 2;
                count = t == 0xde ? 2 * n : n;
                break;
            }
            case 0xdd: case 0xdf: {
                if (len - pos < 4) return stl_fail(err, "truncated at byte %zu", pos);
                uint64_t n = be(p + pos, 4);
                pos += 4;
                count = t == 0xdf ? 2 * n : n;
                break;
            }
            default:
                return stl_fail(err, "corrupt: invalid msgpack type byte 0x%02x at offset %zu", t, pos - 1);
            }
        }
        if (hdr) {
            if (len - pos < (size_t)hdr) return stl_fail(err, "truncated at byte %zu", pos);
            skip += be(p + pos, hdr);
            pos += (size_t)hdr;
        }
        if (skip > len - pos)
            return stl_fail(err, "truncated: an object at offset %zu declares %llu bytes, only %zu remain",
                            pos, (unsigned long long)skip, len - pos);
        pos += (size_t)skip;
        if (count > 0) {
            if (depth == MPK_MAX_NESTING)
                return stl_fail(err, "corrupt: containers nested deeper than %d levels at offset "
                                "%zu", MPK_MAX_NESTING, pos);
            left[++depth] = count;
        }
        pending += count;
        if (pending > len - pos)
            return stl_fail(err, "truncated or corrupt: %llu more objects declared at offset %zu, only %zu bytes remain",
                            (unsigned long long)pending, pos, len - pos);
    }
    if (pos != len) return stl_fail(err, "corrupt: %zu unexpected bytes after the end of the data", len - pos);
    return 0;
}

int mpk_unpack_buffer(const void *buf, size_t len, msgpack_unpacked *up, const char *what,
                      stl_error *err) {
    msgpack_unpacked_init(up);
    if (len == 0) return stl_fail(err, "%s: empty file", what);
    if (mpk_check_bounds(buf, len, err) != 0) return stl_fail_prefix(err, "%s", what);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(up, buf, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(up);
        msgpack_unpacked_init(up);
        return stl_fail(err, "%s: corrupt msgpack data (unpack status %d)", what, (int)r);
    }
    return 0;
}

/* ---- reading ---- */

const msgpack_object *mpk_get(const msgpack_object *map, const char *key) {
    if (!map || map->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            (klen == 0 || memcmp(k->via.str.ptr, key, klen) == 0)) /* "" has a NULL ptr */
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

int mpk_file_open(mpk_file *f, const char *path, const char *expected_format, uint32_t max_version,
                  stl_error *err) {
    memset(f, 0, sizeof *f);
    msgpack_unpacked_init(&f->up);
    f->path = path;
    mapped_file mf;
    if (mapped_file_open(&mf, path, err) != 0) return -1;
    f->map = mf.data;
    f->size = mf.size;
    const unsigned char *b = f->map;
    if (!((b[0] >= 0x80 && b[0] <= 0x8f) || b[0] == 0xde || b[0] == 0xdf)) {
        mpk_file_close(f);
        return stl_fail(err, "%s: not an stlrec file (does not start with a msgpack map)", path);
    }
    if (mpk_unpack_buffer(f->map, f->size, &f->up, path, err) != 0) {
        mpk_file_close(f);
        return -1;
    }
    f->root = &f->up.data;
    const msgpack_object *fmt = mpk_get(f->root, "format");
    const msgpack_object *ver = mpk_get(f->root, "version");
    if (!fmt || fmt->type != MSGPACK_OBJECT_STR || fmt->via.str.size >= sizeof f->format || !ver ||
        ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        mpk_file_close(f);
        return stl_fail(err, "%s: not an stlrec file (no 'format'/'version' header)", path);
    }
    memcpy(f->format, fmt->via.str.ptr, fmt->via.str.size);
    f->format[fmt->via.str.size] = '\0';
    if (ver->via.u64 == 0 || ver->via.u64 > UINT32_MAX) {
        stl_fail(err, "%s: bad version %llu", path, (unsigned long long)ver->via.u64);
        mpk_file_close(f);
        return -1;
    }
    f->version = (uint32_t)ver->via.u64;
    if (expected_format && strcmp(f->format, expected_format) != 0) {
        stl_fail(err, "%s: is a %s file, expected %s", path, f->format, expected_format);
        mpk_file_close(f);
        return -1;
    }
    if (max_version && f->version > max_version) {
        stl_fail(err, "%s: %s version %u is newer than this stlrec reads (up to %u): update stlrec",
                 path, f->format, f->version, max_version);
        mpk_file_close(f);
        return -1;
    }
    return 0;
}

void mpk_file_close(mpk_file *f) {
    msgpack_unpacked_destroy(&f->up);
    mapped_file mf = {f->map, f->size};
    mapped_file_close(&mf);
    f->map = NULL;
    f->root = NULL;
}

static const msgpack_object *need(const mpk_file *f, const msgpack_object *map, const char *key,
                                  stl_error *err) {
    const msgpack_object *o = mpk_get(map, key);
    if (!o) stl_fail(err, "%s: field '%s' is missing", f ? f->path : "(buffer)", key);
    return o;
}

static int wrong(const mpk_file *f, const char *key, const char *want, stl_error *err) {
    return stl_fail(err, "%s: field '%s' is not %s", f ? f->path : "(buffer)", key, want);
}

int mpk_get_u64(const mpk_file *f, const msgpack_object *map, const char *key, uint64_t *out,
                stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return wrong(f, key, "a non-negative integer", err);
    *out = o->via.u64;
    return 0;
}

int mpk_get_i64(const mpk_file *f, const msgpack_object *map, const char *key, int64_t *out,
                stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) *out = o->via.i64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) *out = (int64_t)o->via.u64;
    else return wrong(f, key, "an integer", err);
    return 0;
}

int mpk_get_f64(const mpk_file *f, const msgpack_object *map, const char *key, double *out,
                stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) *out = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) *out = (double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) *out = (double)o->via.i64;
    else return wrong(f, key, "a number", err);
    return 0;
}

int mpk_get_str(const mpk_file *f, const msgpack_object *map, const char *key, const char **ptr,
                size_t *len, stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_STR) return wrong(f, key, "a string", err);
    *ptr = o->via.str.ptr;
    *len = o->via.str.size;
    return 0;
}

int mpk_get_strcpy(const mpk_file *f, const msgpack_object *map, const char *key, char *buf,
                   size_t cap, stl_error *err) {
    const char *p = NULL;
    size_t n = 0;
    if (mpk_get_str(f, map, key, &p, &n, err) != 0) return -1;
    if (n >= cap) return stl_fail(err, "%s: field '%s' is too long (%zu bytes)", f ? f->path : "(buffer)", key, n);
    /* a NUL inside would cut the C string short: "float32\0junk" is not "float32" */
    if (memchr(p, '\0', n))
        return stl_fail(err, "%s: field '%s' holds a NUL byte", f ? f->path : "(buffer)", key);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

int mpk_get_bin(const mpk_file *f, const msgpack_object *map, const char *key, const void **ptr,
                size_t *len, size_t expect_len, stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_BIN) return wrong(f, key, "binary data", err);
    if (expect_len != (size_t)-1 && o->via.bin.size != expect_len)
        return stl_fail(err, "%s: field '%s' holds %u bytes, the header says %zu",
                        f ? f->path : "(buffer)", key, o->via.bin.size, expect_len);
    *ptr = o->via.bin.ptr;
    if (len) *len = o->via.bin.size;
    return 0;
}

int mpk_get_array(const mpk_file *f, const msgpack_object *map, const char *key,
                  const msgpack_object_array **out, stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_ARRAY) return wrong(f, key, "an array", err);
    *out = &o->via.array;
    return 0;
}

int mpk_get_map(const mpk_file *f, const msgpack_object *map, const char *key,
                const msgpack_object **out, stl_error *err) {
    const msgpack_object *o = need(f, map, key, err);
    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_MAP) return wrong(f, key, "a map", err);
    *out = o;
    return 0;
}

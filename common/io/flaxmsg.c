/* flaxmsg.c — ndarrays in Flax's msgpack encoding (see flaxmsg.h).
 *
 * Packing writes the payload's small header (3-array, shape, dtype, bin
 * header) into a stack buffer first, so the ext header can give the payload's
 * exact length, then streams the raw bytes. Decoding bounds-checks the
 * payload with mpk_unpack_buffer before reading any size from it; the raw
 * bytes are the payload's last nbytes (the bin is its last element), so the
 * returned pointer never depends on how msgpack-c stores bin objects.
 */
#include "io/flaxmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/mpk.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "flaxmsg: Flax arrays are little-endian; this host is not"
#endif

/* ---- packing ---- */

typedef struct {
    unsigned char b[128];
    size_t n;
} small_buf;

static int small_write(void *data, const char *buf, size_t len) {
    small_buf *s = data;
    if (len > sizeof s->b - s->n) return -1;
    memcpy(s->b + s->n, buf, len);
    s->n += len;
    return 0;
}

int flaxmsg_pack_array(msgpack_packer *pk, const int *shape, int ndim, const char *dtype,
                       const void *data, size_t nbytes) {
    if (ndim < 0 || ndim > FLAXMSG_MAX_DIMS) return -1;
    small_buf hdr = {.n = 0};
    msgpack_packer hp;
    msgpack_packer_init(&hp, &hdr, small_write);
    int rc = 0;
    rc |= msgpack_pack_array(&hp, 3);
    rc |= msgpack_pack_array(&hp, (size_t)ndim);
    for (int i = 0; i < ndim; i++) rc |= msgpack_pack_uint64(&hp, (uint64_t)shape[i]);
    size_t dl = strlen(dtype);
    rc |= msgpack_pack_str(&hp, dl);
    rc |= msgpack_pack_str_body(&hp, dtype, dl);
    rc |= msgpack_pack_bin(&hp, nbytes);
    if (rc) return -1;
    rc |= msgpack_pack_ext(pk, hdr.n + nbytes, FLAXMSG_EXT_NDARRAY);
    rc |= msgpack_pack_ext_body(pk, hdr.b, hdr.n);
    if (nbytes) rc |= msgpack_pack_ext_body(pk, data, nbytes);
    return rc ? -1 : 0;
}

int flaxmsg_pack_f32(msgpack_packer *pk, const int *shape, int ndim, const float *data) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    return flaxmsg_pack_array(pk, shape, ndim, "float32", data, n * sizeof(float));
}

int flaxmsg_pack_i32_scalar(msgpack_packer *pk, int32_t v) {
    return flaxmsg_pack_array(pk, NULL, 0, "int32", &v, sizeof v);
}

int flaxmsg_pack_i64_scalar(msgpack_packer *pk, int64_t v) {
    return flaxmsg_pack_array(pk, NULL, 0, "int64", &v, sizeof v);
}

/* ---- decoding ---- */

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    {"float32", 4}, {"float64", 8}, {"float16", 2}, {"bfloat16", 2}, {"int8", 1},
    {"int16", 2},   {"int32", 4},   {"int64", 8},   {"uint8", 1},    {"uint16", 2},
    {"uint32", 4},  {"uint64", 8},  {"bool", 1},
};

void flaxmsg_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t n = 0;
    if (cap == 0) return;
    buf[0] = '\0';
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static const char *obj_type_name(msgpack_object_type t) {
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "string";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_EXT: return "ext";
    }
    return "unknown";
}

static int decode_payload(const msgpack_object *p, flaxmsg_array *a, const unsigned char *pay,
                          size_t pay_len, const char *what, stl_error *err) {
    if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 3)
        return stl_fail(err, "%s: not a Flax array (payload is not [shape, dtype, bytes])", what);
    const msgpack_object *sh = &p->via.array.ptr[0], *dt = &p->via.array.ptr[1],
                         *raw = &p->via.array.ptr[2];
    if (sh->type != MSGPACK_OBJECT_ARRAY)
        return stl_fail(err, "%s: array shape is a %s, not an array", what, obj_type_name(sh->type));
    if (sh->via.array.size > FLAXMSG_MAX_DIMS)
        return stl_fail(err, "%s: %u dimensions (at most %d)", what, sh->via.array.size,
                        FLAXMSG_MAX_DIMS);
    a->ndim = (int)sh->via.array.size;
    a->count = 1;
    for (int i = 0; i < a->ndim; i++) {
        const msgpack_object *d = &sh->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > ((uint64_t)1 << 40))
            return stl_fail(err, "%s: bad dimension %d in shape", what, i);
        a->shape[i] = (int64_t)d->via.u64;
        if (a->shape[i] && a->count > ((size_t)1 << 48) / (size_t)a->shape[i])
            return stl_fail(err, "%s: shape too large", what);
        a->count *= (size_t)a->shape[i];
    }
    const char *dp;
    size_t dl;
    if (dt->type == MSGPACK_OBJECT_STR) {
        dp = dt->via.str.ptr;
        dl = dt->via.str.size;
    } else if (dt->type == MSGPACK_OBJECT_BIN) {
        dp = dt->via.bin.ptr;
        dl = dt->via.bin.size;
    } else {
        return stl_fail(err, "%s: dtype is a %s, not a string", what, obj_type_name(dt->type));
    }
    if (dl == 0 || dl >= sizeof a->dtype) return stl_fail(err, "%s: bad dtype name", what);
    memcpy(a->dtype, dp, dl);
    a->dtype[dl] = '\0';
    a->itemsize = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(a->dtype, dtypes[i].name) == 0) a->itemsize = dtypes[i].size;
    if (!a->itemsize) return stl_fail(err, "%s: unsupported dtype '%s'", what, a->dtype);
    size_t n;
    if (raw->type == MSGPACK_OBJECT_BIN)
        n = raw->via.bin.size;
    else if (raw->type == MSGPACK_OBJECT_STR)
        n = raw->via.str.size;
    else
        return stl_fail(err, "%s: array data is a %s, not bytes", what, obj_type_name(raw->type));
    if (n != a->count * a->itemsize)
        return stl_fail(err, "%s: %zu data bytes for %s of %zu elements (want %zu)", what, n,
                        a->dtype, a->count, a->count * a->itemsize);
    if (n > pay_len) return stl_fail(err, "%s: corrupt array payload", what);
    a->nbytes = n;
    a->data = pay + pay_len - n; /* the bytes are the payload's last element */
    return 0;
}

int flaxmsg_decode(const msgpack_object *o, flaxmsg_array *a, const char *what, stl_error *err) {
    memset(a, 0, sizeof *a);
    if (o->type != MSGPACK_OBJECT_EXT)
        return stl_fail(err, "%s: a msgpack %s, not a Flax array (ext type 1)", what,
                        obj_type_name(o->type));
    if (o->via.ext.type != FLAXMSG_EXT_NDARRAY && o->via.ext.type != FLAXMSG_EXT_NPSCALAR)
        return stl_fail(err, "%s: msgpack ext type %d, not a Flax array (ext type 1)", what,
                        (int)o->via.ext.type);
    const unsigned char *pay = (const unsigned char *)o->via.ext.ptr;
    size_t pay_len = o->via.ext.size;
    msgpack_unpacked up;
    if (mpk_unpack_buffer(pay, pay_len, &up, what, err) != 0) {
        msgpack_unpacked_destroy(&up);
        return -1;
    }
    int rc = decode_payload(&up.data, a, pay, pay_len, what, err);
    msgpack_unpacked_destroy(&up);
    return rc;
}

int flaxmsg_get_count(const msgpack_object *o, int64_t *out, const char *what, stl_error *err) {
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX) return stl_fail(err, "%s: %llu is too large", what,
                                                     (unsigned long long)o->via.u64);
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return stl_fail(err, "%s: negative (%lld)", what, (long long)o->via.i64);
    flaxmsg_array a;
    if (flaxmsg_decode(o, &a, what, err) != 0) return -1;
    if (a.ndim != 0) {
        char s[64];
        flaxmsg_shape_str(a.shape, a.ndim, s, sizeof s);
        return stl_fail(err, "%s: shape %s, expected [] (a scalar)", what, s);
    }
    int64_t v;
    if (strcmp(a.dtype, "int32") == 0) {
        int32_t x;
        memcpy(&x, a.data, sizeof x);
        v = x;
    } else if (strcmp(a.dtype, "uint32") == 0) {
        uint32_t x;
        memcpy(&x, a.data, sizeof x);
        v = x;
    } else if (strcmp(a.dtype, "int64") == 0) {
        memcpy(&v, a.data, sizeof v);
    } else if (strcmp(a.dtype, "uint64") == 0) {
        uint64_t x;
        memcpy(&x, a.data, sizeof x);
        if (x > INT64_MAX) return stl_fail(err, "%s: too large", what);
        v = (int64_t)x;
    } else {
        return stl_fail(err, "%s: dtype %s, expected an integer (int32)", what, a.dtype);
    }
    if (v < 0) return stl_fail(err, "%s: negative (%lld)", what, (long long)v);
    *out = v;
    return 0;
}

/* ---- in-memory output ---- */

static int buffer_write(void *data, const char *buf, size_t len) {
    flaxmsg_buffer *b = data;
    if (b->failed) return -1;
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap - b->len < len) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return -1;
            }
            cap *= 2;
        }
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->failed = 1;
            return -1;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, buf, len);
    b->len += len;
    return 0;
}

void flaxmsg_buffer_init(flaxmsg_buffer *b) {
    memset(b, 0, sizeof *b);
    msgpack_packer_init(&b->pk, b, buffer_write);
}

void flaxmsg_buffer_free(flaxmsg_buffer *b) {
    free(b->buf);
    memset(b, 0, sizeof *b);
}

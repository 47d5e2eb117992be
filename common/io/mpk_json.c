/* mpk_json.c — msgpack to JSON for inspection (see mpk_json.h). */
#include "io/mpk_json.h"

#include <math.h>
#include <string.h>

void json_print_string(FILE *out, const char *s, size_t n) {
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20) fprintf(out, "\\u%04x", c);
            else fputc(c, out);
        }
    }
    fputc('"', out);
}

static void newline(FILE *out, int indent, int depth) {
    if (indent < 0) return;
    fputc('\n', out);
    for (int i = 0; i < indent * depth; i++) fputc(' ', out);
}

/* Flax ndarray: ext type 1 whose payload is msgpack [shape, dtype, bytes]. */
static int print_ndarray(FILE *out, const msgpack_object_ext *x) {
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int ok = 0;
    if (msgpack_unpack_next(&up, x->ptr, x->size, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size == 3) {
        const msgpack_object *shape = &up.data.via.array.ptr[0], *dtype = &up.data.via.array.ptr[1];
        if (shape->type == MSGPACK_OBJECT_ARRAY && dtype->type == MSGPACK_OBJECT_STR) {
            fputs("{\"ndarray\": {\"shape\": ", out);
            mpk_json_print(out, shape, -1);
            fputs(", \"dtype\": ", out);
            json_print_string(out, dtype->via.str.ptr, dtype->via.str.size);
            fputs("}}", out);
            ok = 1;
        }
    }
    msgpack_unpacked_destroy(&up);
    return ok;
}

static void print_rec(FILE *out, const msgpack_object *o, int indent, int depth) {
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: fputs("null", out); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", out); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(out, "%llu", (unsigned long long)o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(out, "%lld", (long long)o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(o->via.f64)) fprintf(out, "%.9g", o->via.f64);
        else fputs("null", out);
        break;
    case MSGPACK_OBJECT_STR: json_print_string(out, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_BIN: fprintf(out, "{\"bin_bytes\": %u}", o->via.bin.size); break;
    case MSGPACK_OBJECT_EXT:
        if (o->via.ext.type != 1 || !print_ndarray(out, &o->via.ext))
            fprintf(out, "{\"ext_type\": %d, \"bytes\": %u}", o->via.ext.type, o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        fputc('[', out);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) fputs(", ", out);
            print_rec(out, &o->via.array.ptr[i], -1, 0);
        }
        fputc(']', out);
        break;
    case MSGPACK_OBJECT_MAP:
        fputc('{', out);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (i) fputc(',', out);
            newline(out, indent, depth + 1);
            if (kv->key.type == MSGPACK_OBJECT_STR) json_print_string(out, kv->key.via.str.ptr, kv->key.via.str.size);
            else {
                fputc('"', out);
                print_rec(out, &kv->key, -1, 0);
                fputc('"', out);
            }
            fputs(": ", out);
            print_rec(out, &kv->val, indent, depth + 1);
        }
        if (o->via.map.size) newline(out, indent, depth);
        fputc('}', out);
        break;
    }
}

void mpk_json_print(FILE *out, const msgpack_object *o, int indent) { print_rec(out, o, indent, 0); }

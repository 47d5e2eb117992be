/* mpk_writer.c — counted msgpack maps (mpk_writer.h), and stlrec files made
 * of them written atomically.
 *
 * Both runs share one packer whose callback either drops the bytes (counting
 * run) or hands them to the output (writing run), and counts them either
 * way. Map i's size is counts[i], in the order the maps begin.
 */
#include "io/mpk_writer.h"

#include "io/atomic.h"

#include <stdlib.h>
#include <string.h>

static int sink(void *data, const char *buf, size_t len) {
    mpk_writer *w = data;
    w->offset += len;
    if (!w->writing || w->failed) return 0;
    if (w->out(w->out_data, buf, len) != 0) {
        w->failed = 1;
        return -1;
    }
    return 0;
}

void mpk_key(mpk_writer *w, const char *key) {
    if (w->depth < 1) {
        w->misuse = 1;
        return;
    }
    (w->writing ? w->written : w->counts)[w->open[w->depth - 1]]++;
    mpk_pack_cstr(&w->pk, key);
}

void mpk_map_begin(mpk_writer *w) {
    if (w->depth >= MPK_MAX_DEPTH) {
        w->misuse = 1;
        return;
    }
    size_t i;
    if (!w->writing) {
        if (w->n_maps == w->cap_maps) {
            size_t cap = w->cap_maps ? 2 * w->cap_maps : 16;
            uint32_t *c = realloc(w->counts, cap * sizeof *c);
            if (!c) {
                w->failed = 1;
                return;
            }
            w->counts = c;
            w->cap_maps = cap;
        }
        i = w->n_maps++;
        w->counts[i] = 0;
    } else {
        if (w->next_map >= w->n_maps) {
            w->misuse = 1;
            return;
        }
        i = w->next_map++;
        msgpack_pack_map(&w->pk, w->counts[i]);
    }
    w->open[w->depth++] = i;
}

void mpk_map_end(mpk_writer *w) {
    if (w->depth < 1) w->misuse = 1;
    else w->depth--;
}

uint64_t mpk_offset(const mpk_writer *w) { return w->offset; }

void mpk_pack_cstr(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void mpk_pack_bin(msgpack_packer *pk, const void *data, size_t n) {
    msgpack_pack_bin(pk, n);
    if (n) msgpack_pack_bin_body(pk, data, n);
}

void mpk_kv_u64(mpk_writer *w, const char *key, uint64_t v) {
    mpk_key(w, key);
    msgpack_pack_uint64(&w->pk, v);
}

void mpk_kv_i64(mpk_writer *w, const char *key, int64_t v) {
    mpk_key(w, key);
    msgpack_pack_int64(&w->pk, v);
}

void mpk_kv_str(mpk_writer *w, const char *key, const char *v) {
    mpk_key(w, key);
    mpk_pack_cstr(&w->pk, v);
}

/* One run: the top-level map of what fields packs. */
static void run(mpk_writer *w, mpk_fields_fn fields, const void *ctx) {
    w->offset = 0;
    w->depth = 0;
    w->next_map = 0;
    mpk_map_begin(w);
    fields(w, ctx);
    mpk_map_end(w);
    if (w->depth != 0) w->misuse = 1;
}

/* `failed` is 1 when the output failed, 2 when the runs differ (a bug). */
static int pack_counted(mpk_fields_fn fields, const void *ctx, msgpack_packer_write out,
                        void *out_data, int *failed) {
    mpk_writer w;
    memset(&w, 0, sizeof w);
    msgpack_packer_init(&w.pk, &w, sink);
    w.out = out;
    w.out_data = out_data;
    run(&w, fields, ctx);
    w.written = calloc(w.n_maps ? w.n_maps : 1, sizeof *w.written);
    int rc = 0;
    if (w.failed || !w.written) {
        *failed = 1;
        rc = -1;
    } else {
        w.writing = 1;
        run(&w, fields, ctx);
        if (w.misuse || w.next_map != w.n_maps ||
            memcmp(w.counts, w.written, w.n_maps * sizeof *w.counts) != 0) {
            *failed = 2;
            rc = -1;
        } else if (w.failed) {
            *failed = 1;
            rc = -1;
        }
    }
    free(w.counts);
    free(w.written);
    return rc;
}

int mpk_pack_counted(mpk_fields_fn fields, const void *ctx, msgpack_packer_write out,
                     void *out_data, stl_error *err) {
    int failed = 0;
    if (pack_counted(fields, ctx, out, out_data, &failed) == 0) return 0;
    return stl_fail(err, failed == 2 ? "msgpack writer: maps packed unevenly or differently in "
                                       "its two runs (a bug)"
                                     : "msgpack writer: the output failed");
}

/* mpk_write's fields: the header, then the format's own. */
typedef struct {
    const char *format;
    uint32_t version;
    mpk_fields_fn fields;
    const void *ctx;
} file_fields;

static void pack_file(mpk_writer *w, const void *ctx) {
    const file_fields *f = ctx;
    mpk_key(w, "format");
    mpk_pack_cstr(&w->pk, f->format);
    mpk_key(w, "version");
    msgpack_pack_uint32(&w->pk, f->version);
    f->fields(w, f->ctx);
}

static int to_file(void *data, const char *buf, size_t len) {
    return atomic_write(data, buf, len, NULL);
}

int mpk_write(const char *path, const char *format, uint32_t version, mpk_fields_fn fields,
              const void *ctx, stl_error *err) {
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    file_fields f = {format, version, fields, ctx};
    int failed = 0;
    if (pack_counted(pack_file, &f, to_file, &af, &failed) != 0) {
        if (failed == 2)
            stl_fail(err, "%s: the %s writer packed its maps unevenly or differently in its "
                     "two runs (a bug: nothing written)", path, format);
        else
            stl_fail(err, "%s: write failed: %s", af.path, af.why[0] ? af.why : "out of memory");
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err);
}

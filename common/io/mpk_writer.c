/* mpk_writer.c — counted msgpack maps written atomically (mpk_writer.h).
 *
 * Both runs share one packer whose callback either drops the bytes (counting
 * run) or appends them to the atomic file (writing run), and counts them
 * either way. Map i's size is counts[i], in the order the maps begin.
 */
#include "io/mpk_writer.h"

#include <stdlib.h>
#include <string.h>

static int sink(void *data, const char *buf, size_t len) {
    mpk_writer *w = data;
    w->offset += len;
    if (!w->writing || w->failed) return 0;
    if (atomic_write(&w->af, buf, len, NULL) != 0) {
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

/* One run of the fields inside the top-level map with its header. */
static void run(mpk_writer *w, const char *format, uint32_t version, mpk_fields_fn fields,
                const void *ctx) {
    w->offset = 0;
    w->depth = 0;
    mpk_map_begin(w);
    mpk_key(w, "format");
    mpk_pack_cstr(&w->pk, format);
    mpk_key(w, "version");
    msgpack_pack_uint32(&w->pk, version);
    fields(w, ctx);
    mpk_map_end(w);
    if (w->depth != 0) w->misuse = 1;
}

int mpk_write(const char *path, const char *format, uint32_t version, mpk_fields_fn fields,
              const void *ctx, stl_error *err) {
    mpk_writer w;
    memset(&w, 0, sizeof w);
    msgpack_packer_init(&w.pk, &w, sink);
    run(&w, format, version, fields, ctx);
    w.written = calloc(w.n_maps ? w.n_maps : 1, sizeof *w.written);
    if (w.failed || !w.written) {
        free(w.counts);
        free(w.written);
        return stl_fail(err, "%s: out of memory counting the fields", path);
    }
    if (atomic_open(&w.af, path, err) != 0) {
        free(w.counts);
        free(w.written);
        return -1;
    }
    w.writing = 1;
    run(&w, format, version, fields, ctx);
    int differs = w.misuse || w.next_map != w.n_maps ||
                  memcmp(w.counts, w.written, w.n_maps * sizeof *w.counts) != 0;
    free(w.counts);
    free(w.written);
    if (differs) {
        atomic_abort(&w.af);
        return stl_fail(err, "%s: the %s writer packed its maps unevenly or differently in its "
                        "two runs (a bug: nothing written)", path, format);
    }
    if (w.failed) {
        stl_fail(err, "%s: write failed: %s", w.af.path, w.af.why[0] ? w.af.why : "packer error");
        atomic_abort(&w.af);
        return -1;
    }
    return atomic_commit(&w.af, err);
}

/* mpk_writer.h — writing an stlrec msgpack file (the header convention of
 * mpk.h) atomically, with every map's size counted rather than declared;
 * and the same counted maps into any msgpack output (mpk_pack_counted: the
 * Flax model file, which has no stlrec header).
 *
 * A msgpack map states its number of entries before them, so a writer that
 * types the number ("8 fields follow") breaks silently when a field is added
 * and the number is not. Here a format's writer is one function that packs
 * its fields: mpk_key() for each key of a map (values through w->pk, as with
 * msgpack-c's packer), mpk_map_begin()/mpk_map_end() around a nested map.
 * mpk_write() runs that function twice: first into nothing, counting the keys
 * of every map in order, then into the file, where each map header carries
 * the count from the first run. The function must therefore pack the same
 * things both times (it may not depend on anything but its context); a
 * difference is reported as an error, never written. The second run also
 * counts and both runs see the same byte offsets (mpk_offset), so a field may
 * pad itself to an alignment.
 *
 * The file goes to a temporary name and is renamed into place only when all
 * of it was written (atomic.h), so a reader never sees a part of it.
 */
#ifndef STL_MPK_WRITER_H
#define STL_MPK_WRITER_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The deepest nesting of mpk_map_begin (the top-level map included). */
enum { MPK_MAX_DEPTH = 8 };

typedef struct {
    msgpack_packer pk;    /* pack values (and arrays) through this */
    msgpack_packer_write out; /* where the writing run's bytes go */
    void *out_data;
    int writing;          /* 0: the counting run; 1: the output */
    int failed;
    int misuse;           /* unbalanced or too deep maps, or runs that differ */
    uint64_t offset;      /* bytes packed so far in this run */
    uint32_t *counts;     /* keys per map, in the order the maps begin */
    uint32_t *written;    /* the same, as the writing run packs them */
    size_t n_maps, cap_maps, next_map;
    size_t open[MPK_MAX_DEPTH];
    int depth;
} mpk_writer;

/* Packs a format's fields; ctx is the caller's. */
typedef void (*mpk_fields_fn)(mpk_writer *w, const void *ctx);

/* Writes path: one map of "format", "version" and what fields packs. */
int mpk_write(const char *path, const char *format, uint32_t version, mpk_fields_fn fields,
              const void *ctx, stl_error *err);

/* One map of what fields packs, counted the same way, written through out
 * (a msgpack-c packer callback; out_data its first argument). 0, or -1 with
 * err when the runs differ, a map is left open, or out fails. */
int mpk_pack_counted(mpk_fields_fn fields, const void *ctx, msgpack_packer_write out,
                     void *out_data, stl_error *err);

/* A key of the innermost open map (a string). */
void mpk_key(mpk_writer *w, const char *key);
/* A map as the next value; its entries follow, then mpk_map_end. */
void mpk_map_begin(mpk_writer *w);
void mpk_map_end(mpk_writer *w);
/* Bytes of the file before the next thing packed. */
uint64_t mpk_offset(const mpk_writer *w);

/* Packing shorthands for values. */
void mpk_pack_cstr(msgpack_packer *pk, const char *s);
void mpk_pack_bin(msgpack_packer *pk, const void *data, size_t n);
/* A key and its value in one call. */
void mpk_kv_u64(mpk_writer *w, const char *key, uint64_t v);
void mpk_kv_i64(mpk_writer *w, const char *key, int64_t v);
void mpk_kv_str(mpk_writer *w, const char *key, const char *v);

#ifdef __cplusplus
}
#endif

#endif

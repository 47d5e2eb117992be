/* mpk.h — msgpack helpers on msgpack-c: stlrec's file header convention.
 *
 * Every stlrec intermediate file is one msgpack map whose first two entries
 * are "format" (a string such as "stlrec-triplets") and "version" (a positive
 * integer); the rest are the format's fields, always looked up by key, never
 * by position. See docs/formats.md.
 *
 * Writing: mpk_writer.h (maps whose sizes are counted, files written
 * atomically).
 *
 * Reading: mpk_file_open() maps the whole file read-only (mmap), checks every
 * container's declared size against the bytes that remain *before* msgpack-c
 * allocates anything (a corrupt count cannot trigger a huge allocation), then
 * unpacks it. str and bin objects point into the mapping (no copies), so a
 * reader of a multi-GiB shard gets a pointer to its pixels. The header is
 * checked: wrong format, a newer version than the reader knows, or a
 * truncated file each give a clear error naming the file.
 */
#ifndef STL_MPK_H
#define STL_MPK_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *path;
    void *map;            /* mmap of the whole file */
    size_t size;
    msgpack_unpacked up;  /* top-level object */
    const msgpack_object *root; /* the top-level map */
    char format[64];
    uint32_t version;
} mpk_file;

/* Opens and validates `path`. expected_format may be NULL (any stlrec file:
 * used by stl-inspect); max_version is the newest version the reader knows. */
int mpk_file_open(mpk_file *f, const char *path, const char *expected_format,
                  uint32_t max_version, stl_error *err);
void mpk_file_close(mpk_file *f);

/* The deepest nesting of maps and arrays a reader accepts (stlrec files use
 * at most 8; msgpack-c's unpacker gives up at 32 with a bare status). */
enum { MPK_MAX_NESTING = 24 };

/* Checks that buf holds exactly one well-formed msgpack object whose
 * declared container sizes fit in the remaining bytes and whose containers
 * nest at most MPK_MAX_NESTING deep. 0 or -1 with err. */
int mpk_check_bounds(const void *buf, size_t len, stl_error *err);

/* Map lookup by key; NULL when absent. `map` must be a MAP object. */
const msgpack_object *mpk_get(const msgpack_object *map, const char *key);

/* Typed lookups: each fails with "<file>: field '<key>': <why>" where file is
 * f->path (pass f so messages name the file). */
int mpk_get_u64(const mpk_file *f, const msgpack_object *map, const char *key,
                uint64_t *out, stl_error *err);
int mpk_get_i64(const mpk_file *f, const msgpack_object *map, const char *key,
                int64_t *out, stl_error *err);
int mpk_get_f64(const mpk_file *f, const msgpack_object *map, const char *key,
                double *out, stl_error *err);
/* String (not NUL-terminated in the file): pointer + length. */
int mpk_get_str(const mpk_file *f, const msgpack_object *map, const char *key,
                const char **ptr, size_t *len, stl_error *err);
/* Copies a string into buf (NUL-terminated); fails when it does not fit. */
int mpk_get_strcpy(const mpk_file *f, const msgpack_object *map, const char *key,
                   char *buf, size_t cap, stl_error *err);
/* Binary blob; when expect_len != (size_t)-1 its length must equal it. */
int mpk_get_bin(const mpk_file *f, const msgpack_object *map, const char *key,
                const void **ptr, size_t *len, size_t expect_len, stl_error *err);
int mpk_get_array(const mpk_file *f, const msgpack_object *map, const char *key,
                  const msgpack_object_array **out, stl_error *err);
int mpk_get_map(const mpk_file *f, const msgpack_object *map, const char *key,
                const msgpack_object **out, stl_error *err);

/* Unpack a whole in-memory buffer with the same bounds check (for files that
 * are not stlrec-headed, e.g. Flax model files). */
int mpk_unpack_buffer(const void *buf, size_t len, msgpack_unpacked *up,
                      const char *what, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* embeddings.h — embeddings files: item keys plus one float32 matrix (n, dim).
 *
 * Two forms (docs/formats.md "## Embeddings"):
 *  - stlrec's own, "stlrec-embeddings" msgpack (mpk.h header convention): the
 *    keys as an array of strings and the matrix as one bin blob of
 *    little-endian float32, row i = keys[i], placed at a 64-byte-aligned file
 *    offset so a reader points straight into the read-only mapping;
 *  - the book's JSON form {"<key>": [floats...], ...}, rows in file order
 *    (stl-embed --json writes it; every reader accepts it, detected by content).
 *
 * embeddings_read() validates before it trusts anything: format and version,
 * shape fields against the blob's size, every key valid and unique, every
 * value finite. A path containing commas is a list of shard parts (as
 * stl-embed --shard i/N writes them), read and concatenated in the order
 * given; keys must stay unique across parts.
 *
 * Ownership: an embeddings value owns its key index, its mapping or its copy
 * of the matrix; embeddings_free() releases all. `data` and `keys` are valid
 * until then.
 */
#ifndef STL_EMBEDDINGS_H
#define STL_EMBEDDINGS_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"
#include "dataset/keys.h"
#include "io/mpk.h"
#include "formats/model_id.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EMBEDDINGS_FORMAT "stlrec-embeddings"
#define EMBEDDINGS_VERSION 1
/* File offset alignment of the matrix payload in stlrec embeddings files. */
#define EMBEDDINGS_ALIGN 64

typedef struct {
    size_t n, dim;
    const float *data;   /* (n, dim) row-major */
    const stl_key *keys; /* (n): index.keys, row order */
    key_index index;     /* key -> row */
    char kind[16];       /* "scene", "product", or "" when the file does not say */
    char model[MODEL_ID_LEN + 1]; /* the identity of the model that made them
                                   * (model_id.h), or "" when unknown */
    long shard_index, shard_count; /* part i/N of a sharded run; 0/1 when whole or merged */
    size_t keys_total;  /* keys listed for the whole run, all parts (0: not recorded) */
    /* private */
    float *owned;        /* data when copied (JSON, parts, unaligned) */
    mpk_file file;       /* data when mapped */
    int mapped;
} embeddings;

/* What a file says about its rows besides them (all optional). */
typedef struct {
    const char *kind;  /* "scene", "product" or NULL */
    const char *model; /* the identity of the model that made the rows (model_id.h), or NULL */
    long shard_index, shard_count; /* this part, i of N (N 0 or 1: not sharded) */
    size_t keys_total; /* keys listed for the whole sharded run */
} embeddings_meta;

/* Writes the stlrec form atomically with meta (NULL: none). Keys must be
 * valid and unique, values finite (checked: a NaN embedding is a broken
 * model, refused here rather than downstream). */
int embeddings_write_meta(const char *path, const embeddings_meta *meta, const stl_key *keys,
                          size_t n, size_t dim, const float *data, stl_error *err);
/* embeddings_write_model without a model identity. */
int embeddings_write_kind(const char *path, const char *kind, const stl_key *keys,
                          size_t n, size_t dim, const float *data, stl_error *err);
/* embeddings_write_kind without a kind. */
int embeddings_write(const char *path, const stl_key *keys, size_t n, size_t dim,
                     const float *data, stl_error *err);
/* Writes the book's JSON form {key: [floats]} atomically, one key per line,
 * each float with 9 significant digits (reads back bit-identical). */
int embeddings_write_json(const char *path, const stl_key *keys, size_t n, size_t dim,
                          const float *data, stl_error *err);

/* Reads either form (or a comma-separated list of parts) into e. The parts
 * of a sharded run must all be given (one part alone is refused). On
 * failure e is left empty (embeddings_free is still safe). */
int embeddings_read(const char *path, embeddings *e, stl_error *err);
/* One file as it is, a part of a sharded run included (for stl-inspect). */
int embeddings_read_part(const char *path, embeddings *e, stl_error *err);
/* 1 when the file's first non-blank byte is '{' (the book's JSON form), 0
 * when not, -1 with err when it cannot be opened. */
int embeddings_is_json(const char *path, stl_error *err);
/* Reads n_paths parts and concatenates them in order. */
int embeddings_read_parts(const char *const *paths, size_t n_paths, embeddings *e,
                          stl_error *err);
void embeddings_free(embeddings *e);

/* Row of key, or -1. */
long embeddings_find(const embeddings *e, const char *key);

/* stl-inspect: a summary (shape, kind, row norms, first keys), or with json
 * the whole content as one JSON object. */
int embeddings_inspect(const char *path, int json, FILE *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

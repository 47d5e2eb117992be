/* file_read.h — reading a whole file into memory: the one reader for the
 * small files stages read whole (catalog JSON, metadata sidecars, checkpoint
 * state, report inputs, source JPEGs). Large inputs are memory-mapped
 * instead (mapped_file.h).
 *
 * The buffer grows as the file is read (no size is trusted from stat, so
 * pipes and files that grow work too) and always ends with a NUL after the
 * content, so text can be parsed in place; *len excludes that NUL. Errors
 * name the file: "PATH: cannot open: <why>", "PATH: read error: <why>",
 * "PATH: larger than N bytes", "PATH: out of memory". After a failure to
 * open, errno is that of fopen (ENOENT for a missing file), so a caller for
 * which a missing file is not an error can tell. Nothing leaks on any path.
 */
#ifndef STL_FILE_READ_H
#define STL_FILE_READ_H

#include <stddef.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The whole file at path in a new buffer (*out, free() it). max_bytes > 0:
 * a longer file is an error. Returns 0, or -1 with err set and *out NULL. */
int file_read_all(const char *path, size_t max_bytes, char **out, size_t *len, stl_error *err);

/* The same into a caller's buffer *buf of *cap bytes, grown (realloc) as
 * needed and kept for the next call, so a loop over many files allocates
 * once. On failure *buf and *cap still describe a valid (or NULL) buffer. */
int file_read_into(const char *path, size_t max_bytes, char **buf, size_t *cap, size_t *len,
                   stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

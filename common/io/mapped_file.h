/* mapped_file.h — a whole regular file mapped read-only.
 *
 * The one place stlrec opens a file for reading by mmap: it refuses
 * directories, special files and empty files with a message naming the path.
 * Readers of large files (crop shards, embeddings, model files) use it so the
 * page cache, not the heap, holds the bytes. The caller owns the mapping and
 * releases it with mapped_file_close.
 */
#ifndef STL_MAPPED_FILE_H
#define STL_MAPPED_FILE_H

#include <stddef.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *data; /* NULL when not mapped */
    size_t size;
} mapped_file;

int mapped_file_open(mapped_file *m, const char *path, stl_error *err);
void mapped_file_close(mapped_file *m);

#ifdef __cplusplus
}
#endif

#endif

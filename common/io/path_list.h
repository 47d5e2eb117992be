/* path_list.h — "a,b,c": one file argument naming several shard parts.
 *
 * Stages that shard (`--shard i/N`) write one part per file; readers of
 * those files (embeddings, top-k lists) accept the parts as one
 * comma-separated argument, read in the order given. A path without a comma
 * is a list of one. Empty items ("a,,b", a trailing comma) are errors.
 */
#ifndef STL_PATH_LIST_H
#define STL_PATH_LIST_H

#include <stddef.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Splits s into *n newly allocated paths (*paths owns them). */
int path_list_split(const char *s, char ***paths, size_t *n, stl_error *err);
void path_list_free(char **paths, size_t n);

#ifdef __cplusplus
}
#endif

#endif

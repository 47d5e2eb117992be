/* dirs.h — creating directories.
 *
 * dirs_create(path) is `mkdir -p path` (mode 0755 before the umask): every
 * missing component is created, existing ones are fine; it fails when the
 * path names something that is not a directory, or is empty or too long.
 * dirs_create_below(path, known) does the same but takes the first `known`
 * bytes of path as a directory that exists (a prefix ending at a '/' or at
 * the end), and creates only the components after it: stl-fetch makes each
 * image's ab/cd/ef under its output directory with three mkdir calls, not
 * one per component of an absolute path.
 */
#ifndef STL_DIRS_H
#define STL_DIRS_H

#include <stddef.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

int dirs_create(const char *path, stl_error *err);
int dirs_create_below(const char *path, size_t known, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* dirs.h — creating directories.
 *
 * dirs_create(path) is `mkdir -p path` (mode 0755 before the umask): every
 * missing component is created, existing ones are fine; it fails when the
 * path names something that is not a directory, or is empty or too long.
 */
#ifndef STL_DIRS_H
#define STL_DIRS_H

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

int dirs_create(const char *path, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

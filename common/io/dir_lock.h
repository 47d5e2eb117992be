/* dir_lock.h — one process at a time in a work directory.
 *
 * Two stl-train runs on the same work directory interleave their
 * checkpoints and metrics: one died with a misleading rename error while the
 * other exited 0 with a truncated metrics log. dir_lock_take() takes an
 * exclusive flock(2) on DIR/lock, held until the process exits or calls
 * dir_lock_release (a killed process loses it at once: no stale locks to
 * clean), and writes its pid there so that a second taker can say who holds
 * the directory.
 */
#ifndef STL_DIR_LOCK_H
#define STL_DIR_LOCK_H

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 0 and *fd the held lock, or -1 with err ("DIR is in use by process N"). */
int dir_lock_take(const char *dir, int *fd, stl_error *err);
void dir_lock_release(int fd);

#ifdef __cplusplus
}
#endif

#endif

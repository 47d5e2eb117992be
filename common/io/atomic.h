/* atomic.h — output files that appear whole or not at all.
 *
 * atomic_open() creates a temporary file beside the target
 * ("<dir>/.<name>.tmp.<pid>"), every write is checked, and atomic_commit()
 * does fflush + ferror + fsync + fclose + rename (+ fsync of the directory).
 * A process killed at any moment leaves at most a temporary file, never a
 * truncated file under the final name. atomic_abort() removes the temporary.
 * Every writer in stlrec goes through this. Crash points for the robustness
 * tests (base/testhook.h), N counting the process's commits from 1:
 * "atomic-commit:N" as commit N starts (its temporary holds only what stdio
 * has flushed), "atomic-rename:N" just after commit N's rename.
 */
#ifndef STL_ATOMIC_H
#define STL_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    FILE *f;
    char *path;     /* final name (owned) */
    char *tmp_path; /* temporary name (owned) */
    int failed;     /* a write failed: commit will refuse */
    char why[256];  /* strerror of the first failed write */
} atomic_file;

int atomic_open(atomic_file *af, const char *path, stl_error *err);
int atomic_write(atomic_file *af, const void *buf, size_t n, stl_error *err);
int atomic_printf(atomic_file *af, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Flushes, syncs, closes and renames; frees af. On failure the temporary is
 * removed and nothing appears under the final name. */
int atomic_commit(atomic_file *af, stl_error *err);
/* Closes and removes the temporary; frees af. Safe on a committed/zeroed af. */
void atomic_abort(atomic_file *af);

/* Writes a whole buffer to path atomically. */
int atomic_write_file(const char *path, const void *buf, size_t n, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

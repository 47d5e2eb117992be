/* atomic.c — temporary file + checked writes + fsync + rename (see atomic.h). */
#include "io/atomic.h"

#include "base/testhook.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void atomic_clear(atomic_file *af) {
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

static char *dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

int atomic_open(atomic_file *af, const char *path, stl_error *err) {
    memset(af, 0, sizeof *af);
    af->path = strdup(path);
    char *copy = strdup(path);
    char *dir = dir_of(path);
    if (!af->path || !copy || !dir) {
        free(copy);
        free(dir);
        atomic_clear(af);
        return stl_fail(err, "%s: out of memory", path);
    }
    const char *base = basename(copy);
    size_t n = strlen(dir) + strlen(base) + 48;
    af->tmp_path = malloc(n);
    if (af->tmp_path)
        snprintf(af->tmp_path, n, "%s/.%s.tmp.%ld", dir, base, (long)getpid());
    free(copy);
    free(dir);
    if (!af->tmp_path) {
        atomic_clear(af);
        return stl_fail(err, "%s: out of memory", path);
    }
    int fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        stl_fail(err, "%s: cannot create: %s", path, strerror(e));
        atomic_clear(af);
        return -1;
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        unlink(af->tmp_path);
        atomic_clear(af);
        return stl_fail(err, "%s: cannot open stream", path);
    }
    return 0;
}

int atomic_write(atomic_file *af, const void *buf, size_t n, stl_error *err) {
    if (af->failed) return stl_fail(err, "%s: write failed: %s", af->path, af->why);
    if (n && fwrite(buf, 1, n, af->f) != n) {
        af->failed = 1;
        snprintf(af->why, sizeof af->why, "%s", strerror(errno));
        return stl_fail(err, "%s: write failed: %s", af->path, af->why);
    }
    return 0;
}

int atomic_printf(atomic_file *af, const char *fmt, ...) {
    if (af->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(af->f, fmt, ap);
    va_end(ap);
    if (r < 0) {
        af->failed = 1;
        snprintf(af->why, sizeof af->why, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

void atomic_abort(atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    atomic_clear(af);
}

/* The crash points of the robustness tests (testhook.h): commits are
 * numbered from 1 in the order they start, across the process's threads. */
static int64_t commits;

int atomic_commit(atomic_file *af, stl_error *err) {
    if (!af->f) return stl_fail(err, "atomic_commit: file not open");
    int64_t nth = __atomic_add_fetch(&commits, 1, __ATOMIC_SEQ_CST);
    testhook_point("atomic-commit", nth); /* the temporary only partly flushed */
    const char *why = NULL;
    char whybuf[256];
    if (af->failed) {
        snprintf(whybuf, sizeof whybuf, "%s", af->why);
        why = whybuf;
    } else if (fflush(af->f) != 0 || ferror(af->f)) {
        why = strerror(errno);
    } else if (fsync(fileno(af->f)) != 0 && errno != EINVAL) {
        why = strerror(errno);
    }
    if (why) {
        stl_fail(err, "%s: write failed: %s", af->path, why);
        atomic_abort(af);
        return -1;
    }
    FILE *f = af->f;
    af->f = NULL;
    if (fclose(f) != 0) {
        stl_fail(err, "%s: close failed: %s", af->path, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        stl_fail(err, "%s: rename failed: %s", af->path, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    /* Make the rename itself durable. */
    char *dir = dir_of(af->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    testhook_point("atomic-rename", nth); /* this file in place, later ones not */
    atomic_clear(af);
    return 0;
}

int atomic_write_file(const char *path, const void *buf, size_t n, stl_error *err) {
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    if (atomic_write(&af, buf, n, err) != 0) {
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err);
}

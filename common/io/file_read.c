/* file_read.c — whole-file reads (see file_read.h). */
#include "io/file_read.h"
#include "io/input_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int file_read_into(const char *path, size_t max_bytes, char **buf, size_t *cap, size_t *len,
                   stl_error *err) {
    *len = 0;
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    size_t n = 0;
    int rc = 0;
    for (;;) {
        if (*cap - n < 2 || !*buf) { /* room for at least one byte and the NUL */
            size_t nc = *cap && *buf ? 2 * *cap : (size_t)1 << 16;
            char *nb = realloc(*buf, nc);
            if (!nb) {
                rc = stl_fail(err, "%s: out of memory", path);
                break;
            }
            *buf = nb;
            *cap = nc;
        }
        size_t got = fread(*buf + n, 1, *cap - n - 1, f);
        n += got;
        if (max_bytes > 0 && n > max_bytes) {
            rc = stl_fail(err, "%s: larger than %zu bytes", path, max_bytes);
            break;
        }
        if (got == 0) {
            if (ferror(f)) rc = stl_fail(err, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc != 0) return -1;
    (*buf)[n] = '\0';
    *len = n;
    return 0;
}

int file_read_all(const char *path, size_t max_bytes, char **out, size_t *len, stl_error *err) {
    char *buf = NULL;
    size_t cap = 0;
    if (file_read_into(path, max_bytes, &buf, &cap, len, err) != 0) {
        int e = errno;
        free(buf);
        *out = NULL;
        errno = e;
        return -1;
    }
    *out = buf;
    return 0;
}

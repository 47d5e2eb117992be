/* check_files.h — whole-file helpers for the unit tests that corrupt files:
 * check_slurp reads a file into a malloc'd buffer (one spare byte; *len is
 * 0 on a failed read, NULL when the file cannot be opened), check_spill
 * writes a buffer back. The caller frees what check_slurp returns. */
#ifndef STL_CHECK_FILES_H
#define STL_CHECK_FILES_H

#include <stdio.h>
#include <stdlib.h>

static inline unsigned char *check_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    if (!b || fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static inline void check_spill(const char *path, const void *b, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(b, 1, len, f);
    fclose(f);
}

#endif

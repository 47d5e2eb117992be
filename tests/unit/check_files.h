/* check_files.h — file and key helpers for the unit tests that write, read
 * back and corrupt stlrec files: check_slurp reads a file into a malloc'd
 * buffer (one spare byte; *len is 0 on a failed read, NULL when the file
 * cannot be opened; the caller frees it), check_spill writes a buffer back,
 * check_path joins a directory and a name (four rotating buffers, so up to
 * four results are valid at once), check_random_keys fills n random valid
 * keys from the seeded RNG. */
#ifndef STL_CHECK_FILES_H
#define STL_CHECK_FILES_H

#include <stdio.h>
#include <stdlib.h>

#include "dataset/keys.h"
#include "base/rng.h"

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

static inline const char *check_path(const char *dir, const char *name) {
    static char buf[4][256];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
    return buf[slot];
}

static inline void check_random_keys(rng_state *r, stl_key *k, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < STL_KEY_LEN; c++) k[i].s[c] = "0123456789abcdef"[rng_uniform(r, 16)];
        k[i].s[STL_KEY_LEN] = '\0';
    }
}

#endif

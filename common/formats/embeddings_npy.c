/* embeddings_npy.c — .npy and keys text files (embeddings_npy.h). */
#include "formats/embeddings_npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"

_Static_assert(sizeof(float) == 4, "the .npy descr is <f4");

char *embeddings_npy_keys_path(const char *npy_path) {
    size_t n = strlen(npy_path);
    if (n >= 4 && strcmp(npy_path + n - 4, ".npy") == 0) n -= 4;
    char *p = malloc(n + sizeof ".keys.txt");
    if (p) {
        memcpy(p, npy_path, n);
        memcpy(p + n, ".keys.txt", sizeof ".keys.txt");
    }
    return p;
}

static int write_matrix(const char *path, size_t n, size_t dim, const float *data,
                        stl_error *err) {
    char dict[160];
    int dl = snprintf(dict, sizeof dict,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", n, dim);
    /* magic (6) + version (2) + length (2) + dict + padding + '\n': a multiple of 64 */
    size_t total = 10 + (size_t)dl + 1;
    total = (total + 63) / 64 * 64;
    size_t hlen = total - 10;
    unsigned char head[256];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)dl);
    memset(head + 10 + dl, ' ', hlen - (size_t)dl - 1);
    head[total - 1] = '\n';
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    /* x86-64 is little-endian: the floats are written as they are in memory */
    if (atomic_write(&af, head, total, err) != 0 ||
        atomic_write(&af, data, n * dim * sizeof *data, err) != 0) {
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err);
}

static int write_keys(const char *path, const stl_key *keys, size_t n, stl_error *err) {
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (atomic_printf(&af, "%s\n", keys[i].s) != 0) {
            atomic_abort(&af);
            return stl_fail(err, "%s: write failed", path);
        }
    }
    return atomic_commit(&af, err);
}

int embeddings_write_npy(const char *npy_path, const stl_key *keys, size_t n, size_t dim,
                         const float *data, stl_error *err) {
    char *kp = embeddings_npy_keys_path(npy_path);
    if (!kp) return stl_fail(err, "%s: out of memory", npy_path);
    int rc = write_matrix(npy_path, n, dim, data, err);
    if (rc == 0) rc = write_keys(kp, keys, n, err);
    free(kp);
    return rc;
}

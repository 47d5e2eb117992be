/* embeddings_npy.h — embeddings for numpy: the matrix as a .npy file and
 * the keys beside it as text, readable with numpy.load and no stlrec code.
 *
 * FILE.npy is NumPy's format version 1.0: the magic "\x93NUMPY", version
 * 1.0, a little-endian uint16 header length, the header dict
 * {'descr': '<f4', 'fortran_order': False, 'shape': (n, dim), } padded with
 * spaces and a newline so the data starts at a multiple of 64 bytes, then
 * the (n, dim) float32 little-endian C-order matrix. The keys go to
 * FILE.keys.txt (FILE without its .npy suffix, then .keys.txt), one per
 * line in row order. Both are written atomically.
 */
#ifndef STL_EMBEDDINGS_NPY_H
#define STL_EMBEDDINGS_NPY_H

#include <stddef.h>

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The keys file beside npy_path (malloc'd; NULL when out of memory). */
char *embeddings_npy_keys_path(const char *npy_path);

int embeddings_write_npy(const char *npy_path, const stl_key *keys, size_t n, size_t dim,
                         const float *data, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

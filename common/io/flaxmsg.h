/* flaxmsg.h — ndarrays in Flax's msgpack encoding (flax.serialization).
 *
 * Flax writes every array as a msgpack ext object of type 1 (type 3 for a
 * numpy scalar) whose payload is itself msgpack: a 3-array
 * [shape (array of ints), dtype name (str, e.g. "float32"), raw C-order
 * little-endian bytes (bin)]. The ext header is whichever form fits the
 * payload (fixext1/2/4/8/16, ext8/16/32), so a 0-d float32 (16-byte payload)
 * is a fixext16 and a 0-d int32 (14 bytes) an ext8. stlrec model files
 * (modelfile.h) and the parity tool's batch and dump files use this encoding.
 *
 * flaxmsg_pack_* append one array to a msgpack packer, byte for byte as
 * msgpack-python packs it for Flax (smallest encodings). flaxmsg_decode
 * validates one ext object (type, payload bounds, shape, dtype, byte count)
 * and points into its payload without copying; the bytes may be unaligned,
 * so callers memcpy them out. Little-endian hosts only (checked at build).
 */
#ifndef STL_FLAXMSG_H
#define STL_FLAXMSG_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FLAXMSG_EXT_NDARRAY = 1, FLAXMSG_EXT_NPSCALAR = 3, FLAXMSG_MAX_DIMS = 8 };

typedef struct {
    int ndim;
    int64_t shape[FLAXMSG_MAX_DIMS];
    char dtype[16];            /* "float32", "int32", ... */
    size_t itemsize;           /* bytes per element of dtype */
    size_t count;              /* product of shape (1 for 0-d) */
    const unsigned char *data; /* count * itemsize raw bytes inside the payload */
    size_t nbytes;
} flaxmsg_array;

/* One array: shape (ndim ints), dtype name, nbytes of raw data. Returns the
 * packer's status (0 ok). */
int flaxmsg_pack_array(msgpack_packer *pk, const int *shape, int ndim, const char *dtype,
                       const void *data, size_t nbytes);
/* float32 array of the given shape (data: product of shape floats). */
int flaxmsg_pack_f32(msgpack_packer *pk, const int *shape, int ndim, const float *data);
/* 0-d int32 array (how Flax writes a traced step or optax count). */
int flaxmsg_pack_i32_scalar(msgpack_packer *pk, int32_t v);
/* 0-d int64 array. */
int flaxmsg_pack_i64_scalar(msgpack_packer *pk, int64_t v);

/* Decodes the ext object o (type 1 or 3, any ext/fixext form). `what` names
 * it in errors ("<what>: <why>"). */
int flaxmsg_decode(const msgpack_object *o, flaxmsg_array *a, const char *what, stl_error *err);

/* "[1,1,16,8]" into buf (for error messages). */
void flaxmsg_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

/* A non-negative integer that is either a plain msgpack int or a 0-d integer
 * array (int32, int64, uint32, uint64): Flax writes TrainState.step as a
 * Python int before the first step and as a 0-d int32 after. */
int flaxmsg_get_count(const msgpack_object *o, int64_t *out, const char *what, stl_error *err);

/* A growable in-memory msgpack output: the packer writes into buf; `failed`
 * records an allocation failure. */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
    msgpack_packer pk;
} flaxmsg_buffer;

void flaxmsg_buffer_init(flaxmsg_buffer *b);
void flaxmsg_buffer_free(flaxmsg_buffer *b);

#ifdef __cplusplus
}
#endif

#endif

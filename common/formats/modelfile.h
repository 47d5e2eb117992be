/* modelfile.h — stlrec model files: the msgpack of a Flax TrainState.
 *
 * A model file is exactly what flax.serialization.to_bytes writes for a Flax
 * TrainState of the model of docs/model.md (docs/formats.md, "Model files"):
 *
 *   {"step": <0-d int32>,
 *    "params": {"batch_stats": {<tower>: {BatchNorm_k: {mean, var}}},
 *               "params":      {<tower>: {Conv_i: {bias, kernel}, BatchNorm_k: {scale},
 *                                         Dense_0: {bias, kernel}}}},
 *    "opt_state": {"0": {"count": <0-d int32>, "mu": <like params>, "nu": <like params>},
 *                  "1": {}}}
 *
 * every array a Flax ndarray ext (flaxmsg.h), tower "scene_cnn"/"product_cnn".
 * So flax.serialization.from_bytes(state, bytes) loads a model stlrec
 * trained, and stlrec loads a model Flax trained. The writer emits map keys
 * in the order Flax writes a trained state (sorted, as JAX flattens dicts);
 * the reader looks every entry up by name, checks every shape against the
 * param table (output size from params/scene_cnn/Dense_0/kernel) and refuses
 * a missing, extra, mis-shaped or non-float32 tensor with an error naming the
 * file and the tensor. The Adam moments of the batch statistics are zero
 * (their gradients are zero): written as zeros, checked for shape on read.
 *
 * Metadata (stl-train's configuration, a JSON object) cannot live inside the
 * file: from_bytes refuses a TrainState with an unknown top-level key. It is
 * written beside the model as "<path>.json" (the sidecar).
 */
#ifndef STL_MODELFILE_H
#define STL_MODELFILE_H

#include <stddef.h>

#include "base/error.h"
#include "model/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes m (params, Adam moments, stats, step) to path atomically. When
 * metadata_json is non-NULL it must be a JSON object; it is written first,
 * atomically, to "<path>.json", and removed again when the model file
 * cannot be written (disk full). When NULL, a stale sidecar is removed. */
int modelfile_write(const char *path, const model_state *m, const char *metadata_json,
                    stl_error *err);

/* Reads path into m, which the reader allocates (model_state_alloc with the
 * file's output size; free with model_state_free). grads are zero. When
 * metadata_json is non-NULL it receives the sidecar's text (malloc'd, the
 * caller frees it) or NULL when there is no sidecar. */
int modelfile_read(const char *path, model_state *m, char **metadata_json, stl_error *err);

/* Only the metadata sidecar of the model at path: *metadata_json gets its
 * text (malloc'd, the caller frees it; at most 16 MiB, a JSON object) or
 * NULL when there is no sidecar. The model file itself is not read. */
int modelfile_read_metadata(const char *path, char **metadata_json, stl_error *err);

/* The crop size S the model was trained on, from its sidecar's
 * config.image_size: 1 and *size set, or 0 when the sidecar does not say
 * (no sidecar, a Flax file, another writer). */
int modelfile_trained_size(const char *metadata_json, int *size);
/* How those crops were decoded, from config.crops_mode ("crop" or
 * "resize"): 1 and *resize set, or 0 when the sidecar does not say. */
int modelfile_trained_mode(const char *metadata_json, int *resize);

/* The same on a file already in memory (what names it in errors): for tests
 * and fuzzing. No sidecar. */
int modelfile_read_buffer(const void *buf, size_t len, const char *what, model_state *m,
                          stl_error *err);

/* The bytes modelfile_write writes, in a malloc'd buffer (*out, *out_len). */
int modelfile_pack(const model_state *m, void **out, size_t *out_len, stl_error *err);

/* "<path>.json" (malloc'd; NULL when out of memory). */
char *modelfile_sidecar_path(const char *path);

#ifdef __cplusplus
}
#endif

#endif

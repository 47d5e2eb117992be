/* device.h — what `--device auto|cpu|cuda` resolves to, in one place.
 *
 * Stages that compute (stl-train, stl-embed, stl-topk) take --device; this
 * decides what it means for this build. Without the CUDA path (the default
 * build) "auto" and "cpu" are the CPU and "cuda" is a usage error, never a
 * silent fallback. The CUDA issue adds the GPU branch here.
 */
#ifndef STL_DEVICE_H
#define STL_DEVICE_H

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { DEVICE_CPU = 0, DEVICE_CUDA = 1 } device_kind;

/* "cpu", "cuda": what stages log and record in their metadata. */
const char *device_name(device_kind kind);

/* 0 and *out set, or -1 with err (a usage error: exit 2). */
int device_resolve(const char *requested, device_kind *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

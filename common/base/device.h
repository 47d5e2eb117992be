/* device.h — what `--device auto|cpu|cuda` resolves to, in one place.
 *
 * Stages that compute (stl-train, stl-embed, stl-topk, stl-recommend) take
 * --device; this decides what it means for this build.
 *
 * CPU build (the default): "auto" and "cpu" are the CPU; "cuda" is a usage
 * error (exit 2), never a silent fallback.
 *
 * CUDA build (make CUDA=1, STL_CUDA=1): "cpu" is the CPU. "auto" probes for
 * a GPU (base/device_cuda.h) and resolves to DEVICE_CUDA where it finds one,
 * else to the CPU (the same bytes out as the CPU build). "cuda" is
 * DEVICE_CUDA where the probe finds a GPU and otherwise a runtime error
 * (exit 1) naming the CUDA error.
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

/* 1 in a build with the CUDA path (make CUDA=1), else 0. */
int device_cuda_built(void);

/* 0 and *out set; or -1 with err and *exit_code the stage's exit status:
 * STL_EXIT_USAGE for a bad or (in this build) meaningless name,
 * STL_EXIT_FAIL for a device that this machine cannot give. */
int device_resolve(const char *requested, device_kind *out, int *exit_code, stl_error *err);

/* For DEVICE_CUDA, the GPU this process computes on: local_rank mod the
 * GPUs this machine has (one rank per GPU, the rank among those on this
 * machine); 0 with *gpu set and *gpus the GPUs this machine has (-1 and 0
 * for the CPU, or the CPU build), or -1 with err. */
int device_select(device_kind kind, int local_rank, int *gpu, int *gpus, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

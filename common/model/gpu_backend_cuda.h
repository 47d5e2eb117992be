/* gpu_backend_cuda.h — the GPU step's operations on the device
 * (gpu_backend.h): the model's own kernels (gpu_ops.h, gpu_step_ops.h) and
 * cuDNN / cuBLAS (gpu_lib.h) on one stream of the current device, device
 * memory through the CUDA runtime. CUDA build only (gpu_backend_cuda.c).
 */
#ifndef STL_GPU_BACKEND_CUDA_H
#define STL_GPU_BACKEND_CUDA_H

#include "base/error.h"
#include "model/gpu_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills be for the current device: a new stream, the library handles on it
 * (tf32: as gpu_lib_create); 0, or -1 with err naming the CUDA error (no
 * usable GPU, say). */
int gpu_backend_cuda_create(gpu_backend *be, int tf32, stl_error *err);
void gpu_backend_cuda_free(gpu_backend *be);

#ifdef __cplusplus
}
#endif

#endif

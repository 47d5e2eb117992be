/* gpu_math_nvcc.h — gpu_math.h's table (gpu_math_eval.h) as nvcc computes
 * it, on the host and on a GPU (gpu_math_nvcc.cu; CUDA build only). */
#ifndef STL_GPU_MATH_NVCC_H
#define STL_GPU_MATH_NVCC_H

#include <stddef.h>

#include "gpu_math_eval.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The table by nvcc's host compiler. */
void gm_nvcc_eval_host(const float *z, int n, float *out);
/* 1 when a GPU is there to run the kernel; else 0 and why (the CUDA error). */
int gm_nvcc_gpu_present(char *why, size_t whylen);
/* The table by a kernel on GPU 0: 0, or -1 with why. */
int gm_nvcc_eval_device(const float *z, int n, float *out, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif

#endif

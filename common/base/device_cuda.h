/* device_cuda.h — the CUDA runtime's answer to "is there a usable GPU?",
 * for device.c. Built only with CUDA=1 (device_cuda.c); the CPU build never
 * declares a use of it.
 */
#ifndef STL_DEVICE_CUDA_H
#define STL_DEVICE_CUDA_H

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The number of GPUs the CUDA runtime sees: 0 and *count >= 1, or -1 with
 * *count 0 and err saying why there is none ("cudaGetDeviceCount: error 35,
 * cudaErrorInsufficientDriver: CUDA driver version is insufficient ...", or
 * "no GPU"). Any cudaGetDeviceCount error counts as no GPU. */
int device_cuda_probe(int *count, stl_error *err);

/* Makes GPU (index mod the count) the calling thread's current device,
 * before any handle or allocation: one rank per GPU takes its node-local
 * rank. 0 and *chosen set, or -1 with err naming the CUDA error. */
int device_cuda_select(int index, int *chosen, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* gpu_update_ops.h — the GPU kernels of the end of a training step
 * (gpu_update_kernels.h's bodies), callable from C, CUDA build only
 * (gpu_update_ops.cu). As gpu_step_ops.h: grid-stride kernels over the
 * bodies, built with --fmad=false (the device computes what the host
 * backend computes), no waiting on the host, no allocation, every pointer
 * device memory, stream a cudaStream_t. Each returns 0, -1 for arguments
 * out of range (nothing launched), or the launch's cudaError_t (> 0).
 */
#ifndef STL_GPU_UPDATE_OPS_H
#define STL_GPU_UPDATE_OPS_H

#ifdef __cplusplus
extern "C" {
#endif

/* *dst = (float)*loss (one thread). */
int gpu_loss_slot(const double *loss, float *dst, void *stream);
/* p (gm_finite_blocks(n, R)) = the finiteness partials of x (n), then
 * *flag = gm_finite_flag of them (one thread). */
int gpu_finite_partials(const float *x, long n, long R, float *p, void *stream);
int gpu_finite_flag(const float *p, long nblk, int *flag, void *stream);
/* Adam over n elements unless *skip, lr and bias corrections from hyper. */
int gpu_adam_gated(float *p, const float *g, float *mu, float *nu, long n, const float *hyper,
                   const int *skip, float b1, float b2, float eps, void *stream);

#ifdef __cplusplus
}
#endif

#endif

/* gpu_update_ops.cu — the launchers of gpu_update_ops.h: grid-stride
 * kernels over gpu_update_kernels.h's bodies (gpu_launch.cuh), built with
 * --fmad=false (Makefile) like the other kernel files.
 */
#include "model/gpu_update_ops.h"

#include <cuda_runtime_api.h>

#include "model/gpu_launch.cuh"
#include "model/gpu_update_kernels.h"

namespace {

__global__ void k_loss_slot(const double *loss, long long n, float *dst, gm_launch l) {
    GRID_STRIDE(n) *dst = gm_loss_slot(loss);
}
__global__ void k_finite_partials(const float *x, long n, long R, long long nblk, float *p,
                                  gm_launch l) {
    GRID_STRIDE(nblk) p[i] = gm_finite_partial_at(x, n, R, (long)i);
}
__global__ void k_finite_flag(const float *p, long nblk, long long n, int *flag, gm_launch l) {
    GRID_STRIDE(n) *flag = gm_finite_flag(p, nblk);
}
__global__ void k_adam_gated(float *p, const float *g, float *mu, float *nu, const float *hyper,
                             const int *skip, float b1, float b2, float eps, long long n,
                             gm_launch l) {
    GRID_STRIDE(n) gm_adam_gated_at(p, g, mu, nu, (long)i, hyper, skip, b1, b2, eps);
}

}  // namespace

int gpu_loss_slot(const double *loss, float *dst, void *stream) {
    LAUNCH(k_loss_slot, 1LL, loss, 1LL, dst);
}
int gpu_finite_partials(const float *x, long n, long R, float *p, void *stream) {
    if (n < 0 || R < 1) return -1;
    long long nblk = gm_finite_blocks(n, R);
    LAUNCH(k_finite_partials, nblk, x, n, R, nblk, p);
}
int gpu_finite_flag(const float *p, long nblk, int *flag, void *stream) {
    if (nblk < 0) return -1;
    LAUNCH(k_finite_flag, 1LL, p, nblk, 1LL, flag);
}
int gpu_adam_gated(float *p, const float *g, float *mu, float *nu, long n, const float *hyper,
                   const int *skip, float b1, float b2, float eps, void *stream) {
    LAUNCH(k_adam_gated, (long long)n, p, g, mu, nu, hyper, skip, b1, b2, eps, (long long)n);
}

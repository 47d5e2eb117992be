/* gpu_layout.h — the weight layouts of the 3x3 convolutions on the GPU, and
 * the repacking between them and the model file's, one element at a time so
 * a kernel (one thread per element) and the host compute the same thing.
 *
 * The model file and the CPU path keep a convolution kernel as Flax does:
 * HWIO, (k, k, Cin, Cout), Cout fastest. cuDNN, given NHWC activations
 * (CUDNN_TENSOR_NHWC), wants its filter in the matching NHWC filter order:
 * KRSC, (Cout, k, k, Cin), Cin fastest. The GPU step therefore repacks the
 * kernels HWIO -> KRSC before the forward pass and their gradients KRSC ->
 * HWIO after the backward pass, so the one contiguous parameter buffer
 * (Adam, the all-reduce, checkpoints) keeps the model file's layout. Both
 * repacks are permutations: exact, no arithmetic. The Dense kernel (in, out)
 * and the 1x1 convolutions (Cin, Cout) need none: cuBLAS reads a row-major
 * (in, out) matrix as its column-major transpose.
 *
 * tests/unit/test_gpu_layout.c checks the permutations (each a bijection,
 * one the other's inverse) for every convolution of the model, and that a
 * direct convolution with KRSC weights, as cuDNN defines it, equals the CPU
 * path's im2col + GEMM with HWIO weights.
 */
#ifndef STL_GPU_LAYOUT_H
#define STL_GPU_LAYOUT_H

#include "model/gpu_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Offsets of weight (co, kh, kw, ci) of a k x k, Cin -> Cout kernel. */
GM_FN long gm_hwio_offset(int co, int kh, int kw, int ci, int k, int cin, int cout) {
    return (((long)kh * k + kw) * cin + ci) * cout + co;
}
GM_FN long gm_krsc_offset(int co, int kh, int kw, int ci, int k, int cin) {
    return (((long)co * k + kh) * k + kw) * cin + ci;
}

/* Element i of the KRSC kernel, read from the HWIO one. */
GM_FN float gm_krsc_from_hwio(const float *hwio, long i, int k, int cin, int cout) {
    int ci = (int)(i % cin);
    long r = i / cin;
    int kw = (int)(r % k);
    r /= k;
    int kh = (int)(r % k);
    int co = (int)(r / k);
    return hwio[gm_hwio_offset(co, kh, kw, ci, k, cin, cout)];
}
/* Element i of the HWIO kernel (or its gradient), read from the KRSC one. */
GM_FN float gm_hwio_from_krsc(const float *krsc, long i, int k, int cin, int cout) {
    int co = (int)(i % cout);
    long r = i / cout;
    int ci = (int)(r % cin);
    r /= cin;
    int kw = (int)(r % k);
    int kh = (int)(r / k);
    return krsc[gm_krsc_offset(co, kh, kw, ci, k, cin)];
}

/* The host forms: the whole kernel, k*k*cin*cout elements. */
static inline void gm_repack_hwio_to_krsc(const float *hwio, float *krsc, int k, int cin,
                                          int cout) {
    long n = (long)k * k * cin * cout;
    for (long i = 0; i < n; i++) krsc[i] = gm_krsc_from_hwio(hwio, i, k, cin, cout);
}
static inline void gm_repack_krsc_to_hwio(const float *krsc, float *hwio, int k, int cin,
                                          int cout) {
    long n = (long)k * k * cin * cout;
    for (long i = 0; i < n; i++) hwio[i] = gm_hwio_from_krsc(krsc, i, k, cin, cout);
}

#ifdef __cplusplus
}
#endif

#endif

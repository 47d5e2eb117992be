/* gpu_lib.h — the vendor libraries of the GPU training step: a cuDNN handle
 * and a cuBLAS handle on one stream (gpu_lib), the GEMMs of the Dense layer
 * and the 1x1 convolutions through cuBLAS, and the 3x3 stride-2 SAME
 * convolutions through cuDNN's legacy API, each shape planned once
 * (gpu_conv3). CUDA build only (gpu_lib_cuda.c); the header itself names no
 * CUDA type, so it compiles anywhere.
 *
 * Numerics: with tf32 = 0 every product is a float FMA (cuDNN's
 * CUDNN_FMA_MATH, cuBLAS's CUBLAS_PEDANTIC_MATH: no TF32, no emulation); the
 * convolution algorithms are the first deterministic ones cuDNN's
 * heuristics offer (never FFT or Winograd), cuBLAS runs on the library's
 * own fixed workspace, so two runs give the same bits.
 *
 * Streams and graphs: everything the calls do is queued on the library's
 * stream (cuDNN, cuBLAS, the padding copies as cudaMemcpy3DAsync); they
 * allocate nothing and never wait for the host, so a CUDA graph can capture
 * them. Handles, descriptors, workspaces and padded buffers are made by
 * gpu_lib_create / gpu_conv3_plan and released by the matching free; a plan
 * uses its library's handles and must be freed before it.
 *
 * Every pointer argument of the calls is device memory. Errors: 0, or -1
 * with err naming the failing call and the library's error string.
 */
#ifndef STL_GPU_LIB_H
#define STL_GPU_LIB_H

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gpu_lib gpu_lib;     /* a cuDNN handle and a cuBLAS handle on one stream, their workspace */
typedef struct gpu_conv3 gpu_conv3; /* one planned 3x3 stride-2 TF-SAME convolution shape */

/* stream: a cudaStream_t as void* (NULL: the default stream). tf32: 0 = FMA
 * math only, 1 = TF32 tensor-op math allowed. Fails (NULL, err) without a
 * usable GPU, naming the CUDA error; logs the cuDNN and cuBLAS versions. */
gpu_lib *gpu_lib_create(void *stream, int tf32, stl_error *err);
void gpu_lib_free(gpu_lib *L);

/* Row-major C (m, n) = op(A) op(B) + beta C, op(A) (m, k), op(B) (k, n);
 * ta / tb nonzero: A stored (k, m) / B stored (n, k); leading dimensions
 * are the stored row lengths. beta = 0: C is not read. */
int gpu_lib_gemm(gpu_lib *L, int ta, int tb, long m, long n, long k, const float *A,
                 const float *B, float beta, float *C, stl_error *err);

/* The convolution x (B, H, W, cin) -> y (B, Ho, Wo, cout), NHWC float, 3x3
 * KRSC weights (cout, 3, 3, cin) (gpu_layout.h), stride 2, TF SAME padding,
 * cross-correlation. Plans the algorithms, descriptors, workspace and the
 * padded copy once (gpu_math.h's gm_same_cudnn_pad: cuDNN pads
 * symmetrically, the rest of SAME's padding is explicit zero rows and
 * columns of a padded copy of x) and logs the algorithms chosen. */
gpu_conv3 *gpu_conv3_plan(gpu_lib *L, int B, int H, int W, int cin, int cout, stl_error *err);
void gpu_conv3_free(gpu_conv3 *c);
/* y = conv(x, w) */
int gpu_conv3_fwd(gpu_conv3 *c, const float *x, const float *w, float *y, stl_error *err);
/* dx (B, H, W, cin) = the input gradient of dy_a through w_a, plus (when
 * dy_b is not NULL) that of dy_b through w_b (both convs of a block read
 * the same input). */
int gpu_conv3_bwd_data(gpu_conv3 *c, const float *dy_a, const float *w_a, const float *dy_b,
                       const float *w_b, float *dx, stl_error *err);
/* dw_a = beta dw_a + the filter gradient (KRSC) from x and dy_a; likewise
 * dw_b from dy_b when dy_b is not NULL (x padded once for both). */
int gpu_conv3_bwd_filter(gpu_conv3 *c, const float *x, const float *dy_a, float *dw_a,
                         const float *dy_b, float *dw_b, float beta, stl_error *err);

/* The geometry a plan of this shape uses, in one place so it can be checked
 * without a GPU: SAME's padding split into cuDNN's symmetric pad (sym_h,
 * sym_w) and explicit zero rows / columns (top, bottom, left, right) of a
 * padded copy (hp, wp) of x; padded is 0 when no explicit row or column is
 * needed (odd H and W), and the plan then reads x itself. */
typedef struct {
    int ho, wo;                   /* ceil(H / 2), ceil(W / 2) */
    int sym_h, sym_w;             /* cuDNN's pad, both sides */
    int top, bottom, left, right; /* explicit zero rows / columns */
    int hp, wp;                   /* top + H + bottom, left + W + right */
    int padded;                   /* any explicit row or column */
} gpu_conv3_geom;
/* Fills g for the shape, builds the plan's cuDNN descriptors (no handle, no
 * GPU needed) and checks that cuDNN's output size is (B, cout, ho, wo);
 * 0, or -1 with err for a bad shape or a disagreement. */
int gpu_conv3_geom_init(gpu_conv3_geom *g, int B, int H, int W, int cin, int cout,
                        stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

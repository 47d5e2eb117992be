/* gpu_math_eval.h — one table of gpu_math.h's results, computed the same way
 * by the C compiler (test_gpu_math.c), nvcc's host compiler and a GPU kernel
 * (gpu_math_nvcc.cu), so test_gpu_math can compare the three. Row i of
 * column k is out[k * n + i]; the inputs are z[i] and the index i.
 */
#ifndef STL_GPU_MATH_EVAL_H
#define STL_GPU_MATH_EVAL_H

#include "model/gpu_math.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { GM_NVCC_OUTS = 8 };

GM_FN void gm_eval_row(const float *z, int n, int i, float *out) {
    float x = z[i];
    out[0 * n + i] = gm_expf(x);
    out[1 * n + i] = gm_swish(x);
    out[2 * n + i] = gm_swish_grad(x);
    out[3 * n + i] = (float)gm_same_pad_after(i % 600 + 1, 3, 2);
    out[4 * n + i] = gm_bn_running(x, 0.5f * x + 1.0f, 0.99f);
    float m, v, is;
    gm_bn_finalize((double)x * 7, (double)x * x * 7 + 0.5, 7.0, 1e-5f, &m, &v, &is);
    out[5 * n + i] = is;
    float p = x, mu = 0.1f * x, nu = 0.01f * x * x;
    gm_adam_step(&p, 0.3f * x, &mu, &nu, 1e-3f, 0.9f, 0.999f, 1e-8f, gm_adam_corr(0.9f, i % 50 + 1),
                 gm_adam_corr(0.999f, i % 50 + 1));
    out[6 * n + i] = p;
    int lo, hi;
    gm_pool_covering(i % 64, 0, 32, &lo, &hi);
    out[7 * n + i] = (float)(lo * 100 + hi);
}

#ifdef __cplusplus
}
#endif

#endif

/* linear.h — rows times a weight matrix plus a bias, forward and backward,
 * through OpenBLAS cblas_sgemm: the matrix work of every layer.
 *
 * x (rows, K) row-major, w (K, N) row-major (a Flax HWIO conv kernel
 * flattened, or a Dense kernel in x out), b (N), y (rows, N). A 1x1
 * convolution on NHWC, a k x k convolution after im2col (conv.h) and the
 * Dense layer are all this. Each call is one sgemm on the caller's thread;
 * the model splits rows across its own threads (OpenBLAS runs with one
 * thread, see model.h).
 */
#ifndef STL_LINEAR_H
#define STL_LINEAR_H

#ifdef __cplusplus
extern "C" {
#endif

/* y = x w + b (b may be NULL: no bias). */
void linear_forward(const float *x, long rows, int K, int N, const float *w,
                    const float *b, float *y);
/* dw (+)= x^T dy; db (+)= column sums of dy (db may be NULL).
 * accumulate 0 overwrites dw / db, 1 adds to them. */
void linear_backward_params(const float *x, const float *dy, long rows, int K, int N,
                            float *dw, float *db, int accumulate);
/* dx (+)= dy w^T. */
void linear_backward_input(const float *dy, long rows, int K, int N, const float *w,
                           float *dx, int accumulate);

#ifdef __cplusplus
}
#endif

#endif

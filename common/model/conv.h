/* conv.h — convolution geometry with TensorFlow SAME padding, and the
 * im2col / col2im transforms that turn a k x k convolution into a GEMM.
 *
 * Tensors are NHWC float32. A k x k, stride s convolution of x (B, H, W, Cin)
 * has Ho = ceil(H / s) outputs per side; the total padding per side is
 * max((Ho - 1) s + k - H, 0), the smaller half before (top / left) — for a
 * 3x3 stride-2 window on an even size that is 0 before, 1 after. im2col
 * writes one row of K = k k Cin values (order kh, kw, cin: the HWIO kernel
 * flattened to (K, Cout)) per output pixel; padding reads as zero. The
 * convolution itself is then linear_forward (linear.h) of the rows, and its
 * input gradient the col2im of linear_backward_input's rows. 1x1 stride-1
 * convolutions need no transform: NHWC pixels already are the rows.
 */
#ifndef STL_CONV_H
#define STL_CONV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int h, w, cin;      /* input size */
    int k, stride;
    int ho, wo;         /* output size */
    int pad_top, pad_left;
    int kdim;           /* k * k * cin: the im2col row length */
} conv_geom;

/* SAME output size and padding before, for one dimension. */
int conv_same_out(int n, int stride);
int conv_same_pad_before(int n, int k, int stride);
void conv_geom_init(conv_geom *g, int h, int w, int cin, int k, int stride);

/* Rows [r0, r1) of the im2col matrix of x (B, H, W, Cin): row r = output
 * pixel (b, oh, ow) in NHWC order, written at col + (r - r0) * kdim. */
void conv_im2col(const conv_geom *g, const float *x, long r0, long r1, float *col);

/* conv_im2col of uint8 pixels, normalised as it reads them (pixel.h): the
 * model's first convolution reads its images this way. Bit-identical to
 * conv_im2col of the normalised float image. */
void conv_im2col_pixels(const conv_geom *g, const uint8_t *x, long r0, long r1, float *col);

/* The adjoint of conv_im2col, as a gather: for input pixels [p0, p1) of
 * (B, H, W) (NHWC order), dx[p] = sum of the dcol entries that im2col read
 * from p (dcol: all B * Ho * Wo rows; dx written at dx + (p - p0) * Cin). */
void conv_col2im(const conv_geom *g, const float *dcol, long p0, long p1, float *dx);

#ifdef __cplusplus
}
#endif

#endif

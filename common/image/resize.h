/* resize.h — resample the centred square of an RGB image to S x S (stl-decode --resize).
 *
 * The square window has side n = min(w, h), offset floor((w-n)/2) along the
 * long axis and 0 along the short one. With r = n/S: when r >= 1 output
 * pixel i covers source interval [i*r, (i+1)*r) of the window and takes the
 * exact area average (each source pixel weighted by its overlap / r); when
 * r < 1 (upscaling) it is bilinear with half-pixel centres,
 * c = (i+0.5)*r - 0.5 clamped to [0, n-1]. The two axes are separable
 * (vertical pass, then horizontal), accumulated in float, rounded half up
 * and clamped to 0..255. docs/formats.md states the same rule; the tests
 * check it against a float64 numpy reference.
 */
#ifndef STL_RESIZE_H
#define STL_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Floats of scratch that resize_square needs for these sizes. */
size_t resize_scratch_floats(int w, int h, int S);

/* src: w x h x 3 with row stride `stride` bytes; out: S x S x 3; tmp: at
 * least resize_scratch_floats(w, h, S) floats. */
void resize_square(const uint8_t *src, int w, int h, size_t stride, int S,
                   uint8_t *out, float *tmp);

#ifdef __cplusplus
}
#endif

#endif

/* pixel.h — the model's pixel normalisation, in one place: a uint8 channel
 * value v becomes v / 255 - 0.5 (docs/model.md). The model takes uint8
 * images and normalises them where it reads them (the first convolution's
 * im2col, conv.h), so a batch travels at one byte per channel; SAME padding
 * is the normalised 0, as in Flax, which pads after normalising. Every path
 * that normalises (the CPU ops, model_normalize_pixels, the GPU kernels)
 * uses this expression, so they agree bit for bit; it is gpu_math.h's
 * GM_FN, `__host__ __device__` under nvcc.
 */
#ifndef STL_PIXEL_H
#define STL_PIXEL_H

#include <stdint.h>

#include "model/gpu_math.h"

#ifdef __cplusplus
extern "C" {
#endif

GM_FN float pixel_normalize(uint8_t v) { return (float)v / 255.0f - 0.5f; }

#ifdef __cplusplus
}
#endif

#endif

/* jpeg_decode.h — one JPEG in memory to one S x S x 3 uint8 crop (stl-decode's core).
 *
 * Default mode reproduces tf.io.decode_jpeg(channels=3) followed by
 * tf.image.resize_with_crop_or_pad(S, S): libjpeg-turbo with the fast integer
 * IDCT and fancy upsampling, grayscale expanded to RGB, CMYK/YCCK converted to
 * RGB with TensorFlow's formula, then crop offset floor((h-S)/2) / pad offset
 * floor((S-h)/2) with zeros. Resize mode scales in the DCT domain to the
 * smallest factor keeping the short side >= S, then resamples the centred
 * square to S x S (resize.h). Everything the decoder rejects gets a reason
 * (jpeg_status) and a one-line detail; nothing is half-decoded.
 *
 * A jpeg_decoder is per thread: it owns a TurboJPEG handle and scratch
 * buffers, reused from image to image. Init/free pair; not thread-safe.
 */
#ifndef STL_JPEG_DECODE_H
#define STL_JPEG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    JPEG_STATUS_OK = 0,
    JPEG_STATUS_MISSING,    /* no such file */
    JPEG_STATUS_EMPTY,      /* zero bytes */
    JPEG_STATUS_IO,         /* could not read the file */
    JPEG_STATUS_NOT_JPEG,   /* no SOI marker: HTML, PNG, ... */
    JPEG_STATUS_TRUNCATED,  /* data ends before the image does */
    JPEG_STATUS_CORRUPT,    /* libjpeg refused the data */
    JPEG_STATUS_TOO_LARGE,  /* header dimensions over max_pixels */
    JPEG_STATUS_COLORSPACE, /* not gray, YCbCr, RGB, CMYK or YCCK */
    JPEG_STATUS_COUNT
} jpeg_status;

/* "ok", "missing", "empty", "io", "not_jpeg", "truncated", "corrupt",
 * "too_large", "colorspace" (the reason strings stored in crop indexes). */
const char *jpeg_status_name(jpeg_status s);

typedef struct {
    int size;            /* S */
    int resize;          /* 0: crop-or-pad (TF parity); 1: DCT scale + resample */
    uint64_t max_pixels; /* width*height above this is rejected before decoding */
} jpeg_decode_opts;

typedef struct {
    void *tj;            /* tjhandle */
    uint8_t *pix;        /* decoded image, w*h*4 bytes capacity */
    size_t pix_cap;
    uint8_t *file;       /* file contents */
    size_t file_cap;
    float *tmp;          /* resample scratch */
    size_t tmp_cap;
} jpeg_decoder;

int jpeg_decoder_init(jpeg_decoder *d, stl_error *err);
void jpeg_decoder_free(jpeg_decoder *d);

/* Decodes data[0..len) into out (S*S*3 bytes, row-major RGB). On a reject
 * out is left unspecified and detail (may be NULL) says why. */
jpeg_status jpeg_decode_crop(jpeg_decoder *d, const uint8_t *data, size_t len,
                             const jpeg_decode_opts *o, uint8_t *out,
                             char *detail, size_t detail_cap);

/* Reads path into the decoder's buffer and decodes it as above. */
jpeg_status jpeg_decode_file(jpeg_decoder *d, const char *path,
                             const jpeg_decode_opts *o, uint8_t *out,
                             char *detail, size_t detail_cap);

/* Copies src (w x h x 3, row stride `stride` bytes) into out (S x S x 3) as
 * tf.image.resize_with_crop_or_pad does. */
void jpeg_crop_or_pad(const uint8_t *src, int w, int h, size_t stride, int S,
                      uint8_t *out);

/* The DCT scaling factor used by resize mode for a w x h image: the smallest
 * num/denom <= 1 offered by libjpeg-turbo whose scaled short side is >= S
 * (1/1 when the image is smaller than S). Scaled size = ceil(dim*num/denom). */
void jpeg_scale_choose(int w, int h, int S, int *num, int *denom);

#ifdef __cplusplus
}
#endif

#endif

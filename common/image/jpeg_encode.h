/* jpeg_encode.h — RGB pixels to a JPEG file, with libjpeg-turbo (TurboJPEG).
 *
 * A jpeg_encoder holds one TurboJPEG compressor and its output buffer, so a
 * thread encodes many images without reallocating; it is not shared between
 * threads. Files are written through atomic.h. The output is a baseline
 * JPEG with 4:2:0 chroma subsampling; the same pixels and quality give the
 * same bytes.
 */
#ifndef STL_JPEG_ENCODE_H
#define STL_JPEG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *tj;            /* tjhandle */
    unsigned char *buf;  /* tjAlloc'ed output, reused */
    unsigned long size;  /* bytes of the last encoding */
    unsigned long cap;   /* capacity of buf */
} jpeg_encoder;

int jpeg_encoder_init(jpeg_encoder *e, stl_error *err);
void jpeg_encoder_free(jpeg_encoder *e);

/* Encodes (h, w, 3) RGB at quality 1..100 into e->buf / e->size. */
int jpeg_encode(jpeg_encoder *e, const uint8_t *rgb, int w, int h, int quality, stl_error *err);

/* Encodes and writes path atomically. */
int jpeg_encode_file(jpeg_encoder *e, const char *path, const uint8_t *rgb, int w, int h,
                     int quality, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

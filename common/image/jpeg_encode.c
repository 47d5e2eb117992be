/* jpeg_encode.c — TurboJPEG compression into a reused buffer (see jpeg_encode.h). */
#include "image/jpeg_encode.h"

#include <turbojpeg.h>

#include "io/atomic.h"

int jpeg_encoder_init(jpeg_encoder *e, stl_error *err) {
    e->buf = NULL;
    e->size = e->cap = 0;
    e->tj = tjInitCompress();
    if (!e->tj) return stl_fail(err, "jpeg encoder: %s", tjGetErrorStr2(NULL));
    return 0;
}

void jpeg_encoder_free(jpeg_encoder *e) {
    if (e->tj) tjDestroy(e->tj);
    tjFree(e->buf);
    e->tj = NULL;
    e->buf = NULL;
    e->size = e->cap = 0;
}

int jpeg_encode(jpeg_encoder *e, const uint8_t *rgb, int w, int h, int quality, stl_error *err) {
    if (w <= 0 || h <= 0 || quality < 1 || quality > 100)
        return stl_fail(err, "jpeg encode: bad size %dx%d or quality %d", w, h, quality);
    unsigned long need = tjBufSize(w, h, TJSAMP_420);
    if (need > e->cap) {
        tjFree(e->buf);
        e->buf = tjAlloc((int)need);
        e->cap = e->buf ? need : 0;
        if (!e->buf) return stl_fail(err, "jpeg encode %dx%d: out of memory", w, h);
    }
    e->size = e->cap;
    /* TJFLAG_NOREALLOC: the buffer is big enough for the worst case. */
    if (tjCompress2(e->tj, rgb, w, 0, h, TJPF_RGB, &e->buf, &e->size, TJSAMP_420, quality,
                    TJFLAG_NOREALLOC) != 0)
        return stl_fail(err, "jpeg encode %dx%d: %s", w, h, tjGetErrorStr2(e->tj));
    return 0;
}

int jpeg_encode_file(jpeg_encoder *e, const char *path, const uint8_t *rgb, int w, int h,
                     int quality, stl_error *err) {
    if (jpeg_encode(e, rgb, w, h, quality, err) != 0) return stl_fail_prefix(err, "%s", path);
    return atomic_write_file(path, e->buf, e->size, err);
}

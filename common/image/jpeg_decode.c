/* jpeg_decode.c — decode one JPEG with libjpeg-turbo (TurboJPEG 2.x API) and
 * bring it to S x S, rejecting bad input with a reason (see jpeg_decode.h).
 *
 * Rejection policy, in the order checked: missing / unreadable / empty file;
 * no SOI marker (not_jpeg); a header libjpeg refuses (corrupt, or truncated
 * when the data does not end with an EOI marker); a colour space other than
 * gray, YCbCr, RGB, CMYK, YCCK (colorspace); width*height > max_pixels
 * (too_large, checked on the header before anything is allocated). During
 * decoding, a fatal libjpeg error is corrupt (truncated without EOI); a
 * libjpeg *warning* is tolerated as TensorFlow tolerates it, except
 * "Premature end of JPEG file" (or any warning on data without a final
 * EOI), which is truncated: libjpeg would have filled the rest with grey.
 * TurboJPEG keeps the text of the first warning, which for a cut-off file is
 * the end-of-data one.
 */
#include "image/jpeg_decode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "image/resize.h"
#include "io/input_file.h"

#ifndef JMSG_LENGTH_MAX
#define JMSG_LENGTH_MAX 200
#endif

/* A file larger than this is not a 400 px product photo. */
#define JPEG_MAX_FILE_BYTES ((size_t)512 << 20)

static const char *const status_names[JPEG_STATUS_COUNT] = {
    "ok", "missing", "empty", "io", "not_jpeg",
    "truncated", "corrupt", "too_large", "colorspace",
};

const char *jpeg_status_name(jpeg_status s) {
    if ((int)s < 0 || s >= JPEG_STATUS_COUNT) return "unknown";
    return status_names[s];
}

int jpeg_decoder_init(jpeg_decoder *d, stl_error *err) {
    memset(d, 0, sizeof *d);
    d->tj = tjInitDecompress();
    if (!d->tj) return stl_fail(err, "libjpeg-turbo: %s", tjGetErrorStr2(NULL));
    return 0;
}

void jpeg_decoder_free(jpeg_decoder *d) {
    if (d->tj) tjDestroy(d->tj);
    free(d->pix);
    free(d->file);
    free(d->tmp);
    memset(d, 0, sizeof *d);
}

/* TurboJPEG 2.1 leaves a handle unusable after an error: every later call
 * fails with the same message. Any call that returned non-zero is followed
 * by a fresh handle (a failure to make one is reported by the next call). */
static void reset_handle(jpeg_decoder *d) {
    if (d->tj) tjDestroy(d->tj);
    d->tj = tjInitDecompress();
}

static jpeg_status reject(jpeg_status s, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static jpeg_status reject(jpeg_status s, char *detail, size_t cap, const char *fmt, ...) {
    if (detail && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, cap, fmt, ap);
        va_end(ap);
    }
    return s;
}

static int grow(void **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    void *p = realloc(*buf, need);
    if (!p) return -1;
    *buf = p;
    *cap = need;
    return 0;
}

static int ends_with_eoi(const uint8_t *data, size_t len) {
    return len >= 2 && data[len - 2] == 0xFF && data[len - 1] == 0xD9;
}

/* libjpeg's saw_Adobe_marker: an APP14 segment of >= 12 data bytes starting
 * "Adobe", before the first SOS. TensorFlow's CMYK formula depends on it. */
static int has_adobe_marker(const uint8_t *d, size_t len) {
    size_t i = 2;
    while (i + 4 <= len) {
        if (d[i] != 0xFF) return 0;
        while (i < len && d[i] == 0xFF) i++;
        if (i >= len) return 0;
        uint8_t m = d[i++];
        if (m == 0xDA || m == 0xD9) return 0;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;
        if (i + 2 > len) return 0;
        size_t seg = ((size_t)d[i] << 8) | d[i + 1];
        if (seg < 2) return 0;
        if (m == 0xEE && seg - 2 >= 12 && i + 2 + 5 <= len &&
            memcmp(d + i + 2, "Adobe", 5) == 0)
            return 1;
        i += seg;
    }
    return 0;
}

/* In place, 4 bytes per pixel -> 3, as tensorflow/core/lib/jpeg/jpeg_mem.cc. */
static void cmyk_to_rgb(uint8_t *p, size_t npix, int adobe) {
    for (size_t i = 0; i < npix; i++) {
        int c = p[4 * i], m = p[4 * i + 1], y = p[4 * i + 2], k = p[4 * i + 3];
        uint8_t *o = p + 3 * i;
        if (adobe) {
            o[0] = (uint8_t)(k * c / 255);
            o[1] = (uint8_t)(k * m / 255);
            o[2] = (uint8_t)(k * y / 255);
        } else {
            o[0] = (uint8_t)((255 - k) * (255 - c) / 255);
            o[1] = (uint8_t)((255 - k) * (255 - m) / 255);
            o[2] = (uint8_t)((255 - k) * (255 - y) / 255);
        }
    }
}

void jpeg_crop_or_pad(const uint8_t *src, int w, int h, size_t stride, int S,
                      uint8_t *out) {
    /* source offset (crop) and destination offset (pad) per axis */
    int sx = w > S ? (w - S) / 2 : 0, dx = w < S ? (S - w) / 2 : 0;
    int sy = h > S ? (h - S) / 2 : 0, dy = h < S ? (S - h) / 2 : 0;
    int cw = w < S ? w : S, ch = h < S ? h : S;
    size_t row = (size_t)S * 3;
    for (int y = 0; y < S; y++) {
        uint8_t *o = out + (size_t)y * row;
        if (y < dy || y >= dy + ch) {
            memset(o, 0, row);
            continue;
        }
        const uint8_t *s = src + (size_t)(y - dy + sy) * stride + (size_t)sx * 3;
        if (dx) memset(o, 0, (size_t)dx * 3);
        memcpy(o + (size_t)dx * 3, s, (size_t)cw * 3);
        size_t right = (size_t)(S - dx - cw) * 3;
        if (right) memset(o + (size_t)(dx + cw) * 3, 0, right);
    }
}

void jpeg_scale_choose(int w, int h, int S, int *num, int *denom) {
    int n = 0;
    tjscalingfactor *sf = tjGetScalingFactors(&n);
    int short_side = w < h ? w : h;
    int best_num = 1, best_den = 1, best = short_side;
    for (int i = 0; sf && i < n; i++) {
        if (sf[i].num > sf[i].denom) continue; /* no DCT upscaling */
        int s = TJSCALED(short_side, sf[i]);
        if (s >= S && s < best) {
            best = s;
            best_num = sf[i].num;
            best_den = sf[i].denom;
        }
    }
    *num = best_num;
    *denom = best_den;
}

static int has_text(const char *msg, const char *needle) {
    return msg && strcasestr(msg, needle) != NULL;
}

static jpeg_status not_jpeg_reason(const uint8_t *data, size_t len, char *detail,
                                   size_t cap) {
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (len >= 8 && memcmp(data, png, 8) == 0)
        return reject(JPEG_STATUS_NOT_JPEG, detail, cap, "PNG data, not JPEG");
    if (len >= 6 && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0))
        return reject(JPEG_STATUS_NOT_JPEG, detail, cap, "GIF data, not JPEG");
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i < len && data[i] == '<')
        return reject(JPEG_STATUS_NOT_JPEG, detail, cap, "HTML/XML text, not JPEG");
    /* the start of a JPEG and nothing more: cut off, not another format */
    if (len >= 2 && data[0] == 0xFF && data[1] == 0xD8 && (len == 2 || data[2] == 0xFF))
        return reject(JPEG_STATUS_TRUNCATED, detail, cap, "only %zu bytes: the file ends inside "
                      "the JPEG header", len);
    char hex[3 * 8 + 1] = "";
    for (size_t k = 0; k < len && k < 8; k++)
        snprintf(hex + 3 * k, sizeof hex - 3 * k, "%02x ", data[k]);
    if (hex[0]) hex[strlen(hex) - 1] = 0;
    return reject(JPEG_STATUS_NOT_JPEG, detail, cap, "no JPEG SOI marker (starts %s)", hex);
}

/* Classifies a non-zero tjDecompress2 return: OK for a tolerated warning. */
static jpeg_status decode_failure(jpeg_decoder *d, const uint8_t *data, size_t len,
                                  char *detail, size_t cap) {
    char msg[JMSG_LENGTH_MAX];
    snprintf(msg, sizeof msg, "%s", tjGetErrorStr2(d->tj));
    int fatal = tjGetErrorCode(d->tj) == TJERR_FATAL;
    reset_handle(d);
    if (has_text(msg, "premature end") || !ends_with_eoi(data, len))
        return reject(JPEG_STATUS_TRUNCATED, detail, cap, "%s", msg);
    if (fatal) return reject(JPEG_STATUS_CORRUPT, detail, cap, "%s", msg);
    /* a non-fatal warning on complete data: kept, as TensorFlow does */
    return JPEG_STATUS_OK;
}

jpeg_status jpeg_decode_crop(jpeg_decoder *d, const uint8_t *data, size_t len,
                             const jpeg_decode_opts *o, uint8_t *out,
                             char *detail, size_t cap) {
    if (detail && cap) detail[0] = 0;
    if (len == 0) return reject(JPEG_STATUS_EMPTY, detail, cap, "zero bytes");
    if (len < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF)
        return not_jpeg_reason(data, len, detail, cap);

    if (!d->tj) {
        reset_handle(d);
        if (!d->tj)
            return reject(JPEG_STATUS_IO, detail, cap, "libjpeg-turbo: %s", tjGetErrorStr2(NULL));
    }
    int w = 0, h = 0, subsamp = -1, cs = -1;
    if (tjDecompressHeader3(d->tj, data, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
        char msg[JMSG_LENGTH_MAX];
        snprintf(msg, sizeof msg, "%s", tjGetErrorStr2(d->tj));
        reset_handle(d);
        /* TurboJPEG 2.x refuses to *name* unusual chroma subsampling (e.g.
         * 3x1) in the header call, but decodes it; width, height and colour
         * space are already filled in by then. */
        if (!(has_text(msg, "subsampling") && w > 0 && h > 0 && cs >= 0)) {
            /* the header parsed (dimensions known) but the colour space is
             * not one TurboJPEG names: e.g. 2 components */
            if (has_text(msg, "colorspace") || (w > 0 && h > 0 && cs < 0))
                return reject(JPEG_STATUS_COLORSPACE, detail, cap,
                              "colour space/components not gray, YCbCr, RGB, CMYK or YCCK (%s)",
                              msg);
            if (has_text(msg, "premature end") || !ends_with_eoi(data, len))
                return reject(JPEG_STATUS_TRUNCATED, detail, cap, "%s", msg);
            return reject(JPEG_STATUS_CORRUPT, detail, cap, "%s", msg);
        }
    }
    if (w <= 0 || h <= 0) {
        /* an EOI before any frame header: a tables-only stream, or a file cut
         * short inside its headers (libjpeg then supplies a fake EOI) */
        if (!ends_with_eoi(data, len))
            return reject(JPEG_STATUS_TRUNCATED, detail, cap, "data ends inside the JPEG headers");
        return reject(JPEG_STATUS_CORRUPT, detail, cap, "no frame header (no image in the data)");
    }
    int pf;
    switch (cs) {
    case TJCS_GRAY:
    case TJCS_YCbCr:
    case TJCS_RGB: pf = TJPF_RGB; break;
    case TJCS_CMYK:
    case TJCS_YCCK: pf = TJPF_CMYK; break;
    default:
        return reject(JPEG_STATUS_COLORSPACE, detail, cap, "JPEG colour space %d", cs);
    }
    if ((uint64_t)w * (uint64_t)h > o->max_pixels)
        return reject(JPEG_STATUS_TOO_LARGE, detail, cap,
                      "%dx%d = %llu pixels > --max-pixels %llu", w, h,
                      (unsigned long long)w * (unsigned long long)h,
                      (unsigned long long)o->max_pixels);

    int sw = w, sh = h;
    if (o->resize) {
        int num, den;
        jpeg_scale_choose(w, h, o->size, &num, &den);
        tjscalingfactor f = {num, den};
        sw = TJSCALED(w, f);
        sh = TJSCALED(h, f);
    }
    int S = o->size;
    if (!o->resize && pf == TJPF_RGB && w <= S && h <= S) {
        /* Pad only: decode straight into the crop, saving a copy. */
        int dx = (S - w) / 2, dy = (S - h) / 2;
        size_t row = (size_t)S * 3;
        memset(out, 0, (size_t)dy * row);
        memset(out + (size_t)(dy + h) * row, 0, (size_t)(S - dy - h) * row);
        for (int y = dy; y < dy + h; y++) {
            memset(out + (size_t)y * row, 0, (size_t)dx * 3);
            memset(out + (size_t)y * row + (size_t)(dx + w) * 3, 0, (size_t)(S - dx - w) * 3);
        }
        int rc = tjDecompress2(d->tj, data, (unsigned long)len, out + (size_t)dy * row + dx * 3,
                               w, (int)row, h, TJPF_RGB, TJFLAG_FASTDCT | TJFLAG_LIMITSCANS);
        return rc == 0 ? JPEG_STATUS_OK : decode_failure(d, data, len, detail, cap);
    }
    size_t need = (size_t)sw * (size_t)sh * 4;
    if (grow((void **)&d->pix, &d->pix_cap, need) != 0)
        return reject(JPEG_STATUS_TOO_LARGE, detail, cap, "out of memory for %dx%d", sw, sh);
    int ps = tjPixelSize[pf];
    int rc = tjDecompress2(d->tj, data, (unsigned long)len, d->pix, sw, sw * ps, sh, pf,
                           TJFLAG_FASTDCT | TJFLAG_LIMITSCANS);
    if (rc != 0) {
        jpeg_status st = decode_failure(d, data, len, detail, cap);
        if (st != JPEG_STATUS_OK) return st;
    }
    if (pf == TJPF_CMYK) cmyk_to_rgb(d->pix, (size_t)sw * sh, has_adobe_marker(data, len));

    size_t stride = (size_t)sw * 3;
    if (o->resize) {
        size_t nf = resize_scratch_floats(sw, sh, o->size);
        if (grow((void **)&d->tmp, &d->tmp_cap, nf * sizeof(float)) != 0)
            return reject(JPEG_STATUS_TOO_LARGE, detail, cap, "out of memory");
        resize_square(d->pix, sw, sh, stride, o->size, out, d->tmp);
    } else {
        jpeg_crop_or_pad(d->pix, sw, sh, stride, o->size, out);
    }
    return JPEG_STATUS_OK;
}

jpeg_status jpeg_decode_file(jpeg_decoder *d, const char *path,
                             const jpeg_decode_opts *o, uint8_t *out,
                             char *detail, size_t cap) {
    if (detail && cap) detail[0] = 0;
    struct stat st;
    stl_error oerr;
    int fd = input_open(path, &st, &oerr);
    if (fd == INPUT_OPEN_FAILED && (errno == ENOENT || errno == ENOTDIR))
        return reject(JPEG_STATUS_MISSING, detail, cap, "%s: no such file", path);
    if (fd < 0) return reject(JPEG_STATUS_IO, detail, cap, "%s", oerr.msg);
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return reject(JPEG_STATUS_EMPTY, detail, cap, "zero bytes");
    }
    if (size > JPEG_MAX_FILE_BYTES) {
        close(fd);
        return reject(JPEG_STATUS_TOO_LARGE, detail, cap, "file of %zu bytes", size);
    }
    if (grow((void **)&d->file, &d->file_cap, size) != 0) {
        close(fd);
        return reject(JPEG_STATUS_IO, detail, cap, "out of memory for %zu bytes", size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, d->file + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size)
        return reject(JPEG_STATUS_IO, detail, cap, "%s: short read (%zu of %zu bytes)",
                      path, got, size);
    return jpeg_decode_crop(d, d->file, size, o, out, detail, cap);
}

/* report_thumbs.c — stl-report's thumbnails (see report_thumbs.h): the
 * source's header is read once to learn its short side, each size is
 * decoded and encoded once into DIR/img/, and a source that is missing or
 * does not decode becomes a placeholder; a thumbnail that cannot be written
 * fails the run (report->write_failed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/jpeg_decode.h"
#include "image/jpeg_encode.h"
#include "io/file_read.h"
#include "base/log.h"
#include "report/report_thumbs.h"

/* The short side of the JPEG at path, or 0 when it cannot be read or its
 * header does not parse. The file is read whole into r->file (reused). */
static int source_short_side(report *r, const char *path) {
    stl_error ignored = {{0}};
    char *buf = (char *)r->file;
    size_t n;
    int rc = file_read_into(path, 0, &buf, &r->file_cap, &n, &ignored);
    r->file = (unsigned char *)buf;
    int w, h, ss, cs;
    if (rc != 0 || n == 0 || tjDecompressHeader3(r->tj, r->file, (unsigned long)n, &w, &h, &ss, &cs) != 0)
        return 0;
    return w < h ? w : h;
}

/* Writes DIR/img/<key>-<s>.jpg from the source image `src` once, s = the
 * smaller of `size` and the source's short side. Returns s, or 0 when the
 * source is missing or does not decode. */
static int thumb(report *r, const char *src, const char *key, int size) {
    thumb_cache *tc = &r->cache;
    stl_error err;
    int added;
    long i = key_index_add(&tc->done, key, &added, &err);
    if (i < 0) return 0;
    if (added) {
        if ((size_t)i >= tc->cap) {
            size_t cap = tc->cap ? 2 * tc->cap : 256;
            thumb_entry *ne = realloc(tc->e, cap * sizeof *ne);
            if (!ne) return 0;
            tc->e = ne;
            tc->cap = cap;
        }
        thumb_entry *e = &tc->e[i];
        memset(e, 0, sizeof *e);
        r->images++;
        e->short_side = source_short_side(r, src);
        if (e->short_side <= 0) { /* the decoder says why */
            char detail[256] = "";
            jpeg_decode_opts jo = {size, 1, (uint64_t)1 << 28};
            jpeg_status st = jpeg_decode_file(&r->dec, src, &jo, r->pix, detail, sizeof detail);
            e->short_side = 0;
            r->images_failed++;
            if (r->images_failed <= 5)
                log_warn("%s: %s (%s): a placeholder instead", src,
                         st == JPEG_STATUS_OK ? "no header" : jpeg_status_name(st), detail);
            return 0;
        }
    }
    thumb_entry *e = &tc->e[i];
    if (e->short_side <= 0) return 0;
    int s = size < e->short_side ? size : e->short_side;
    for (int k = 0; k < e->n_sizes; k++)
        if (e->sizes[k] == s) return s;
    if (e->n_sizes == THUMB_SIZES) return 0; /* not reached: THUMB_SIZES >= the sizes used */
    char dst[4096], detail[256] = "";
    snprintf(dst, sizeof dst, "%s/img/%s-%d.jpg", r->o.out, key, s);
    jpeg_decode_opts jo = {s, 1, (uint64_t)1 << 28};
    jpeg_status st = jpeg_decode_file(&r->dec, src, &jo, r->pix, detail, sizeof detail);
    if (st != JPEG_STATUS_OK) {
        e->short_side = 0;
        r->images_failed++;
        if (r->images_failed <= 5)
            log_warn("%s: %s (%s): a placeholder instead", src, jpeg_status_name(st), detail);
        return 0;
    }
    /* A thumbnail that cannot be written (disk full) fails the run, unlike a
     * source that does not decode: report.c checks write_failed. */
    if (r->write_failed) return 0;
    if (jpeg_encode_file(&r->enc, dst, r->pix, s, s, 85, &err) != 0 ||
        report_wrote(r, dst, &err) != 0) {
        r->write_failed = 1;
        r->write_err = err;
        return 0;
    }
    r->thumbs++;
    e->sizes[e->n_sizes++] = s;
    return s;
}

/* The markup of a thumbnail of source `src` (key: a valid key, so safe in
 * markup), or of a placeholder box of the display size; `up` is the way
 * from the page's directory to the site's ("" or "../"). */
void report_thumb_markup(report *r, const char *src, const char *key, int size, const char *up,
                         char *buf, size_t cap) {
    int s = src ? thumb(r, src, key, size) : 0;
    if (s)
        snprintf(buf, cap, "<img src=\"%simg/%s-%d.jpg\" width=\"%d\" height=\"%d\" alt=\"%s\">",
                 up, key, s, s, s, key);
    else
        snprintf(buf, cap, "<div class=\"noimg\" style=\"width:%dpx;height:%dpx\">no image</div>",
                 size, size);
}

/* report_thumb_markup of an --images DIR/<key>.jpg into a page. */
void report_thumb_tag(html_doc *d, report *r, const char *key, int size, const char *up) {
    char src[4096], buf[512];
    if (r->o.images) snprintf(src, sizeof src, "%s/%s.jpg", r->o.images, key);
    report_thumb_markup(r, r->o.images ? src : NULL, key, size, up, buf, sizeof buf);
    html_raw(d, "%s", buf);
}

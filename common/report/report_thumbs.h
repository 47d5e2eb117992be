/* report_thumbs.h — stl-report's thumbnails: written once, shown as markup.
 *
 * A thumbnail of a source JPEG is decoded (resize mode) and written as
 * DIR/img/<key>-<s>.jpg, s = the display size or the source's short side when
 * that is smaller (never upscaled). Each source is probed once per run (the
 * report's thumb_cache remembers its short side and the sizes written), so a
 * product in many top-K lists costs one decode per size. A source that is
 * missing or does not decode becomes a placeholder box of the display size,
 * counted in report.images_failed (the first five logged), never a broken
 * <img>.
 */
#ifndef STL_REPORT_THUMBS_H
#define STL_REPORT_THUMBS_H

#include <stddef.h>

#include "report/html.h"
#include "report/report_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The markup of a thumbnail of source `src` (NULL: none; key: a valid key,
 * so safe in markup), or of a placeholder box of the display size, into
 * buf; `up` is the way from the page's directory to the site's ("" or
 * "../"). */
void report_thumb_markup(report *r, const char *src, const char *key, int size, const char *up,
                         char *buf, size_t cap);
/* report_thumb_markup of an --images DIR/<key>.jpg into a page. */
void report_thumb_tag(html_doc *d, report *r, const char *key, int size, const char *up);

#ifdef __cplusplus
}
#endif

#endif

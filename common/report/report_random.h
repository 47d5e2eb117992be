/* report_random.h — stl-random's page rewritten into stl-report's site.
 *
 * The page becomes DIR/random.html, self-contained: its images become
 * thumbnails in DIR/img/ (or placeholders), a data: image stays, any other
 * relative link is dropped (href="#"), so nothing points outside DIR; a link
 * back to index.html opens the body, the stylesheet's fixed image width gives
 * way to the natural size, and captions break after '|' or at spaces.
 */
#ifndef STL_REPORT_RANDOM_H
#define STL_REPORT_RANDOM_H

#include "base/error.h"
#include "report/report_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rewrites stl-random's page at src into DIR/random.html, atomically. */
int report_random_copy(report *r, const char *src, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

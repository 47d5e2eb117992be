/* image_path.h — where the image of a key lives: in a local directory laid
 * out flat or as Pinterest's CDN lays it out, or at the CDN itself.
 *
 * The STL images are JPEGs on Pinterest's CDN: key k (32 hex characters) at
 * IMAGE_PATH_CDN_URL/k[0:2]/k[2:4]/k[4:6]/k.jpg (docs/dataset.md). A local
 * copy is either flat (DIR/<key>.jpg, what stl-synth writes) or keeps the
 * CDN's three levels (DIR/ab/cd/ef/<key>.jpg, what `stl-decode --layout cdn`
 * reads and stl-fetch writes), so a mirror and the CDN share one rule.
 */
#ifndef STL_IMAGE_PATH_H
#define STL_IMAGE_PATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The CDN's base URL for the 400 px wide images. */
#define IMAGE_PATH_CDN_URL "http://i.pinimg.com/400x"

typedef enum { IMAGE_PATH_FLAT, IMAGE_PATH_CDN } image_path_layout;

/* The most characters a path adds to its base, NUL included: a buffer of
 * strlen(base) + IMAGE_PATH_EXTRA always fits a 32-character key. */
enum { IMAGE_PATH_EXTRA = 48 };

/* base/<key>.jpg (flat) or base/k0k1/k2k3/k4k5/<key>.jpg (cdn) into buf;
 * key has at least 6 characters. Returns 0, or -1 when buf is too small. */
int image_path_build(const char *base, image_path_layout layout, const char *key, char *buf,
                     size_t cap);

#ifdef __cplusplus
}
#endif

#endif

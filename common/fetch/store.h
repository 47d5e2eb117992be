/* store.h — where stl-fetch puts a key's image, and what it finds there.
 *
 * The final path is the layout rule of dataset/image_path.h under --out. A
 * body is written to a temporary beside it, "<dir>/.<key>.jpg.part" (one
 * name per key, so shards fetching into one directory never touch each
 * other's temporaries), and renamed onto the final path only once it
 * validated. store_prepare() runs before a key is fetched: it removes a
 * stale temporary left by a killed run, and keeps a final file that
 * validates (a resumed run skips it) or removes one that does not.
 */
#ifndef STL_STORE_H
#define STL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "dataset/image_path.h"

#ifdef __cplusplus
extern "C" {
#endif

/* final: the image's path; tmp: its temporary. Each buffer holds
 * strlen(out) + STORE_EXTRA bytes. Returns 0, or -1 when they do not fit. */
enum { STORE_EXTRA = IMAGE_PATH_EXTRA + 8 };
int store_paths(const char *out, image_path_layout layout, const char *key, char *final,
                char *tmp, size_t cap);

typedef enum {
    STORE_FETCH, /* nothing valid there: fetch it */
    STORE_KEEP   /* a valid file is there (*bytes: its size) */
} store_state;

/* Removes the stale temporary, then keeps or removes the final file.
 * -1 (err) when a file cannot be removed. */
int store_prepare(const char *final, const char *tmp, uint64_t max_bytes, store_state *state,
                  uint64_t *bytes, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

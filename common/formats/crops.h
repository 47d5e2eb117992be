/* crops.h — reading the crop shards written by stl-decode (see docs/formats.md).
 *
 * A crop directory holds one or more shard parts (from `--shard i/N` runs);
 * each shard stores uint8 RGB pixels of S x S images contiguously, and its
 * index maps key -> (shard, slot). crops_open() maps every part read-only,
 * validates headers and sizes against the file lengths, and builds one key
 * table across all parts. crops_pixels() returns a pointer into the mapping
 * (no copy, no decode): data sets larger than RAM work.
 */
#ifndef STL_CROPS_H
#define STL_CROPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crops_set crops_set;

int crops_open(const char *dir, crops_set **out, stl_error *err);
void crops_close(crops_set *c);

int crops_size(const crops_set *c);          /* S */
/* How stl-decode made them: "crop" (crop-or-pad) or "resize". */
const char *crops_mode(const crops_set *c);
size_t crops_count(const crops_set *c);      /* images over all parts */
/* Index of key in the set (0..count-1), or -1 when it was not decoded. */
long crops_find(const crops_set *c, const char *key);
const char *crops_key(const crops_set *c, size_t i);
/* S*S*3 bytes, row-major RGB, valid while the set is open. */
const uint8_t *crops_pixels(const crops_set *c, size_t i);

#ifdef __cplusplus
}
#endif

#endif

/* crops_inspect.h — what stl-inspect shows about crop shards (stages/inspect.c
 * dispatches here for the "stlrec-crops-index" / "stlrec-crops-shard"
 * formats and for `--crop KEY --out FILE.ppm`).
 */
#ifndef STL_CROPS_INSPECT_H
#define STL_CROPS_INSPECT_H

#include <stdio.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Describes a crop index or shard file (header, image count, size; for an
 * index also the shards and rejects by reason), or, given a directory, the
 * whole crop set. json: one JSON object instead of text lines. */
int crops_inspect(const char *path, int json, FILE *out, stl_error *err);

/* Writes the stored crop of `key` from the crop directory `dir` as a binary
 * PPM (P6, S x S, maxval 255), atomically. */
int crops_export_ppm(const char *dir, const char *key, const char *out_ppm, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* json_inspect.h — stl-inspect for the JSON files users meet: the pairs
 * JSONL and the catalog of the STL data set, stl-eval's metrics, a model's
 * sidecar, and the book's JSON embeddings.
 *
 * The kind is told from the content, not the name: a file whose first line
 * is an object with "scene" and "product" is a pairs file (read by the
 * pairs reader, malformed lines counted); a file that is one JSON object is
 * the eval metrics ("format": "stlrec-eval-metrics"), a model sidecar
 * ("stage" and "config"), a catalog (every value a category string) or
 * embeddings (every value an array of numbers). Anything else is an error
 * naming what was found, never a misreading as embeddings.
 */
#ifndef STL_JSON_INSPECT_H
#define STL_JSON_INSPECT_H

#include <stdio.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A summary of the JSON file at path on out (json: as one JSON object). */
int json_inspect(const char *path, int json, FILE *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

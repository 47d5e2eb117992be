/* catalog_index.h — the catalog with its product keys indexed, to answer
 * "what is this product's category?" by key: stl-triplets' hard negatives
 * and stl-report's scene pages ask it.
 */
#ifndef STL_CATALOG_INDEX_H
#define STL_CATALOG_INDEX_H

#include "base/error.h"
#include "dataset/catalog.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    catalog cat;      /* the entries, in the file's order */
    key_index index;  /* product key -> entry */
} catalog_index;

/* An empty index: what catalog_index_free and catalog_index_category accept
 * before (or without) a read. */
void catalog_index_init(catalog_index *ci);
/* Reads the catalog at path and indexes its keys; -1 with err on a bad file. */
int catalog_index_read(const char *path, catalog_index *ci, stl_error *err);
/* The category path of key, or NULL when the catalog has no such product. */
const char *catalog_index_category(const catalog_index *ci, const char *key);
void catalog_index_free(catalog_index *ci);

#ifdef __cplusplus
}
#endif

#endif

/* catalog.h — the STL catalog reader (fashion-cat.json / home-cat.json).
 *
 * The catalog is one JSON object mapping product key to category path
 * ("Apparel & Accessories|Shoes"). Order is the file's order. Every key is
 * validated; a bad key or a non-string value is an error naming the key and
 * its line in the file. Duplicate keys are an error.
 */
#ifndef STL_CATALOG_H
#define STL_CATALOG_H

#include <stddef.h>

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    stl_key *keys;
    char **categories; /* owned strings */
    size_t n;
} catalog;

int catalog_read(const char *path, catalog *out, stl_error *err);
void catalog_free(catalog *c);

#ifdef __cplusplus
}
#endif

#endif

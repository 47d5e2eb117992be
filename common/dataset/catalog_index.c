/* catalog_index.c — the catalog indexed by product key (catalog_index.h). */
#include "dataset/catalog_index.h"

#include <string.h>

void catalog_index_init(catalog_index *ci) {
    memset(&ci->cat, 0, sizeof ci->cat);
    key_index_init(&ci->index);
}

int catalog_index_read(const char *path, catalog_index *ci, stl_error *err) {
    if (catalog_read(path, &ci->cat, err) != 0) return -1;
    for (size_t i = 0; i < ci->cat.n; i++) {
        int added;
        if (key_index_add(&ci->index, ci->cat.keys[i].s, &added, err) < 0) return -1;
    }
    return 0;
}

const char *catalog_index_category(const catalog_index *ci, const char *key) {
    long i = key_index_find(&ci->index, key);
    return i < 0 ? NULL : ci->cat.categories[i];
}

void catalog_index_free(catalog_index *ci) {
    catalog_free(&ci->cat);
    key_index_free(&ci->index);
}

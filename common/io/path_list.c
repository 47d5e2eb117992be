/* path_list.c — splitting a comma-separated list of shard parts (path_list.h). */
#include "io/path_list.h"

#include <stdlib.h>
#include <string.h>

int path_list_split(const char *s, char ***paths, size_t *n, stl_error *err) {
    *paths = NULL;
    *n = 0;
    size_t count = 1;
    for (const char *c = s; *c; c++) count += *c == ',';
    char **out = calloc(count, sizeof *out);
    if (!out) return stl_fail(err, "%s: out of memory", s);
    const char *start = s;
    for (size_t i = 0; i < count; i++) {
        const char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (len == 0) {
            path_list_free(out, i);
            return stl_fail(err, "'%s': empty file name in a comma-separated list of parts", s);
        }
        out[i] = strndup(start, len);
        if (!out[i]) {
            path_list_free(out, i);
            return stl_fail(err, "%s: out of memory", s);
        }
        start = end ? end + 1 : start + len;
    }
    *paths = out;
    *n = count;
    return 0;
}

void path_list_free(char **paths, size_t n) {
    if (!paths) return;
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

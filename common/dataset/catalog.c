/* catalog.c — the STL catalog reader (see catalog.h). The file is parsed
 * whole with jansson (object order preserved); errors about one entry name
 * the key and the line it is on. */
#include "dataset/catalog.h"
#include "io/file_read.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Line of the first occurrence of "key" in text, or 0 if not found. */
static size_t line_of_key(const char *text, size_t len, const char *key) {
    size_t klen = strlen(key);
    if (klen == 0 || klen > 200) return 0;
    size_t line = 1;
    for (size_t i = 0; i + klen + 2 <= len; i++) {
        if (text[i] == '\n') line++;
        if (text[i] == '"' && memcmp(text + i + 1, key, klen) == 0 && text[i + 1 + klen] == '"')
            return line;
    }
    return 0;
}

int catalog_read(const char *path, catalog *out, stl_error *err) {
    memset(out, 0, sizeof *out);
    size_t len;
    char *text;
    if (file_read_all(path, 0, &text, &len, err) != 0) return -1;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        stl_fail(err, "%s:%d: invalid JSON: %s", path, jerr.line, jerr.text);
        free(text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        stl_fail(err, "%s: not a catalog: expected a JSON object mapping product key to category", path);
        goto done;
    }
    size_t n = json_object_size(root);
    if (n == 0) {
        stl_fail(err, "%s: the catalog is empty", path);
        goto done;
    }
    out->keys = malloc(n * sizeof *out->keys);
    out->categories = calloc(n, sizeof *out->categories);
    if (!out->keys || !out->categories) {
        stl_fail(err, "%s: out of memory", path);
        goto done;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!key_valid_str(k)) {
            stl_fail(err, "%s:%zu: bad product key '%.40s' (want 32 lowercase hex characters)", path,
                     line_of_key(text, len, k), k);
            goto done;
        }
        if (!json_is_string(v)) {
            stl_fail(err, "%s:%zu: key %s: category is not a string", path, line_of_key(text, len, k), k);
            goto done;
        }
        memcpy(out->keys[out->n].s, k, STL_KEY_LEN + 1);
        out->categories[out->n] = strdup(json_string_value(v));
        if (!out->categories[out->n]) {
            stl_fail(err, "%s: out of memory", path);
            goto done;
        }
        out->n++;
    }
    rc = 0;
done:
    json_decref(root);
    free(text);
    if (rc != 0) catalog_free(out);
    return rc;
}

void catalog_free(catalog *c) {
    if (c->categories)
        for (size_t i = 0; i < c->n; i++) free(c->categories[i]);
    free(c->categories);
    free(c->keys);
    memset(c, 0, sizeof *c);
}

/* keylist.c — read "the keys to work on" from a pairs JSONL, a catalog JSON
 * or a plain list (see keylist.h). The kind is decided by the first
 * non-blank character and line: '{' on a line that parses as a whole object
 * with "scene"/"product" is a pairs file; a '{' that opens a whole-file
 * object is a catalog; anything else is a plain list. */
#include "dataset/keylist.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/catalog.h"
#include "base/log.h"
#include "dataset/pairs.h"
#include "io/input_file.h"

static int detect_kind(const char *path, keylist_kind *kind, stl_error *err) {
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *kind = KEYLIST_KIND_PLAIN;
    while ((len = getline(&line, &cap, f)) >= 0) {
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p) continue;
        if (*p == '{') {
            json_t *o = json_loadb(line, (size_t)len, 0, NULL);
            if (o && json_object_get(o, "scene") && json_object_get(o, "product")) *kind = KEYLIST_KIND_PAIRS;
            else *kind = KEYLIST_KIND_CATALOG;
            json_decref(o);
        }
        break;
    }
    free(line);
    fclose(f);
    return 0;
}

static int read_plain(const char *path, key_index *ki, stl_error *err) {
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            rc = stl_fail(err, "%s:%zu: a NUL byte in the line (not a text key list)", path, lineno);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        if (!key_valid_str(p)) {
            rc = stl_fail(err, "%s:%zu: bad key '%.40s' (want 32 lowercase hex characters)", path, lineno, p);
            break;
        }
        if (key_index_add(ki, p, NULL, err) < 0) {
            rc = stl_fail_prefix(err, "%s", path);
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

int keylist_read(const char *path, keylist_select select, key_index *ki, keylist_kind *kind,
                 stl_error *err) {
    keylist_kind k = KEYLIST_KIND_PLAIN;
    if (detect_kind(path, &k, err) != 0) return -1;
    if (kind) *kind = k;
    if (k == KEYLIST_KIND_PLAIN) return read_plain(path, ki, err);
    if (k == KEYLIST_KIND_CATALOG) {
        catalog c;
        if (catalog_read(path, &c, err) != 0) return -1;
        for (size_t i = 0; i < c.n; i++)
            if (key_index_add(ki, c.keys[i].s, NULL, err) < 0) {
                catalog_free(&c);
                return stl_fail_prefix(err, "%s", path);
            }
        catalog_free(&c);
        return 0;
    }
    pair_list pl;
    if (pairs_read(path, &pl, err) != 0) return -1;
    if (pl.n == 0) {
        pairs_free(&pl);
        return stl_fail(err, "%s: no valid pairs in the file", path);
    }
    int rc = 0;
    for (size_t i = 0; i < pl.n && rc == 0; i++) {
        if (select != KEYLIST_PRODUCTS && key_index_add(ki, pl.v[i].scene.s, NULL, err) < 0) rc = -1;
        if (rc == 0 && select != KEYLIST_SCENES && key_index_add(ki, pl.v[i].product.s, NULL, err) < 0)
            rc = -1;
    }
    pairs_free(&pl);
    return rc == 0 ? 0 : stl_fail_prefix(err, "%s", path);
}

size_t keylist_part(const key_index *ki, long index, long count, stl_key *out) {
    size_t n = 0;
    for (size_t p = 0; p < ki->n; p++)
        if ((long)(p % (size_t)count) == index) out[n++] = ki->keys[p];
    return n;
}

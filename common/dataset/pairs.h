/* pairs.h — the STL pairs JSON-lines reader (fashion.json / home.json).
 *
 * One object per line: {"product": KEY, "scene": KEY, "bbox": [l, t, r, b]}.
 * Blank lines are ignored. A malformed line (bad JSON, missing field, bad key,
 * bad bbox) is counted, reported with its line number (the first few are
 * printed through log_warn) and skipped. The caller decides whether what is
 * left is usable. bbox is optional; has_bbox says whether it was present.
 */
#ifndef STL_PAIRS_H
#define STL_PAIRS_H

#include <stddef.h>

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    stl_key scene;
    stl_key product;
    float bbox[4];    /* left, top, right, bottom in [0,1] */
    int has_bbox;
    size_t line;      /* 1-based line number in the file */
} stl_pair;

typedef struct {
    stl_pair *v;
    size_t n, cap;
    size_t lines;      /* lines read */
    size_t blank;      /* blank lines skipped */
    size_t malformed;  /* malformed lines skipped */
    size_t first_bad_line;
} pair_list;

/* Parses one line (without needing a NUL; len bytes). Returns 1 and fills p
 * for a valid pair; 0 for a blank line; -1 for a malformed one with *why set.
 * Common lines go through a hand-written fast path (a strict subset of JSON:
 * the three known fields, plain strings, JSON numbers); anything else goes to
 * jansson, which has the last word. pairs_parse_line_json is the jansson-only
 * path (the tests check that both agree). */
int pairs_parse_line(const char *line, size_t len, stl_pair *p, const char **why);
int pairs_parse_line_json(const char *line, size_t len, stl_pair *p, const char **why);

/* Reads every pair; fails only on I/O errors (unreadable file). */
int pairs_read(const char *path, pair_list *out, stl_error *err);
void pairs_free(pair_list *pl);

#ifdef __cplusplus
}
#endif

#endif

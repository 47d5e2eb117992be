/* pairs.c — the STL pairs JSON-lines reader (see pairs.h).
 * Lines are read with getline (any length); each is parsed with jansson. */
#include "pairs.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum { PAIRS_WARN_LIMIT = 10 };

static int is_blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

/* Fills p from one parsed line; returns NULL or the reason it is malformed. */
static const char *pair_from_json(json_t *o, stl_pair *p) {
    if (!json_is_object(o)) return "not a JSON object";
    json_t *sc = json_object_get(o, "scene"), *pr = json_object_get(o, "product");
    if (!json_is_string(sc)) return "missing or non-string \"scene\"";
    if (!json_is_string(pr)) return "missing or non-string \"product\"";
    if (!key_valid(json_string_value(sc), json_string_length(sc)))
        return "bad scene key (want 32 lowercase hex characters)";
    if (!key_valid(json_string_value(pr), json_string_length(pr)))
        return "bad product key (want 32 lowercase hex characters)";
    memcpy(p->scene.s, json_string_value(sc), STL_KEY_LEN + 1);
    memcpy(p->product.s, json_string_value(pr), STL_KEY_LEN + 1);
    p->has_bbox = 0;
    json_t *bb = json_object_get(o, "bbox");
    if (bb) {
        if (!json_is_array(bb) || json_array_size(bb) != 4) return "\"bbox\" is not an array of 4 numbers";
        for (int i = 0; i < 4; i++) {
            json_t *v = json_array_get(bb, i);
            if (!json_is_number(v)) return "\"bbox\" is not an array of 4 numbers";
            double x = json_number_value(v);
            if (!(x >= -0.01 && x <= 1.01)) return "\"bbox\" value outside [0,1]";
            p->bbox[i] = (float)x;
        }
        p->has_bbox = 1;
    }
    return NULL;
}

int pairs_read(const char *path, pair_list *out, stl_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return stl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        out->lines++;
        if (is_blank(line)) {
            out->blank++;
            continue;
        }
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        stl_pair p;
        const char *why = o ? pair_from_json(o, &p) : jerr.text;
        json_decref(o);
        if (why) {
            if (!out->malformed) out->first_bad_line = out->lines;
            if (out->malformed < PAIRS_WARN_LIMIT)
                log_warn("%s:%zu: skipping malformed line: %s", path, out->lines, why);
            out->malformed++;
            continue;
        }
        p.line = out->lines;
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 1024;
            stl_pair *v = realloc(out->v, nc * sizeof *v);
            if (!v) {
                free(line);
                fclose(f);
                pairs_free(out);
                return stl_fail(err, "%s: out of memory", path);
            }
            out->v = v;
            out->cap = nc;
        }
        out->v[out->n++] = p;
    }
    int rerr = ferror(f);
    free(line);
    fclose(f);
    if (rerr) {
        pairs_free(out);
        return stl_fail(err, "%s: read error", path);
    }
    if (out->malformed > PAIRS_WARN_LIMIT)
        log_warn("%s: %zu more malformed lines not shown", path, out->malformed - PAIRS_WARN_LIMIT);
    return 0;
}

void pairs_free(pair_list *pl) {
    free(pl->v);
    memset(pl, 0, sizeof *pl);
}

/* pairs.c — the STL pairs JSON-lines reader (see pairs.h).
 * Lines are read with getline (any length); each is parsed with jansson. */
#include "dataset/pairs.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "io/input_file.h"

enum { PAIRS_WARN_LIMIT = 10 };

static int is_blank_n(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
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

/* ---- the fast path: a strict subset of JSON, for the lines STL files have ---- */

static const char *skip_ws(const char *s, const char *end) {
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++;
    return s;
}

/* A JSON number (RFC 8259 grammar) at s; returns its end, or NULL. */
static const char *json_number_end(const char *s, const char *end) {
    if (s < end && *s == '-') s++;
    if (s >= end) return NULL;
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9')
        while (s < end && *s >= '0' && *s <= '9') s++;
    else return NULL;
    if (s < end && *s == '.') {
        s++;
        if (s >= end || *s < '0' || *s > '9') return NULL;
        while (s < end && *s >= '0' && *s <= '9') s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-')) s++;
        if (s >= end || *s < '0' || *s > '9') return NULL;
        while (s < end && *s >= '0' && *s <= '9') s++;
    }
    return s;
}

/* 1: parsed a valid pair; 0: not handled here (let jansson decide). */
static int pair_parse_fast(const char *s, size_t len, stl_pair *p) {
    const char *end = s + len;
    int seen_scene = 0, seen_product = 0, seen_bbox = 0;
    s = skip_ws(s, end);
    if (s >= end || *s++ != '{') return 0;
    s = skip_ws(s, end);
    if (s < end && *s == '}') return 0;
    for (;;) {
        if (s >= end || *s++ != '"') return 0;
        const char *name = s;
        while (s < end && *s != '"' && *s != '\\') s++;
        if (s >= end || *s != '"') return 0;
        size_t nlen = (size_t)(s - name);
        s = skip_ws(s + 1, end);
        if (s >= end || *s++ != ':') return 0;
        s = skip_ws(s, end);
        if ((nlen == 5 && memcmp(name, "scene", 5) == 0) || (nlen == 7 && memcmp(name, "product", 7) == 0)) {
            int is_scene = nlen == 5;
            if (is_scene ? seen_scene++ : seen_product++) return 0;
            if (end - s < STL_KEY_LEN + 2 || s[0] != '"' || s[STL_KEY_LEN + 1] != '"') return 0;
            if (!key_valid(s + 1, STL_KEY_LEN)) return 0;
            stl_key *k = is_scene ? &p->scene : &p->product;
            memcpy(k->s, s + 1, STL_KEY_LEN);
            k->s[STL_KEY_LEN] = '\0';
            s += STL_KEY_LEN + 2;
        } else if (nlen == 4 && memcmp(name, "bbox", 4) == 0) {
            if (seen_bbox++) return 0;
            if (s >= end || *s++ != '[') return 0;
            for (int i = 0; i < 4; i++) {
                s = skip_ws(s, end);
                const char *ne = json_number_end(s, end);
                if (!ne || ne - s > 40) return 0;
                char num[48];
                memcpy(num, s, (size_t)(ne - s));
                num[ne - s] = '\0';
                double x = strtod(num, NULL);
                if (!(x >= -0.01 && x <= 1.01)) return 0;
                p->bbox[i] = (float)x;
                s = skip_ws(ne, end);
                if (s >= end || *s++ != (i == 3 ? ']' : ',')) return 0;
            }
        } else {
            return 0;
        }
        s = skip_ws(s, end);
        if (s < end && *s == ',') {
            s = skip_ws(s + 1, end);
            continue;
        }
        if (s < end && *s == '}') break;
        return 0;
    }
    s = skip_ws(s + 1, end);
    if (s != end || !seen_scene || !seen_product) return 0;
    p->has_bbox = seen_bbox;
    return 1;
}

int pairs_parse_line_json(const char *line, size_t len, stl_pair *p, const char **why) {
    if (is_blank_n(line, len)) return 0;
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    static __thread char jbuf[JSON_ERROR_TEXT_LENGTH];
    if (!o) {
        memcpy(jbuf, jerr.text, sizeof jbuf);
        *why = jbuf;
        return -1;
    }
    *why = pair_from_json(o, p);
    json_decref(o);
    return *why ? -1 : 1;
}

int pairs_parse_line(const char *line, size_t len, stl_pair *p, const char **why) {
    if (pair_parse_fast(line, len, p)) return 1;
    return pairs_parse_line_json(line, len, p, why);
}

int pairs_read(const char *path, pair_list *out, stl_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = input_fopen(path, err);
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        out->lines++;
        stl_pair p;
        const char *why = NULL;
        int r = pairs_parse_line(line, (size_t)len, &p, &why);
        if (r == 0) {
            out->blank++;
            continue;
        }
        if (r < 0) {
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

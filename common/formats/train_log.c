/* train_log.c — JSON-lines metrics log with crash-safe resume, and its
 * reader (train_log.h). */
#include "formats/train_log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "base/testhook.h"
#include "io/input_file.h"

static void ml_add(train_log_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ml_add(train_log_line *l, const char *fmt, ...) {
    if (l->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->buf + l->n, sizeof l->buf - l->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof l->buf - l->n) l->overflow = 1;
    else l->n += (size_t)k;
}

void train_log_line_begin(train_log_line *l, int64_t step) {
    l->n = 0;
    l->overflow = 0;
    ml_add(l, "{\"step\": %lld", (long long)step);
}

void train_log_line_int(train_log_line *l, const char *key, int64_t v) {
    ml_add(l, ", \"%s\": %lld", key, (long long)v);
}

void train_log_line_num(train_log_line *l, const char *key, double v) {
    if (isfinite(v)) ml_add(l, ", \"%s\": %.9g", key, v);
    else ml_add(l, ", \"%s\": null", key);
}

void train_log_line_str(train_log_line *l, const char *key, const char *v) {
    ml_add(l, ", \"%s\": \"", key);
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') ml_add(l, "\\%c", c);
        else if (c < 0x20) ml_add(l, "\\u%04x", c);
        else ml_add(l, "%c", c);
    }
    ml_add(l, "\"");
}

/* The whole lines of the existing file with step <= keep, into *out. */
static int train_log_filter(const char *path, int64_t keep, char **out, size_t *out_n,
                          stl_error *err) {
    *out = NULL;
    *out_n = 0;
    FILE *f = input_fopen(path, err);
    if (!f) return errno == ENOENT ? 0 : -1;
    char *line = NULL, *buf = NULL;
    size_t cap = 0, n = 0, bcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') break; /* a torn last line */
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)len, 0, &je);
        json_t *s = j ? json_object_get(j, "step") : NULL;
        int keep_it = s && json_is_integer(s) && json_integer_value(s) <= keep;
        json_decref(j);
        if (!keep_it) continue;
        if (n + (size_t)len > bcap) {
            bcap = (n + (size_t)len) * 2;
            char *nb = realloc(buf, bcap);
            if (!nb) {
                rc = stl_fail(err, "%s: out of memory", path);
                break;
            }
            buf = nb;
        }
        memcpy(buf + n, line, (size_t)len);
        n += (size_t)len;
    }
    if (rc == 0 && ferror(f)) rc = stl_fail(err, "%s: read error", path);
    free(line);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_n = n;
    return 0;
}

int train_log_open(train_log *ml, const char *path, int64_t keep_up_to_step, stl_error *err) {
    memset(ml, 0, sizeof *ml);
    char *kept = NULL;
    size_t n = 0;
    if (keep_up_to_step >= 0 && train_log_filter(path, keep_up_to_step, &kept, &n, err) != 0)
        return -1;
    int rc = atomic_write_file(path, kept ? kept : "", n, err);
    free(kept);
    if (rc != 0) return -1;
    ml->path = strdup(path);
    ml->f = fopen(path, "ab");
    if (!ml->path || !ml->f) {
        int e = errno;
        train_log_close(ml);
        return stl_fail(err, "%s: cannot open for appending: %s", path, strerror(e));
    }
    return 0;
}

void train_log_close(train_log *ml) {
    if (ml->f) fclose(ml->f);
    free(ml->path);
    memset(ml, 0, sizeof *ml);
}

int train_log_append(train_log *ml, train_log_line *l, int64_t step, stl_error *err) {
    ml_add(l, "}\n");
    if (l->overflow) return stl_fail(err, "%s: metrics line too long", ml->path);
    if (testhook_armed("metrics", step)) {
        fwrite(l->buf, 1, l->n / 2, ml->f);
        fflush(ml->f);
        testhook_point("metrics", step);
    }
    if (fwrite(l->buf, 1, l->n, ml->f) != l->n || fflush(ml->f) != 0)
        return stl_fail(err, "%s: write failed: %s", ml->path, strerror(errno));
    return 0;
}

/* ---- reading ---- */

static int series_add(train_log_series *s, double step, double value) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *ns = realloc(s->step, cap * sizeof *ns);
        if (ns) s->step = ns;
        double *nv = realloc(s->value, cap * sizeof *nv);
        if (nv) s->value = nv;
        if (!ns || !nv) return -1;
        s->cap = cap;
    }
    s->step[s->n] = step;
    s->value[s->n++] = value;
    return 0;
}

/* Adds one record's numeric fields; -1 when out of memory. */
static int read_record(train_log_data *d, json_t *o, double step) {
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (!json_is_number(v) || strcmp(k, "step") == 0) continue;
        size_t c = 0;
        while (c < d->n_series && strcmp(d->series[c].name, k) != 0) c++;
        if (c == d->n_series) {
            char *name = strdup(k);
            train_log_series *ns = name ? realloc(d->series, (c + 1) * sizeof *ns) : NULL;
            if (!ns) {
                free(name);
                return -1;
            }
            d->series = ns;
            d->series[c] = (train_log_series){name, NULL, NULL, 0, 0};
            d->n_series++;
        }
        if (series_add(&d->series[c], step, json_number_value(v)) != 0) return -1;
    }
    return 0;
}

int train_log_read(const char *path, train_log_data *out, stl_error *err) {
    memset(out, 0, sizeof *out);
    FILE *in = input_fopen(path, err);
    if (!in) return -1;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, in) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        const json_t *st = json_object_get(o, "step");
        if (!json_is_object(o) || !json_is_number(st)) {
            out->skipped += line[strspn(line, " \t\r\n")] != '\0';
            json_decref(o);
            continue;
        }
        out->records++;
        int r = read_record(out, o, json_number_value(st));
        json_decref(o);
        if (r != 0) {
            rc = stl_fail(err, "%s: out of memory", path);
            break;
        }
    }
    if (rc == 0 && ferror(in)) rc = stl_fail(err, "%s: read error", path);
    free(line);
    fclose(in);
    if (rc != 0) train_log_data_free(out);
    return rc;
}

void train_log_data_free(train_log_data *d) {
    for (size_t c = 0; c < d->n_series; c++) {
        free(d->series[c].name);
        free(d->series[c].step);
        free(d->series[c].value);
    }
    free(d->series);
    memset(d, 0, sizeof *d);
}

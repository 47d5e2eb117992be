/* html.c — HTML escaping, relative links and the atomic page writer (see html.h). */
#include "report/html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *entity(char c) {
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

size_t html_escaped_len(const char *s) {
    size_t n = 0;
    for (; *s; s++) {
        const char *e = entity(*s);
        n += e ? strlen(e) : 1;
    }
    return n;
}

char *html_escape_dup(const char *s) {
    char *out = malloc(html_escaped_len(s) + 1), *p = out;
    if (!out) return NULL;
    for (; *s; s++) {
        const char *e = entity(*s);
        if (e) {
            size_t n = strlen(e);
            memcpy(p, e, n);
            p += n;
        } else {
            *p++ = *s;
        }
    }
    *p = '\0';
    return out;
}

/* Splits an absolute version of path into components, resolving "." and
 * ".." lexically. Returns a malloc'ed copy holding the component strings;
 * parts[] points into it. */
static char *split_path(const char *path, const char **parts, size_t max, size_t *n) {
    char cwd[4096];
    size_t plen = strlen(path);
    int rel = path[0] != '/';
    if (rel && !getcwd(cwd, sizeof cwd)) return NULL;
    size_t clen = rel ? strlen(cwd) : 0;
    char *buf = malloc(clen + plen + 2);
    if (!buf) return NULL;
    if (rel) {
        memcpy(buf, cwd, clen);
        buf[clen] = '/';
        memcpy(buf + clen + 1, path, plen + 1);
    } else {
        memcpy(buf, path, plen + 1);
    }
    *n = 0;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0) continue;
        if (strcmp(tok, "..") == 0) {
            if (*n > 0) (*n)--;
            continue;
        }
        if (*n == max) {
            free(buf);
            return NULL;
        }
        parts[(*n)++] = tok;
    }
    return buf;
}

char *html_relpath(const char *from_dir, const char *to) {
    enum { MAX_PARTS = 256 };
    const char *a[MAX_PARTS], *b[MAX_PARTS];
    size_t na, nb;
    char *ba = split_path(from_dir, a, MAX_PARTS, &na);
    char *bb = ba ? split_path(to, b, MAX_PARTS, &nb) : NULL;
    char *out = NULL;
    if (ba && bb) {
        size_t c = 0;
        while (c < na && c < nb && strcmp(a[c], b[c]) == 0) c++;
        size_t len = 3 * (na - c) + 2;
        for (size_t i = c; i < nb; i++) len += strlen(b[i]) + 1;
        out = malloc(len);
        if (out) {
            char *p = out;
            for (size_t i = c; i < na; i++, p += 3) memcpy(p, "../", 3);
            for (size_t i = c; i < nb; i++) p += sprintf(p, "%s%s", i > c ? "/" : "", b[i]);
            if (p == out) strcpy(out, ".");
            else if (p[-1] == '/') p[-1] = '\0';
        }
    }
    free(ba);
    free(bb);
    return out;
}

char *html_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

char *html_url_path(const char *s) {
    char *out = malloc(3 * strlen(s) + 1), *p = out;
    if (!out) return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/", *c))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    *p = '\0';
    return out;
}

int html_begin(html_doc *d, const char *path, const char *title, const char *css,
               stl_error *err) {
    d->open = 0;
    if (atomic_open(&d->af, path, err) != 0) return -1;
    d->open = 1;
    html_raw(d, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>");
    html_text(d, title);
    html_raw(d, "</title>\n");
    if (css) html_raw(d, "<style>\n%s</style>\n", css);
    html_raw(d, "</head>\n<body>\n");
    return 0;
}

int html_raw(html_doc *d, const char *fmt, ...) {
    char small[1024], *buf = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n >= sizeof small) {
        buf = malloc((size_t)n + 1);
        if (!buf) { /* remembered: html_end will refuse to commit */
            d->af.failed = 1;
            snprintf(d->af.why, sizeof d->af.why, "out of memory");
            return -1;
        }
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    int rc = atomic_write(&d->af, buf, (size_t)n, NULL);
    if (buf != small) free(buf);
    return rc;
}

int html_text(html_doc *d, const char *s) {
    const char *run = s;
    for (; *s; s++) {
        const char *e = entity(*s);
        if (!e) continue;
        if (s > run && atomic_write(&d->af, run, (size_t)(s - run), NULL) != 0) return -1;
        if (atomic_write(&d->af, e, strlen(e), NULL) != 0) return -1;
        run = s + 1;
    }
    if (s > run) return atomic_write(&d->af, run, (size_t)(s - run), NULL);
    return 0;
}

int html_end(html_doc *d, stl_error *err) {
    if (!d->open) return stl_fail(err, "html_end: page not open");
    html_raw(d, "</body>\n</html>\n");
    d->open = 0;
    return atomic_commit(&d->af, err);
}

void html_abort(html_doc *d) {
    if (d->open) atomic_abort(&d->af);
    d->open = 0;
}

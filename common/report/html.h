/* html.h — writing HTML pages safely: escaping, links and an atomic writer.
 *
 * Every string that comes from data (keys, categories, file names, metrics
 * labels) goes through html_text / html_escape, which replace & < > " ' by
 * entities, so the same call is safe in element text and in quoted attribute
 * values. Links to local files are built with html_relpath (a relative path
 * from the page's directory, worked out lexically) and html_url_path
 * (percent-encoding of everything but unreserved characters and '/').
 *
 * A page is written through atomic.h, so it appears whole or not at all:
 *
 *     html_doc d;
 *     if (html_begin(&d, "out/index.html", "Title", css_or_NULL, &err) != 0) ...;
 *     html_raw(&d, "<p>%d items from ", n);   // trusted markup, printf-style
 *     html_text(&d, catalog_path);             // data: escaped
 *     html_raw(&d, "</p>\n");
 *     if (html_end(&d, &err) != 0) ...;        // closes body/html, commits
 *     // on an error path before html_end: html_abort(&d);
 *
 * Write errors are remembered by the atomic file and reported by html_end.
 * Strings returned by html_escape_dup / html_relpath / html_url_path are
 * malloc'ed and owned by the caller (NULL on allocation failure).
 */
#ifndef STL_HTML_H
#define STL_HTML_H

#include <stddef.h>

#include "io/atomic.h"
#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Escaped copy of s. */
char *html_escape_dup(const char *s);
/* Length of s once escaped. */
size_t html_escaped_len(const char *s);

/* Relative path from directory from_dir to path `to` (both relative to the
 * current directory or absolute; "." and ".." are resolved lexically). */
char *html_relpath(const char *from_dir, const char *to);
/* Directory part of a file path ("a/b.html" -> "a", "b.html" -> "."). */
char *html_dirname(const char *path);
/* s with every byte but [A-Za-z0-9-._~/] as %XX. */
char *html_url_path(const char *s);

typedef struct {
    atomic_file af;
    int open;
} html_doc;

/* Starts the page: doctype, <head> with the (escaped) title, optional CSS
 * (trusted), and <body>. */
int html_begin(html_doc *d, const char *path, const char *title, const char *css,
               stl_error *err);
/* Trusted markup, printf-style: never pass data through the format. */
int html_raw(html_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Data, escaped. */
int html_text(html_doc *d, const char *s);
/* Closes body and html and commits the file. */
int html_end(html_doc *d, stl_error *err);
/* Drops the page (the final name is never created). Safe after html_end. */
void html_abort(html_doc *d);

#ifdef __cplusplus
}
#endif

#endif

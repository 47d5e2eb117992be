/* report_ctx.c — what every part of stl-report shares: the site's
 * stylesheet and reading a whole text file (stl-random's page, the model's
 * metadata sidecar), and the list of files a run wrote, removed when it
 * fails. See report_ctx.h for the run's state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/report_ctx.h"

const char report_css[] =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}"
    ".grid{display:flex;flex-wrap:wrap;gap:10px}.card{width:170px;font-size:12px;"
    "border:2px solid #ddd;padding:4px}.card.gt{border-color:#2ca02c;background:#efe}"
    ".noimg{display:flex;align-items:center;justify-content:center;background:#eee;color:#888}"
    ".key{font-family:monospace;font-size:10px;word-break:break-all}"
    ".cat{overflow-wrap:break-word}h1 .key{display:block;font-size:13px;font-weight:normal;"
    "margin-top:4px}.note{color:#555;font-size:13px}.sc{white-space:nowrap}"
    ".scenebox{position:relative;display:inline-block;line-height:0}"
    ".bbox{position:absolute;border:2px solid #2ca02c;box-sizing:border-box}"
    ".bbox span{position:absolute;left:0;top:0;background:#2ca02c;color:#fff;font-size:12px;"
    "line-height:14px;padding:1px 4px}";


int report_wrote(report *r, const char *path, stl_error *err) {
    if (r->n_written == r->cap_written) {
        size_t cap = r->cap_written ? 2 * r->cap_written : 64;
        char **w = realloc(r->written, cap * sizeof *w);
        if (!w) return stl_fail(err, "out of memory");
        r->written = w;
        r->cap_written = cap;
    }
    if (!(r->written[r->n_written] = strdup(path))) return stl_fail(err, "out of memory");
    r->n_written++;
    return 0;
}

void report_remove_written(report *r) {
    for (size_t i = 0; i < r->n_written; i++) unlink(r->written[i]);
}

void report_written_free(report *r) {
    for (size_t i = 0; i < r->n_written; i++) free(r->written[i]);
    free(r->written);
    r->written = NULL;
    r->n_written = r->cap_written = 0;
}

/* report_ctx.c — what every part of stl-report shares: the site's
 * stylesheet and reading a whole text file (stl-random's page, the model's
 * metadata sidecar). See report_ctx.h for the run's state. */
#include <stdio.h>
#include <stdlib.h>

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
    "margin-top:4px}.note{color:#555;font-size:13px}.sc{white-space:nowrap}";

int report_read_text(const char *path, char **out, stl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return stl_fail(err, "%s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return stl_fail(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

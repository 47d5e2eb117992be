/* report_random.c — stl-random's page rewritten into the site (see
 * report_random.h): one pass over the text that copies it through, stopping
 * at the next <img, src=, href=, <body>, </head>, caption or '|'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/file_read.h"
#include "report/html.h"
#include "report/report_random.h"
#include "report/report_thumbs.h"

/* A relative link (no scheme, not absolute, not a fragment). */
static int is_relative_link(const char *v, size_t n) {
    if (n == 0 || v[0] == '/' || v[0] == '#') return 0;
    for (size_t i = 0; i < n && v[i] != '/'; i++)
        if (v[i] == ':') return 0; /* http:, data:, mailto: */
    return 1;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* v[0..n) percent-decoded into buf (the path a relative URL names). */
static void url_decode(const char *v, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (v[i] == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            buf[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
            i += 2;
        } else {
            buf[o++] = v[i];
        }
    }
    buf[o] = '\0';
}

/* One <img ...> tag [tag, end] of stl-random's page (in directory `from`)
 * as markup of the site: a relative src naming <key>.jpg becomes a
 * thumbnail in DIR/img/ (or a placeholder); a data: image stays; anything
 * else becomes a placeholder, so no link leaves DIR. */
static void random_img(report *r, const char *from, const char *tag, const char *end,
                       char *buf, size_t cap) {
    const char *a = strstr(tag, " src=\"");
    const char *v = a && a < end ? a + 6 : NULL, *ve = v ? strchr(v, '"') : NULL;
    if (v && ve && ve < end && strncmp(v, "data:", 5) == 0) {
        snprintf(buf, cap, "%.*s", (int)(end + 1 - tag), tag);
        return;
    }
    char rel[4096], src[8192], key[STL_KEY_LEN + 1] = "";
    if (v && ve && ve < end) {
        url_decode(v, (size_t)(ve - v), rel, sizeof rel);
        snprintf(src, sizeof src, "%s/%s", from, rel);
        const char *base = strrchr(rel, '/');
        base = base ? base + 1 : rel;
        size_t bl = strlen(base);
        if (bl == STL_KEY_LEN + 4 && strcmp(base + STL_KEY_LEN, ".jpg") == 0) {
            memcpy(key, base, STL_KEY_LEN);
            key[STL_KEY_LEN] = '\0';
        }
    }
    report_thumb_markup(r, key_valid_str(key) ? src : NULL, key, RANDOM_THUMB, "", buf, cap);
}

/* Rewrites stl-random's page into DIR/random.html, self-contained: its
 * images become thumbnails in DIR/img/ (random_img), any other relative
 * link is dropped (href="#"), a link back to index.html opens the body, its
 * stylesheet's fixed image width gives way to the natural size, and its
 * captions break after '|' or at spaces rather than inside a word. */
int report_random_copy(report *r, const char *src, stl_error *err) {
    char *text, *from = NULL;
    size_t len;
    if (file_read_all(src, 0, &text, &len, err) != 0) return -1;
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/random.html", r->o.out);
    from = html_dirname(src);
    int rc = -1;
    atomic_file af;
    if (!from) {
        stl_fail(err, "out of memory");
        goto out;
    }
    if (atomic_open(&af, dst, err) != 0) goto out;
    static const char *pats[] = {"<img", " src=\"", " href=\"", "<body>", "</head>",
                                 "<figcaption>", "</figcaption>", "|"};
    const char *p = text;
    int in_caption = 0;
    for (;;) {
        const char *hit = NULL;
        int which = -1;
        for (int k = 0; k < 8; k++) {
            const char *h = strstr(p, pats[k]);
            if (h && (!hit || h < hit)) {
                hit = h;
                which = k;
            }
        }
        if (!hit) {
            atomic_write(&af, p, strlen(p), NULL);
            break;
        }
        atomic_write(&af, p, (size_t)(hit - p), NULL);
        if (which == 0) { /* <img ...> */
            const char *end = strchr(hit, '>');
            if (!end) {
                p = hit + strlen(hit);
                continue;
            }
            char buf[1024];
            random_img(r, from, hit, end, buf, sizeof buf);
            atomic_printf(&af, "%s", buf);
            p = end + 1;
        } else if (which == 3) {
            atomic_printf(&af, "<body>\n<p><a href=\"index.html\">← report index</a> "
                               "(this page draws from the whole catalog; the report's "
                               "evaluation ranks only the products that appear in the "
                               "pairs)</p>\n");
            p = hit + 6;
        } else if (which == 4) {
            atomic_printf(&af, "<style>figure img{width:auto;height:auto}figcaption{word-break:"
                               "normal;overflow-wrap:break-word}figcaption code{word-break:"
                               "break-all}</style>\n</head>");
            p = hit + 7;
        } else if (which >= 5) { /* a break opportunity after '|' in captions */
            in_caption = which == 5 ? 1 : which == 6 ? 0 : in_caption;
            atomic_printf(&af, "%s%s", pats[which], which == 7 && in_caption ? "<wbr>" : "");
            p = hit + strlen(pats[which]);
        } else { /* src= / href= outside an <img> */
            const char *v = strchr(hit, '"') + 1, *end = strchr(v, '"');
            if (!end) {
                atomic_write(&af, hit, strlen(hit), NULL);
                break;
            }
            atomic_write(&af, hit, (size_t)(v - hit), NULL);
            if (is_relative_link(v, (size_t)(end - v))) atomic_printf(&af, "#");
            else atomic_write(&af, v, (size_t)(end - v), NULL);
            p = end;
        }
    }
    if (r->write_failed) { /* one of its thumbnails is missing */
        atomic_abort(&af);
        *err = r->write_err;
        goto out;
    }
    rc = atomic_commit(&af, err);
    if (rc == 0) rc = report_wrote(r, dst, err);
out:
    free(text);
    free(from);
    return rc;
}

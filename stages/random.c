/* random.c — stl-random: the random item recommender, stlrec's first baseline.
 *
 * Reads a catalog JSON (fashion-cat.json format, common/dataset/catalog.h), draws
 * --n distinct products uniformly at random from --seed (Floyd's algorithm:
 * n draws whatever the catalog size, then shown in the order drawn) and
 * writes an HTML page with each product's key, category and image. Images
 * come from the Pinterest CDN URL built from the key (docs/dataset.md) or, with
 * --images DIR, from DIR/<key>.jpg through a link relative to the page, so
 * the page works offline and when the two are moved together. Every string
 * from the data is HTML-escaped (common/report/html.h). Exit codes: 0 ok, 1 bad
 * catalog or more items asked for than it holds, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/catalog.h"
#include "base/cli.h"
#include "base/error.h"
#include "report/html.h"
#include "dataset/image_path.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "base/rng.h"

typedef struct {
    const char *catalog, *out, *images;
    long n, seed;
} random_options;

static const char *page_css =
    "body { font-family: sans-serif; margin: 2em; }\n"
    ".grid { display: flex; flex-wrap: wrap; gap: 1em; }\n"
    "figure { width: 200px; margin: 0; }\n"
    "figure img { width: 200px; height: auto; background: #eee; }\n"
    "figcaption { font-size: 0.8em; word-break: break-all; }\n";

/* n distinct indices in [0, m), uniformly (Floyd's algorithm), in draw order.
 * `taken` is an m-byte scratch array, zeroed. */
static void draw_distinct(rng_state *r, size_t m, size_t n, size_t *out, unsigned char *taken) {
    for (size_t k = 0, j = m - n; j < m; j++, k++) {
        size_t t = (size_t)rng_uniform(r, j + 1);
        if (taken[t]) t = j; /* t was drawn before: j itself is new */
        taken[t] = 1;
        out[k] = t;
    }
}

static int write_page(const random_options *o, const catalog *cat, const size_t *pick,
                      stl_error *err) {
    char *rel_images = NULL;
    if (o->images) {
        char *dir = html_dirname(o->out);
        rel_images = dir ? html_relpath(dir, o->images) : NULL;
        free(dir);
        if (!rel_images) return stl_fail(err, "%s: cannot make a link to %s", o->out, o->images);
    }
    html_doc d;
    if (html_begin(&d, o->out, "stlrec: random recommendations", page_css, err) != 0) {
        free(rel_images);
        return -1;
    }
    html_raw(&d, "<h1>Random recommendations</h1>\n<p>%ld products drawn uniformly at random "
                 "(seed %ld) from <code>", o->n, o->seed);
    html_text(&d, o->catalog);
    html_raw(&d, "</code> (%zu products): the baseline every recommender must beat.</p>\n"
                 "<div class=\"grid\">\n", cat->n);
    for (long i = 0; i < o->n; i++) {
        const char *k = cat->keys[pick[i]].s;
        char src[4096];
        if (rel_images) {
            snprintf(src, sizeof src, "%s/%s.jpg", rel_images, k);
            char *url = html_url_path(src);
            if (!url) break; /* reported below as a failed write */
            snprintf(src, sizeof src, "%s", url);
            free(url);
        } else {
            image_path_build(IMAGE_PATH_CDN_URL, IMAGE_PATH_CDN, k, src, sizeof src); /* fits */
        }
        html_raw(&d, "<figure><img src=\"");
        html_text(&d, src);
        html_raw(&d, "\" alt=\"");
        html_text(&d, k);
        html_raw(&d, "\" loading=\"lazy\"><figcaption><code>");
        html_text(&d, k);
        html_raw(&d, "</code><br>");
        html_text(&d, cat->categories[pick[i]]);
        html_raw(&d, "</figcaption></figure>\n");
    }
    free(rel_images);
    html_raw(&d, "</div>\n");
    return html_end(&d, err);
}

int main(int argc, char **argv) {
    log_set_program("stl-random");
    random_options o = {.n = 10, .seed = 1};
    cli_option opts[] = {
        {.name = "catalog", .type = CLI_STRING, .target = &o.catalog, .metavar = "FILE",
         .required = 1, .help = "catalog JSON (fashion-cat.json format)"},
        {.name = "out", .type = CLI_STRING, .target = &o.out, .metavar = "FILE.html",
         .required = 1, .help = "the HTML page to write"},
        {.name = "n", .type = CLI_INT, .target = &o.n, .metavar = "N",
         .help = "distinct products to draw (more than the catalog holds: exit 1)", .min = 1,
         .max = 100000000},
        {.name = "seed", .type = CLI_INT, .target = &o.seed, .metavar = "N",
         .help = "random seed", .min = 0, .max = 1e18},
        {.name = "images", .type = CLI_STRING, .target = &o.images, .metavar = "DIR",
         .help = "link DIR/<key>.jpg (relative to the page) instead of the Pinterest CDN"},
    };
    cli_spec spec = {
        .program = "stl-random",
        .summary = "The random item recommender: draws N distinct catalog products uniformly "
                   "at random and writes an HTML page with each one's key, category and image. "
                   "Exit status: 0 ok, 1 unreadable or invalid catalog or N larger than the "
                   "catalog, 2 usage error.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;

    stl_error err;
    catalog cat;
    if (catalog_read(o.catalog, &cat, &err) != 0) {
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    if ((size_t)o.n > cat.n) {
        log_errorf("%s: asked for %ld distinct products, the catalog holds %zu", o.catalog, o.n,
                   cat.n);
        catalog_free(&cat);
        return STL_EXIT_FAIL;
    }
    size_t *pick = malloc((size_t)o.n * sizeof *pick);
    unsigned char *taken = calloc(cat.n, 1);
    int rc = STL_EXIT_FAIL;
    if (!pick || !taken) {
        log_errorf("%s: out of memory", o.catalog);
    } else {
        rng_state r;
        rng_seed(&r, (uint64_t)o.seed);
        draw_distinct(&r, cat.n, (size_t)o.n, pick, taken);
        if (write_page(&o, &cat, pick, &err) != 0) log_error(&err);
        else {
            log_info("wrote %ld of %zu products to %s", o.n, cat.n, o.out);
            rc = STL_EXIT_OK;
        }
    }
    free(pick);
    free(taken);
    catalog_free(&cat);
    return rc;
}

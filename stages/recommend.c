/* recommend.c — stl-recommend: the top-K products for any photo, in one command.
 *
 * Takes JPEG photos by any name (or "-": a list of paths on stdin), decodes
 * each exactly as stl-decode made the model's training crops (the size and
 * mode its sidecar records: --size/--resize only when it does not), embeds
 * them with the scene tower, and ranks the given product embeddings by dot
 * product exactly as stl-topk does. So a photo of the data set gets the
 * pipeline's top-k list for that scene, scores included. The model and the
 * products are loaded once; photos are decoded on all cores and embedded in
 * batches. A photo that cannot be read or decoded gets one line on stderr
 * and is left out; the exit status is 1 only when none could be scored.
 *
 * Output: a plain table (photo, rank, product key, score) on stdout; --json
 * for machines; --html FILE for a page with each photo and its products'
 * pictures (--images DIR: the product JPEGs by key, flat or CDN layout).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/device.h"
#include "base/log.h"
#include "base/par.h"
#include "base/progress.h"
#include "base/threads.h"
#include "formats/embeddings.h"
#include "formats/model_id.h"
#include "formats/modelfile.h"
#include "image/jpeg_decode.h"
#include "io/dirs.h"
#include "io/output_check.h"
#include "model/model.h"
#include "retrieval/topk.h"
#include "report/html.h"

typedef struct {
    const char *model, *products, *html, *images, *device;
    long k, threads, batch, size;
    int json, resize;
    device_kind dev;
} recommend_opts;

/* The photos: paths, decoded crops of the ones that decoded (row order), and
 * for each path its row or -1. */
typedef struct {
    const char **paths;
    size_t n;
    char **owned;      /* paths read from stdin */
    uint8_t *pixels;   /* n * S * S * 3 */
    long *row;         /* n: row among the decoded, or -1 */
    size_t n_ok;
    char (*why)[200];  /* n: the reason a photo was left out */
} photos;

/* ---- the photos ---- */

static int read_list(FILE *in, photos *ph, stl_error *err) {
    char *line = NULL;
    size_t cap = 0, n_cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        if (ph->n == n_cap) {
            n_cap = n_cap ? 2 * n_cap : 64;
            char **o = realloc(ph->owned, n_cap * sizeof *o);
            if (!o) {
                rc = stl_fail(err, "standard input: out of memory");
                break;
            }
            ph->owned = o;
        }
        if (!(ph->owned[ph->n] = strdup(line))) {
            rc = stl_fail(err, "standard input: out of memory");
            break;
        }
        ph->n++;
    }
    free(line);
    ph->paths = (const char **)ph->owned;
    return rc;
}

typedef struct {
    photos *ph;
    jpeg_decode_opts opts;
    jpeg_decoder *dec; /* per thread */
    uint8_t *tmp;      /* per thread: one crop */
    int failed_init;
} decode_ctx;

static void decode_worker(void *arg, int tid, int nt) {
    decode_ctx *c = arg;
    photos *ph = c->ph;
    size_t img = (size_t)c->opts.size * (size_t)c->opts.size * 3;
    long lo, hi;
    par_range((long)ph->n, tid, nt, &lo, &hi);
    for (long i = lo; i < hi; i++) {
        char detail[160];
        jpeg_status s = jpeg_decode_file(&c->dec[tid], ph->paths[i], &c->opts,
                                         ph->pixels + img * (size_t)i, detail, sizeof detail);
        if (s == JPEG_STATUS_OK) {
            ph->row[i] = 0; /* decoded; rows are numbered after the join */
        } else {
            ph->row[i] = -1;
            snprintf(ph->why[i], sizeof ph->why[i], "%s: %s", jpeg_status_name(s), detail);
        }
    }
}

/* Decodes every photo into ph->pixels at its own index, then packs the good
 * ones to the front in input order. */
static int decode_all(photos *ph, const jpeg_decode_opts *opts, par_pool *pool, stl_error *err) {
    size_t img = (size_t)opts->size * (size_t)opts->size * 3;
    int nt = par_threads(pool);
    ph->pixels = malloc((ph->n ? ph->n : 1) * img);
    ph->row = malloc((ph->n ? ph->n : 1) * sizeof *ph->row);
    ph->why = calloc(ph->n ? ph->n : 1, sizeof *ph->why);
    decode_ctx c = {ph, *opts, calloc((size_t)nt, sizeof(jpeg_decoder)), NULL, 0};
    if (!ph->pixels || !ph->row || !ph->why || !c.dec) {
        free(c.dec);
        return stl_fail(err, "out of memory for %zu photos of %d x %d", ph->n, opts->size,
                        opts->size);
    }
    int rc = 0, made = 0;
    for (; made < nt && rc == 0; made++)
        if (jpeg_decoder_init(&c.dec[made], err) != 0) rc = -1;
    if (rc == 0) par_run(pool, decode_worker, &c);
    for (int t = 0; t < made - (rc != 0); t++) jpeg_decoder_free(&c.dec[t]);
    free(c.dec);
    if (rc != 0) return -1;
    ph->n_ok = 0;
    for (size_t i = 0; i < ph->n; i++) {
        if (ph->row[i] < 0) continue;
        if (ph->n_ok != i) memmove(ph->pixels + img * ph->n_ok, ph->pixels + img * i, img);
        ph->row[i] = (long)ph->n_ok++;
    }
    return 0;
}

/* ---- output ---- */

static void print_table(const photos *ph, const embeddings *pe, size_t w, const uint32_t *index,
                        const float *score) {
    for (size_t i = 0; i < ph->n; i++) {
        if (ph->row[i] < 0) continue;
        printf("%s\n", ph->paths[i]);
        for (size_t e = 0; e < w; e++) {
            size_t cell = (size_t)ph->row[i] * w + e;
            printf("  %3zu  %s  %.6f\n", e + 1, pe->keys[index[cell]].s, (double)score[cell]);
        }
    }
}

static void json_string_out(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void print_json(const photos *ph, const embeddings *pe, size_t w, const uint32_t *index,
                       const float *score) {
    printf("[");
    int first = 1;
    for (size_t i = 0; i < ph->n; i++) {
        if (ph->row[i] < 0) continue;
        printf("%s\n  {\"image\": ", first ? "" : ",");
        first = 0;
        json_string_out(ph->paths[i]);
        printf(", \"top\": [");
        for (size_t e = 0; e < w; e++) {
            size_t cell = (size_t)ph->row[i] * w + e;
            printf("%s[\"%s\", %.9g]", e ? ", " : "", pe->keys[index[cell]].s,
                   (double)score[cell]);
        }
        printf("]}");
    }
    printf("%s]\n", first ? "" : "\n");
}

/* An <img> of a local file, linked relative to the page's directory. */
static void html_img(html_doc *d, const char *page_dir, const char *file, const char *alt,
                     int px) {
    char *rel = html_relpath(page_dir, file);
    char *url = rel ? html_url_path(rel) : NULL;
    html_raw(d, "<img src=\"");
    html_text(d, url ? url : file);
    html_raw(d, "\" alt=\"");
    html_text(d, alt);
    html_raw(d, "\" width=\"%d\" loading=\"lazy\">", px);
    free(rel);
    free(url);
}

static int write_html(const recommend_opts *o, const photos *ph, const embeddings *pe, size_t w,
                      const uint32_t *index, const float *score, stl_error *err) {
    static const char css[] =
        "body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:.3em;"
        "vertical-align:top;font-size:11px;text-align:center}section{margin-bottom:2em}"
        "code{font-size:11px}";
    char *dir = html_dirname(o->html);
    if (dir && dirs_create(dir, err) != 0) {
        free(dir);
        return -1;
    }
    html_doc d;
    if (html_begin(&d, o->html, "stl-recommend", css, err) != 0) {
        free(dir);
        return -1;
    }
    html_raw(&d, "<h1>Recommended products</h1>\n<p>model <code>");
    html_text(&d, o->model);
    html_raw(&d, "</code>, products <code>");
    html_text(&d, o->products);
    html_raw(&d, "</code>, top %zu</p>\n", w);
    for (size_t i = 0; i < ph->n; i++) {
        if (ph->row[i] < 0) continue;
        html_raw(&d, "<section><h2>");
        html_text(&d, ph->paths[i]);
        html_raw(&d, "</h2>\n<figure>");
        html_img(&d, dir ? dir : ".", ph->paths[i], ph->paths[i], 320);
        html_raw(&d, "<figcaption>the photo</figcaption></figure>\n");
        for (size_t e = 0; e < w; e++) {
            size_t cell = (size_t)ph->row[i] * w + e;
            const char *key = pe->keys[index[cell]].s;
            html_raw(&d, "<figure>");
            if (o->images) {
                char file[4096];
                snprintf(file, sizeof file, "%s/%s.jpg", o->images, key);
                html_img(&d, dir ? dir : ".", file, key, 120);
            }
            html_raw(&d, "<figcaption>%zu. <code>", e + 1);
            html_text(&d, key);
            html_raw(&d, "</code><br>%.4f</figcaption></figure>\n", (double)score[cell]);
        }
        html_raw(&d, "</section>\n");
    }
    free(dir);
    return html_end(&d, err);
}

/* ---- main ---- */

/* The model's crop size and decode mode: from its sidecar, else the flags. */
static int crop_geometry(const recommend_opts *o, const char *meta, jpeg_decode_opts *jo,
                         stl_error *err) {
    int size = 0, resize = 0;
    int have_size = modelfile_trained_size(meta, &size);
    int have_mode = modelfile_trained_mode(meta, &resize);
    if (!have_size) {
        if (o->size <= 0)
            return stl_fail(err, "%s: its sidecar does not say the crop size it was trained on: "
                            "give --size (and --resize if stl-decode used it)", o->model);
        size = (int)o->size;
    } else if (o->size > 0 && o->size != size) {
        return stl_fail(err, "--size %ld, but %s was trained on %d x %d crops", o->size,
                        o->model, size, size);
    }
    if (!have_mode) resize = o->resize;
    jo->size = size;
    jo->resize = resize;
    jo->max_pixels = 50000000;
    return 0;
}

static int embed_photos(const recommend_opts *o, const model_state *m, photos *ph, int S,
                        float *emb, stl_error *err) {
    size_t img = (size_t)S * S * 3, dim = (size_t)m->table.output_size;
    int batch = (int)o->batch;
    if ((size_t)batch > ph->n_ok) batch = ph->n_ok ? (int)ph->n_ok : 1;
    model_ws *ws = model_ws_create(&m->table, batch, S, o->dev, err);
    if (!ws) return -1;
    int rc = model_ws_set_threads(ws, (int)o->threads, err);
    for (size_t b = 0; rc == 0 && b < ph->n_ok; b += (size_t)batch) {
        size_t nb = ph->n_ok - b < (size_t)batch ? ph->n_ok - b : (size_t)batch;
        rc = model_embed(m, ws, MODEL_TOWER_SCENE, ph->pixels + img * b, (int)nb, emb + b * dim,
                         err);
    }
    model_ws_free(ws);
    return rc;
}

static int run(recommend_opts *o, photos *ph, stl_error *err) {
    model_state m;
    char *meta = NULL;
    embeddings pe = {0};
    float *emb = NULL, *score = NULL;
    uint32_t *index = NULL;
    par_pool *pool = NULL;
    int rc = -1, have_model = 0;
    jpeg_decode_opts jo;
    if (modelfile_read(o->model, &m, &meta, err) != 0) goto done;
    have_model = 1;
    if (crop_geometry(o, meta, &jo, err) != 0) goto done;
    if (embeddings_read(o->products, &pe, err) != 0) goto done;
    if (pe.n == 0) {
        stl_fail(err, "%s: no products to rank", o->products);
        goto done;
    }
    if (pe.dim != (size_t)m.table.output_size) {
        stl_fail(err, "%s: dimension %zu, but the model %s embeds in %d", o->products, pe.dim,
                 o->model, m.table.output_size);
        goto done;
    }
    char model_id[MODEL_ID_LEN + 1];
    model_id_of(&m, model_id);
    const char *ids[2] = {model_id, pe.model}, *what[2] = {o->model, o->products};
    if (model_id_check_same(ids, what, 2, err) != 0) goto done;
    if (!(pool = par_create((int)o->threads))) {
        stl_fail(err, "cannot start %ld threads", o->threads);
        goto done;
    }
    log_info("model %s (%d x %d crops, %s), products %s (%zu), %zu photo%s, k %ld, %ld threads",
             o->model, jo.size, jo.size, jo.resize ? "resize" : "crop-or-pad", o->products, pe.n,
             ph->n, ph->n == 1 ? "" : "s", o->k, o->threads);
    if (decode_all(ph, &jo, pool, err) != 0) goto done;
    for (size_t i = 0; i < ph->n; i++)
        if (ph->row[i] < 0) log_warn("%s: left out: %s", ph->paths[i], ph->why[i]);
    if (ph->n_ok == 0) {
        stl_fail(err, "none of the %zu photos could be decoded", ph->n);
        goto done;
    }
    size_t dim = pe.dim, w = topk_width((size_t)o->k, pe.n);
    emb = malloc(ph->n_ok * dim * sizeof *emb);
    index = malloc(ph->n_ok * w * sizeof *index);
    score = malloc(ph->n_ok * w * sizeof *score);
    if (!emb || !index || !score) {
        stl_fail(err, "out of memory");
        goto done;
    }
    if (embed_photos(o, &m, ph, jo.size, emb, err) != 0) goto done;
    topk_options to = {.threads = (int)o->threads};
    if (topk_search(emb, ph->n_ok, pe.data, pe.n, dim, (size_t)o->k, &to, index, score, err) != 0)
        goto done;
    if (o->json) print_json(ph, &pe, w, index, score);
    else print_table(ph, &pe, w, index, score);
    if (o->html && write_html(o, ph, &pe, w, index, score, err) != 0) goto done;
    log_info("scored %zu of %zu photos%s%s", ph->n_ok, ph->n, o->html ? "; page " : "",
             o->html ? o->html : "");
    rc = 0;
done:
    par_free(pool);
    free(meta);
    free(emb);
    free(index);
    free(score);
    embeddings_free(&pe);
    if (have_model) model_state_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    log_set_program("stl-recommend");
    recommend_opts o = {.k = 10, .batch = 32, .device = "auto"};
    cli_option opts[] = {
        {.name = "model", .type = CLI_STRING, .target = &o.model, .metavar = "FILE",
         .help = "model file from stl-train", .required = 1},
        {.name = "products", .type = CLI_STRING, .target = &o.products, .metavar = "EMB",
         .help = "product embeddings from stl-embed (or a comma list of its parts)",
         .required = 1},
        {.name = "k", .type = CLI_INT, .target = &o.k, .metavar = "K",
         .help = "products per photo", .min = 1, .max = 100000},
        {.name = "json", .type = CLI_FLAG, .target = &o.json,
         .help = "print JSON [{\"image\": PATH, \"top\": [[KEY, SCORE], ...]}] instead of the table"},
        {.name = "html", .type = CLI_STRING, .target = &o.html, .metavar = "FILE",
         .help = "also write a page with each photo and its products"},
        {.name = "images", .type = CLI_STRING, .target = &o.images, .metavar = "DIR",
         .help = "the products' JPEGs (<key>.jpg) for --html's pictures"},
        {.name = "size", .type = CLI_INT, .target = &o.size, .metavar = "S",
         .help = "crop size, only for a model whose sidecar does not record it", .min = 0,
         .max = 65535},
        {.name = "resize", .type = CLI_FLAG, .target = &o.resize,
         .help = "decode in resize mode, only for a model whose sidecar does not say"},
        {.name = "batch-size", .type = CLI_INT, .target = &o.batch, .metavar = "N",
         .help = "photos per model call (the output does not depend on it)", .min = 1,
         .max = 65536},
        {.name = "threads", .type = CLI_INT, .target = &o.threads, .metavar = "N",
         .help = "threads (0: $STL_THREADS, else all cores; the output does not depend on it)",
         .min = 0, .max = THREADS_MAX},
        {.name = "device", .type = CLI_CHOICE, .target = &o.device,
         .help = "where to compute (auto: the GPU where the CUDA build finds one, else the CPU)",
         .choices = "auto|cpu|cuda"},
    };
    const char **list = calloc((size_t)argc + 1, sizeof *list);
    if (!list) {
        log_errorf("out of memory");
        return STL_EXIT_FAIL;
    }
    cli_spec spec = {
        .program = "stl-recommend",
        .summary = "The top-K products for any photo: decodes each JPEG (any name; '-' reads a "
                   "list of paths from stdin) exactly as stl-decode made the model's crops, "
                   "embeds it with the scene tower and ranks the product embeddings as "
                   "stl-topk does, so a photo of the data set gets its pipeline top-k list. "
                   "Photos that cannot be decoded are reported and left out; exit 1 only when "
                   "none could be scored.",
        .positional = "IMAGE...",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
        .positional_list = list,
        .positional_cap = argc,
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) {
        free(list);
        return code;
    }
    o.threads = threads_resolve(o.threads, 1);
    stl_error err;
    int dcode;
    if (device_resolve(o.device, &o.dev, &dcode, &err) != 0) {
        log_error(&err);
        free(list);
        return dcode;
    }
    const output_check_arg outs[] = {{"--html", o.html}};
    const output_check_arg ins[] = {{"--model", o.model}, {"--products", o.products}};
    if (output_check(outs, 1, ins, 2, &err) != 0) {
        log_error(&err);
        free(list);
        return STL_EXIT_USAGE;
    }
    photos ph = {0};
    int rc = 0;
    if (spec.n_positional == 1 && strcmp(list[0], "-") == 0) {
        rc = read_list(stdin, &ph, &err);
        if (rc == 0 && ph.n == 0) rc = stl_fail(&err, "standard input: no photo paths");
    } else {
        ph.paths = list;
        ph.n = (size_t)spec.n_positional;
    }
    if (rc == 0) rc = run(&o, &ph, &err);
    if (rc != 0) log_error(&err);
    for (size_t i = 0; ph.owned && i < ph.n; i++) free(ph.owned[i]);
    free(ph.owned);
    free(ph.pixels);
    free(ph.row);
    free(ph.why);
    free(list);
    return rc == 0 ? STL_EXIT_OK : STL_EXIT_FAIL;
}

/* stl-report — a static HTML site of one run: numbers and pictures.
 *
 * Writes DIR/index.html: the eval metrics against the random recommender
 * (--metrics, stl-eval's JSON, read by formats/eval_file.h), the training
 * and eval curves of stl-train's metrics.jsonl as inline SVG
 * (--train-metrics, read by formats/train_log.h), the run's configuration
 * (the triplets file's parameters and counts, the model's sidecar metadata
 * with --model, reals in their shortest round-trip form) and links to one
 * page per sampled test scene, DIR/scene/<key>.html: the scene and its
 * top-K products (--topk) with rank and score (3 decimals: the dot product
 * of the two embeddings), categories (--catalog) and the held-out ground
 * truth (--triplets) marked; with --scenes/--products (the embeddings) every
 * held-out product also gets its rank among all products and its score, as
 * stl-eval ranks them. Thumbnails are decoded from --images DIR/<key>.jpg
 * and written as JPEGs into DIR/img/ at the display size, or at the
 * source's own size when it is smaller (never upscaled), so the site is
 * self-contained: relative links only, nothing fetched from the network,
 * nothing outside DIR. --random FILE (stl-random's page) is rewritten to
 * DIR/random.html with its images as thumbnails in DIR/img/ and a link back.
 * The sample of scenes is deterministic (the held-out scenes with the
 * lowest seeded hash of the key). Every string that came from a file is
 * HTML-escaped; every page is written atomically. A source image that is
 * missing or does not decode gets a placeholder box (counted and reported),
 * never a broken <img>. index.html is written last; a run that fails (a
 * page or thumbnail that cannot be written: disk full) removes every file
 * it put in place, so it leaves nothing under a final name. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/dirs.h"
#include "dataset/catalog_index.h"
#include "base/cli.h"
#include "formats/embeddings.h"
#include "formats/eval_file.h"
#include "base/error.h"
#include "report/html.h"
#include "image/jpeg_decode.h"
#include "image/jpeg_encode.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "formats/modelfile.h"
#include "report/report_ctx.h"
#include "report/report_index.h"
#include "report/report_random.h"
#include "report/report_scene.h"
#include "formats/topk_file.h"
#include "formats/triplets.h"
#include "formats/model_id.h"

#include <turbojpeg.h>

/* ---- inputs ---- */

/* The top-k lists, both embeddings and the model file must come from one
 * model (each file that records it, model_id.h). */
static int check_one_model(const report *r, stl_error *err) {
    char model_id[MODEL_ID_LEN + 1] = "";
    if (r->o.model) {
        model_state m;
        if (modelfile_read(r->o.model, &m, NULL, err) != 0) return -1;
        model_id_of(&m, model_id);
        model_state_free(&m);
    }
    const char *ids[4] = {r->have_tk ? r->tk.model : NULL, r->have_emb ? r->se.model : NULL,
                          r->have_emb ? r->pe.model : NULL, model_id};
    const char *what[4] = {r->o.topk, r->o.scenes, r->o.products, r->o.model};
    return model_id_check_same(ids, what, 4, err);
}

static int load_inputs(report *r, stl_error *err) {
    if (r->o.metrics) {
        if (eval_file_read(r->o.metrics, &r->metrics, err) != 0) return -1;
        r->have_metrics = 1;
    }
    if (r->o.triplets && triplets_open(r->o.triplets, &r->t, err) != 0) return -1;
    if (r->o.topk) {
        if (topk_file_read(r->o.topk, &r->tk, err) != 0) return -1;
        r->have_tk = 1;
    }
    if (r->o.pairs) {
        if (pairs_read(r->o.pairs, &r->pairs, err) != 0) return -1;
        r->have_pairs = 1;
    }
    if (r->o.catalog) {
        if (catalog_index_read(r->o.catalog, &r->cat, err) != 0) return -1;
        r->have_cat = 1;
    }
    if (r->o.scenes || r->o.products) {
        if (embeddings_read(r->o.scenes, &r->se, err) != 0) return -1;
        r->have_emb = 1;
        if (embeddings_read(r->o.products, &r->pe, err) != 0) return -1;
        r->have_emb = 2;
        if (strcmp(r->se.kind, "product") == 0)
            return stl_fail(err, "%s: product embeddings given as --scenes (swapped with "
                            "--products?)", r->o.scenes);
        if (strcmp(r->pe.kind, "scene") == 0)
            return stl_fail(err, "%s: scene embeddings given as --products (swapped with "
                            "--scenes?)", r->o.products);
        if (r->se.dim != r->pe.dim)
            return stl_fail(err, "%s: dimension %zu, but %s has %zu (rerun stl-embed with the "
                            "same model)", r->o.scenes, r->se.dim, r->o.products, r->pe.dim);
        if (r->pe.n == 0) return stl_fail(err, "%s: no products", r->o.products);
        r->scores = malloc(r->pe.n * sizeof *r->scores);
        if (!r->scores) return stl_fail(err, "out of memory");
    }
    if (r->o.model && modelfile_read_metadata(r->o.model, &r->model_meta, err) != 0) return -1;
    return check_one_model(r, err);
}

/* ---- the site ---- */

static int write_site(report *r, stl_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/img", r->o.out);
    if (dirs_create(path, err) != 0) return -1;
    if (r->o.random && report_random_copy(r, r->o.random, err) != 0) return -1;
    snprintf(path, sizeof path, "%s/index.html", r->o.out);
    html_doc page, *d = &page;
    if (html_begin(d, path, "stlrec report", report_css, err) != 0) return -1;
    html_raw(d, "<h1>stlrec report</h1>\n");
    if (r->o.random) {
        html_raw(d, "<p>Baseline: <a href=\"random.html\">the random recommender's page</a> "
                   "(stl-random): products drawn uniformly from the whole catalog");
        if (r->have_cat) html_raw(d, " (%zu products)", r->cat.cat.n);
        html_raw(d, ", while the evaluation below ranks only the products that appear in the "
                   "pairs");
        if (r->have_metrics) html_raw(d, " (%" PRIu64 ")", r->metrics.products);
        html_raw(d, ", and its random baseline draws from those.</p>\n");
    }
    if (r->have_metrics) report_index_metrics(d, &r->metrics);
    if (r->o.train_metrics && report_index_curves(d, r->o.train_metrics, err) != 0) goto fail;
    if (r->have_tk && report_scene_section(d, r, err) != 0) goto fail;
    report_index_config(d, r);
    if (r->write_failed) {
        *err = r->write_err;
        goto fail;
    }
    return html_end(d, err);
fail:
    html_abort(d);
    return -1;
}

int main(int argc, char **argv) {
    log_set_program("stl-report");
    report r;
    memset(&r, 0, sizeof r);
    r.o.max_scenes = 24;
    cli_option opts[] = {
        {.name = "out", .type = CLI_STRING, .target = &r.o.out, .metavar = "DIR",
         .help = "directory of the site (index.html, scene/, img/)",
         .required = 1},
        {.name = "metrics", .type = CLI_STRING, .target = &r.o.metrics, .metavar = "FILE",
         .help = "metrics JSON from stl-eval"},
        {.name = "train-metrics", .type = CLI_STRING, .target = &r.o.train_metrics, .metavar = "FILE",
         .help = "metrics.jsonl from stl-train (curves)"},
        {.name = "topk", .type = CLI_STRING, .target = &r.o.topk, .metavar = "FILE",
         .help = "top-k lists from stl-topk (scene pages)"},
        {.name = "triplets", .type = CLI_STRING, .target = &r.o.triplets, .metavar = "FILE",
         .help = "triplets file: test scenes, ground truth, configuration"},
        {.name = "images", .type = CLI_STRING, .target = &r.o.images, .metavar = "DIR",
         .help = "source JPEGs <key>.jpg for the thumbnails"},
        {.name = "random", .type = CLI_STRING, .target = &r.o.random, .metavar = "FILE",
         .help = "stl-random's HTML page, copied and linked"},
        {.name = "max-scenes", .type = CLI_INT, .target = &r.o.max_scenes, .metavar = "N",
         .help = "test scenes with a page: the best half and the worst half by how well the "
                 "model ranked their products",
         .min = 0, .max = 1000000},
        {.name = "pairs", .type = CLI_STRING, .target = &r.o.pairs, .metavar = "FILE",
         .help = "pairs JSONL: the ground-truth products' boxes drawn on the scenes"},
        {.name = "model", .type = CLI_STRING, .target = &r.o.model, .metavar = "FILE",
         .help = "model file whose metadata sidecar (FILE.json) joins the configuration"},
        {.name = "catalog", .type = CLI_STRING, .target = &r.o.catalog, .metavar = "FILE",
         .help = "catalog JSON: product categories on the scene pages"},
        {.name = "scenes", .type = CLI_STRING, .target = &r.o.scenes, .metavar = "FILE",
         .help = "scene embeddings (stl-embed): with --products, the rank and score of every held-out product"},
        {.name = "products", .type = CLI_STRING, .target = &r.o.products, .metavar = "FILE",
         .help = "product embeddings (stl-embed): the products ranked, as stl-eval ranks them"},
    };
    cli_spec spec = {
        .program = "stl-report",
        .summary = "Writes a self-contained static HTML site: the eval metrics against the random "
                   "recommender, training curves as inline SVG, the run's configuration, and one page per "
                   "test scene shown (the best and the worst ranked) with its top-K products, the "
                   "ground truth marked and, with --pairs, its boxes drawn on the scene.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    log_info("out %s, metrics %s, train-metrics %s, topk %s, triplets %s, images %s, random %s, "
             "model %s, catalog %s, scenes %s, products %s, pairs %s, max-scenes %ld",
             r.o.out, r.o.metrics ? r.o.metrics : "-", r.o.train_metrics ? r.o.train_metrics : "-",
             r.o.topk ? r.o.topk : "-", r.o.triplets ? r.o.triplets : "-",
             r.o.images ? r.o.images : "-", r.o.random ? r.o.random : "-",
             r.o.model ? r.o.model : "-", r.o.catalog ? r.o.catalog : "-",
             r.o.scenes ? r.o.scenes : "-", r.o.products ? r.o.products : "-",
             r.o.pairs ? r.o.pairs : "-", r.o.max_scenes);
    int rc = STL_EXIT_FAIL;
    stl_error err;
    if (!r.o.scenes != !r.o.products) {
        stl_fail(&err, "--scenes and --products go together (the embeddings that rank the "
                 "held-out products)");
        log_error(&err);
        return STL_EXIT_USAGE;
    }
    catalog_index_init(&r.cat);
    key_index_init(&r.cache.done);
    int have_dec = 0, have_enc = 0;
    r.pix = malloc((size_t)SCENE_THUMB * SCENE_THUMB * 3);
    if (!r.pix) {
        stl_fail(&err, "out of memory");
        goto done;
    }
    if (jpeg_decoder_init(&r.dec, &err) != 0) goto done;
    have_dec = 1;
    if (jpeg_encoder_init(&r.enc, &err) != 0) goto done;
    have_enc = 1;
    if (!(r.tj = tjInitDecompress())) {
        stl_fail(&err, "libjpeg-turbo: %s", tjGetErrorStr());
        goto done;
    }
    if (dirs_create(r.o.out, &err) != 0) goto done;
    if (load_inputs(&r, &err) != 0) goto done;
    if (write_site(&r, &err) != 0) goto done;
    if (r.images_failed)
        log_warn("%zu of %zu images missing or undecodable: placeholders shown", r.images_failed,
                 r.images);
    printf("%s/index.html\n", r.o.out);
    log_info("wrote %s/index.html (%zu thumbnails)", r.o.out, r.thumbs);
    rc = STL_EXIT_OK;
done:
    if (rc != STL_EXIT_OK) {
        log_error(&err);
        report_remove_written(&r);
    }
    report_written_free(&r);
    if (have_dec) jpeg_decoder_free(&r.dec);
    if (have_enc) jpeg_encoder_free(&r.enc);
    free(r.pix);
    if (r.have_metrics) eval_file_free(&r.metrics);
    triplets_free(r.t);
    if (r.have_tk) topk_file_free(&r.tk);
    if (r.have_pairs) pairs_free(&r.pairs);
    catalog_index_free(&r.cat);
    key_index_free(&r.cache.done);
    free(r.cache.e);
    if (r.tj) tjDestroy(r.tj);
    free(r.file);
    if (r.have_emb >= 1) embeddings_free(&r.se);
    if (r.have_emb >= 2) embeddings_free(&r.pe);
    free(r.scores);
    free(r.model_meta);
    return rc;
}

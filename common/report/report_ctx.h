/* report_ctx.h — the state of one stl-report run, shared by its parts.
 *
 * stl-report (stages/report.c) fills a `report` from its options and input
 * files and hands it to the parts that write the site: report_thumbs (the
 * thumbnails in DIR/img/ and their markup), report_index (the index page's
 * metrics, curves and configuration), report_scene (the sampled scene pages)
 * and report_random (the rewritten stl-random page). Everything the struct
 * points to is owned by stages/report.c's main, which frees it; the parts
 * only read it, except for the thumbnail cache, the decoder/encoder scratch
 * and the counters, which report_thumbs updates, and the list of files
 * written, which every part that writes a file appends to.
 */
#ifndef STL_REPORT_CTX_H
#define STL_REPORT_CTX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <turbojpeg.h>

#include "dataset/catalog_index.h"
#include "dataset/pairs.h"
#include "formats/embeddings.h"
#include "formats/eval_file.h"
#include "base/error.h"
#include "image/jpeg_decode.h"
#include "image/jpeg_encode.h"
#include "dataset/keys.h"
#include "formats/topk_file.h"
#include "formats/triplets.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Display sizes in CSS pixels; a thumbnail is written at the display size,
 * or at the source's short side when the source is smaller (never upscaled:
 * the browser shows it at its natural size). */
#define SCENE_THUMB 640
#define PRODUCT_THUMB 160
#define RANDOM_THUMB 200
#define THUMB_SIZES 4

typedef struct {
    const char *out, *metrics, *train_metrics, *topk, *triplets, *images, *random, *model,
        *catalog, *scenes, *products, *pairs;
    long max_scenes;
} report_opts;

/* What is known of one source image (a product in many top-K lists is read
 * once): its short side (0 when missing or undecodable) and the thumbnail
 * sizes already written. */
typedef struct {
    int short_side;
    int n_sizes, sizes[THUMB_SIZES];
} thumb_entry;

typedef struct {
    key_index done; /* key -> entry */
    thumb_entry *e;
    size_t cap;
} thumb_cache;

typedef struct {
    report_opts o;
    eval_file metrics;          /* stl-eval JSON, when have_metrics */
    int have_metrics;
    triplets_file *t;           /* or NULL */
    topk_file tk;
    int have_tk;
    catalog_index cat;          /* --catalog: entries and product key -> entry */
    int have_cat;
    pair_list pairs;            /* --pairs: the bounding boxes, when have_pairs */
    int have_pairs;
    embeddings se, pe;          /* --scenes / --products, when have_emb */
    int have_emb;
    double *scores;             /* (pe.n): one scene's scores */
    char *model_meta;           /* sidecar JSON text, or NULL */
    jpeg_decoder dec;
    jpeg_encoder enc;
    tjhandle tj;                /* header reads */
    unsigned char *file;        /* a source file's bytes */
    size_t file_cap;
    size_t thumbs, images, images_failed;
    uint8_t *pix;               /* SCENE_THUMB^2 * 3 */
    thumb_cache cache;
    int write_failed;           /* a thumbnail could not be written: the run fails */
    stl_error write_err;        /* why (the first such failure) */
    char **written;             /* files this run put in place (owned), */
    size_t n_written, cap_written; /* removed when the run fails */
} report;

/* The site's stylesheet (every page links the same rules inline). */
extern const char report_css[];

/* Records that this run put `path` in place (a page or a thumbnail). */
int report_wrote(report *r, const char *path, stl_error *err);
/* A run that fails removes every file it put in place, so that it leaves
 * nothing under a final name; index.html is written last, on success only. */
void report_remove_written(report *r);
/* Frees the list of written files. */
void report_written_free(report *r);


#ifdef __cplusplus
}
#endif

#endif

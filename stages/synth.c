/* synth.c — stl-synth: the synthetic Shop-the-Look data set, stlrec's embedded default.
 *
 * Writes DIR/images/<key>.jpg for every product (a catalog photo) and scene,
 * then DIR/catalog.json (fashion-cat.json format) and DIR/pairs.jsonl
 * (fashion.json format, with bbox) — the two JSON files last, so a complete
 * pairs file means a complete data set. Everything is a function of --seed
 * and the size flags, and the pictures also of --style (1: the original
 * drawing, 2: synth_style2.h's; keys, catalog, pairs and boxes do not depend
 * on it): keys are hashes of (seed, kind, index); product i
 * draws its look from RNG stream i, scene j its plan and pixels from its own
 * stream, and popularity (a Zipf-like weight over a shuffled catalog, with
 * some products in no scene) from a stream of its own. Threads only decide
 * who renders which image, so the output is byte-identical for any
 * --threads. Pictures: synth_product.h (catalog photos), synth_scene.h.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/dirs.h"
#include "base/cli.h"
#include "base/error.h"
#include "image/jpeg_encode.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/timer.h"
#include "base/rng.h"
#include "base/threads.h"
#include "synth/synth_draw.h"
#include "synth/synth_product.h"
#include "synth/synth_scene.h"

/* RNG stream ids: products 0.., scenes SCENE_STREAM.., popularity one stream. */
#define SCENE_STREAM (1ULL << 40)
#define POPULARITY_STREAM (1ULL << 41)
#define UNUSED_FRACTION 0.15 /* of the catalog, in no scene */
#define ZIPF_EXPONENT 0.9

typedef struct {
    const char *out;
    long scenes, products, seed, scene_size, product_size, quality, threads, style;
} synth_options;

typedef struct {
    const synth_options *o;
    const stl_key *product_keys, *scene_keys;
    const synth_product *products;
    const synth_scene *scenes;
    atomic_long next, done;
    atomic_int failed;
    pthread_mutex_t lock;
    stl_error err; /* first failure, under lock */
} synth_job;

/* Key of item `index` of `kind` ('p' or 's'): 128 bits of seeded hash. */
static void make_key(uint64_t seed, char kind, uint64_t index, uint32_t salt, stl_key *k) {
    unsigned char buf[13];
    buf[0] = (unsigned char)kind;
    for (int i = 0; i < 8; i++) buf[1 + i] = (unsigned char)(index >> (8 * i));
    for (int i = 0; i < 4; i++) buf[9 + i] = (unsigned char)(salt >> (8 * i));
    uint64_t hi = rng_hash(seed, buf, sizeof buf);
    uint64_t lo = rng_hash(seed ^ 0x6a09e667f3bcc909ULL, buf, sizeof buf);
    snprintf(k->s, sizeof k->s, "%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
}

/* Fills keys for n items of one kind, unique across everything in ki. */
static int make_keys(key_index *ki, uint64_t seed, char kind, size_t n, stl_key *keys,
                     stl_error *err) {
    for (size_t i = 0; i < n; i++) {
        for (uint32_t salt = 0;; salt++) {
            make_key(seed, kind, i, salt, &keys[i]);
            int added = 0;
            if (key_index_add(ki, keys[i].s, &added, err) < 0) return -1;
            if (added) break;
        }
    }
    return 0;
}

/* Cumulative popularity over the catalog: a shuffled order, the last
 * UNUSED_FRACTION of it weight 0, the rest 1/(rank+1)^ZIPF_EXPONENT. */
static size_t make_popularity(uint64_t seed, size_t n, double *cdf, stl_error *err) {
    uint32_t *order = malloc(n * sizeof *order);
    double *w = calloc(n, sizeof *w);
    if (!order || !w) {
        free(order);
        free(w);
        return (size_t)stl_fail(err, "popularity: out of memory"), 0;
    }
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    rng_state r;
    rng_stream(&r, seed, POPULARITY_STREAM);
    rng_shuffle_u32(&r, order, n);
    size_t used = n - (size_t)floor((double)n * UNUSED_FRACTION);
    for (size_t k = 0; k < used; k++) w[order[k]] = pow((double)(k + 1), -ZIPF_EXPONENT);
    double acc = 0;
    for (size_t i = 0; i < n; i++) cdf[i] = acc += w[i];
    free(order);
    free(w);
    return used;
}

static void job_fail(synth_job *j, const stl_error *e) {
    pthread_mutex_lock(&j->lock);
    if (!atomic_load(&j->failed)) j->err = *e;
    atomic_store(&j->failed, 1);
    pthread_mutex_unlock(&j->lock);
}

static int render_item(synth_job *j, long item, synth_image *photo, synth_image *scene,
                       jpeg_encoder *enc, stl_error *err) {
    const synth_options *o = j->o;
    char path[4096];
    synth_image *im;
    const char *key;
    if (item < o->products) {
        im = photo;
        key = j->product_keys[item].s;
        synth_product_photo(&j->products[item], im);
    } else {
        im = scene;
        key = j->scene_keys[item - o->products].s;
        synth_scene_render(&j->scenes[item - o->products], j->products, im);
    }
    if (snprintf(path, sizeof path, "%s/images/%s.jpg", o->out, key) >= (int)sizeof path)
        return stl_fail(err, "%s: output path too long", o->out);
    return jpeg_encode_file(enc, path, im->px, im->w, im->h, (int)o->quality, err);
}

static void *worker(void *arg) {
    synth_job *j = arg;
    const synth_options *o = j->o;
    long total = o->products + o->scenes;
    synth_image photo = {0}, scene = {0};
    jpeg_encoder enc = {0};
    stl_error err;
    if (synth_image_init(&photo, (int)o->product_size, (int)o->product_size, &err) != 0 ||
        synth_image_init(&scene, (int)o->scene_size, (int)o->scene_size, &err) != 0 ||
        jpeg_encoder_init(&enc, &err) != 0) {
        job_fail(j, &err);
    } else {
        for (;;) {
            if (atomic_load(&j->failed)) break;
            long item = atomic_fetch_add(&j->next, 1);
            if (item >= total) break;
            if (render_item(j, item, &photo, &scene, &enc, &err) != 0) {
                job_fail(j, &err);
                break;
            }
            atomic_fetch_add(&j->done, 1);
        }
    }
    jpeg_encoder_free(&enc);
    synth_image_free(&photo);
    synth_image_free(&scene);
    return NULL;
}

/* Renders and writes every image on o->threads threads (the caller waits,
 * reporting progress). */
static int render_all(synth_job *j, stl_error *err) {
    long n_threads = j->o->threads;
    long total = j->o->products + j->o->scenes;
    pthread_t *tids = calloc((size_t)n_threads, sizeof *tids);
    if (!tids) return stl_fail(err, "threads: out of memory");
    long started = 0;
    for (; started < n_threads; started++)
        if (pthread_create(&tids[started], NULL, worker, j) != 0) break;
    if (started == 0) {
        free(tids);
        return stl_fail(err, "threads: cannot start a thread");
    }
    progress pr;
    progress_start(&pr, "rendering", "images", (uint64_t)total);
    while (atomic_load(&j->done) < total && !atomic_load(&j->failed)) {
        /* Every item is taken by some running worker, or a failure is flagged. */
        progress_update(&pr, (uint64_t)atomic_load(&j->done));
        usleep(20000);
    }
    for (long t = 0; t < started; t++) pthread_join(tids[t], NULL);
    free(tids);
    if (atomic_load(&j->failed)) {
        *err = j->err;
        return -1;
    }
    progress_update(&pr, (uint64_t)atomic_load(&j->done));
    progress_finish(&pr);
    return 0;
}

static int write_catalog(const synth_options *o, const stl_key *keys,
                         const synth_product *products, stl_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.json", o->out);
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    /* Category names are from a fixed table without '"' or '\\': no escaping. */
    atomic_printf(&af, "{");
    for (long i = 0; i < o->products; i++)
        atomic_printf(&af, "%s\"%s\": \"%s\"", i ? ", " : "", keys[i].s,
                      synth_category_name(products[i].category));
    atomic_printf(&af, "}\n");
    return atomic_commit(&af, err);
}

static int write_pairs(const synth_options *o, const stl_key *product_keys,
                       const stl_key *scene_keys, const synth_scene *scenes, stl_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/pairs.jsonl", o->out);
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    for (long j = 0; j < o->scenes; j++)
        for (int k = 0; k < scenes[j].n; k++) {
            const float *b = scenes[j].bbox[k];
            atomic_printf(&af,
                          "{\"product\": \"%s\", \"scene\": \"%s\", "
                          "\"bbox\": [%.4f, %.4f, %.4f, %.4f]}\n",
                          product_keys[scenes[j].product[k]].s, scene_keys[j].s, (double)b[0],
                          (double)b[1], (double)b[2], (double)b[3]);
        }
    return atomic_commit(&af, err);
}

static int synth_run(const synth_options *o, stl_error *err) {
    size_t np = (size_t)o->products, ns = (size_t)o->scenes;
    stl_key *pkeys = calloc(np, sizeof *pkeys), *skeys = calloc(ns, sizeof *skeys);
    synth_product *products = calloc(np, sizeof *products);
    synth_scene *scenes = calloc(ns, sizeof *scenes);
    double *cdf = calloc(np, sizeof *cdf);
    unsigned char *in_scene = calloc(np, 1);
    key_index ki;
    key_index_init(&ki);
    int rc = -1;
    double t0 = timer_now();
    if (!pkeys || !skeys || !products || !scenes || !cdf || !in_scene) {
        stl_fail(err, "%ld products, %ld scenes: out of memory", o->products, o->scenes);
        goto done;
    }
    if (make_keys(&ki, (uint64_t)o->seed, 'p', np, pkeys, err) != 0 ||
        make_keys(&ki, (uint64_t)o->seed, 's', ns, skeys, err) != 0)
        goto done;
    for (size_t i = 0; i < np; i++) {
        rng_state r;
        rng_stream(&r, (uint64_t)o->seed, i);
        synth_product_draw(&products[i], (int)o->style, &r);
    }
    size_t drawable = make_popularity((uint64_t)o->seed, np, cdf, err);
    if (drawable == 0) goto done;
    size_t n_pairs = 0, n_used = 0;
    for (size_t j = 0; j < ns; j++) {
        rng_state r;
        rng_stream(&r, (uint64_t)o->seed, SCENE_STREAM + j);
        synth_scene_plan(&scenes[j], (int)o->style, &r, cdf, np, drawable);
        n_pairs += (size_t)scenes[j].n;
        for (int k = 0; k < scenes[j].n; k++) {
            n_used += !in_scene[scenes[j].product[k]];
            in_scene[scenes[j].product[k]] = 1;
        }
    }
    char images[4096];
    snprintf(images, sizeof images, "%s/images", o->out);
    if (dirs_create(images, err) != 0) goto done;

    synth_job job = {.o = o, .product_keys = pkeys, .scene_keys = skeys,
                     .products = products, .scenes = scenes};
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    atomic_init(&job.failed, 0);
    pthread_mutex_init(&job.lock, NULL);
    int r = render_all(&job, err);
    pthread_mutex_destroy(&job.lock);
    if (r != 0) goto done;
    if (write_catalog(o, pkeys, products, err) != 0) goto done;
    if (write_pairs(o, pkeys, skeys, scenes, err) != 0) goto done;
    log_info("wrote %zu products (%zu in scenes), %zu scenes, %zu pairs to %s in %.1f s", np,
             n_used, ns, n_pairs, o->out, timer_now() - t0);
    rc = 0;
done:
    key_index_free(&ki);
    free(pkeys);
    free(skeys);
    free(products);
    free(scenes);
    free(cdf);
    free(in_scene);
    return rc;
}

int main(int argc, char **argv) {
    log_set_program("stl-synth");
    synth_options o = {.out = NULL, .scenes = 1000, .products = 600, .seed = 1,
                       .scene_size = 160, .product_size = 128, .quality = 90, .threads = 0,
                       .style = SYNTH_STYLE_DEFAULT};
    cli_option opts[] = {
        {.name = "out", .type = CLI_STRING, .target = &o.out, .metavar = "DIR", .required = 1,
         .help = "output directory: DIR/pairs.jsonl, DIR/catalog.json, DIR/images/<key>.jpg"},
        {.name = "scenes", .type = CLI_INT, .target = &o.scenes, .metavar = "N",
         .help = "number of scenes", .min = 1, .max = 10000000},
        {.name = "products", .type = CLI_INT, .target = &o.products, .metavar = "N",
         .help = "number of catalog products", .min = 1, .max = 10000000},
        {.name = "seed", .type = CLI_INT, .target = &o.seed, .metavar = "N",
         .help = "random seed (same seed and flags: same bytes)", .min = 0, .max = 1e18},
        {.name = "scene-size", .type = CLI_INT, .target = &o.scene_size, .metavar = "PX",
         .help = "scene side in pixels", .min = 32, .max = 4096},
        {.name = "product-size", .type = CLI_INT, .target = &o.product_size, .metavar = "PX",
         .help = "product photo side in pixels", .min = 32, .max = 4096},
        {.name = "quality", .type = CLI_INT, .target = &o.quality, .metavar = "Q",
         .help = "JPEG quality", .min = 1, .max = 100},
        {.name = "style", .type = CLI_INT, .target = &o.style, .metavar = "N",
         .help = "drawing style: 1 the original drawing, 2 other silhouettes, looks and clutter "
                 "(same keys, pairs and boxes)",
         .min = 1, .max = SYNTH_STYLE_COUNT},
        {.name = "threads", .type = CLI_INT, .target = &o.threads, .metavar = "N",
         .help = "rendering threads (0: $STL_THREADS, else all cores); the output does not depend on it",
         .min = 0, .max = THREADS_MAX},
    };
    cli_spec spec = {
        .program = "stl-synth",
        .summary = "Writes a deterministic synthetic Shop-the-Look data set: catalog photos of "
                   "products in ten real STL fashion categories, cluttered scenes with 1-4 of "
                   "them composited at a recorded box, the pairs JSONL (fashion.json format) "
                   "and the catalog JSON (fashion-cat.json format). The output depends only on "
                   "the seed, the size flags and --style, never on --threads.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    o.threads = threads_resolve(o.threads, 1);
    log_info("out %s, %ld scenes (%ld px), %ld products (%ld px), seed %ld, style %ld, "
             "quality %ld, %ld threads",
             o.out, o.scenes, o.scene_size, o.products, o.product_size, o.seed, o.style,
             o.quality, o.threads);
    stl_error err;
    if (synth_run(&o, &err) != 0) {
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    return STL_EXIT_OK;
}

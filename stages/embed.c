/* stl-embed — one tower of a trained model over every listed item.
 *
 * Reads a model file (stlrec's or Flax's, modelfile.h) and the crop shards
 * (crops.h), runs the scene tower (--kind scene) or the product tower
 * (--kind product) in inference mode (BatchNorm running averages) over every
 * key of --keys (a pairs file: its scenes or its products by --kind; a
 * catalog; or a plain list) and writes keys + one float32 matrix
 * (embeddings.h, docs/formats.md "## Embeddings"), and with --json the
 * {key: [floats]} form of the book's scripts. Every item is embedded: the
 * last partial batch is not dropped. A key without a crop is an error naming
 * it (an embedding file silently missing items would skew every metric);
 * --skip-missing skips such keys instead, counted in the summary.
 *
 * model_embed computes each image on its own, so a row does not depend on
 * the batch it was in or on the thread count: the output is byte-identical
 * for any --batch-size and --threads. --shard i/N embeds the i-th of N
 * contiguous ranges of the key list into its own file; readers accept the
 * parts together.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/device.h"
#include "formats/crops.h"
#include "formats/embeddings.h"
#include "base/error.h"
#include "dataset/keylist.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "model/model.h"
#include "formats/modelfile.h"
#include "base/par.h"
#include "model/params.h"
#include "base/progress.h"
#include "base/threads.h"
#include "io/output_check.h"
#include "formats/model_id.h"
#include "formats/embeddings_npy.h"

typedef struct {
    const char *model, *crops, *kind, *keys, *out, *json, *npy, *device;
    device_kind dev; /* --device as resolved */
    long batch, threads;
    int skip_missing;
    cli_shard shard;
} embed_opts;

/* The items of this shard that have crops: crop indices and keys. */
typedef struct {
    size_t n;
    size_t *crop;   /* n */
    stl_key *keys;  /* n */
    size_t missing; /* keys without a crop (skipped with --skip-missing) */
} embed_items;

static int select_items(const embed_opts *o, const key_index *ki, const crops_set *cs,
                        embed_items *it, stl_error *err) {
    long lo, hi;
    par_range((long)ki->n, (int)o->shard.index, (int)o->shard.count, &lo, &hi);
    size_t cap = (size_t)(hi - lo);
    it->crop = malloc((cap ? cap : 1) * sizeof *it->crop);
    it->keys = malloc((cap ? cap : 1) * sizeof *it->keys);
    if (!it->crop || !it->keys) return stl_fail(err, "out of memory");
    const char *first_missing = NULL;
    for (long i = lo; i < hi; i++) {
        const char *key = ki->keys[i].s;
        long c = crops_find(cs, key);
        if (c < 0) {
            if (!first_missing) first_missing = key;
            it->missing++;
            continue;
        }
        it->crop[it->n] = (size_t)c;
        it->keys[it->n++] = ki->keys[i];
    }
    if (it->missing && !o->skip_missing)
        return stl_fail(err, "%s: key %s has no crop in %s (%zu of %ld keys have none): rerun "
                        "stl-decode on these keys, or pass --skip-missing",
                        o->keys, first_missing, o->crops, it->missing, hi - lo);
    return 0;
}

/* Embeds the items batch by batch into emb (n, dim). */
static int embed_all(const embed_opts *o, const model_state *m, const crops_set *cs,
                     const embed_items *it, float *emb, stl_error *err) {
    int tower = strcmp(o->kind, "scene") == 0 ? MODEL_TOWER_SCENE : MODEL_TOWER_PRODUCT;
    int S = crops_size(cs), dim = m->table.output_size;
    size_t px = (size_t)S * S * 3;
    int batch = (int)o->batch;
    if ((size_t)batch > it->n) batch = it->n ? (int)it->n : 1;
    model_ws *ws = model_ws_create(&m->table, batch, S, o->dev, err);
    if (!ws) return stl_fail_prefix(err, "%s: %d x %d crops", o->crops, S, S);
    if (model_ws_set_threads(ws, (int)o->threads, err) != 0) {
        model_ws_free(ws);
        return -1;
    }
    uint8_t *x = malloc((size_t)batch * px);
    if (!x) {
        model_ws_free(ws);
        return stl_fail(err, "out of memory (%d images of %d x %d)", batch, S, S);
    }
    progress pg;
    progress_start(&pg, "embedding", "images", it->n);
    int rc = 0;
    for (size_t b = 0; b < it->n && rc == 0; b += (size_t)batch) {
        size_t nb = it->n - b < (size_t)batch ? it->n - b : (size_t)batch;
        for (size_t i = 0; i < nb; i++)
            memcpy(x + i * px, crops_pixels(cs, it->crop[b + i]), px);
        rc = model_embed(m, ws, tower, x, (int)nb, emb + b * (size_t)dim, err);
        progress_update(&pg, b + nb);
    }
    progress_finish(&pg);
    free(x);
    model_ws_free(ws);
    return rc;
}

int main(int argc, char **argv) {
    log_set_program("stl-embed");
    embed_opts o = {.kind = NULL, .device = "auto", .batch = 32, .threads = 0,
                    .shard = {0, 1}};
    cli_option opts[] = {
        {.name = "model", .type = CLI_STRING, .target = &o.model, .metavar = "FILE",
         .help = "model file from stl-train (or Flax's to_bytes)",
         .required = 1},
        {.name = "crops", .type = CLI_STRING, .target = &o.crops, .metavar = "DIR",
         .help = "crop directory from stl-decode",
         .required = 1},
        {.name = "kind", .type = CLI_CHOICE, .target = &o.kind,
         .help = "scene: the scene tower; product: the product tower",
         .required = 1, .choices = "scene|product"},
        {.name = "keys", .type = CLI_STRING, .target = &o.keys, .metavar = "FILE",
         .help = "pairs JSONL (its scenes or products, by --kind), catalog JSON or key list",
         .required = 1},
        {.name = "out", .type = CLI_STRING, .target = &o.out, .metavar = "FILE",
         .help = "embeddings file to write (msgpack)",
         .required = 1},
        {.name = "npy", .type = CLI_STRING, .target = &o.npy, .metavar = "FILE.npy",
         .help = "also write the matrix for numpy (float32, C order) and the keys beside it "
                 "(FILE.keys.txt)"},
        {.name = "json", .type = CLI_STRING, .target = &o.json, .metavar = "FILE",
         .help = "also write {key: [floats]} JSON (the book's form)"},
        {.name = "batch-size", .type = CLI_INT, .target = &o.batch, .metavar = "N",
         .help = "images per model call (the output does not depend on it)",
         .min = 1, .max = 65536},
        {.name = "threads", .type = CLI_INT, .target = &o.threads, .metavar = "N",
         .help = "threads (0: $STL_THREADS, else all cores; the output does not depend on it)",
         .min = 0, .max = THREADS_MAX},
        {.name = "shard", .type = CLI_SHARD, .target = &o.shard, .metavar = "i/N",
         .help = "embed the i-th of N contiguous ranges of the keys"},
        {.name = "skip-missing", .type = CLI_FLAG, .target = &o.skip_missing,
         .help = "skip keys without a crop (counted) instead of failing"},
        {.name = "device", .type = CLI_CHOICE, .target = &o.device,
         .help = "where to compute (auto: the GPU where the CUDA build finds one, else the CPU)",
         .choices = "auto|cpu|cuda"},
    };
    cli_spec spec = {
        .program = "stl-embed",
        .summary = "Computes the scene or product tower's embedding (inference mode) for every listed key "
                   "and writes keys + a float32 matrix (and optionally the book's JSON). Byte-identical "
                   "output for any batch size and thread count.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    {
        const output_check_arg outs[] = {{"--out", o.out}, {"--json", o.json}, {"--npy", o.npy}};
        const output_check_arg ins[] = {{"--model", o.model}, {"--crops", o.crops}, {"--keys", o.keys}};
        stl_error oerr;
        if (output_check(outs, sizeof outs / sizeof outs[0], ins, sizeof ins / sizeof ins[0],
                         &oerr) != 0) {
            log_error(&oerr);
            return STL_EXIT_USAGE;
        }
    }
    o.threads = threads_resolve(o.threads, 1);
    {
        stl_error derr;
        int dcode;
        if (device_resolve(o.device, &o.dev, &dcode, &derr) != 0) {
            log_error(&derr);
            return dcode;
        }
    }

    int rc = STL_EXIT_FAIL;
    stl_error err;
    model_state m;
    int have_model = 0;
    crops_set *cs = NULL;
    key_index ki;
    key_index_init(&ki);
    embed_items it = {0};
    float *emb = NULL;
    keylist_kind kk;
    keylist_select sel = strcmp(o.kind, "scene") == 0 ? KEYLIST_SCENES : KEYLIST_PRODUCTS;

    char *meta = NULL;
    if (modelfile_read(o.model, &m, &meta, &err) != 0) goto done;
    have_model = 1;
    int trained = 0, known = modelfile_trained_size(meta, &trained);
    free(meta);
    if (crops_open(o.crops, &cs, &err) != 0) goto done;
    if (known && trained != crops_size(cs)) {
        stl_fail(&err, "%s: %d x %d crops, but the model %s was trained on %d x %d crops "
                 "(its sidecar's image_size): decode with --size %d",
                 o.crops, crops_size(cs), crops_size(cs), o.model, trained, trained, trained);
        goto done;
    }
    if (keylist_read(o.keys, sel, &ki, &kk, &err) != 0) goto done;
    if (select_items(&o, &ki, cs, &it, &err) != 0) goto done;
    log_info("model %s (output size %d, step %" PRId64 "), crops %s (%d x %d, %zu images), "
             "kind %s, keys %s (%zu%s), shard %ld/%ld: %zu items, batch-size %ld, threads %ld, "
             "device %s",
             o.model, m.table.output_size, m.step, o.crops, crops_size(cs), crops_size(cs),
             crops_count(cs), o.kind, o.keys, ki.n,
             kk == KEYLIST_KIND_PAIRS ? (sel == KEYLIST_SCENES ? " scenes of the pairs"
                                                                : " products of the pairs")
                                      : "",
             o.shard.index, o.shard.count, it.n, o.batch, o.threads, device_name(o.dev));
    size_t dim = (size_t)m.table.output_size;
    emb = malloc((it.n ? it.n : 1) * dim * sizeof *emb);
    if (!emb) {
        stl_fail(&err, "out of memory (%zu x %zu embeddings)", it.n, dim);
        goto done;
    }
    if (embed_all(&o, &m, cs, &it, emb, &err) != 0) goto done;
    for (size_t i = 0; i < it.n * dim; i++) {
        if (!isfinite(emb[i])) {
            stl_fail(&err, "%s: the model gives a non-finite embedding for %s (component %zu): "
                     "its parameters hold NaN or Inf, or overflow; nothing written",
                     o.model, it.keys[i / dim].s, i % dim);
            goto done;
        }
    }
    char model_id[MODEL_ID_LEN + 1];
    model_id_of(&m, model_id);
    embeddings_meta em = {.kind = o.kind, .model = model_id, .shard_index = o.shard.index,
                          .shard_count = o.shard.count, .keys_total = ki.n};
    /* The JSON and .npy first, the msgpack (pipeline.mk's target) last: a run
     * that fails or is killed between them leaves no msgpack, so it is rerun,
     * and one whose msgpack fails removes the others it wrote. */
    if (o.json && embeddings_write_json(o.json, it.keys, it.n, dim, emb, &err) != 0) goto done;
    if (o.npy && embeddings_write_npy(o.npy, it.keys, it.n, dim, emb, &err) != 0) {
        if (o.json) unlink(o.json);
        goto done;
    }
    if (embeddings_write_meta(o.out, &em, it.keys, it.n, dim, emb, &err) != 0) {
        if (o.json) unlink(o.json);
        if (o.npy) {
            char *kp = embeddings_npy_keys_path(o.npy);
            unlink(o.npy);
            if (kp) unlink(kp);
            free(kp);
        }
        goto done;
    }
    log_info("wrote %s: %zu embeddings of %zu floats%s%s; %zu keys without a crop skipped",
             o.out, it.n, dim, o.json ? ", and " : "", o.json ? o.json : "", it.missing);
    rc = STL_EXIT_OK;
done:
    if (rc != STL_EXIT_OK) log_error(&err);
    free(emb);
    free(it.crop);
    free(it.keys);
    key_index_free(&ki);
    crops_close(cs);
    if (have_model) model_state_free(&m);
    return rc;
}

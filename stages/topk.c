/* stl-topk — exact maximum inner product search: for every scene embedding,
 * the K products whose embeddings have the highest dot product with it.
 *
 * Reads scene and product embeddings (stlrec files or the book's JSON form,
 * detected by content; a comma-separated list of parts is read as one,
 * embeddings.h), runs the blocked-GEMM kernel of topk.h and writes the
 * top-k lists file (topk_file.h, docs/formats.md "## Top-k lists"), and with
 * --json also {scene: [[product, score], ...]}.
 *
 * --shard i/N takes the i-th of N contiguous ranges of the scenes, cut at
 * multiples of the kernel's query block, so each part's rows are exactly the
 * unsharded run's rows; stl-eval and stl-report read the N parts together.
 * The output is byte-identical for any --threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "base/cli.h"
#include "base/device.h"
#include "formats/embeddings.h"
#include "base/error.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/threads.h"
#include "retrieval/topk.h"
#if STL_CUDA
#include "model/gpu_backend_cuda.h"
#include "retrieval/topk_gpu.h"
#endif
#include "formats/topk_file.h"
#include "io/output_check.h"
#include "formats/model_id.h"

typedef struct {
    const char *scenes, *products, *out, *json, *device;
    device_kind dev; /* --device as resolved: DEVICE_CUDA searches on the GPU (topk_gpu.h) */
    long k, threads;
    cli_shard shard;
} topk_opts;

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
    progress *pg = ctx;
    pg->total = total; // known once the kernel has cut the work into items
    progress_update(pg, done);
}

static int write_json(const char *path, const topk_file *t, stl_error *err) {
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    size_t w = t->width;
    atomic_printf(&af, "{");
    for (size_t i = 0; i < t->n_scenes; i++) {
        atomic_printf(&af, "%s\n\"%s\": [", i ? "," : "", t->scenes[i].s);
        for (size_t e = 0; e < w; e++)
            atomic_printf(&af, "%s[\"%s\", %.9g]", e ? ", " : "", t->products[t->index[i * w + e]].s,
                          (double)t->score[i * w + e]);
        atomic_printf(&af, "]");
    }
    atomic_printf(&af, "\n}\n");
    return atomic_commit(&af, err);
}

/* Rows [lo, hi) of n scenes for shard i/N: whole query blocks, contiguous. */
static void shard_range(size_t n, cli_shard sh, size_t *lo, size_t *hi) {
    size_t blocks = (n + TOPK_QUERY_BLOCK - 1) / TOPK_QUERY_BLOCK;
    size_t b0 = blocks * (size_t)sh.index / (size_t)sh.count;
    size_t b1 = blocks * (size_t)(sh.index + 1) / (size_t)sh.count;
    *lo = b0 * TOPK_QUERY_BLOCK < n ? b0 * TOPK_QUERY_BLOCK : n;
    *hi = b1 * TOPK_QUERY_BLOCK < n ? b1 * TOPK_QUERY_BLOCK : n;
}

static int run(const topk_opts *o, stl_error *err) {
    embeddings se = {0}, pe = {0};
    topk_file t = {0};
    int rc = -1;
    if (embeddings_read(o->scenes, &se, err) != 0) goto done;
    if (embeddings_read(o->products, &pe, err) != 0) goto done;
    if (strcmp(se.kind, "product") == 0)
        log_warn("warning: --scenes %s holds product embeddings (ranking products by products)", o->scenes);
    if (strcmp(pe.kind, "scene") == 0)
        log_warn("warning: --products %s holds scene embeddings", o->products);
    if (pe.n == 0) {
        stl_fail(err, "%s: no products to rank", o->products);
        goto done;
    }
    {
        const char *ids[2] = {se.model, pe.model}, *what[2] = {o->scenes, o->products};
        if (model_id_check_same(ids, what, 2, err) != 0) goto done;
        snprintf(t.model, sizeof t.model, "%s", model_id_known(ids, 2));
    }
    if (se.n > 0 && se.dim != pe.dim) {
        stl_fail(err, "%s: dimension %zu, but %s has %zu: embed both with the same model",
                 o->scenes, se.dim, o->products, pe.dim);
        goto done;
    }
    size_t lo, hi;
    shard_range(se.n, o->shard, &lo, &hi);
    int threads = threads_resolve(o->threads, 1);
    size_t n = hi - lo, w = topk_width((size_t)o->k, pe.n);
    log_info("scenes %s (%zu x %zu), products %s (%zu), k %ld, shard %ld/%ld: scenes %zu..%zu, "
             "threads %d, device %s",
             o->scenes, se.n, se.dim, o->products, pe.n, o->k, o->shard.index, o->shard.count, lo,
             hi, threads, device_name(o->dev));

    t.n_scenes = n;
    t.n_products = pe.n;
    t.width = w;
    t.k_requested = (size_t)o->k;
    t.scenes = se.n ? se.keys + lo : NULL;
    t.products = (stl_key *)pe.keys;
    t.shard_index = o->shard.index;
    t.shard_count = o->shard.count;
    t.scenes_total = se.n;
    snprintf(t.scenes_file, sizeof t.scenes_file, "%s", o->scenes);
    snprintf(t.products_file, sizeof t.products_file, "%s", o->products);
    t.index = malloc(n * w * sizeof *t.index + 1);
    t.score = malloc(n * w * sizeof *t.score + 1);
    if (!t.index || !t.score) {
        stl_fail(err, "out of memory for %zu x %zu results", n, w);
        goto done;
    }
    const float *queries = se.n ? se.data + lo * se.dim : NULL;
    if (o->dev == DEVICE_CUDA) {
#if STL_CUDA
        gpu_backend be;
        if (gpu_backend_cuda_create(&be, 0, err) != 0) goto done;
        int rc = topk_search_gpu(&be, gpu_topk_select, queries, n, pe.data, pe.n, pe.dim,
                                 (size_t)o->k, t.index, t.score, err);
        gpu_backend_cuda_free(&be);
        if (rc != 0) goto done;
#endif
    } else {
        progress pg;
        progress_start(&pg, "top-k", "work items", 0);
        topk_options opt = {.threads = threads, .progress = on_progress, .progress_ctx = &pg};
        if (topk_search(queries, n, pe.data, pe.n, pe.dim, (size_t)o->k, &opt, t.index, t.score,
                        err) != 0)
            goto done;
        progress_finish(&pg);
    }
    /* The JSON first, the msgpack (pipeline.mk's target) last: a run that
     * fails or is killed between the two leaves no msgpack, so it is rerun,
     * and one whose msgpack fails removes the JSON it wrote. */
    if (o->json && write_json(o->json, &t, err) != 0) goto done;
    if (topk_file_write(o->out, &t, err) != 0) {
        if (o->json) unlink(o->json);
        goto done;
    }
    log_info("wrote %s: %zu scenes x top %zu of %zu products%s%s", o->out, n, w, pe.n,
             o->json ? ", and " : "", o->json ? o->json : "");
    rc = 0;
done:
    free(t.index);
    free(t.score);
    embeddings_free(&se);
    embeddings_free(&pe);
    return rc;
}

int main(int argc, char **argv) {
    log_set_program("stl-topk");
    topk_opts o = {.k = 10, .threads = 0, .device = "auto", .shard = {0, 1}};
    cli_option opts[] = {
        {.name = "scenes", .type = CLI_STRING, .target = &o.scenes, .metavar = "FILE",
         .help = "scene embeddings (stl-embed output, its JSON form, or parts a,b,c)",
         .required = 1},
        {.name = "products", .type = CLI_STRING, .target = &o.products, .metavar = "FILE",
         .help = "product embeddings (the products ranked)",
         .required = 1},
        {.name = "out", .type = CLI_STRING, .target = &o.out, .metavar = "FILE",
         .help = "top-k lists file to write (msgpack)",
         .required = 1},
        {.name = "k", .type = CLI_INT, .target = &o.k, .metavar = "K",
         .help = "products per scene (all of them when there are fewer)",
         .min = 1, .max = 100000},
        {.name = "json", .type = CLI_STRING, .target = &o.json, .metavar = "FILE",
         .help = "also write {scene: [[product, score], ...]} JSON"},
        {.name = "threads", .type = CLI_INT, .target = &o.threads, .metavar = "N",
         .help = "threads (0: $STL_THREADS, else all cores; the output does not depend on it)",
         .min = 0, .max = THREADS_MAX},
        {.name = "shard", .type = CLI_SHARD, .target = &o.shard, .metavar = "i/N",
         .help = "rank the i-th of N contiguous ranges of the scenes"},
        {.name = "device", .type = CLI_CHOICE, .target = &o.device,
         .help = "where to compute (auto: the GPU where the CUDA build finds one, else the CPU)",
         .choices = "auto|cpu|cuda"},
    };
    cli_spec spec = {
        .program = "stl-topk",
        .summary = "Exact maximum inner product search: for every scene, the K products with the highest "
                   "dot product of the embeddings (ties: lower product index first), by blocked GEMM. "
                   "Byte-identical output for any thread count.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    {
        const output_check_arg outs[] = {{"--out", o.out}, {"--json", o.json}};
        const output_check_arg ins[] = {{"--scenes", o.scenes}, {"--products", o.products}};
        stl_error oerr;
        if (output_check(outs, sizeof outs / sizeof outs[0], ins, sizeof ins / sizeof ins[0],
                         &oerr) != 0) {
            log_error(&oerr);
            return STL_EXIT_USAGE;
        }
    }
    {
        stl_error derr;
        int dcode;
        if (device_resolve(o.device, &o.dev, &dcode, &derr) != 0) {
            log_error(&derr);
            return dcode;
        }
    }
    stl_error err;
    if (run(&o, &err) != 0) {
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    return STL_EXIT_OK;
}

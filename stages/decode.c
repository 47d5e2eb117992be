/* stl-decode — JPEGs → S x S uint8 RGB crops in memory-mappable shards.
 *
 * Reads the keys (pairs JSONL: scenes and products; catalog JSON; or a plain
 * list), keeps this part's keys (--shard i/N: key positions p with
 * p mod N == i), decodes <images>/<key>.jpg on --threads workers
 * (common/image/jpeg_decode.h: TF-parity crop-or-pad, or --resize) and writes the
 * part's shards and index (common/formats/crops_write.h; docs/formats.md "Crop
 * shards"). Keys are cut into fixed batches of --images-per-shard in key
 * order and batch b becomes shard b: workers claim keys in order into up to
 * threads+1 batch buffers, and the worker that decodes a batch's last image
 * compacts it and writes its shard (so shards are written in parallel), while
 * the main thread shows progress and finally writes the index in key order.
 * The output depends only on the inputs, never on the thread count or
 * scheduling. Rejected images are listed with their reason
 * in the index and counted in the closing summary. Exit 0 when at least one
 * image was stored (or the part had no keys), 1 when none was or a write
 * failed, 2 on usage. A run that fails leaves no index (the part's finished
 * output: the one of an earlier run is removed when the run starts, the new
 * one is written only on success) and removes the part's shards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cli.h"
#include "formats/crops_write.h"
#include "base/error.h"
#include "image/jpeg_decode.h"
#include "dataset/image_path.h"
#include "dataset/keylist.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/timer.h"
#include "base/threads.h"

#define DETAIL_LEN 200
#define DEFAULT_SHARD_BYTES ((size_t)64 << 20)
#define WARN_LIMIT 10
#define MAX_SLOTS 9

typedef struct {
    /* inputs, read-only while the workers run */
    const stl_key *keys;     /* this part's keys */
    size_t n;
    const char *images;
    image_path_layout layout; /* --layout */
    jpeg_decode_opts opts;
    size_t cap;              /* images per batch (= per shard) */
    size_t img;              /* bytes per image */
    const char *out;
    long part, parts;
    /* results: per key, and images stored per batch */
    uint8_t *status;
    char **detail;           /* the reason text of each reject (NULL if stored) */
    size_t *shard_count;
    /* batch slots: batch b uses slot b % n_slots, once batch b - n_slots is written */
    int n_slots;
    uint8_t *buf[MAX_SLOTS];
    stl_key *slot_keys[MAX_SLOTS];
    size_t done[MAX_SLOTS];
    size_t slot_batch[MAX_SLOTS]; /* the batch slot s may hold now */
    size_t next;             /* next key to claim */
    size_t finished;         /* keys decoded, for progress */
    size_t written;          /* shards written */
    int stop, failed;
    stl_error err;           /* the first failure */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
} decode_ctx;

static size_t batch_len(const decode_ctx *c, size_t b) {
    size_t lo = b * c->cap, hi = lo + c->cap;
    return (hi > c->n ? c->n : hi) - lo;
}

/* Called with c->mu held: records the first failure and stops everyone. */
static void fail_locked(decode_ctx *c, const stl_error *err) {
    if (!c->failed) c->err = *err;
    c->failed = 1;
    c->stop = 1;
    pthread_cond_broadcast(&c->cv_work);
    pthread_cond_broadcast(&c->cv_done);
}

/* Compacts batch b's stored images to the front of slot s and writes them as
 * shard b. Runs in whichever worker finished the batch's last image. */
static int flush_batch(decode_ctx *c, size_t b, int s, stl_error *err) {
    size_t len = batch_len(c, b), k = 0;
    for (size_t j = 0; j < len; j++) {
        size_t i = b * c->cap + j;
        if (c->status[i] != JPEG_STATUS_OK) continue;
        if (k != j) memmove(c->buf[s] + k * c->img, c->buf[s] + j * c->img, c->img);
        c->slot_keys[s][k++] = c->keys[i];
    }
    c->shard_count[b] = k;
    return crops_shard_write(c->out, c->opts.size, c->part, c->parts, (long)b, c->slot_keys[s],
                             c->buf[s], k, err);
}

static void *worker(void *arg) {
    decode_ctx *c = arg;
    jpeg_decoder d;
    stl_error err;
    char detail[DETAIL_LEN];
    size_t path_cap = strlen(c->images) + IMAGE_PATH_EXTRA;
    char *path = malloc(path_cap);
    int ok = path != NULL && jpeg_decoder_init(&d, &err) == 0;
    pthread_mutex_lock(&c->mu);
    if (!ok) {
        stl_fail(&err, "cannot start a decoder (libjpeg-turbo or memory)");
        fail_locked(c, &err);
    }
    while (ok && !c->stop && c->next < c->n) {
        size_t i = c->next++;
        size_t b = i / c->cap;
        int s = (int)(b % (size_t)c->n_slots);
        while (!c->stop && c->slot_batch[s] != b) pthread_cond_wait(&c->cv_work, &c->mu);
        if (c->stop) break;
        pthread_mutex_unlock(&c->mu);

        image_path_build(c->images, c->layout, c->keys[i].s, path, path_cap); /* fits */
        jpeg_status st = jpeg_decode_file(&d, path, &c->opts,
                                          c->buf[s] + (i - b * c->cap) * c->img, detail,
                                          sizeof detail);
        c->status[i] = (uint8_t)st;
        if (st != JPEG_STATUS_OK) c->detail[i] = strdup(detail);

        pthread_mutex_lock(&c->mu);
        c->finished++;
        if (++c->done[s] == batch_len(c, b)) {
            c->done[s] = 0;
            pthread_mutex_unlock(&c->mu);
            int rc = flush_batch(c, b, s, &err);
            pthread_mutex_lock(&c->mu);
            if (rc != 0) fail_locked(c, &err);
            c->slot_batch[s] = b + (size_t)c->n_slots;
            c->written++;
            pthread_cond_broadcast(&c->cv_work);
            pthread_cond_broadcast(&c->cv_done);
        }
    }
    pthread_mutex_unlock(&c->mu);
    free(path);
    if (ok) jpeg_decoder_free(&d);
    return NULL;
}

/* Waits for every shard, showing progress. */
static void wait_shards(decode_ctx *c, size_t nb, progress *pg) {
    pthread_mutex_lock(&c->mu);
    while (c->written < nb && !c->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv_done, &c->mu, &ts);
        size_t f = c->finished;
        pthread_mutex_unlock(&c->mu);
        progress_update(pg, f);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Records the shards and rejects in key order: the index's content. */
static int record_results(decode_ctx *c, size_t nb, crops_writer *w, size_t *by_reason,
                          stl_error *err) {
    stl_key *stored = malloc((c->cap ? c->cap : 1) * sizeof *stored);
    if (!stored) return stl_fail(err, "out of memory");
    size_t warned = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t k = 0, len = batch_len(c, b);
        for (size_t j = 0; j < len; j++) {
            size_t i = b * c->cap + j;
            jpeg_status st = (jpeg_status)c->status[i];
            if (st == JPEG_STATUS_OK) {
                stored[k++] = c->keys[i];
                continue;
            }
            const char *detail = c->detail[i] ? c->detail[i] : "";
            by_reason[st]++;
            if (warned++ < WARN_LIMIT)
                log_warn("%s: %s: %s", c->keys[i].s, jpeg_status_name(st), detail);
            if (crops_writer_reject(w, c->keys[i].s, jpeg_status_name(st), detail, err) != 0) {
                free(stored);
                return -1;
            }
        }
        if (k != c->shard_count[b]) {
            free(stored);
            return stl_fail(err, "internal error: shard %zu count", b);
        }
        if (crops_writer_record_shard(w, stored, k, err) != 0) {
            free(stored);
            return -1;
        }
    }
    if (warned > WARN_LIMIT)
        log_warn("... and %zu more rejects (all listed in the index)", warned - WARN_LIMIT);
    free(stored);
    return 0;
}

static int run(decode_ctx *c, int threads, crops_writer *w, size_t *by_reason, stl_error *err) {
    size_t nb = (c->n + c->cap - 1) / c->cap;
    c->status = calloc(c->n ? c->n : 1, 1);
    c->detail = calloc(c->n ? c->n : 1, sizeof *c->detail);
    c->shard_count = calloc(nb ? nb : 1, sizeof *c->shard_count);
    if (!c->status || !c->detail || !c->shard_count) return stl_fail(err, "out of memory");
    for (int s = 0; s < c->n_slots; s++) {
        c->slot_batch[s] = (size_t)s;
        c->buf[s] = malloc(c->cap * c->img);
        c->slot_keys[s] = malloc(c->cap * sizeof(stl_key));
        if (!c->buf[s] || !c->slot_keys[s])
            return stl_fail(err, "out of memory for %d batches of %zu images (%zu MiB): "
                            "lower --images-per-shard", c->n_slots, c->cap,
                            (size_t)c->n_slots * c->cap * c->img >> 20);
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv_work, NULL);
    pthread_cond_init(&c->cv_done, NULL);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int started = 0, rc = 0;
    if (!tid) rc = stl_fail(err, "out of memory");
    for (int t = 0; rc == 0 && t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker, c) != 0) {
            rc = stl_fail(err, "cannot start thread %d: %s", t, strerror(errno));
            break;
        }
        started++;
    }
    progress pg;
    progress_start(&pg, "decoding", "images", c->n);
    if (rc == 0) wait_shards(c, nb, &pg);
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv_work);
    pthread_mutex_unlock(&c->mu);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    free(tid);
    pthread_cond_destroy(&c->cv_done);
    pthread_cond_destroy(&c->cv_work);
    pthread_mutex_destroy(&c->mu);
    if (rc == 0 && c->failed) {
        *err = c->err;
        rc = -1;
    }
    if (rc == 0) {
        progress_finish(&pg);
        rc = record_results(c, nb, w, by_reason, err);
    }
    return rc;
}

static void summary(const decode_ctx *c, size_t stored, const size_t *by, double secs,
                    const char *out) {
    char rej[512] = "";
    size_t total = 0, len = 0;
    for (int r = 1; r < JPEG_STATUS_COUNT; r++) {
        if (!by[r]) continue;
        total += by[r];
        len += (size_t)snprintf(rej + len, len < sizeof rej ? sizeof rej - len : 0, "%s%s %zu",
                                len ? ", " : "", jpeg_status_name(r), by[r]);
        if (len >= sizeof rej) len = sizeof rej - 1;
    }
    log_info("decoded %zu of %zu images into %s in %.1f s (%.0f images/s); rejected %zu%s%s%s",
             stored, c->n, out, secs, secs > 0 ? (double)c->n / secs : 0.0, total,
             total ? " (" : "", rej, total ? ")" : "");
}

int main(int argc, char **argv) {
    log_set_program("stl-decode");
    const char *keys_path = NULL, *images = NULL, *out = NULL, *layout = "flat";
    long size = 512, max_pixels = 50000000, threads = 0, per_shard = 0;
    int resize = 0;
    cli_shard shard = {0, 1};
    cli_option opts[] = {
        {.name = "keys", .type = CLI_STRING, .target = &keys_path, .metavar = "FILE",
         .help = "keys to decode: pairs JSONL (scenes and products), catalog JSON or a plain list",
         .required = 1},
        {.name = "images", .type = CLI_STRING, .target = &images, .metavar = "DIR",
         .help = "directory of <key>.jpg files (from stl-fetch)",
         .required = 1},
        {.name = "out", .type = CLI_STRING, .target = &out, .metavar = "DIR",
         .help = "crop directory to write this part's shards and index into",
         .required = 1},
        {.name = "size", .type = CLI_INT, .target = &size, .metavar = "S",
         .help = "crop side in pixels",
         .min = 1, .max = 8192},
        {.name = "resize", .type = CLI_FLAG, .target = &resize,
         .help = "scale the short side to S (DCT scaling + area/bilinear) and centre-crop, instead of " "TF's crop-or-pad"},
        {.name = "max-pixels", .type = CLI_INT, .target = &max_pixels, .metavar = "N",
         .help = "reject JPEGs whose header claims more pixels than this",
         .min = 1, .max = 4e18},
        {.name = "threads", .type = CLI_INT, .target = &threads, .metavar = "N",
         .help = "decoder threads (0: $STL_THREADS, else all cores)",
         .min = 0, .max = THREADS_MAX},
        {.name = "shard", .type = CLI_SHARD, .target = &shard, .metavar = "i/N",
         .help = "decode part i of N (keys at positions p with p mod N == i)"},
        {.name = "layout", .type = CLI_CHOICE, .target = &layout,
         .help = "image file layout: flat <dir>/<key>.jpg or cdn <dir>/k0k1/k2k3/k4k5/<key>.jpg",
         .choices = "flat|cdn"},
        {.name = "images-per-shard", .type = CLI_INT, .target = &per_shard, .metavar = "N",
         .help = "images per shard file (0: as many as fit in 64 MiB)",
         .min = 0, .max = 1e9},
    };
    cli_spec spec = {
        .program = "stl-decode",
        .summary = "Decodes the JPEGs of the given keys with libjpeg-turbo (fast integer IDCT, as "
                   "tf.io.decode_jpeg) and stores each as an S x S x 3 uint8 RGB crop (crop-or-pad as "
                   "tf.image.resize_with_crop_or_pad, or --resize) in memory-mappable shards with an "
                   "index. Bad images are skipped with a reason, listed in the index and counted.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;

    stl_error err;
    key_index all;
    keylist_kind kind;
    key_index_init(&all);
    if (keylist_read(keys_path, KEYLIST_ALL, &all, &kind, &err) != 0) {
        log_error(&err);
        key_index_free(&all);
        return STL_EXIT_FAIL;
    }
    size_t n_part = 0;
    stl_key *part_keys = malloc((all.n ? all.n : 1) * sizeof *part_keys);
    if (!part_keys) {
        log_errorf("out of memory");
        key_index_free(&all);
        return STL_EXIT_FAIL;
    }
    n_part = keylist_part(&all, shard.index, shard.count, part_keys);

    threads = threads_resolve(threads, 1);
    decode_ctx c;
    memset(&c, 0, sizeof c);
    c.keys = part_keys;
    c.n = n_part;
    c.images = images;
    c.layout = strcmp(layout, "cdn") == 0 ? IMAGE_PATH_CDN : IMAGE_PATH_FLAT;
    c.opts.size = (int)size;
    c.opts.resize = resize;
    c.opts.max_pixels = (uint64_t)max_pixels;
    c.img = (size_t)size * (size_t)size * 3;
    size_t budget = per_shard > 0 ? (size_t)per_shard : DEFAULT_SHARD_BYTES / c.img;
    if (budget < 1) budget = 1;
    if (budget > CROPS_MAX_SHARD_BYTES / c.img) budget = CROPS_MAX_SHARD_BYTES / c.img;
    if (budget < 1) {
        log_errorf("--size %ld: one crop is over the %zu-byte shard limit", size,
                   CROPS_MAX_SHARD_BYTES);
        free(part_keys);
        key_index_free(&all);
        return STL_EXIT_USAGE;
    }
    c.cap = budget < n_part ? budget : (n_part ? n_part : 1);
    if ((long)n_part < threads) threads = n_part ? (long)n_part : 1;
    c.out = out;
    c.part = shard.index;
    c.parts = shard.count;
    /* batches in flight: one being written per thread at most, plus one */
    size_t n_batches = (n_part + c.cap - 1) / c.cap;
    c.n_slots = threads + 1 < MAX_SLOTS ? (int)threads + 1 : MAX_SLOTS;
    if ((size_t)c.n_slots > n_batches) c.n_slots = n_batches > 1 ? (int)n_batches : 1;

    log_info("decoding %zu of %zu keys from %s (part %ld/%ld) in %s to %s: %ldx%ld, %s, "
             "max %ld pixels, %ld threads, %zu images per shard",
             n_part, all.n, keys_path, shard.index, shard.count, images, out, size, size,
             resize ? "resize (DCT scaling + area/bilinear, centre crop)" : "crop-or-pad",
             max_pixels, threads, c.cap);

    int rc = STL_EXIT_OK;
    crops_writer *w = NULL;
    size_t by_reason[JPEG_STATUS_COUNT] = {0};
    double t0 = timer_now();
    if (crops_writer_open(&w, out, (int)size, resize ? "resize" : "crop", shard.index,
                          shard.count, &err) != 0 ||
        run(&c, (int)threads, w, by_reason, &err) != 0) {
        log_error(&err);
        rc = STL_EXIT_FAIL;
    } else if (n_part > 0 && crops_writer_stored(w) == 0) {
        /* No index: it is the part's finished output (pipeline.mk's target),
         * and a part without a single crop is a failure to rerun. */
        summary(&c, 0, by_reason, timer_now() - t0, out);
        log_errorf("%s: none of the %zu images decoded (reasons above; no index written)",
                   images, n_part);
        rc = STL_EXIT_FAIL;
    } else if (crops_writer_commit(w, &err) != 0) {
        log_error(&err);
        rc = STL_EXIT_FAIL;
    } else {
        summary(&c, crops_writer_stored(w), by_reason, timer_now() - t0, out);
        if (n_part == 0)
            log_warn("part %ld/%ld has no keys (%zu keys in %s): wrote an empty index",
                     shard.index, shard.count, all.n, keys_path);
    }
    if (rc != STL_EXIT_OK && w) crops_remove_shards(out, shard.index, shard.count, n_batches);
    crops_writer_free(w);
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(c.buf[s]);
        free(c.slot_keys[s]);
    }
    for (size_t i = 0; c.detail && i < c.n; i++) free(c.detail[i]);
    free(c.detail);
    free(c.status);
    free(c.shard_count);
    free(part_keys);
    key_index_free(&all);
    return rc;
}

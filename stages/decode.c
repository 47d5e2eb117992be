/* stl-decode — JPEGs → S x S uint8 RGB crops in memory-mappable shards.
 *
 * Reads the keys (pairs JSONL: scenes and products; catalog JSON; or a plain
 * list), keeps this part's keys (--shard i/N: key positions p with
 * p mod N == i), decodes <images>/<key>.jpg on --threads workers
 * (common/jpeg_decode.h: TF-parity crop-or-pad, or --resize) and writes the
 * part's shards and index (common/crops_write.h; docs/formats.md "Crop
 * shards"). Keys are cut into fixed batches of --images-per-shard in key
 * order; workers fill one batch buffer while the main thread writes the
 * previous one, so the output depends only on the inputs, never on the
 * thread count or scheduling. Rejected images are listed with their reason
 * in the index and counted in the closing summary. Exit 0 when at least one
 * image was stored (or the part had no keys), 1 when none was, 2 on usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "crops_write.h"
#include "error.h"
#include "jpeg_decode.h"
#include "keylist.h"
#include "keys.h"
#include "log.h"
#include "progress.h"

#define DETAIL_LEN 200
#define DEFAULT_SHARD_BYTES ((size_t)256 << 20)
#define WARN_LIMIT 10

typedef struct {
    /* inputs, read-only while the workers run */
    const stl_key *keys;     /* this part's keys */
    size_t n;
    const char *images;
    int cdn;                 /* --layout cdn */
    jpeg_decode_opts opts;
    size_t cap;              /* images per batch (= per shard) */
    size_t img;              /* bytes per image */
    /* two batch slots: batch b uses slot b % 2 */
    uint8_t *buf[2];
    uint8_t *status[2];
    char *detail[2];         /* cap * DETAIL_LEN */
    size_t done[2];
    size_t next;             /* next key to claim */
    size_t written;          /* batches the writer has finished with */
    size_t finished;         /* keys decoded so far, for progress */
    int stop;
    int init_failed;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
} decode_ctx;

static size_t batch_len(const decode_ctx *c, size_t b) {
    size_t lo = b * c->cap, hi = lo + c->cap;
    return (hi > c->n ? c->n : hi) - lo;
}

static void image_path(const decode_ctx *c, const char *k, char *buf, size_t cap) {
    if (c->cdn)
        snprintf(buf, cap, "%s/%.2s/%.2s/%.2s/%s.jpg", c->images, k, k + 2, k + 4, k);
    else
        snprintf(buf, cap, "%s/%s.jpg", c->images, k);
}

static void *worker(void *arg) {
    decode_ctx *c = arg;
    jpeg_decoder d;
    stl_error err;
    if (jpeg_decoder_init(&d, &err) != 0) {
        pthread_mutex_lock(&c->mu);
        c->init_failed = 1;
        c->stop = 1;
        pthread_cond_broadcast(&c->cv_done);
        pthread_cond_broadcast(&c->cv_work);
        pthread_mutex_unlock(&c->mu);
        return NULL;
    }
    size_t path_cap = strlen(c->images) + 64;
    char *path = malloc(path_cap);
    pthread_mutex_lock(&c->mu);
    while (path && !c->stop && c->next < c->n) {
        size_t i = c->next++;
        size_t b = i / c->cap;
        while (!c->stop && b >= c->written + 2) pthread_cond_wait(&c->cv_work, &c->mu);
        if (c->stop) break;
        pthread_mutex_unlock(&c->mu);

        int s = (int)(b % 2);
        size_t j = i - b * c->cap;
        image_path(c, c->keys[i].s, path, path_cap);
        jpeg_status st = jpeg_decode_file(&d, path, &c->opts, c->buf[s] + j * c->img,
                                          c->detail[s] + j * DETAIL_LEN, DETAIL_LEN);
        c->status[s][j] = (uint8_t)st;

        pthread_mutex_lock(&c->mu);
        c->finished++;
        if (++c->done[s] == batch_len(c, b)) pthread_cond_broadcast(&c->cv_done);
    }
    if (!path) {
        c->init_failed = 1;
        c->stop = 1;
        pthread_cond_broadcast(&c->cv_done);
    }
    pthread_mutex_unlock(&c->mu);
    free(path);
    jpeg_decoder_free(&d);
    return NULL;
}

static void stop_workers(decode_ctx *c) {
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv_work);
    pthread_mutex_unlock(&c->mu);
}

/* The writer: batches in order, compacting the stored images to the front
 * of the slot and recording the rejects. */
static int write_batches(decode_ctx *c, crops_writer *w, size_t *by_reason, progress *pg,
                         stl_error *err) {
    size_t nb = (c->n + c->cap - 1) / c->cap;
    stl_key *ok_keys = malloc((c->cap ? c->cap : 1) * sizeof *ok_keys);
    if (!ok_keys) return stl_fail(err, "out of memory");
    size_t warned = 0;
    for (size_t b = 0; b < nb; b++) {
        int s = (int)(b % 2);
        size_t len = batch_len(c, b);
        pthread_mutex_lock(&c->mu);
        while (c->done[s] < len && !c->stop) {
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
        int failed = c->init_failed;
        pthread_mutex_unlock(&c->mu);
        if (failed) {
            free(ok_keys);
            return stl_fail(err, "cannot start a decoder thread (libjpeg-turbo or memory)");
        }
        size_t k = 0;
        for (size_t j = 0; j < len; j++) {
            const stl_key *key = &c->keys[b * c->cap + j];
            jpeg_status st = (jpeg_status)c->status[s][j];
            if (st == JPEG_STATUS_OK) {
                if (k != j) memmove(c->buf[s] + k * c->img, c->buf[s] + j * c->img, c->img);
                ok_keys[k++] = *key;
                continue;
            }
            const char *detail = c->detail[s] + j * DETAIL_LEN;
            by_reason[st]++;
            if (warned++ < WARN_LIMIT) log_warn("%s: %s: %s", key->s, jpeg_status_name(st), detail);
            if (crops_writer_reject(w, key->s, jpeg_status_name(st), detail, err) != 0) {
                free(ok_keys);
                return -1;
            }
        }
        if (crops_writer_add_shard(w, ok_keys, c->buf[s], k, err) != 0) {
            free(ok_keys);
            return -1;
        }
        pthread_mutex_lock(&c->mu);
        c->done[s] = 0;
        c->written = b + 1;
        pthread_cond_broadcast(&c->cv_work);
        size_t f = c->finished;
        pthread_mutex_unlock(&c->mu);
        progress_update(pg, f);
    }
    if (warned > WARN_LIMIT)
        log_warn("... and %zu more rejects (all listed in the index)", warned - WARN_LIMIT);
    free(ok_keys);
    return 0;
}

static int run(decode_ctx *c, int threads, crops_writer *w, size_t *by_reason, stl_error *err) {
    for (int s = 0; s < 2; s++) {
        c->buf[s] = malloc(c->cap * c->img);
        c->status[s] = malloc(c->cap);
        c->detail[s] = malloc(c->cap * DETAIL_LEN);
        if (!c->buf[s] || !c->status[s] || !c->detail[s])
            return stl_fail(err, "out of memory for two batches of %zu images (%zu MiB): "
                            "lower --images-per-shard", c->cap, 2 * c->cap * c->img >> 20);
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
    if (rc == 0) rc = write_batches(c, w, by_reason, &pg, err);
    stop_workers(c);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    if (rc == 0) progress_finish(&pg);
    free(tid);
    pthread_cond_destroy(&c->cv_done);
    pthread_cond_destroy(&c->cv_work);
    pthread_mutex_destroy(&c->mu);
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
        {"keys", CLI_STRING, &keys_path, "FILE",
         "keys to decode: pairs JSONL (scenes and products), catalog JSON or a plain list", 1, 0,
         0, NULL, 0},
        {"images", CLI_STRING, &images, "DIR", "directory of <key>.jpg files (from stl-fetch)",
         1, 0, 0, NULL, 0},
        {"out", CLI_STRING, &out, "DIR", "crop directory to write this part's shards and index into",
         1, 0, 0, NULL, 0},
        {"size", CLI_INT, &size, "S", "crop side in pixels", 0, 1, 8192, NULL, 0},
        {"resize", CLI_FLAG, &resize, NULL,
         "scale the short side to S (DCT scaling + area/bilinear) and centre-crop, instead of "
         "TF's crop-or-pad",
         0, 0, 0, NULL, 0},
        {"max-pixels", CLI_INT, &max_pixels, "N",
         "reject JPEGs whose header claims more pixels than this", 0, 1, 4e18, NULL, 0},
        {"threads", CLI_INT, &threads, "N", "decoder threads (0: all cores)", 0, 0, 4096, NULL, 0},
        {"shard", CLI_SHARD, &shard, "i/N",
         "decode part i of N (keys at positions p with p mod N == i)", 0, 0, 0, NULL, 0},
        {"layout", CLI_CHOICE, &layout, NULL,
         "image file layout: flat <dir>/<key>.jpg or cdn <dir>/k0k1/k2k3/k4k5/<key>.jpg", 0, 0, 0,
         "flat|cdn", 0},
        {"images-per-shard", CLI_INT, &per_shard, "N",
         "images per shard file (0: as many as fit in 256 MiB)", 0, 0, 1e9, NULL, 0},
    };
    cli_spec spec = {
        "stl-decode",
        "Decodes the JPEGs of the given keys with libjpeg-turbo (fast integer IDCT, as "
        "tf.io.decode_jpeg) and stores each as an S x S x 3 uint8 RGB crop (crop-or-pad as "
        "tf.image.resize_with_crop_or_pad, or --resize) in memory-mappable shards with an "
        "index. Bad images are skipped with a reason, listed in the index and counted.",
        NULL, opts, (int)(sizeof opts / sizeof opts[0]), NULL};
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
    for (size_t p = 0; p < all.n; p++)
        if ((long)(p % (size_t)shard.count) == shard.index) part_keys[n_part++] = all.keys[p];

    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? nc : 1;
    }
    decode_ctx c;
    memset(&c, 0, sizeof c);
    c.keys = part_keys;
    c.n = n_part;
    c.images = images;
    c.cdn = strcmp(layout, "cdn") == 0;
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

    log_info("decoding %zu of %zu keys from %s (part %ld/%ld) in %s to %s: %ldx%ld, %s, "
             "max %ld pixels, %ld threads, %zu images per shard",
             n_part, all.n, keys_path, shard.index, shard.count, images, out, size, size,
             resize ? "resize (DCT scaling + area/bilinear, centre crop)" : "crop-or-pad",
             max_pixels, threads, c.cap);

    int rc = STL_EXIT_OK;
    crops_writer *w = NULL;
    size_t by_reason[JPEG_STATUS_COUNT] = {0};
    double t0 = now_seconds();
    if (crops_writer_open(&w, out, (int)size, resize ? "resize" : "crop", shard.index,
                          shard.count, &err) != 0 ||
        run(&c, (int)threads, w, by_reason, &err) != 0 || crops_writer_commit(w, &err) != 0) {
        log_error(&err);
        rc = STL_EXIT_FAIL;
    } else {
        size_t stored = crops_writer_stored(w);
        summary(&c, stored, by_reason, now_seconds() - t0, out);
        if (n_part == 0) {
            log_warn("part %ld/%ld has no keys (%zu keys in %s): wrote an empty index",
                     shard.index, shard.count, all.n, keys_path);
        } else if (stored == 0) {
            log_errorf("%s: none of the %zu images decoded (reasons in %s's index)", images,
                       n_part, out);
            rc = STL_EXIT_FAIL;
        }
    }
    crops_writer_free(w);
    for (int s = 0; s < 2; s++) {
        free(c.buf[s]);
        free(c.status[s]);
        free(c.detail[s]);
    }
    free(part_keys);
    key_index_free(&all);
    return rc;
}

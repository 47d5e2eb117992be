/* stl-fetch — download the images of a key list, politely, concurrently and
 * resumably, keeping only whole JPEGs.
 *
 * Reads the keys (pairs JSONL, catalog JSON or a plain list; bad keys are
 * errors naming their line), keeps this part's keys (--shard i/N: positions
 * p with p mod N == i, stl-decode's rule, so fetch part i feeds decode part
 * i), and for each key removes a stale temporary and keeps a final file that
 * already validates (a killed run resumes). The rest are fetched from
 * --base-url by common/fetch/fetcher.h: --concurrency transfers on reused
 * connections, a token bucket of --rate requests/s that halves on 429/503,
 * retries with full-jitter backoff that honour Retry-After, and every body
 * validated before it is renamed into place. The fetch log (every key's
 * outcome; docs/formats.md "Fetch log") is written atomically at the end, and
 * also when SIGTERM or SIGINT stops the run early. Exit 0 when every key was
 * fetched, already there or gone, 1 when more than --max-failed keys failed
 * (or the run was stopped, or an input or the log could not be read or
 * written), 2 on usage errors.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/error.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/timer.h"
#include "dataset/image_path.h"
#include "dataset/keylist.h"
#include "dataset/keys.h"
#include "fetch/fetcher.h"
#include "fetch/store.h"
#include "formats/fetch_log.h"
#include "io/dirs.h"
#include "io/file_read.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { stop_requested = sig; }

typedef struct {
    const char *keys, *out, *base_url, *url_layout, *layout, *log;
    long concurrency, max_retries, max_failed, seed;
    double rate, burst, timeout, max_bytes, backoff_base, backoff_max;
    cli_shard shard;
} fetch_args;

static int parse(fetch_args *a, int argc, char **argv, int *code) {
    cli_option opts[] = {
        {.name = "keys", .type = CLI_STRING, .target = &a->keys, .metavar = "FILE",
         .help = "keys to fetch: pairs JSONL (scenes and products), catalog JSON or a plain list",
         .required = 1},
        {.name = "out", .type = CLI_STRING, .target = &a->out, .metavar = "DIR",
         .help = "directory to store the images in (created)", .required = 1},
        {.name = "base-url", .type = CLI_STRING, .target = &a->base_url, .metavar = "URL",
         .help = "where the images are: http://, https:// or file:// (default: Pinterest's "
                 "CDN, " IMAGE_PATH_CDN_URL ")"},
        {.name = "url-layout", .type = CLI_CHOICE, .target = &a->url_layout,
         .help = "how the server lays the images out: cdn URL/k0k1/k2k3/k4k5/<key>.jpg or flat "
                 "URL/<key>.jpg",
         .choices = "cdn|flat"},
        {.name = "layout", .type = CLI_CHOICE, .target = &a->layout,
         .help = "how --out is laid out: cdn DIR/k0k1/k2k3/k4k5/<key>.jpg (what stl-decode "
                 "--layout cdn reads) or flat DIR/<key>.jpg",
         .choices = "cdn|flat"},
        {.name = "concurrency", .type = CLI_INT, .target = &a->concurrency, .metavar = "N",
         .help = "transfers (and connections) at once", .min = 1, .max = 1024},
        {.name = "rate", .type = CLI_DOUBLE, .target = &a->rate, .metavar = "R",
         .help = "requests per second over all connections, retries included (0: no limit "
                 "until the server answers 429 or 503; a file:// --base-url has none unless given)",
         .min = 0, .max = 1e6},
        {.name = "burst", .type = CLI_DOUBLE, .target = &a->burst, .metavar = "B",
         .help = "requests that may start at once above --rate (the token bucket's size)",
         .min = 1, .max = 1e6},
        {.name = "max-retries", .type = CLI_INT, .target = &a->max_retries, .metavar = "N",
         .help = "retries per key after its first attempt", .min = 0, .max = 1000},
        {.name = "timeout", .type = CLI_DOUBLE, .target = &a->timeout, .metavar = "S",
         .help = "seconds to connect, and the longest stall (under 1 byte/s) before a transfer "
                 "is abandoned and retried; no transfer lasts over 10 x S",
         .min = 0.1, .max = 3600},
        {.name = "max-bytes", .type = CLI_DOUBLE, .target = &a->max_bytes, .metavar = "N",
         .help = "largest body kept, in bytes; a larger one is a failed validation",
         .min = 5, .max = 1e12},
        {.name = "max-failed", .type = CLI_INT, .target = &a->max_failed, .metavar = "N",
         .help = "exit 1 when more than N keys fail after their retries", .min = 0, .max = 1e12},
        {.name = "backoff", .type = CLI_DOUBLE, .target = &a->backoff_base, .metavar = "S",
         .help = "first retry's backoff bound; attempt a waits U[0, min(max, S * 2^(a-1)))",
         .min = 0, .max = 3600},
        {.name = "backoff-max", .type = CLI_DOUBLE, .target = &a->backoff_max, .metavar = "S",
         .help = "largest backoff bound (a Retry-After from the server is honoured above it, "
                 "up to 600 s)",
         .min = 0, .max = 3600},
        {.name = "seed", .type = CLI_INT, .target = &a->seed, .metavar = "N",
         .help = "seed of the backoff jitter", .min = 0, .max = 9007199254740992.0},
        {.name = "log", .type = CLI_STRING, .target = &a->log, .metavar = "FILE",
         .help = "fetch log to write (default: DIR/fetch-log.part-IIIII-of-NNNNN.mpk)"},
        {.name = "shard", .type = CLI_SHARD, .target = &a->shard, .metavar = "i/N",
         .help = "fetch part i of N (keys at positions p with p mod N == i, as stl-decode)"},
    };
    cli_spec spec = {
        .program = "stl-fetch",
        .summary = "Downloads the JPEG of every key (libcurl, concurrent, rate-limited, "
                   "resumable) into DIR, retrying 408/429/5xx, timeouts, stalls, resets and "
                   "invalid bodies with backoff, and keeping a file only when it is a complete "
                   "JPEG. 403/404/410 are gone: never retried, no file. Every key's outcome "
                   "goes to the fetch log.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    if (cli_run(&spec, argc, argv, code) != 0) return -1;
    /* A file:// source is no server to be polite to: no rate unless asked. */
    for (int i = 0; i < spec.n_opts; i++)
        if (strcmp(opts[i].name, "rate") == 0 && !opts[i].seen &&
            strncmp(a->base_url, "file://", 7) == 0)
            a->rate = 0;
    return 0;
}

/* For a file:// source: 1 when the local source of key differs from the
 * stored copy at final (a changed image is fetched again), else 0. */
static int source_changed(const fetch_args *a, const char *key, const char *final) {
    if (strncmp(a->base_url, "file://", 7) != 0) return 0;
    image_path_layout ul = strcmp(a->url_layout, "cdn") == 0 ? IMAGE_PATH_CDN : IMAGE_PATH_FLAT;
    char src[4096];
    if (image_path_build(a->base_url + 7, ul, key, src, sizeof src) != 0) return 0;
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    stl_error e;
    int differ = file_read_all(src, 0, &x, &nx, &e) != 0 || file_read_all(final, 0, &y, &ny, &e) != 0 ||
                 nx != ny || memcmp(x, y, nx) != 0;
    free(x);
    free(y);
    return differ;
}

/* Records for the part; skips the keys whose file is already there (and,
 * from a file:// source, the same as its source). */
static int prepare(const fetch_args *a, const stl_key *keys, size_t n, fetch_record *recs,
                   size_t *kept, uint64_t *kept_bytes, stl_error *err) {
    image_path_layout layout = strcmp(a->layout, "cdn") == 0 ? IMAGE_PATH_CDN : IMAGE_PATH_FLAT;
    size_t cap = strlen(a->out) + STORE_EXTRA;
    char *final = malloc(cap), *tmp = malloc(cap);
    if (!final || !tmp) {
        free(final);
        free(tmp);
        return stl_fail(err, "out of memory");
    }
    int rc = 0;
    *kept = 0;
    *kept_bytes = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        memset(&recs[i], 0, sizeof recs[i]);
        recs[i].key = keys[i];
        store_state state;
        uint64_t bytes;
        if (store_paths(a->out, layout, keys[i].s, final, tmp, cap) != 0) {
            rc = stl_fail(err, "%s: path too long", a->out);
        } else if (store_prepare(final, tmp, (uint64_t)a->max_bytes, &state, &bytes, err) != 0) {
            rc = -1;
        } else if (state == STORE_KEEP && !source_changed(a, keys[i].s, final)) {
            recs[i].outcome = FETCH_OUTCOME_SKIPPED;
            recs[i].bytes = bytes;
            (*kept)++;
            *kept_bytes += bytes;
        }
    }
    free(final);
    free(tmp);
    return rc;
}

static int write_log(const fetch_args *a, const char *path, fetch_record *recs, size_t n,
                     size_t total, const fetcher_stats *st, int complete, double secs,
                     stl_error *err) {
    fetch_log l;
    memset(&l, 0, sizeof l);
    l.records = recs;
    l.n = n;
    l.keys_total = total;
    l.shard_index = a->shard.index;
    l.shard_count = a->shard.count;
    l.complete = complete;
    l.seconds = secs;
    l.requests = st->requests;
    l.throttled = st->throttled;
    snprintf(l.keys_file, sizeof l.keys_file, "%s", a->keys);
    snprintf(l.base_url, sizeof l.base_url, "%s", a->base_url);
    snprintf(l.url_layout, sizeof l.url_layout, "%s", a->url_layout);
    snprintf(l.out, sizeof l.out, "%s", a->out);
    snprintf(l.layout, sizeof l.layout, "%s", a->layout);
    return fetch_log_write(path, &l, err);
}

int main(int argc, char **argv) {
    log_set_program("stl-fetch");
    fetch_args a = {
        .base_url = IMAGE_PATH_CDN_URL, .url_layout = "cdn", .layout = "cdn",
        .concurrency = 16, .rate = 50, .burst = 10, .max_retries = 5, .timeout = 30,
        .max_bytes = 10e6, .max_failed = 0, .backoff_base = 1, .backoff_max = 60, .seed = 1,
        .shard = {0, 1},
    };
    int code;
    if (parse(&a, argc, argv, &code) != 0) return code;

    char log_default[4096];
    if (!a.log) {
        int n = snprintf(log_default, sizeof log_default, "%s/fetch-log.part-%05ld-of-%05ld.mpk",
                         a.out, a.shard.index, a.shard.count);
        if (n < 0 || (size_t)n >= sizeof log_default) {
            log_errorf("--out %s: path too long", a.out);
            return STL_EXIT_USAGE;
        }
        a.log = log_default;
    }

    stl_error err;
    key_index all;
    keylist_kind kind;
    key_index_init(&all);
    if (keylist_read(a.keys, KEYLIST_ALL, &all, &kind, &err) != 0) {
        log_error(&err);
        key_index_free(&all);
        return STL_EXIT_FAIL;
    }
    stl_key *keys = malloc((all.n ? all.n : 1) * sizeof *keys);
    fetch_record *recs = malloc((all.n ? all.n : 1) * sizeof *recs);
    if (!keys || !recs) {
        log_errorf("out of memory for %zu keys", all.n);
        free(keys);
        free(recs);
        key_index_free(&all);
        return STL_EXIT_FAIL;
    }
    size_t n = keylist_part(&all, a.shard.index, a.shard.count, keys);

    char rate[64] = "none until a 429/503";
    if (a.rate > 0) snprintf(rate, sizeof rate, "%g/s (burst %g)", a.rate, a.burst);
    log_info("fetching %zu of %zu keys from %s (part %ld/%ld) from %s (%s layout) into %s "
             "(%s layout): concurrency %ld, rate %s, %ld retries, backoff %g-%g s, "
             "timeout %g s, max %.0f bytes; log %s",
             n, all.n, a.keys, a.shard.index, a.shard.count, a.base_url, a.url_layout, a.out,
             a.layout, a.concurrency, rate, a.max_retries, a.backoff_base, a.backoff_max,
             a.timeout, a.max_bytes, a.log);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    double t0 = timer_now();
    int rc = STL_EXIT_OK;
    size_t kept = 0;
    uint64_t kept_bytes = 0;
    fetcher_stats st;
    memset(&st, 0, sizeof st);
    int prepared = 0; /* every record initialised: the log can be written */
    if (dirs_create(a.out, &err) != 0 ||
        prepare(&a, keys, n, recs, &kept, &kept_bytes, &err) != 0) {
        log_error(&err);
        rc = STL_EXIT_FAIL;
    } else {
        prepared = 1;
    }
    if (rc == STL_EXIT_OK) {
        progress pg;
        progress_start(&pg, "fetching", "files", n);
        fetcher_opts fo = {
            .base_url = a.base_url,
            .url_layout = strcmp(a.url_layout, "cdn") == 0 ? IMAGE_PATH_CDN : IMAGE_PATH_FLAT,
            .out = a.out,
            .layout = strcmp(a.layout, "cdn") == 0 ? IMAGE_PATH_CDN : IMAGE_PATH_FLAT,
            .concurrency = a.concurrency,
            .rate = a.rate,
            .burst = a.burst,
            .max_retries = a.max_retries,
            .timeout = a.timeout,
            .max_bytes = (uint64_t)a.max_bytes,
            .backoff_base = a.backoff_base,
            .backoff_max = a.backoff_max,
            .seed = (uint64_t)a.seed,
            .stop = &stop_requested,
            .pg = &pg,
        };
        if (fetcher_run(&fo, recs, n, kept, &st, &err) != 0) {
            log_error(&err);
            rc = STL_EXIT_FAIL;
        }
        progress_finish(&pg);
    }
    double secs = timer_now() - t0;
    fetch_log l = {.records = recs, .n = prepared ? n : 0};
    size_t c[FETCH_OUTCOME_COUNT];
    fetch_log_count(&l, c);
    int complete = rc == STL_EXIT_OK && !st.stopped && c[FETCH_OUTCOME_PENDING] == 0;
    if (prepared && write_log(&a, a.log, recs, n, all.n, &st, complete, secs, &err) != 0) {
        log_error(&err);
        rc = STL_EXIT_FAIL;
    }
    log_info("fetched %zu of %zu keys (part %ld/%ld) into %s in %.1f s (%.0f files/s, "
             "%.1f MB/s): %zu already there, %zu gone, %zu failed, %zu not done; %llu requests, "
             "%llu retries, %llu answered 429/503",
             c[FETCH_OUTCOME_OK], n, a.shard.index, a.shard.count, a.out, secs,
             secs > 0 ? (double)c[FETCH_OUTCOME_OK] / secs : 0.0,
             secs > 0 ? (double)st.bytes / 1e6 / secs : 0.0, c[FETCH_OUTCOME_SKIPPED],
             c[FETCH_OUTCOME_GONE], c[FETCH_OUTCOME_FAILED], c[FETCH_OUTCOME_PENDING],
             (unsigned long long)st.requests, (unsigned long long)st.retries,
             (unsigned long long)st.throttled);
    if (rc == STL_EXIT_OK && st.stopped) {
        log_errorf("stopped by signal %d with %zu keys not done: the log records them; rerun to "
                   "resume", (int)stop_requested, c[FETCH_OUTCOME_PENDING]);
        rc = STL_EXIT_FAIL;
    } else if (rc == STL_EXIT_OK && c[FETCH_OUTCOME_FAILED] > (size_t)a.max_failed) {
        for (size_t i = 0, shown = 0; i < n && shown < 10; i++)
            if (recs[i].outcome == FETCH_OUTCOME_FAILED) {
                log_errorf("%s: failed after %u attempts: %s", recs[i].key.s, recs[i].attempts,
                           recs[i].error);
                shown++;
            }
        log_errorf("%zu keys failed (more than --max-failed %ld); the log lists them",
                   c[FETCH_OUTCOME_FAILED], a.max_failed);
        rc = STL_EXIT_FAIL;
    }
    free(keys);
    free(recs);
    key_index_free(&all);
    return rc;
}

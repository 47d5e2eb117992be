/* fetcher.h — the download loop of stl-fetch: libcurl's multi interface
 * driving up to --concurrency transfers over reused keep-alive connections.
 *
 * fetcher_run() takes the part's records (formats/fetch_log.h) and fetches
 * every one that is still pending; the others (skipped by the caller) are
 * left alone. Each request start takes a token from the shared rate limiter
 * (rate.h); answers are classified and waits chosen by the retry policy
 * (retry.h); bodies stream into a temporary (store.h) through a probe and
 * are renamed onto the final path only when they validate (validate.h).
 * Retries whose wait has passed go before fresh keys. When *stop becomes
 * non-zero (a signal) the loop abandons the transfers in flight, removes
 * their temporaries and returns with those keys still pending.
 *
 * The records are filled in place: outcome, last status, bytes, attempts,
 * last error. Returns 0, or -1 with err when libcurl cannot be set up.
 */
#ifndef STL_FETCHER_H
#define STL_FETCHER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/progress.h"
#include "dataset/image_path.h"
#include "formats/fetch_log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *base_url;
    image_path_layout url_layout; /* how the server lays the images out */
    const char *out;
    image_path_layout layout;     /* how --out is laid out */
    long concurrency;
    double rate, burst;           /* requests/s (0: unlimited), bucket size */
    long max_retries;
    double timeout;               /* seconds: connect, and the longest stall */
    uint64_t max_bytes;
    double backoff_base, backoff_max;
    uint64_t seed;
    const volatile sig_atomic_t *stop; /* may be NULL */
    progress *pg;                 /* may be NULL */
} fetcher_opts;

typedef struct {
    uint64_t requests;  /* requests started */
    uint64_t retries;   /* of which retries */
    uint64_t throttled; /* 429/503 answers */
    uint64_t bytes;     /* bytes stored */
    unsigned long slowdowns; /* times the rate was halved */
    double final_rate;  /* the limiter's rate at the end (0: unlimited) */
    int stopped;        /* *stop ended the run */
} fetcher_stats;

/* done_before: records already finished (skipped), for progress. */
int fetcher_run(const fetcher_opts *o, fetch_record *recs, size_t n, size_t done_before,
                fetcher_stats *st, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

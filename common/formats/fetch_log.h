/* fetch_log.h — the fetch log ("stlrec-fetch-log"): what stl-fetch did with
 * each key of its part, written by stl-fetch and read by stl-inspect.
 *
 * One record per key of the part, in key order: its outcome (ok: fetched
 * now; skipped: a valid file was already there; gone: the server answered
 * 403, 404 or 410, or a file:// source has no such file, so no file was
 * written; failed: no valid body after the retries; pending: the run was
 * stopped before the key finished), the last HTTP status (0: none), the
 * bytes of the stored file, the attempts made and the last error. Plus the
 * run: inputs, shard, totals, and whether the run completed or was stopped
 * (SIGTERM). Layout in docs/formats.md "## Fetch log". Written atomically.
 *
 * fetch_log_read() validates what it returns (keys, outcomes, equal column
 * lengths, counts that add up). Ownership: a fetch_log read from a file owns
 * its records; fetch_log_free releases them.
 */
#ifndef STL_FETCH_LOG_H
#define STL_FETCH_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FETCH_LOG_FORMAT "stlrec-fetch-log"
#define FETCH_LOG_VERSION 1
#define FETCH_LOG_ERROR_LEN 120

typedef enum {
    FETCH_OUTCOME_PENDING,
    FETCH_OUTCOME_OK,
    FETCH_OUTCOME_SKIPPED,
    FETCH_OUTCOME_GONE,
    FETCH_OUTCOME_FAILED,
    FETCH_OUTCOME_COUNT
} fetch_outcome;

typedef struct {
    stl_key key;
    fetch_outcome outcome;
    long status;     /* last HTTP status; 0 when none (file://, no answer) */
    uint64_t bytes;  /* size of the stored file (ok, skipped) */
    uint32_t attempts;
    char error[FETCH_LOG_ERROR_LEN]; /* last error; "" when none */
} fetch_record;

typedef struct {
    fetch_record *records; /* (n) in key order */
    size_t n;
    size_t keys_total;     /* keys in the input, all parts together */
    long shard_index, shard_count;
    int complete;          /* 0: stopped before every key finished */
    double seconds;        /* wall time of the run */
    uint64_t requests;     /* requests made */
    uint64_t throttled;    /* 429 and 503 answers */
    char keys_file[256], base_url[256], url_layout[8], out[256], layout[8];
} fetch_log;

/* "ok", "skipped", "gone", "failed", "pending". */
const char *fetch_outcome_name(fetch_outcome o);

/* Per-outcome counts of l's records into counts[FETCH_OUTCOME_COUNT]. */
void fetch_log_count(const fetch_log *l, size_t *counts);

int fetch_log_write(const char *path, const fetch_log *l, stl_error *err);
int fetch_log_read(const char *path, fetch_log *l, stl_error *err);
void fetch_log_free(fetch_log *l);

/* stl-inspect: the counts and the keys that are not ok or skipped, or with
 * json the whole file as one JSON object. */
int fetch_log_inspect(const char *path, int json, FILE *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif

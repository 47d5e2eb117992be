/* retry.h — stl-fetch's retry policy: which answers are worth another
 * attempt, and how long to wait before it.
 *
 * Waits are full-jitter exponential backoff: before attempt a + 1 (after a
 * failed attempts) a key waits a uniform draw from [0, min(cap, base * 2^(a-1))).
 * The draw comes from an RNG stream of (seed, key, a), so a key's waits do not
 * depend on the order in which the transfers happened to finish. A server's
 * Retry-After (delta-seconds or an HTTP-date, RFC 9110 10.2.3) is a floor:
 * the wait is the larger of the two, so a retry is never earlier than asked.
 */
#ifndef STL_RETRY_H
#define STL_RETRY_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest Retry-After honoured, in seconds: a server asking for more
 * fails the key instead (a retry earlier than asked would be impolite). */
#define RETRY_AFTER_MAX 600.0

typedef struct {
    double base;   /* seconds: the first backoff's upper bound */
    double cap;    /* seconds: no backoff bound above this */
    uint64_t seed; /* jitter seed */
} retry_policy;

/* The jittered backoff before the next attempt of key after `failures`
 * (>= 1) failed attempts, in seconds. */
double retry_backoff(const retry_policy *p, const char *key, int failures);

/* A Retry-After header value (leading/trailing blanks ignored) as seconds
 * from `now` (wall-clock time): delta-seconds as given, an HTTP-date as the
 * time left until it (0 when past). -1 when it is neither. */
double retry_after_parse(const char *value, time_t now);

typedef enum {
    RETRY_VERDICT_OK,    /* a 2xx (or a file:// read): validate the body */
    RETRY_VERDICT_GONE,  /* 403, 404, 410: permanent, no file, never retried */
    RETRY_VERDICT_RETRY, /* 408, 429, 5xx: try again after a wait */
    RETRY_VERDICT_FAIL   /* anything else: a permanent failure */
} retry_verdict;

/* What an HTTP status means for the key. */
retry_verdict retry_classify_status(long status);

/* 1 when the answer asks the whole fetcher to slow down (429, 503). */
int retry_is_throttle(long status);

#ifdef __cplusplus
}
#endif

#endif

/* retry.c — backoff draws, Retry-After parsing and status classes (see retry.h). */
#include "fetch/retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

double retry_backoff(const retry_policy *p, const char *key, int failures) {
    if (failures < 1) failures = 1;
    double bound = p->base * ldexp(1.0, failures > 60 ? 60 : failures - 1);
    if (bound > p->cap) bound = p->cap;
    rng_state r;
    rng_stream(&r, p->seed, rng_hash((uint64_t)failures, key, strlen(key)));
    return bound * rng_double(&r);
}

double retry_after_parse(const char *value, time_t now) {
    while (*value == ' ' || *value == '\t') value++;
    size_t n = strlen(value);
    while (n > 0 && isspace((unsigned char)value[n - 1])) n--;
    if (n == 0 || n > 64) return -1;
    char buf[72];
    memcpy(buf, value, n);
    buf[n] = '\0';
    int digits = 1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)buf[i])) digits = 0;
    if (digits) {
        errno = 0;
        double s = strtod(buf, NULL);
        return errno == 0 ? s : -1;
    }
    /* IMF-fixdate and the obsolete forms RFC 9110 says to accept. */
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1) return -1;
    return t > now ? (double)(t - now) : 0.0;
}

retry_verdict retry_classify_status(long status) {
    if (status >= 200 && status < 300) return RETRY_VERDICT_OK;
    if (status == 403 || status == 404 || status == 410) return RETRY_VERDICT_GONE;
    if (status == 408 || status == 429 || (status >= 500 && status < 600)) return RETRY_VERDICT_RETRY;
    return RETRY_VERDICT_FAIL;
}

int retry_is_throttle(long status) { return status == 429 || status == 503; }

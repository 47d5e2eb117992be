/* test_fetch.c — stl-fetch's policies one by one (common/fetch/): the
 * retry policy (status classes, jittered backoff bounds and determinism,
 * Retry-After in both forms), the token bucket's bound and its AIMD
 * slow-down (once per burst of refusals), floor and recovery, body validation (a probe fed in any chunking,
 * every refusal), the temporary and final paths, and the fetch log
 * (common/formats/fetch_log.c): round trip, and refusal of truncated and
 * inconsistent files.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "check_files.h"
#include "base/rng.h"
#include "fetch/rate.h"
#include "fetch/retry.h"
#include "fetch/store.h"
#include "fetch/validate.h"
#include "formats/fetch_log.h"
#include "io/mpk.h"
#include "io/mpk_writer.h"

static char dir[] = "/tmp/test_fetch.XXXXXX";

static const char *tmp(const char *name) { return check_path(dir, name); }

static const char *KEY = "0123456789abcdef0123456789abcdef";

static void test_classify(void) {
    CHECK_EQ_INT(retry_classify_status(200), RETRY_VERDICT_OK);
    CHECK_EQ_INT(retry_classify_status(206), RETRY_VERDICT_OK);
    CHECK_EQ_INT(retry_classify_status(403), RETRY_VERDICT_GONE);
    CHECK_EQ_INT(retry_classify_status(404), RETRY_VERDICT_GONE);
    CHECK_EQ_INT(retry_classify_status(410), RETRY_VERDICT_GONE);
    CHECK_EQ_INT(retry_classify_status(408), RETRY_VERDICT_RETRY);
    CHECK_EQ_INT(retry_classify_status(429), RETRY_VERDICT_RETRY);
    CHECK_EQ_INT(retry_classify_status(500), RETRY_VERDICT_RETRY);
    CHECK_EQ_INT(retry_classify_status(503), RETRY_VERDICT_RETRY);
    CHECK_EQ_INT(retry_classify_status(599), RETRY_VERDICT_RETRY);
    CHECK_EQ_INT(retry_classify_status(400), RETRY_VERDICT_FAIL);
    CHECK_EQ_INT(retry_classify_status(401), RETRY_VERDICT_FAIL);
    CHECK_EQ_INT(retry_classify_status(302), RETRY_VERDICT_FAIL);
    CHECK(retry_is_throttle(429) && retry_is_throttle(503));
    CHECK(!retry_is_throttle(500) && !retry_is_throttle(404));
}

static void test_backoff(void) {
    retry_policy p = {.base = 0.5, .cap = 4, .seed = 7};
    /* Bounds 0.5, 1, 2, 4, 4, ...: every draw within, and the mean of many
     * keys near half the bound (a full jitter, not a fixed delay). */
    for (int a = 1; a <= 8; a++) {
        double bound = a >= 4 ? 4 : 0.5 * (1 << (a - 1)), sum = 0, lo = 1e9, hi = 0;
        for (int k = 0; k < 2000; k++) {
            char key[40];
            snprintf(key, sizeof key, "%032x", k);
            double w = retry_backoff(&p, key, a);
            CHECK(w >= 0 && w < bound);
            sum += w;
            if (w < lo) lo = w;
            if (w > hi) hi = w;
        }
        CHECK_CLOSE(sum / 2000, bound / 2, 0.05 * bound, 0);
        CHECK(lo < 0.05 * bound && hi > 0.95 * bound);
    }
    /* Deterministic per (seed, key, attempt); different across them. */
    CHECK(retry_backoff(&p, KEY, 3) == retry_backoff(&p, KEY, 3));
    CHECK(retry_backoff(&p, KEY, 3) != retry_backoff(&p, KEY, 2));
    retry_policy q = p;
    q.seed = 8;
    CHECK(retry_backoff(&p, KEY, 3) != retry_backoff(&q, KEY, 3));
    CHECK(retry_backoff(&p, KEY, 1000) < 4);
}

static void test_retry_after(void) {
    time_t now = 1700000000;
    CHECK(retry_after_parse("120", now) == 120);
    CHECK(retry_after_parse(" 0 \r\n", now) == 0);
    CHECK(retry_after_parse("7", now) == 7);
    /* An IMF-fixdate 90 s ahead, one in the past, and the obsolete RFC 850 form. */
    char date[64];
    time_t ahead = now + 90;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&ahead));
    CHECK(retry_after_parse(date, now) == 90);
    CHECK(retry_after_parse(date, now + 1000) == 0);
    strftime(date, sizeof date, "%A, %d-%b-%y %H:%M:%S GMT", gmtime(&ahead));
    CHECK(retry_after_parse(date, now) == 90);
    CHECK(retry_after_parse("", now) < 0);
    CHECK(retry_after_parse("soon", now) < 0);
    CHECK(retry_after_parse("-5", now) < 0);
    CHECK(retry_after_parse("1.5", now) < 0);
}

static void test_rate_bucket(void) {
    /* At 10/s with a burst of 3: 3 at once, then one every 0.1 s; over any
     * simulated second at most burst + rate start. */
    rate_limiter r;
    rate_init(&r, 10, 3, 0);
    double w, t = 0;
    int starts[200] = {0}, n = 0;
    double times[400];
    while (t < 10) {
        if (rate_take(&r, t, &w)) {
            times[n++] = t;
        } else {
            CHECK(w > 0 && w <= 0.1 + 1e-9);
            t += w;
        }
    }
    (void)starts;
    CHECK(n >= 100 && n <= 103);
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int j = i; j < n && times[j] < times[i] + 1.0; j++) c++;
        CHECK(c <= 13);
    }
    /* Unlimited: always a token. */
    rate_init(&r, 0, 1, 0);
    for (int i = 0; i < 1000; i++) CHECK(rate_take(&r, 0, &w));
}

static void test_rate_aimd(void) {
    rate_limiter r;
    double w;
    rate_init(&r, 40, 5, 0);
    rate_throttled(&r, 1.0, 0.9);
    CHECK_CLOSE(r.rate, 20, 1e-9, 0);
    CHECK(!rate_take(&r, 1.0, &w)); /* the bucket was emptied */
    rate_throttled(&r, 1.5, 0.95);  /* sent before the decrease: not counted */
    CHECK_CLOSE(r.rate, 20, 1e-9, 0);
    rate_throttled(&r, 1.6, 1.2); /* sent at the new rate, but within the second */
    CHECK_CLOSE(r.rate, 20, 1e-9, 0);
    rate_throttled(&r, 2.1, 1.2); /* a second later: halves again */
    CHECK_CLOSE(r.rate, 10, 1e-9, 0);
    for (int i = 0; i < 30; i++) rate_throttled(&r, 3.0 + i, 3.0 + i);
    CHECK_CLOSE(r.rate, 1, 1e-9, 0); /* never below 1/s */
    /* Additive increase: step 4 (40/10) per second of successes at the
     * current rate, so 1 second at rate r adds about 4; capped at 40. */
    rate_init(&r, 40, 5, 0);
    rate_throttled(&r, 1.0, 1.0);
    for (int i = 0; i < 20; i++) rate_success(&r); /* one second at 20/s */
    CHECK(r.rate > 23.5 && r.rate < 24.1);
    for (int i = 0; i < 10000; i++) rate_success(&r);
    CHECK_CLOSE(r.rate, 40, 1e-9, 0);
    /* Unlimited until a slow-down, then half the rate seen: 100 starts in
     * the first second, 50 in the 0.5 s after it (150 in 1.5 s: 100/s). */
    rate_init(&r, 0, 1, 0);
    for (int i = 0; i < 100; i++) CHECK(rate_take(&r, i * 0.01, &w));
    for (int i = 0; i < 50; i++) CHECK(rate_take(&r, 1.0 + i * 0.01, &w));
    rate_throttled(&r, 1.5, 1.4);
    CHECK_CLOSE(r.rate, 50, 1e-6, 0);
    CHECK_CLOSE(r.step, 10, 1e-6, 0);
    CHECK(!rate_take(&r, 1.1, &w));
}

static validate_probe probe_of(const unsigned char *b, size_t n, size_t chunk) {
    validate_probe p;
    validate_probe_init(&p);
    for (size_t i = 0; i < n; i += chunk) validate_probe_add(&p, b + i, n - i < chunk ? n - i : chunk);
    return p;
}

static void test_validate(void) {
    unsigned char jpg[64];
    memset(jpg, 0x11, sizeof jpg);
    jpg[0] = 0xFF, jpg[1] = 0xD8, jpg[2] = 0xFF, jpg[62] = 0xFF, jpg[63] = 0xD9;
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        validate_probe p = probe_of(jpg, 64, chunk);
        CHECK_EQ_INT(p.bytes, 64);
        CHECK_EQ_INT(validate_body(&p, "image/jpeg", 64, 1000), VALIDATE_OK);
        CHECK_EQ_INT(validate_body(&p, NULL, -1, 1000), VALIDATE_OK);
        CHECK_EQ_INT(validate_body(&p, "IMAGE/webp", -1, 64), VALIDATE_OK);
        validate_probe cut = probe_of(jpg, 40, chunk);
        CHECK_EQ_INT(validate_body(&cut, "image/jpeg", -1, 1000), VALIDATE_NO_EOI);
        CHECK_EQ_INT(validate_body(&cut, "image/jpeg", 64, 1000), VALIDATE_LENGTH);
    }
    validate_probe p = probe_of(jpg, 64, 7);
    CHECK_EQ_INT(validate_body(&p, "text/html", 64, 1000), VALIDATE_NOT_IMAGE);
    CHECK_EQ_INT(validate_body(&p, "", 64, 1000), VALIDATE_NOT_IMAGE);
    CHECK_EQ_INT(validate_body(&p, "image/jpeg", 64, 63), VALIDATE_TOO_LARGE);
    CHECK_EQ_INT(validate_body(&p, "image/jpeg", 65, 1000), VALIDATE_LENGTH);
    const unsigned char html[] = "<html>rate limited</html>";
    validate_probe h = probe_of(html, sizeof html - 1, 5);
    CHECK_EQ_INT(validate_body(&h, "image/jpeg", -1, 1000), VALIDATE_NOT_JPEG);
    validate_probe e = probe_of(jpg, 0, 1);
    CHECK_EQ_INT(validate_body(&e, NULL, -1, 1000), VALIDATE_EMPTY);
    /* Files on disk. */
    uint64_t size;
    check_spill(tmp("a.jpg"), jpg, 64);
    CHECK_EQ_INT(validate_file(tmp("a.jpg"), 1000, &size), VALIDATE_OK);
    CHECK_EQ_INT(size, 64);
    CHECK_EQ_INT(validate_file(tmp("a.jpg"), 10, &size), VALIDATE_TOO_LARGE);
    check_spill(tmp("b.jpg"), jpg, 50);
    CHECK_EQ_INT(validate_file(tmp("b.jpg"), 1000, &size), VALIDATE_NO_EOI);
    check_spill(tmp("c.jpg"), jpg, 3);
    CHECK(validate_file(tmp("c.jpg"), 1000, &size) != VALIDATE_OK);
    check_spill(tmp("d.jpg"), jpg, 0);
    CHECK_EQ_INT(validate_file(tmp("d.jpg"), 1000, &size), VALIDATE_EMPTY);
    CHECK_EQ_INT(validate_file(tmp("none.jpg"), 1000, &size), VALIDATE_MISSING);
}

static void test_store(void) {
    char final[256], part[256];
    CHECK_EQ_INT(store_paths("/o", IMAGE_PATH_CDN, KEY, final, part, sizeof final), 0);
    CHECK_STR_EQ(final, "/o/01/23/45/0123456789abcdef0123456789abcdef.jpg");
    CHECK_STR_EQ(part, "/o/01/23/45/.0123456789abcdef0123456789abcdef.jpg.part");
    CHECK_EQ_INT(store_paths("/o", IMAGE_PATH_FLAT, KEY, final, part, sizeof final), 0);
    CHECK_STR_EQ(part, "/o/.0123456789abcdef0123456789abcdef.jpg.part");
    CHECK_EQ_INT(store_paths("/o", IMAGE_PATH_CDN, KEY, final, part, 40), -1);
    /* prepare: a stale temporary goes, a valid file stays, an invalid one goes. */
    unsigned char jpg[8] = {0xFF, 0xD8, 0xFF, 0, 0, 0, 0xFF, 0xD9};
    store_paths(dir, IMAGE_PATH_FLAT, KEY, final, part, sizeof final);
    check_spill(part, jpg, 4);
    check_spill(final, jpg, 8);
    store_state st;
    uint64_t bytes;
    stl_error err;
    CHECK_EQ_INT(store_prepare(final, part, 100, &st, &bytes, &err), 0);
    CHECK(st == STORE_KEEP && bytes == 8);
    CHECK(access(part, F_OK) != 0 && access(final, F_OK) == 0);
    check_spill(final, jpg, 6);
    CHECK_EQ_INT(store_prepare(final, part, 100, &st, &bytes, &err), 0);
    CHECK(st == STORE_FETCH && bytes == 0 && access(final, F_OK) != 0);
    CHECK_EQ_INT(store_prepare(final, part, 100, &st, &bytes, &err), 0);
    CHECK(st == STORE_FETCH);
}

static void make_log(fetch_log *l, fetch_record *r, size_t n) {
    memset(l, 0, sizeof *l);
    rng_state g;
    rng_seed(&g, 3);
    stl_key keys[8];
    check_random_keys(&g, keys, n);
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].key = keys[i];
        r[i].outcome = (fetch_outcome)(i % FETCH_OUTCOME_COUNT);
        r[i].status = i % 2 ? 200 : 404;
        r[i].bytes = 1000 + i;
        r[i].attempts = (uint32_t)i;
        snprintf(r[i].error, sizeof r[i].error, i % 2 ? "" : "HTTP %zu", i);
    }
    l->records = r;
    l->n = n;
    l->keys_total = 3 * n;
    l->shard_index = 1;
    l->shard_count = 3;
    l->complete = 1;
    l->seconds = 2.5;
    l->requests = 99;
    l->throttled = 4;
    strcpy(l->keys_file, "pairs.jsonl");
    strcpy(l->base_url, "http://127.0.0.1:1/400x");
    strcpy(l->url_layout, "cdn");
    strcpy(l->out, "images");
    strcpy(l->layout, "flat");
}

static void test_log_round_trip(void) {
    fetch_record r[8];
    fetch_log l, back;
    stl_error err;
    make_log(&l, r, 8);
    CHECK_EQ_INT(fetch_log_write(tmp("log.mpk"), &l, &err), 0);
    CHECK_EQ_INT(fetch_log_read(tmp("log.mpk"), &back, &err), 0);
    CHECK_EQ_INT(back.n, 8);
    CHECK_EQ_INT(back.keys_total, 24);
    CHECK(back.shard_index == 1 && back.shard_count == 3 && back.complete == 1);
    CHECK(back.seconds == 2.5 && back.requests == 99 && back.throttled == 4);
    CHECK_STR_EQ(back.base_url, l.base_url);
    CHECK_STR_EQ(back.layout, "flat");
    for (size_t i = 0; i < 8; i++) {
        CHECK_STR_EQ(back.records[i].key.s, r[i].key.s);
        CHECK_EQ_INT(back.records[i].outcome, r[i].outcome);
        CHECK_EQ_INT(back.records[i].status, r[i].status);
        CHECK_EQ_INT(back.records[i].bytes, r[i].bytes);
        CHECK_EQ_INT(back.records[i].attempts, r[i].attempts);
        CHECK_STR_EQ(back.records[i].error, r[i].error);
    }
    size_t c[FETCH_OUTCOME_COUNT];
    fetch_log_count(&back, c);
    CHECK(c[FETCH_OUTCOME_OK] == 2 && c[FETCH_OUTCOME_PENDING] == 2 && c[FETCH_OUTCOME_FAILED] == 1);
    fetch_log_free(&back);
    FILE *out = fopen(tmp("inspect.txt"), "w");
    CHECK_EQ_INT(fetch_log_inspect(tmp("log.mpk"), 0, out, &err), 0);
    fclose(out);
    size_t len;
    char *txt = (char *)check_slurp(tmp("inspect.txt"), &len);
    CHECK(txt && strstr(txt, "ok 2, skipped 2, gone 1, failed 1, pending 2") &&
          strstr(txt, r[3].key.s));
    free(txt);
    /* An empty part. */
    l.n = 0;
    CHECK_EQ_INT(fetch_log_write(tmp("empty.mpk"), &l, &err), 0);
    CHECK_EQ_INT(fetch_log_read(tmp("empty.mpk"), &back, &err), 0);
    CHECK_EQ_INT(back.n, 0);
    fetch_log_free(&back);
}

/* A file of another format: its header and nothing else. */
static void no_fields(mpk_writer *w, const void *ctx) {
    (void)w;
    (void)ctx;
}

static void test_log_refused(void) {
    fetch_record r[8];
    fetch_log l, back;
    stl_error err;
    make_log(&l, r, 8);
    CHECK_EQ_INT(fetch_log_write(tmp("good.mpk"), &l, &err), 0);
    size_t len;
    unsigned char *b = check_slurp(tmp("good.mpk"), &len);
    for (size_t cut = 1; cut < len; cut += 7) {
        check_spill(tmp("cut.mpk"), b, cut);
        CHECK(fetch_log_read(tmp("cut.mpk"), &back, &err) == -1);
    }
    /* A bad outcome name: same length, so the file stays well formed (the
     * first "skipped" is the counts' key, the second a record's outcome). */
    unsigned char *p = memmem(b, len, "skipped", 7);
    CHECK(p != NULL);
    if (p) p = memmem(p + 7, len - (size_t)(p + 7 - b), "skipped", 7);
    CHECK(p != NULL);
    if (p) {
        memcpy(p, "skimped", 7);
        check_spill(tmp("bad.mpk"), b, len);
        CHECK(fetch_log_read(tmp("bad.mpk"), &back, &err) == -1);
        CHECK(strstr(err.msg, "outcomes[") != NULL);
        memcpy(p, "skipped", 7);
    }
    /* A key that is not a key. */
    p = memmem(b, len, r[2].key.s, 32);
    if (p) {
        p[0] = 'G';
        check_spill(tmp("badkey.mpk"), b, len);
        CHECK(fetch_log_read(tmp("badkey.mpk"), &back, &err) == -1);
        CHECK(strstr(err.msg, "keys[2]") != NULL);
    }
    free(b);
    /* More records than the input had keys. */
    l.keys_total = 3;
    CHECK_EQ_INT(fetch_log_write(tmp("total.mpk"), &l, &err), 0);
    CHECK(fetch_log_read(tmp("total.mpk"), &back, &err) == -1);
    /* Another format. */
    CHECK_EQ_INT(mpk_write(tmp("other.mpk"), "stlrec-topk", 1, no_fields, NULL, &err), 0);
    CHECK(fetch_log_read(tmp("other.mpk"), &back, &err) == -1);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_classify);
    RUN(test_backoff);
    RUN(test_retry_after);
    RUN(test_rate_bucket);
    RUN(test_rate_aimd);
    RUN(test_validate);
    RUN(test_store);
    RUN(test_log_round_trip);
    RUN(test_log_refused);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return check_summary();
}

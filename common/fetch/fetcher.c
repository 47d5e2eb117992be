/* fetcher.c — the libcurl multi loop of stl-fetch (see fetcher.h).
 *
 * A slot is one easy handle with its transfer's state (the record it
 * fetches, the temporary it writes, the body probe, the Retry-After header).
 * Easy handles are reused for the next key and the multi handle keeps the
 * connections alive between transfers, so a run opens about --concurrency
 * connections in all. Everything here runs on the calling thread.
 */
#include "fetch/fetcher.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/timer.h"
#include "fetch/rate.h"
#include "fetch/retry.h"
#include "fetch/store.h"
#include "fetch/validate.h"
#include "io/dirs.h"

typedef struct {
    CURL *easy;
    long rec; /* record being fetched; -1 when free */
    FILE *f;  /* the temporary, opened at the first body byte */
    char *wbuf; /* its stdio buffer (WRITE_BUFFER bytes): a typical image in one write */
    validate_probe probe;
    int too_large;
    int write_errno;
    char retry_after[64];
    char *url, *final, *tmp;
    uint64_t max_bytes;
    size_t out_len; /* strlen of the output directory, which exists */
    int is_http;
    double t_start; /* when the request started (timer_now) */
} slot;

/* glibc ignores setvbuf's size without a buffer and takes st_blksize
 * (4 KiB: ten writes for a 40 KB image, and an fstat), so each slot owns one. */
enum { WRITE_BUFFER = 1 << 16 };

typedef struct {
    size_t rec;
    double at; /* not before this time (timer_now) */
} waiting;

typedef struct {
    const fetcher_opts *o;
    fetch_record *recs;
    size_t n, next;   /* next: the first record not yet started (fresh keys) */
    slot *slots;
    long active;
    waiting *wait;
    size_t n_wait;
    size_t done;
    rate_limiter rate;
    retry_policy policy;
    fetcher_stats *st;
    double t_show; /* last progress update */
    CURLM *multi;
    int is_http;
} fetch_ctx;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    slot *s = ud;
    size_t n = size * nmemb;
    if (s->is_http) {
        long code = 0;
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code >= 300) return n; /* an error page: read and dropped */
    }
    if (s->probe.bytes + n > s->max_bytes) {
        s->too_large = 1;
        return 0;
    }
    if (!s->f) {
        s->f = fopen(s->tmp, "wb");
        if (s->f) setvbuf(s->f, s->wbuf, _IOFBF, WRITE_BUFFER);
        if (!s->f && errno == ENOENT) { /* first file in this directory */
            char *slash = strrchr(s->tmp, '/');
            if (slash) {
                *slash = '\0';
                int rc = dirs_create_below(s->tmp, s->out_len, NULL);
                *slash = '/';
                if (rc == 0) s->f = fopen(s->tmp, "wb");
                if (s->f) setvbuf(s->f, s->wbuf, _IOFBF, WRITE_BUFFER);
            }
        }
        if (!s->f) {
            s->write_errno = errno ? errno : EIO;
            return 0;
        }
    }
    if (fwrite(data, 1, n, s->f) != n) {
        s->write_errno = errno ? errno : EIO;
        return 0;
    }
    validate_probe_add(&s->probe, data, n);
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
    slot *s = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        s->retry_after[0] = '\0'; /* a new response (after a redirect or a 100) */
    } else if (n > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
        size_t len = n - 12;
        while (len > 0 && (buf[12 + len - 1] == '\r' || buf[12 + len - 1] == '\n')) len--;
        if (len >= sizeof s->retry_after) len = sizeof s->retry_after - 1;
        memcpy(s->retry_after, buf + 12, len);
        s->retry_after[len] = '\0';
    }
    return n;
}

static int slot_init(fetch_ctx *c, slot *s, stl_error *err) {
    const fetcher_opts *o = c->o;
    size_t ucap = strlen(o->base_url) + IMAGE_PATH_EXTRA, pcap = strlen(o->out) + STORE_EXTRA;
    s->rec = -1;
    s->url = malloc(ucap);
    s->final = malloc(pcap);
    s->tmp = malloc(pcap);
    s->wbuf = malloc(WRITE_BUFFER);
    s->easy = curl_easy_init();
    s->max_bytes = o->max_bytes;
    s->out_len = strlen(o->out);
    s->is_http = c->is_http;
    if (!s->url || !s->final || !s->tmp || !s->wbuf || !s->easy)
        return stl_fail(err, "cannot set up a transfer: out of memory");
    long t_ms = (long)(o->timeout * 1000);
    long stall = (long)(o->timeout + 0.999);
    CURL *e = s->easy;
    if (curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) || curl_easy_setopt(e, CURLOPT_WRITEDATA, s) ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, s) || curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) || curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L) ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file") ||
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, t_ms) ||
        /* a stall: under 1 byte/s for --timeout seconds */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) ||
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L) ||
        /* and a trickle: no transfer lasts over 10 x --timeout */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10 * t_ms) ||
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes) ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "stlrec-stl-fetch/1"))
        return stl_fail(err, "libcurl refused an option (libcurl %s)", curl_version());
    return 0;
}

static int start(fetch_ctx *c, slot *s, size_t r, stl_error *err) {
    fetch_record *rec = &c->recs[r];
    const fetcher_opts *o = c->o;
    if (image_path_build(o->base_url, o->url_layout, rec->key.s, s->url,
                         strlen(o->base_url) + IMAGE_PATH_EXTRA) != 0 ||
        store_paths(o->out, o->layout, rec->key.s, s->final, s->tmp, strlen(o->out) + STORE_EXTRA) != 0)
        return stl_fail(err, "%s: path too long", rec->key.s);
    s->rec = (long)r;
    s->t_start = timer_now();
    s->f = NULL;
    validate_probe_init(&s->probe);
    s->too_large = 0;
    s->write_errno = 0;
    s->retry_after[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    CURLMcode mc = curl_multi_add_handle(c->multi, s->easy);
    if (mc != CURLM_OK) return stl_fail(err, "libcurl: %s", curl_multi_strerror(mc));
    rec->attempts++;
    c->st->requests++;
    if (rec->attempts > 1) c->st->retries++;
    c->active++;
    return 0;
}

/* Ends the slot's transfer without a verdict (stop): the key stays pending. */
static void abandon(fetch_ctx *c, slot *s) {
    curl_multi_remove_handle(c->multi, s->easy);
    if (s->f) fclose(s->f);
    s->f = NULL;
    unlink(s->tmp);
    s->rec = -1;
    c->active--;
}

static void set_error(fetch_record *rec, const char *why) {
    snprintf(rec->error, sizeof rec->error, "%s", why);
}

typedef enum { VERDICT_OK, VERDICT_GONE, VERDICT_RETRY, VERDICT_FAIL } verdict;

static void finish(fetch_ctx *c, slot *s, CURLcode cc, double now) {
    fetch_record *rec = &c->recs[s->rec];
    long code = 0;
    char *ct = NULL;
    curl_off_t cl = -1;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    char type[128];
    snprintf(type, sizeof type, "%s", ct ? ct : "");
    curl_multi_remove_handle(c->multi, s->easy);
    c->active--;
    if (s->f && fclose(s->f) != 0 && !s->write_errno) s->write_errno = errno ? errno : EIO;
    s->f = NULL;
    rec->status = s->is_http ? code : 0;

    char why[FETCH_LOG_ERROR_LEN] = "";
    double after = -1;
    verdict v = VERDICT_RETRY;
    if (s->write_errno) {
        v = VERDICT_FAIL;
        snprintf(why, sizeof why, "cannot write %s: %s", s->tmp, strerror(s->write_errno));
    } else if (cc == CURLE_OK) {
        retry_verdict rv = s->is_http ? retry_classify_status(code) : RETRY_VERDICT_OK;
        if (rv != RETRY_VERDICT_OK) {
            snprintf(why, sizeof why, "HTTP %ld", code);
            v = rv == RETRY_VERDICT_GONE ? VERDICT_GONE
                : rv == RETRY_VERDICT_RETRY ? VERDICT_RETRY : VERDICT_FAIL;
            if (s->retry_after[0]) after = retry_after_parse(s->retry_after, time(NULL));
            if (retry_is_throttle(code)) {
                c->st->throttled++;
                rate_throttled(&c->rate, now, s->t_start);
            }
        } else {
            validate_status vs = validate_body(&s->probe, s->is_http ? type : NULL, (int64_t)cl,
                                               s->max_bytes);
            if (vs != VALIDATE_OK) {
                snprintf(why, sizeof why, "%s", validate_status_name(vs));
            } else if (rename(s->tmp, s->final) != 0) {
                v = VERDICT_FAIL;
                snprintf(why, sizeof why, "cannot rename to %s: %s", s->final, strerror(errno));
            } else {
                v = VERDICT_OK;
            }
        }
    } else if (cc == CURLE_FILE_COULDNT_READ_FILE) {
        v = VERDICT_GONE;
        snprintf(why, sizeof why, "no such file");
    } else if (s->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(why, sizeof why, "%s", validate_status_name(VALIDATE_TOO_LARGE));
    } else {
        if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL) v = VERDICT_FAIL;
        snprintf(why, sizeof why, "%s", curl_easy_strerror(cc));
    }
    if (v != VERDICT_OK) unlink(s->tmp);
    s->rec = -1;

    if (v == VERDICT_RETRY && rec->attempts > (uint32_t)c->o->max_retries) v = VERDICT_FAIL;
    if (v == VERDICT_RETRY && after > RETRY_AFTER_MAX) {
        v = VERDICT_FAIL;
        snprintf(why + strlen(why), sizeof why - strlen(why), " (Retry-After %.0f s is over %.0f s)",
                 after, RETRY_AFTER_MAX);
    }
    switch (v) {
    case VERDICT_OK:
        rec->outcome = FETCH_OUTCOME_OK;
        rec->bytes = s->probe.bytes;
        rec->error[0] = '\0';
        c->st->bytes += s->probe.bytes;
        rate_success(&c->rate);
        c->done++;
        break;
    case VERDICT_GONE:
        rec->outcome = FETCH_OUTCOME_GONE;
        set_error(rec, why);
        c->done++;
        break;
    case VERDICT_FAIL:
        rec->outcome = FETCH_OUTCOME_FAILED;
        set_error(rec, why);
        c->done++;
        break;
    case VERDICT_RETRY: {
        set_error(rec, why);
        double wait = retry_backoff(&c->policy, rec->key.s, (int)rec->attempts);
        if (after > wait) wait = after;
        c->wait[c->n_wait].rec = (size_t)(rec - c->recs);
        c->wait[c->n_wait].at = now + wait;
        c->n_wait++;
        break;
    }
    }
}

/* The next key to start: the retry whose time came first, else the next
 * fresh key. *from_wait gets its index in the waiting list (-1: fresh).
 * -1 when nothing is ready; *wake is lowered to the next retry's time. */
static long pick(fetch_ctx *c, double now, double *wake, long *from_wait) {
    long best = -1;
    for (size_t i = 0; i < c->n_wait; i++) {
        if (c->wait[i].at <= now) {
            if (best < 0 || c->wait[i].at < c->wait[best].at) best = (long)i;
        } else if (c->wait[i].at < *wake) {
            *wake = c->wait[i].at;
        }
    }
    if (best >= 0) {
        *from_wait = best;
        return (long)c->wait[best].rec;
    }
    while (c->next < c->n && c->recs[c->next].outcome != FETCH_OUTCOME_PENDING) c->next++;
    *from_wait = -1;
    return c->next < c->n ? (long)c->next : -1;
}

static void show(fetch_ctx *c, double t0, double now, int force) {
    if (!c->o->pg || (!force && now - c->t_show < 0.1)) return;
    c->t_show = now;
    double mb = (double)c->st->bytes / 1e6, dt = now - t0;
    progress_set_detail(c->o->pg, "%.1f MB/s, %llu retries", dt > 0 ? mb / dt : 0.0,
                        (unsigned long long)c->st->retries);
    progress_update(c->o->pg, c->done);
}

static int loop(fetch_ctx *c, stl_error *err) {
    const fetcher_opts *o = c->o;
    double t0 = timer_now();
    for (;;) {
        double now = timer_now();
        if (o->stop && *o->stop) {
            c->st->stopped = 1;
            break;
        }
        double wake = now + 0.2; /* look at *stop at least 5 times a second */
        while (c->active < o->concurrency) {
            long from_wait, r = pick(c, now, &wake, &from_wait);
            if (r < 0) break;
            double w;
            if (!rate_take(&c->rate, now, &w)) {
                if (now + w < wake) wake = now + w;
                break;
            }
            if (from_wait >= 0) c->wait[from_wait] = c->wait[--c->n_wait];
            else c->next++;
            slot *s = NULL;
            for (long i = 0; i < o->concurrency && !s; i++)
                if (c->slots[i].rec < 0) s = &c->slots[i];
            if (start(c, s, (size_t)r, err) != 0) return -1;
        }
        if (c->active == 0 && c->n_wait == 0) {
            while (c->next < c->n && c->recs[c->next].outcome != FETCH_OUTCOME_PENDING) c->next++;
            if (c->next >= c->n) break;
        }
        int running;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) return stl_fail(err, "libcurl: %s", curl_multi_strerror(mc));
        int finished = 0, left;
        CURLMsg *m;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            slot *s = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            finish(c, s, m->data.result, timer_now());
            finished++;
        }
        now = timer_now();
        show(c, t0, now, 0);
        if (finished) continue; /* start the next ones at once */
        double ms = (wake - now) * 1000;
        if (ms < 0) ms = 0;
        if (ms > 200) ms = 200;
        mc = curl_multi_poll(c->multi, NULL, 0, (int)ms, NULL);
        if (mc != CURLM_OK) return stl_fail(err, "libcurl: %s", curl_multi_strerror(mc));
    }
    for (long i = 0; i < o->concurrency; i++)
        if (c->slots[i].rec >= 0) abandon(c, &c->slots[i]);
    show(c, t0, timer_now(), 1);
    return 0;
}

int fetcher_run(const fetcher_opts *o, fetch_record *recs, size_t n, size_t done_before,
                fetcher_stats *st, stl_error *err) {
    memset(st, 0, sizeof *st);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return stl_fail(err, "libcurl: cannot initialise");
    fetch_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.recs = recs;
    c.n = n;
    c.done = done_before;
    c.st = st;
    c.is_http = strncasecmp(o->base_url, "http://", 7) == 0 || strncasecmp(o->base_url, "https://", 8) == 0;
    c.policy.base = o->backoff_base;
    c.policy.cap = o->backoff_max;
    c.policy.seed = o->seed;
    rate_init(&c.rate, o->rate, o->burst, timer_now());
    c.slots = calloc((size_t)o->concurrency, sizeof *c.slots);
    c.wait = malloc((n ? n : 1) * sizeof *c.wait);
    c.multi = curl_multi_init();
    int rc = 0;
    if (!c.slots || !c.wait || !c.multi) rc = stl_fail(err, "cannot set up the transfers: out of memory");
    for (long i = 0; rc == 0 && i < o->concurrency; i++) {
        rc = slot_init(&c, &c.slots[i], err);
        if (rc == 0) curl_easy_setopt(c.slots[i].easy, CURLOPT_PRIVATE, (char *)&c.slots[i]);
    }
    if (rc == 0) {
        curl_multi_setopt(c.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o->concurrency);
        curl_multi_setopt(c.multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->concurrency);
        curl_multi_setopt(c.multi, CURLMOPT_MAXCONNECTS, o->concurrency);
        rc = loop(&c, err);
    }
    st->slowdowns = c.rate.decreases;
    st->final_rate = c.rate.rate;
    for (long i = 0; c.slots && i < o->concurrency; i++) {
        slot *s = &c.slots[i];
        if (s->rec >= 0) abandon(&c, s);
        if (s->easy) curl_easy_cleanup(s->easy);
        free(s->url);
        free(s->final);
        free(s->tmp);
        free(s->wbuf);
    }
    if (c.multi) curl_multi_cleanup(c.multi);
    free(c.slots);
    free(c.wait);
    curl_global_cleanup();
    return rc;
}

/* fetch_log.c — writing, reading and inspecting the fetch log (see fetch_log.h). */
#include "formats/fetch_log.h"

#include <stdlib.h>
#include <string.h>

#include "io/mpk.h"
#include "io/mpk_json.h"
#include "io/mpk_writer.h"

static const char *const outcome_names[FETCH_OUTCOME_COUNT] = {"pending", "ok", "skipped", "gone",
                                                              "failed"};

const char *fetch_outcome_name(fetch_outcome o) {
    return (unsigned)o < FETCH_OUTCOME_COUNT ? outcome_names[o] : "?";
}

void fetch_log_count(const fetch_log *l, size_t *counts) {
    for (int o = 0; o < FETCH_OUTCOME_COUNT; o++) counts[o] = 0;
    for (size_t i = 0; i < l->n; i++) counts[l->records[i].outcome]++;
}

static void pack_fields(mpk_writer *w, const void *ctx) {
    const fetch_log *l = ctx;
    msgpack_packer *pk = &w->pk;
    size_t counts[FETCH_OUTCOME_COUNT];
    fetch_log_count(l, counts);
    mpk_key(w, "keys_file");
    mpk_pack_cstr(pk, l->keys_file);
    mpk_key(w, "base_url");
    mpk_pack_cstr(pk, l->base_url);
    mpk_key(w, "url_layout");
    mpk_pack_cstr(pk, l->url_layout);
    mpk_key(w, "out");
    mpk_pack_cstr(pk, l->out);
    mpk_key(w, "layout");
    mpk_pack_cstr(pk, l->layout);
    mpk_key(w, "shard");
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, l->shard_index);
    msgpack_pack_int64(pk, l->shard_count > 0 ? l->shard_count : 1);
    mpk_key(w, "keys_total");
    msgpack_pack_uint64(pk, l->keys_total);
    mpk_key(w, "n");
    msgpack_pack_uint64(pk, l->n);
    mpk_key(w, "complete");
    if (l->complete) msgpack_pack_true(pk);
    else msgpack_pack_false(pk);
    mpk_key(w, "seconds");
    msgpack_pack_double(pk, l->seconds);
    mpk_key(w, "requests");
    msgpack_pack_uint64(pk, l->requests);
    mpk_key(w, "throttled");
    msgpack_pack_uint64(pk, l->throttled);
    mpk_key(w, "counts");
    mpk_map_begin(w);
    for (int o = 0; o < FETCH_OUTCOME_COUNT; o++) mpk_kv_u64(w, outcome_names[o], counts[o]);
    mpk_map_end(w);
    mpk_key(w, "keys");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) {
        msgpack_pack_str(pk, STL_KEY_LEN);
        msgpack_pack_str_body(pk, l->records[i].key.s, STL_KEY_LEN);
    }
    mpk_key(w, "outcomes");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) mpk_pack_cstr(pk, fetch_outcome_name(l->records[i].outcome));
    mpk_key(w, "statuses");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) msgpack_pack_uint64(pk, (uint64_t)l->records[i].status);
    mpk_key(w, "bytes");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) msgpack_pack_uint64(pk, l->records[i].bytes);
    mpk_key(w, "attempts");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) msgpack_pack_uint64(pk, l->records[i].attempts);
    mpk_key(w, "errors");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) mpk_pack_cstr(pk, l->records[i].error);
}

int fetch_log_write(const char *path, const fetch_log *l, stl_error *err) {
    return mpk_write(path, FETCH_LOG_FORMAT, FETCH_LOG_VERSION, pack_fields, l, err);
}

void fetch_log_free(fetch_log *l) {
    free(l->records);
    memset(l, 0, sizeof *l);
}

/* The array field `name`, which must hold n elements. */
static int column(const mpk_file *f, const char *name, uint64_t n, const msgpack_object_array **a,
                  stl_error *err) {
    if (mpk_get_array(f, f->root, name, a, err) != 0) return -1;
    if ((*a)->size != n)
        return stl_fail(err, "%s: field '%s' has %u entries, 'n' says %llu", f->path, name,
                        (*a)->size, (unsigned long long)n);
    return 0;
}

static int read_body(const mpk_file *f, fetch_log *l, stl_error *err) {
    uint64_t n, total;
    const msgpack_object_array *shard, *keys, *outc, *stat, *bytes, *att, *errs;
    const msgpack_object *complete, *seconds;
    if (mpk_get_u64(f, f->root, "n", &n, err) || mpk_get_u64(f, f->root, "keys_total", &total, err) ||
        mpk_get_u64(f, f->root, "requests", &l->requests, err) ||
        mpk_get_u64(f, f->root, "throttled", &l->throttled, err) ||
        mpk_get_array(f, f->root, "shard", &shard, err) || column(f, "keys", n, &keys, err) ||
        column(f, "outcomes", n, &outc, err) || column(f, "statuses", n, &stat, err) ||
        column(f, "bytes", n, &bytes, err) || column(f, "attempts", n, &att, err) ||
        column(f, "errors", n, &errs, err))
        return -1;
    if (shard->size != 2 || shard->ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        shard->ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || shard->ptr[1].via.u64 == 0 ||
        shard->ptr[0].via.u64 >= shard->ptr[1].via.u64)
        return stl_fail(err, "%s: field 'shard' is not [i, N] with 0 <= i < N", f->path);
    if (n > total)
        return stl_fail(err, "%s: %llu records but keys_total is %llu", f->path,
                        (unsigned long long)n, (unsigned long long)total);
    complete = mpk_get(f->root, "complete");
    seconds = mpk_get(f->root, "seconds");
    if (!complete || complete->type != MSGPACK_OBJECT_BOOLEAN)
        return stl_fail(err, "%s: field 'complete' is missing or not a boolean", f->path);
    if (!seconds || (seconds->type != MSGPACK_OBJECT_FLOAT64 && seconds->type != MSGPACK_OBJECT_FLOAT32))
        return stl_fail(err, "%s: field 'seconds' is missing or not a float", f->path);
    l->shard_index = (long)shard->ptr[0].via.u64;
    l->shard_count = (long)shard->ptr[1].via.u64;
    l->keys_total = total;
    l->complete = complete->via.boolean;
    l->seconds = seconds->via.f64;
    mpk_get_strcpy(f, f->root, "keys_file", l->keys_file, sizeof l->keys_file, NULL);
    mpk_get_strcpy(f, f->root, "base_url", l->base_url, sizeof l->base_url, NULL);
    mpk_get_strcpy(f, f->root, "url_layout", l->url_layout, sizeof l->url_layout, NULL);
    mpk_get_strcpy(f, f->root, "out", l->out, sizeof l->out, NULL);
    mpk_get_strcpy(f, f->root, "layout", l->layout, sizeof l->layout, NULL);
    l->records = calloc(n ? n : 1, sizeof *l->records);
    if (!l->records) return stl_fail(err, "%s: out of memory for %llu records", f->path,
                                     (unsigned long long)n);
    l->n = n;
    for (uint64_t i = 0; i < n; i++) {
        fetch_record *r = &l->records[i];
        const msgpack_object *k = &keys->ptr[i], *o = &outc->ptr[i], *e = &errs->ptr[i];
        if (k->type != MSGPACK_OBJECT_STR || !key_valid(k->via.str.ptr, k->via.str.size))
            return stl_fail(err, "%s: keys[%llu] is not a valid key", f->path, (unsigned long long)i);
        memcpy(r->key.s, k->via.str.ptr, STL_KEY_LEN);
        r->key.s[STL_KEY_LEN] = '\0';
        int found = -1;
        for (int c = 0; o->type == MSGPACK_OBJECT_STR && c < FETCH_OUTCOME_COUNT; c++)
            if (o->via.str.size == strlen(outcome_names[c]) &&
                memcmp(o->via.str.ptr, outcome_names[c], o->via.str.size) == 0)
                found = c;
        if (found < 0)
            return stl_fail(err, "%s: outcomes[%llu] is not one of pending, ok, skipped, gone, failed",
                            f->path, (unsigned long long)i);
        r->outcome = (fetch_outcome)found;
        if (stat->ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            bytes->ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            att->ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->type != MSGPACK_OBJECT_STR ||
            stat->ptr[i].via.u64 > 999 || att->ptr[i].via.u64 > UINT32_MAX)
            return stl_fail(err, "%s: record %llu (%s): status, bytes, attempts or error malformed",
                            f->path, (unsigned long long)i, r->key.s);
        r->status = (long)stat->ptr[i].via.u64;
        r->bytes = bytes->ptr[i].via.u64;
        r->attempts = (uint32_t)att->ptr[i].via.u64;
        size_t el = e->via.str.size < FETCH_LOG_ERROR_LEN - 1 ? e->via.str.size : FETCH_LOG_ERROR_LEN - 1;
        memcpy(r->error, e->via.str.ptr, el);
        r->error[el] = '\0';
    }
    return 0;
}

int fetch_log_read(const char *path, fetch_log *l, stl_error *err) {
    memset(l, 0, sizeof *l);
    mpk_file f;
    if (mpk_file_open(&f, path, FETCH_LOG_FORMAT, FETCH_LOG_VERSION, err) != 0) return -1;
    int rc = read_body(&f, l, err);
    mpk_file_close(&f);
    if (rc != 0) {
        fetch_log_free(l);
        return stl_fail_prefix(err, "rerun stl-fetch");
    }
    return 0;
}

int fetch_log_inspect(const char *path, int json, FILE *out, stl_error *err) {
    fetch_log l;
    if (fetch_log_read(path, &l, err) != 0) return -1;
    if (json) {
        mpk_file f;
        int rc = mpk_file_open(&f, path, FETCH_LOG_FORMAT, FETCH_LOG_VERSION, err);
        if (rc == 0) {
            mpk_json_print(out, f.root, 2);
            fprintf(out, "\n");
            mpk_file_close(&f);
        }
        fetch_log_free(&l);
        return rc;
    }
    size_t c[FETCH_OUTCOME_COUNT];
    fetch_log_count(&l, c);
    fprintf(out, "%s: %s version %d\n", path, FETCH_LOG_FORMAT, FETCH_LOG_VERSION);
    fprintf(out, "  %-22s %zu (of %zu in %s)\n", "keys", l.n, l.keys_total, l.keys_file);
    fprintf(out, "  %-22s %ld/%ld\n", "shard", l.shard_index, l.shard_count);
    fprintf(out, "  %-22s %s (%s layout)\n", "from", l.base_url, l.url_layout);
    fprintf(out, "  %-22s %s (%s layout)\n", "into", l.out, l.layout);
    fprintf(out, "  %-22s %s, %.1f s, %llu requests, %llu answered 429/503\n", "run",
            l.complete ? "complete" : "stopped early", l.seconds, (unsigned long long)l.requests,
            (unsigned long long)l.throttled);
    fprintf(out, "  %-22s ok %zu, skipped %zu, gone %zu, failed %zu, pending %zu\n", "outcomes",
            c[FETCH_OUTCOME_OK], c[FETCH_OUTCOME_SKIPPED], c[FETCH_OUTCOME_GONE],
            c[FETCH_OUTCOME_FAILED], c[FETCH_OUTCOME_PENDING]);
    size_t shown = 0;
    for (size_t i = 0; i < l.n; i++) {
        const fetch_record *r = &l.records[i];
        if (r->outcome != FETCH_OUTCOME_GONE && r->outcome != FETCH_OUTCOME_FAILED) continue;
        if (shown++ == 20) {
            fprintf(out, "  ... (stl-inspect --json lists every key)\n");
            break;
        }
        fprintf(out, "  %-7s %s HTTP %ld, %u attempts%s%s\n", fetch_outcome_name(r->outcome),
                r->key.s, r->status, r->attempts, r->error[0] ? ": " : "", r->error);
    }
    fetch_log_free(&l);
    return 0;
}

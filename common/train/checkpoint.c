/* checkpoint.c — write, prune and load stl-train checkpoints (checkpoint.h). */
#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/dirs.h"
#include "io/file_read.h"
#include "base/log.h"
#include "formats/modelfile.h"
#include "io/mpk.h"
#include "io/mpk_writer.h"
#include "base/rng.h"
#include "base/testhook.h"

#define CKPT_HASH_SEED 0x636b7074u /* "ckpt" */

void checkpoint_model_path(const char *dir, int64_t step, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/ckpt-%010lld.msgpack", dir, (long long)step);
}

void checkpoint_state_path(const char *dir, int64_t step, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/ckpt-%010lld.state", dir, (long long)step);
}

void checkpoint_state_free(checkpoint_state *s) {
    free(s->config_json);
    s->config_json = NULL;
}


static int write_model(const char *path, const void *buf, size_t len, int64_t step,
                       stl_error *err) {
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    if (testhook_armed("checkpoint-write", step)) {
        atomic_write(&af, buf, len / 2, err);
        fflush(af.f);
        testhook_point("checkpoint-write", step);
    }
    if (atomic_write(&af, buf, len, err) != 0) {
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err);
}

typedef struct {
    const checkpoint_state *s;
    const char *model_name;
    size_t model_len;
    uint64_t model_hash;
} state_fields_ctx;

static void pack_state(mpk_writer *w, const void *ctx) {
    const state_fields_ctx *c = ctx;
    const checkpoint_state *s = c->s;
    msgpack_packer *pk = &w->pk;
    mpk_kv_i64(w, "step", s->step);
    mpk_kv_str(w, "model", c->model_name);
    mpk_kv_u64(w, "model_bytes", c->model_len);
    mpk_kv_u64(w, "model_hash", c->model_hash);
    mpk_kv_u64(w, "epoch", s->pos.epoch);
    mpk_kv_u64(w, "offset", s->pos.offset);
    mpk_key(w, "rng");
    msgpack_pack_array(pk, 4);
    for (int i = 0; i < 4; i++) msgpack_pack_uint64(pk, s->pos.rng.s[i]);
    mpk_kv_u64(w, "seed", s->seed);
    mpk_key(w, "elapsed_s");
    msgpack_pack_double(pk, s->elapsed_s);
    mpk_kv_i64(w, "output_size", s->output_size);
    mpk_kv_i64(w, "image_size", s->image_size);
    mpk_kv_i64(w, "global_batch", s->global_batch);
    mpk_kv_i64(w, "ranks", s->ranks);
    mpk_kv_i64(w, "threads", s->threads);
    mpk_kv_u64(w, "n_train", s->n_train);
    mpk_kv_u64(w, "hash_seed", CKPT_HASH_SEED);
    mpk_kv_str(w, "config", s->config_json ? s->config_json : "{}");
}

static int write_state(const char *path, const checkpoint_state *s, const char *model_name,
                       size_t model_len, uint64_t model_hash, stl_error *err) {
    state_fields_ctx c = {s, model_name, model_len, model_hash};
    return mpk_write(path, CKPT_STATE_FORMAT, CKPT_STATE_VERSION, pack_state, &c, err);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Steps named "ckpt-<digits><suffix>" in dir, ascending. */
static int list_suffix(const char *dir, const char *suffix, int64_t **steps, size_t *n,
                       stl_error *err) {
    *steps = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return stl_fail(err, "%s: cannot list: %s", dir, strerror(errno));
    }
    size_t cap = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t l = strlen(nm);
        if (l != 5 + 10 + sl || strncmp(nm, "ckpt-", 5) != 0 || strcmp(nm + 15, suffix) != 0)
            continue;
        int digits = 1;
        for (int i = 5; i < 15; i++) digits &= nm[i] >= '0' && nm[i] <= '9';
        if (!digits) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *ns = realloc(*steps, cap * sizeof *ns);
            if (!ns) {
                closedir(d);
                free(*steps);
                *steps = NULL;
                *n = 0;
                return stl_fail(err, "%s: out of memory", dir);
            }
            *steps = ns;
        }
        (*steps)[(*n)++] = strtoll(nm + 5, NULL, 10);
    }
    closedir(d);
    if (*n) qsort(*steps, *n, sizeof **steps, cmp_i64);
    return 0;
}

int checkpoint_list(const char *dir, int64_t **steps, size_t *n, stl_error *err) {
    return list_suffix(dir, ".state", steps, n, err);
}

/* Removes all but the newest `keep` checkpoints, model files without a state
 * file older than the newest checkpoint, and leftover temporaries. */
static void checkpoint_prune(const char *dir, int keep) {
    int64_t *st = NULL, *md = NULL;
    size_t ns = 0, nm = 0;
    if (checkpoint_list(dir, &st, &ns, NULL) != 0) return;
    char p[4096];
    for (size_t i = 0; i + (size_t)keep < ns; i++) {
        checkpoint_state_path(dir, st[i], p, sizeof p); /* the commit record goes first */
        unlink(p);
        checkpoint_model_path(dir, st[i], p, sizeof p);
        unlink(p);
    }
    int64_t newest = ns ? st[ns - 1] : -1;
    if (list_suffix(dir, ".msgpack", &md, &nm, NULL) == 0) {
        for (size_t i = 0; i < nm; i++) {
            if (md[i] >= newest) continue;
            int has_state = 0;
            for (size_t j = 0; j < ns; j++) has_state |= st[j] == md[i];
            if (!has_state) {
                checkpoint_model_path(dir, md[i], p, sizeof p);
                unlink(p);
            }
        }
    }
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strncmp(de->d_name, ".ckpt-", 6) == 0 && strstr(de->d_name, ".tmp.")) {
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    free(st);
    free(md);
}

int checkpoint_save(const char *dir, const model_state *m, const checkpoint_state *s, int keep,
              stl_error *err) {
    if (dirs_create(dir, err) != 0) return -1;
    void *buf = NULL;
    size_t len = 0;
    if (modelfile_pack(m, &buf, &len, err) != 0) return stl_fail_prefix(err, "checkpoint");
    char mp[4096], sp[4096];
    checkpoint_model_path(dir, s->step, mp, sizeof mp);
    checkpoint_state_path(dir, s->step, sp, sizeof sp);
    uint64_t h = rng_hash(CKPT_HASH_SEED, buf, len);
    int rc = write_model(mp, buf, len, s->step, err);
    free(buf);
    if (rc != 0) return -1;
    testhook_point("checkpoint-commit", s->step);
    const char *base = strrchr(mp, '/');
    if (write_state(sp, s, base ? base + 1 : mp, len, h, err) != 0) return -1;
    checkpoint_prune(dir, keep < 1 ? 1 : keep);
    return 0;
}

static int get_int(const mpk_file *f, const char *key, int *out, stl_error *err) {
    int64_t v;
    if (mpk_get_i64(f, f->root, key, &v, err) != 0) return -1;
    if (v < 0 || v > 1 << 30) return stl_fail(err, "%s: field '%s' out of range", f->path, key);
    *out = (int)v;
    return 0;
}

/* Reads the state file; fills s (config_json owned) and the model file's
 * expected length and hash. */
/* The whole training state must be one a run could have written: the
 * loader's generator never has an all-zero state (xoshiro would then draw 0
 * forever, and the shuffle would never end), and a position always points
 * inside the epoch (the loader moves to the next epoch at its end). */
static int validate_state(const char *path, const checkpoint_state *s, stl_error *err) {
    const uint64_t *r = s->pos.rng.s;
    if ((r[0] | r[1] | r[2] | r[3]) == 0)
        return stl_fail(err, "%s: field 'rng': the generator state is all zeros", path);
    if (s->n_train == 0) return stl_fail(err, "%s: field 'n_train': 0 training triplets", path);
    if (s->pos.offset >= s->n_train)
        return stl_fail(err, "%s: field 'offset': %llu is past the %llu training triplets", path,
                        (unsigned long long)s->pos.offset, (unsigned long long)s->n_train);
    if (s->step < 0) return stl_fail(err, "%s: field 'step': negative", path);
    if (s->output_size < 1 || s->image_size < 1 || s->global_batch < 1 || s->ranks < 1 ||
        s->threads < 1)
        return stl_fail(err, "%s: output_size, image_size, global_batch, ranks and threads must "
                        "be positive", path);
    if (!(s->elapsed_s >= 0) || s->elapsed_s > 1e12)
        return stl_fail(err, "%s: field 'elapsed_s': %g is not a duration", path, s->elapsed_s);
    return 0;
}

static int read_state(const char *path, checkpoint_state *s, uint64_t *model_len, uint64_t *model_hash,
                      stl_error *err) {
    memset(s, 0, sizeof *s);
    mpk_file f;
    if (mpk_file_open(&f, path, CKPT_STATE_FORMAT, CKPT_STATE_VERSION, err) != 0) return -1;
    const msgpack_object_array *rng = NULL;
    const char *cfg = NULL;
    size_t cfg_len = 0;
    int rc = -1;
    if (mpk_get_i64(&f, f.root, "step", &s->step, err) || mpk_get_u64(&f, f.root, "model_bytes", model_len, err) ||
        mpk_get_u64(&f, f.root, "model_hash", model_hash, err) ||
        mpk_get_u64(&f, f.root, "epoch", &s->pos.epoch, err) ||
        mpk_get_u64(&f, f.root, "offset", &s->pos.offset, err) ||
        mpk_get_array(&f, f.root, "rng", &rng, err) || mpk_get_u64(&f, f.root, "seed", &s->seed, err) ||
        mpk_get_f64(&f, f.root, "elapsed_s", &s->elapsed_s, err) ||
        get_int(&f, "output_size", &s->output_size, err) || get_int(&f, "image_size", &s->image_size, err) ||
        get_int(&f, "global_batch", &s->global_batch, err) || get_int(&f, "ranks", &s->ranks, err) ||
        get_int(&f, "threads", &s->threads, err) || mpk_get_u64(&f, f.root, "n_train", &s->n_train, err) ||
        mpk_get_str(&f, f.root, "config", &cfg, &cfg_len, err))
        goto out;
    if (rng->size != 4) {
        stl_fail(err, "%s: field 'rng': expected 4 words", path);
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        if (rng->ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            stl_fail(err, "%s: field 'rng': not an unsigned integer", path);
            goto out;
        }
        s->pos.rng.s[i] = rng->ptr[i].via.u64;
    }
    if (validate_state(path, s, err) != 0) goto out;
    s->config_json = malloc(cfg_len + 1);
    if (!s->config_json) {
        stl_fail(err, "%s: out of memory", path);
        goto out;
    }
    memcpy(s->config_json, cfg, cfg_len);
    s->config_json[cfg_len] = '\0';
    rc = 0;
out:
    mpk_file_close(&f);
    if (rc != 0) checkpoint_state_free(s);
    return rc;
}

int checkpoint_load(const char *dir, int64_t step, model_state *m, checkpoint_state *s, stl_error *err) {
    char mp[4096], sp[4096];
    checkpoint_model_path(dir, step, mp, sizeof mp);
    checkpoint_state_path(dir, step, sp, sizeof sp);
    uint64_t want_len = 0, want_hash = 0;
    if (read_state(sp, s, &want_len, &want_hash, err) != 0) return -1;
    if (s->step != step) {
        checkpoint_state_free(s);
        return stl_fail(err, "%s: records step %lld", sp, (long long)s->step);
    }
    char *buf = NULL;
    size_t len = 0;
    if (file_read_all(mp, 0, &buf, &len, err) != 0) {
        checkpoint_state_free(s);
        return -1;
    }
    int rc = 0;
    if (len != want_len)
        rc = stl_fail(err, "%s: %zu bytes, the state file records %llu", mp, len,
                      (unsigned long long)want_len);
    else if (rng_hash(CKPT_HASH_SEED, buf, len) != want_hash)
        rc = stl_fail(err, "%s: contents do not match the hash in the state file", mp);
    else if (modelfile_read_buffer(buf, len, mp, m, err) != 0)
        rc = -1;
    else if (m->step != s->step) {
        model_state_free(m);
        rc = stl_fail(err, "%s: model step %lld, state step %lld", mp, (long long)m->step,
                      (long long)s->step);
    }
    free(buf);
    if (rc != 0) checkpoint_state_free(s);
    return rc;
}

int checkpoint_load_newest(const char *dir, model_state *m, checkpoint_state *s, stl_error *err) {
    int64_t *steps;
    size_t n;
    if (checkpoint_list(dir, &steps, &n, err) != 0) return -1;
    if (n == 0) return 0;
    stl_error e;
    for (size_t i = n; i-- > 0;) {
        if (checkpoint_load(dir, steps[i], m, s, &e) == 0) {
            free(steps);
            return 1;
        }
        log_warn("checkpoint of step %lld is unusable: %s%s", (long long)steps[i], e.msg,
                 i ? "; trying the previous one" : "");
    }
    free(steps);
    return stl_fail(err, "%s: none of the %zu checkpoints is valid (last error: %s); remove the "
                         "directory to start over", dir, n, e.msg);
}

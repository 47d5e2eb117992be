/* parity_step.c — stlrec's side of the Flax parity test (tests/parity/).
 *
 *   parity_step init OUT.msgpack OUTPUT_SIZE SEED
 *       model_init, written as a model file (Flax loads it with from_bytes).
 *   parity_step train MODEL BATCH DUMP STEPS LR REG [OUT_MODEL]
 *       STEPS training steps on the one batch of BATCH; DUMP gets the first
 *       step's loss, embeddings, every gradient and the running averages
 *       after it, the parameters after step 1, and after the last step the
 *       losses, parameters and averages; OUT_MODEL the final model file.
 *   parity_step embed MODEL BATCH DUMP
 *       inference embeddings (running averages): scene tower on "scene",
 *       product tower on "pos" and "neg".
 *   parity_step rewrite IN OUT
 *       reads a model file and writes it again (byte-identity check).
 *   parity_step isa [--active]
 *       the kernel variants (isa.h) this machine runs, one per line, best
 *       first; with --active, the one this process runs (STL_ISA or best).
 *
 * BATCH is a msgpack map {"scene", "pos", "neg"} of uint8 (B, S, S, 3) Flax
 * arrays (ext type 1), which the model normalises as it reads them. DUMP is
 * a msgpack map from names ("loss_1", "emb_scene", "grad/params/scene_cnn/
 * Conv_0/kernel", "stats_1/scene_cnn/BatchNorm_0/mean", "params_5/...") to
 * float32 Flax arrays, written atomically; flax.serialization.msgpack_restore
 * reads it. Exit 0 ok, 1 failure, 2 usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/flaxmsg.h"
#include "base/isa.h"
#include "base/log.h"
#include "model/model.h"
#include "formats/modelfile.h"
#include "io/mpk.h"

/* ---- the dump: named float32 arrays ---- */

typedef struct {
    char name[128];
    int ndim, shape[4];
    float *data; /* owned copy */
} dump_item;

typedef struct {
    dump_item *v;
    int n, cap;
} dump;

static int dump_add(dump *d, const char *name, const int *shape, int ndim, const float *data) {
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 256;
        dump_item *nv = realloc(d->v, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        d->v = nv;
        d->cap = cap;
    }
    dump_item *it = &d->v[d->n];
    snprintf(it->name, sizeof it->name, "%s", name);
    it->ndim = ndim;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)(it->shape[i] = shape[i]);
    it->data = malloc(count * sizeof(float) + 1);
    if (!it->data) return -1;
    memcpy(it->data, data, count * sizeof(float));
    d->n++;
    return 0;
}

/* Every tensor of the table in buffer `buf` (params or stats) under prefix. */
static int dump_table(dump *d, const char *prefix, const param_table *t, int is_stat,
                      const float *buf) {
    for (int i = 0; i < t->n; i++) {
        const param_entry *e = &t->e[i];
        if (e->is_stat != is_stat) continue;
        char name[128];
        snprintf(name, sizeof name, "%s/%s", prefix, e->name);
        if (dump_add(d, name, e->shape, e->ndim, buf + e->offset) != 0) return -1;
    }
    return 0;
}

static int dump_write(dump *d, const char *path, stl_error *err) {
    flaxmsg_buffer b;
    flaxmsg_buffer_init(&b);
    int rc = msgpack_pack_map(&b.pk, (size_t)d->n);
    for (int i = 0; i < d->n; i++) {
        size_t l = strlen(d->v[i].name);
        rc |= msgpack_pack_str(&b.pk, l);
        rc |= msgpack_pack_str_body(&b.pk, d->v[i].name, l);
        rc |= flaxmsg_pack_f32(&b.pk, d->v[i].shape, d->v[i].ndim, d->v[i].data);
    }
    if (rc || b.failed) {
        flaxmsg_buffer_free(&b);
        return stl_fail(err, "%s: out of memory", path);
    }
    rc = atomic_write_file(path, b.buf, b.len, err);
    flaxmsg_buffer_free(&b);
    return rc;
}

static void dump_free(dump *d) {
    for (int i = 0; i < d->n; i++) free(d->v[i].data);
    free(d->v);
}

/* ---- the batch ---- */

typedef struct {
    int b, s;
    uint8_t *img[3]; /* scene, pos, neg: (B, S, S, 3) */
} batch;

static const char *const batch_keys[3] = {"scene", "pos", "neg"};

static int batch_read(const char *path, batch *bt, stl_error *err) {
    memset(bt, 0, sizeof *bt);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return stl_fail(err, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return stl_fail(err, "%s: empty or unreadable", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return stl_fail(err, "%s: cannot map", path);
    msgpack_unpacked up;
    int rc = mpk_unpack_buffer(map, (size_t)st.st_size, &up, path, err);
    for (int k = 0; k < 3 && rc == 0; k++) {
        const msgpack_object *o = mpk_get(&up.data, batch_keys[k]);
        char what[600];
        snprintf(what, sizeof what, "%s: %s", path, batch_keys[k]);
        flaxmsg_array a;
        if (!o) {
            rc = stl_fail(err, "%s: missing", what);
            break;
        }
        if ((rc = flaxmsg_decode(o, &a, what, err)) != 0) break;
        if (strcmp(a.dtype, "uint8") != 0 || a.ndim != 4 || a.shape[3] != 3 ||
            a.shape[1] != a.shape[2] || a.shape[0] < 1 || (k && (a.shape[0] != bt->b ||
                                                                 a.shape[1] != bt->s))) {
            rc = stl_fail(err, "%s: want uint8 (B, S, S, 3), the same for all three", what);
            break;
        }
        bt->b = (int)a.shape[0];
        bt->s = (int)a.shape[1];
        bt->img[k] = malloc(a.count);
        if (!bt->img[k]) {
            rc = stl_fail(err, "%s: out of memory", what);
            break;
        }
        memcpy(bt->img[k], a.data, a.count);
    }
    msgpack_unpacked_destroy(&up);
    munmap(map, (size_t)st.st_size);
    return rc;
}

static void batch_free(batch *bt) {
    for (int k = 0; k < 3; k++) free(bt->img[k]);
}

/* ---- commands ---- */

static int cmd_init(char **argv, stl_error *err) {
    model_state m;
    int out = atoi(argv[3]);
    uint64_t seed = strtoull(argv[4], NULL, 10);
    if (model_init(&m, out, seed, err) != 0) return -1;
    int rc = modelfile_write(argv[2], &m, NULL, err);
    model_state_free(&m);
    return rc;
}

static int cmd_train(int argc, char **argv, stl_error *err) {
    const char *model_path = argv[2], *batch_path = argv[3], *dump_path = argv[4];
    int steps = atoi(argv[5]);
    float lr = strtof(argv[6], NULL), reg = strtof(argv[7], NULL);
    const char *out_model = argc > 8 ? argv[8] : NULL;
    if (steps < 1) return stl_fail(err, "STEPS must be >= 1");
    model_state m;
    if (modelfile_read(model_path, &m, NULL, err) != 0) return -1;
    batch bt;
    dump d = {0};
    model_ws *ws = NULL;
    float *emb = NULL, *losses = NULL;
    int rc = -1;
    if (batch_read(batch_path, &bt, err) != 0) goto done;
    ws = model_ws_create(&m.table, bt.b, bt.s, DEVICE_CPU, err);
    if (!ws || model_ws_set_threads(ws, 0, err) != 0) goto done;
    int out = m.table.output_size, es[2] = {bt.b, out};
    emb = malloc(3 * (size_t)bt.b * (size_t)out * sizeof *emb);
    losses = malloc((size_t)steps * sizeof *losses);
    if (!emb || !losses) {
        stl_fail(err, "out of memory");
        goto done;
    }
    float *e3[3] = {emb, emb + (size_t)bt.b * out, emb + 2 * (size_t)bt.b * out};
    for (int s = 1; s <= steps; s++) {
        if (model_train_step_grads(&m, ws, bt.img[0], bt.img[1], bt.img[2], reg, bt.b,
                                   &losses[s - 1], e3[0], e3[1], e3[2], err) != 0)
            goto done;
        if (s == 1) {
            int none[1] = {0};
            if (dump_add(&d, "loss_1", none, 0, &losses[0]) != 0 ||
                dump_add(&d, "emb_scene", es, 2, e3[0]) != 0 ||
                dump_add(&d, "emb_pos", es, 2, e3[1]) != 0 ||
                dump_add(&d, "emb_neg", es, 2, e3[2]) != 0 ||
                dump_table(&d, "grad/params", &m.table, 0, m.grads) != 0 ||
                dump_table(&d, "stats_1", &m.table, 1, m.stats) != 0)
                goto oom;
        }
        model_adam_step(&m, lr);
        if (s == 1 && dump_table(&d, "params_1", &m.table, 0, m.params) != 0) goto oom;
    }
    int ls[1] = {steps};
    char pn[32], sn[32];
    snprintf(pn, sizeof pn, "params_%d", steps);
    snprintf(sn, sizeof sn, "stats_%d", steps);
    if (dump_add(&d, "losses", ls, 1, losses) != 0 ||
        dump_table(&d, pn, &m.table, 0, m.params) != 0 ||
        dump_table(&d, sn, &m.table, 1, m.stats) != 0)
        goto oom;
    if (dump_write(&d, dump_path, err) != 0) goto done;
    if (out_model && modelfile_write(out_model, &m, NULL, err) != 0) goto done;
    rc = 0;
    goto done;
oom:
    stl_fail(err, "%s: out of memory", dump_path);
done:
    free(emb);
    free(losses);
    dump_free(&d);
    model_ws_free(ws);
    batch_free(&bt);
    model_state_free(&m);
    return rc;
}

static int cmd_embed(char **argv, stl_error *err) {
    model_state m;
    if (modelfile_read(argv[2], &m, NULL, err) != 0) return -1;
    batch bt;
    dump d = {0};
    model_ws *ws = NULL;
    float *e = NULL;
    int rc = -1;
    if (batch_read(argv[3], &bt, err) != 0) goto done;
    ws = model_ws_create(&m.table, bt.b, bt.s, DEVICE_CPU, err);
    if (!ws || model_ws_set_threads(ws, 0, err) != 0) goto done;
    int out = m.table.output_size, es[2] = {bt.b, out};
    e = malloc((size_t)bt.b * (size_t)out * sizeof *e);
    if (!e) {
        stl_fail(err, "out of memory");
        goto done;
    }
    for (int k = 0; k < 3; k++) {
        int tower = k == 0 ? MODEL_TOWER_SCENE : MODEL_TOWER_PRODUCT;
        if (model_embed(&m, ws, tower, bt.img[k], bt.b, e, err) != 0) goto done;
        if (dump_add(&d, batch_keys[k], es, 2, e) != 0) {
            stl_fail(err, "out of memory");
            goto done;
        }
    }
    rc = dump_write(&d, argv[4], err);
done:
    free(e);
    dump_free(&d);
    model_ws_free(ws);
    batch_free(&bt);
    model_state_free(&m);
    return rc;
}

static int cmd_rewrite(char **argv, stl_error *err) {
    model_state m;
    if (modelfile_read(argv[2], &m, NULL, err) != 0) return -1;
    int rc = modelfile_write(argv[3], &m, NULL, err);
    model_state_free(&m);
    return rc;
}

static int cmd_isa(int active_only) {
    if (active_only) {
        printf("%s\n", isa_name(isa_active()));
        return 0;
    }
    for (int i = ISA_COUNT - 1; i >= 0; i--)
        if (isa_supported((isa_level)i)) printf("%s\n", isa_name((isa_level)i));
    return 0;
}

int main(int argc, char **argv) {
    log_set_program("parity_step");
    stl_error err = {{0}};
    const char *cmd = argc > 1 ? argv[1] : "";
    int rc;
    if (strcmp(cmd, "init") == 0 && argc == 5)
        rc = cmd_init(argv, &err);
    else if (strcmp(cmd, "train") == 0 && (argc == 8 || argc == 9))
        rc = cmd_train(argc, argv, &err);
    else if (strcmp(cmd, "embed") == 0 && argc == 5)
        rc = cmd_embed(argv, &err);
    else if (strcmp(cmd, "rewrite") == 0 && argc == 4)
        rc = cmd_rewrite(argv, &err);
    else if (strcmp(cmd, "isa") == 0 && (argc == 2 || (argc == 3 && !strcmp(argv[2], "--active"))))
        return cmd_isa(argc == 3);
    else {
        fprintf(stderr,
                "usage: parity_step init OUT OUTPUT_SIZE SEED\n"
                "       parity_step train MODEL BATCH DUMP STEPS LR REG [OUT_MODEL]\n"
                "       parity_step embed MODEL BATCH DUMP\n"
                "       parity_step rewrite IN OUT\n"
                "       parity_step isa [--active]\n");
        return STL_EXIT_USAGE;
    }
    if (rc != 0) {
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    return STL_EXIT_OK;
}

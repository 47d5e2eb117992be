/* stl-train — trains the two-tower CNN (docs/model.md) on the triplets and crop
 * shards: one process, or data-parallel over MPI ranks under mpirun.
 *
 * A run: parse the command line; start the collective layer (mpi/coll.h:
 * MPI under a launcher, a plain process otherwise); open the triplets and the
 * crops and map every key to its crop (a missing key is an error naming it);
 * start from the newest valid checkpoint in the work directory when there is
 * one (else from --init, else a fresh seeded model); then loop: the loader's
 * next batch (common/train/loader.h, this rank's slice of the global batch) and
 * one call of train_step: the forward/backward pass with synchronised
 * BatchNorm, one all-reduce of the gradient buffer (plus one float for the
 * loss), the finiteness check, Adam. Every log interval a metrics line and a
 * progress line (common/base/progress.h), every eval interval the test triplet
 * loss and accuracy (common/train/train_eval.h), every checkpoint interval a
 * checkpoint (common/train/checkpoint.h); at the end the model file with the
 * configuration as metadata. Rank 0 alone writes files.
 *
 * Ranks stay in step by construction: every rank runs the same loop on the
 * same step numbers and every collective result is bit-identical on all
 * ranks (coll.h), so they make the same decisions. Work that can fail on one
 * rank only (opening inputs, writing a checkpoint) ends in a vote
 * (coll_count_failures) or in coll_abort, never in a hang.
 * docs/training.md describes threads, checkpoints, resume and the MPI setup.
 */
#include <inttypes.h>
#include <signal.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/dirs.h"
#include "train/checkpoint.h"
#include "base/cli.h"
#include "base/device.h"
#include "coll.h"
#include "formats/crops.h"
#include "base/error.h"
#include "base/isa.h"
#include "train/loader.h"
#include "base/log.h"
#include "formats/train_log.h"
#include "model/model.h"
#include "formats/modelfile.h"
#include "base/progress.h"
#include "base/timer.h"
#include "base/rng.h"
#include "base/testhook.h"
#include "base/threads.h"
#include "train/train_eval.h"
#include "formats/triplets.h"
#include "io/output_check.h"
#include "io/dir_lock.h"
#include "train/input_identity.h"
#include "train/lr_schedule.h"
#include "train/augment.h"

typedef struct {
    const char *triplets, *crops, *model, *workdir, *metrics, *init, *device, *precision,
        *lr_schedule,
        *augment;
    double lr, reg, lr_end;
    long warmup_steps, decay_steps;
    long output_size, batch, max_steps, eval_every, log_every, ckpt_every, keep, seed, threads;
    long prefetch;
    int resume;
} train_opts;

typedef struct {
    train_opts o;
    coll c;
    int local_batch, threads, size;
    device_kind device; /* --device as resolved */
    char workdir[2048], ckpt_dir[2300], metrics_path[2300];
    triplets_file *t;
    crops_set *crops;
    loader_item *train_items, *test_items, *val_items;
    model_state m;
    int have_model;
    int images_kept;       /* the workspace keeps the crops: steps by index */
    int images_streamed;   /* the loader stages each batch in the workspace: by index */
    model_ws *ws;
    loader *ld;
    loader_pos pos;
    train_eval ev, ev_val;  /* the test triplets; the validation ones (when any) */
    double best_val;        /* the best validation accuracy so far (-1: none yet) */
    train_log ml;
    json_t *config;
    char *config_json;
    lr_schedule sched;     /* the learning rate of each step */
    unsigned augment;      /* AUGMENT_* for the training images */
    double elapsed_before; /* training wall time of earlier runs (from the checkpoint) */
    double t_start;
    int stopped_by;        /* the signal that ended the run early, after a checkpoint */
} train_ctx;

/* SIGTERM (a batch scheduler's time limit, `scancel`) or SIGINT: finish the
 * step, write a checkpoint, stop; a rerun resumes from it. */
static volatile sig_atomic_t stop_signal;
static void on_stop_signal(int sig) { stop_signal = sig; }

static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* Whether to stop after this step, agreed by every rank (any rank that got
 * a signal stops them all after the same step): the signal (this rank's, or
 * SIGTERM for a rank that got none), 0, or -1 when the collective failed. */
static int agreed_stop(train_ctx *x, stl_error *err) {
    int sig = stop_signal;
    if (x->c.size == 1) return sig;
    float any = sig ? 1.0f : 0.0f;
    if (coll_allreduce_sum(&x->c, &any, 1, err) != 0) return -1;
    return any > 0 ? (sig ? sig : SIGTERM) : 0;
}

static const uint8_t *crop_pixels(void *ctx, uint32_t i) {
    return crops_pixels((const crops_set *)ctx, i);
}

/* An error of this rank: "rank R/N on HOST: ..." when there are several. */
static void print_error(const train_ctx *x, const stl_error *err) {
    if (x->c.size > 1) log_errorf("rank %d/%d on %s: %s", x->c.rank, x->c.size, x->c.host, err->msg);
    else log_error(err);
}

/* ---- inputs ---- */

/* Crop index of every key of a table; the first missing key is an error. */
static int map_keys(const crops_set *cr, const char *crops_dir, const stl_key *keys, size_t n,
                    const char *what, uint32_t **out, stl_error *err) {
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out) return stl_fail(err, "out of memory");
    size_t missing = 0;
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        long k = crops_find(cr, keys[i].s);
        if (k < 0 && !missing++) first = keys[i].s;
        (*out)[i] = k < 0 ? 0 : (uint32_t)k;
    }
    if (missing)
        return stl_fail(err, "%s: %s key %s of the triplets has no crop (%zu %s keys missing; the "
                             "triplets and crops come from different runs: rerun stl-triplets "
                             "with --crops %s)",
                        crops_dir, what, first, missing, what, crops_dir);
    return 0;
}

static int to_items(const triplet *tr, size_t n, const uint32_t *sc, const uint32_t *pr,
                    loader_item **out, stl_error *err) {
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out) return stl_fail(err, "out of memory");
    for (size_t i = 0; i < n; i++)
        (*out)[i] = (loader_item){sc[tr[i].scene], pr[tr[i].pos], pr[tr[i].neg]};
    return 0;
}

static int open_inputs(train_ctx *x, stl_error *err) {
    if (triplets_open(x->o.triplets, &x->t, err) != 0) return -1;
    if (x->t->n_train == 0)
        return stl_fail(err, "%s: no training triplets (rerun stl-triplets on more pairs)",
                        x->o.triplets);
    if (crops_open(x->o.crops, &x->crops, err) != 0) return -1;
    x->size = crops_size(x->crops);
    if (x->size % 32 != 0 || x->size < 32)
        return stl_fail(err, "%s: crops are %dx%d; the model needs a multiple of 32 (rerun "
                             "stl-decode with --size 32, 64, 128, ...)",
                        x->o.crops, x->size, x->size);
    uint32_t *sc = NULL, *pr = NULL;
    int rc = -1;
    if (map_keys(x->crops, x->o.crops, x->t->scenes, x->t->n_scenes, "scene", &sc, err) == 0 &&
        map_keys(x->crops, x->o.crops, x->t->products, x->t->n_products, "product", &pr, err) == 0 &&
        to_items(x->t->train, x->t->n_train, sc, pr, &x->train_items, err) == 0 &&
        to_items(x->t->test, x->t->n_test, sc, pr, &x->test_items, err) == 0 &&
        (x->t->n_val == 0 || to_items(x->t->val, x->t->n_val, sc, pr, &x->val_items, err) == 0))
        rc = 0;
    free(sc);
    free(pr);
    return rc;
}

/* ---- configuration ---- */

static void build_config(train_ctx *x) {
    const train_opts *o = &x->o;
    json_t *j = json_object();
    json_object_set_new(j, "triplets", json_string(o->triplets));
    json_object_set_new(j, "crops", json_string(o->crops));
    json_object_set_new(j, "model", json_string(o->model));
    json_object_set_new(j, "workdir", json_string(x->workdir));
    json_object_set_new(j, "metrics", json_string(x->metrics_path));
    json_object_set_new(j, "init", o->init ? json_string(o->init) : json_null());
    json_object_set_new(j, "lr", json_real(o->lr));
    char sched[128];
    lr_schedule_describe(&x->sched, sched, sizeof sched);
    json_object_set_new(j, "lr_schedule", json_string(sched));
    char aug[64];
    augment_describe(x->augment, aug, sizeof aug);
    json_object_set_new(j, "augment", json_string(aug));
    json_object_set_new(j, "reg", json_real(o->reg));
    json_object_set_new(j, "output_size", json_integer(o->output_size));
    json_object_set_new(j, "batch_size", json_integer(o->batch));
    json_object_set_new(j, "max_steps", json_integer(o->max_steps));
    json_object_set_new(j, "eval_every", json_integer(o->eval_every));
    json_object_set_new(j, "log_every", json_integer(o->log_every));
    json_object_set_new(j, "checkpoint_every", json_integer(o->ckpt_every));
    json_object_set_new(j, "keep", json_integer(o->keep));
    json_object_set_new(j, "seed", json_integer(o->seed));
    json_object_set_new(j, "device", json_string(device_name(x->device)));
    json_object_set_new(j, "precision", json_string(o->precision));
    json_object_set_new(j, "ranks", json_integer(x->c.size));
    json_object_set_new(j, "threads_per_rank", json_integer(x->threads));
    json_object_set_new(j, "kernels", json_string(isa_name(isa_active())));
    json_object_set_new(j, "image_size", json_integer(x->size));
    json_object_set_new(j, "crops_mode", json_string(crops_mode(x->crops)));
    json_object_set_new(j, "train_triplets", json_integer((json_int_t)x->t->n_train));
    json_object_set_new(j, "test_triplets", json_integer((json_int_t)x->t->n_test));
    char th[17], ch[17];
    snprintf(th, sizeof th, "%016" PRIx64, input_identity_triplets(x->t));
    snprintf(ch, sizeof ch, "%016" PRIx64, input_identity_crops(x->crops));
    json_t *in = json_object();
    json_object_set_new(in, "triplets", json_string(th));
    json_object_set_new(in, "crops", json_string(ch));
    json_object_set_new(j, "inputs", in);
    x->config = j;
    x->config_json = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
}

/* ---- model: checkpoint, --init, or fresh ---- */

typedef struct {
    int status; /* 0 ok, 1 failed (rank 0 printed why) */
    int output_size;
    int resumed;
    int64_t step;
    loader_pos pos;
    double elapsed;
} start_header;

/* A checkpoint continues only the run that wrote it: the same learning rate
 * and norm weight, the same triplets and crops (input_identity.h), and no
 * more steps than --max-steps. 0, or -1 with err saying what differs. */
static int same_run(const train_ctx *x, const checkpoint_state *st, stl_error *err) {
    const char *again = "use another --workdir, or remove this one to start over";
    if (st->step > x->o.max_steps)
        return stl_fail(err, "%s: the checkpoint of step %" PRId64 " is past --max-steps %ld: "
                        "it belongs to a longer run (%s)", x->ckpt_dir, st->step, x->o.max_steps,
                        again);
    json_t *was = json_loads(st->config_json ? st->config_json : "{}", 0, NULL);
    json_t *in = json_object_get(was, "inputs");
    int rc = 0;
    double lr = json_number_value(json_object_get(was, "lr"));
    double reg = json_number_value(json_object_get(was, "reg"));
    const char *tw = json_string_value(json_object_get(in, "triplets"));
    const char *cw = json_string_value(json_object_get(in, "crops"));
    const json_t *now_in = json_object_get(x->config, "inputs");
    const char *tn = json_string_value(json_object_get(now_in, "triplets"));
    const char *cn = json_string_value(json_object_get(now_in, "crops"));
    const char *aw = json_string_value(json_object_get(was, "augment"));
    const char *an = json_string_value(json_object_get(x->config, "augment"));
    aw = aw ? aw : "none";
    an = an ? an : "none";
    const char *sw = json_string_value(json_object_get(was, "lr_schedule"));
    const char *sn = json_string_value(json_object_get(x->config, "lr_schedule"));
    if (!json_is_number(json_object_get(was, "lr")) || (float)lr != (float)x->o.lr ||
        (float)reg != (float)x->o.reg || strcmp(sw ? sw : "constant", sn ? sn : "constant") != 0)
        rc = stl_fail(err, "%s: the checkpoint of step %" PRId64 " was trained with --lr %g "
                      "--reg %g (schedule %s), not --lr %g --reg %g (schedule %s) (%s)",
                      x->ckpt_dir, st->step, lr, reg, sw ? sw : "constant", x->o.lr, x->o.reg,
                      sn ? sn : "constant", again);
    else if (strcmp(aw, an) != 0)
        rc = stl_fail(err, "%s: the checkpoint of step %" PRId64 " was trained with --augment "
                      "%s, not %s (%s)", x->ckpt_dir, st->step, aw, an, again);
    else if (!tw || !tn || strcmp(tw, tn) != 0)
        rc = stl_fail(err, "%s: the checkpoint of step %" PRId64 " was trained on other "
                      "triplets than %s (%s)", x->ckpt_dir, st->step, x->o.triplets, again);
    else if (!cw || !cn || strcmp(cw, cn) != 0)
        rc = stl_fail(err, "%s: the checkpoint of step %" PRId64 " was trained on other crops "
                      "than %s (%s)", x->ckpt_dir, st->step, x->o.crops, again);
    json_decref(was);
    return rc;
}

/* Rank 0 decides where training starts and loads it. On failure x->m may be
 * allocated (have_model says so) for cleanup. */
static int start_rank0(train_ctx *x, start_header *h, stl_error *err) {
    checkpoint_state st;
    int r = checkpoint_load_newest(x->ckpt_dir, &x->m, &st, err);
    if (r < 0) return -1;
    loader_pos_start(&h->pos, (uint64_t)x->o.seed);
    if (r == 1) {
        x->have_model = 1;
        int bad = 0;
        if (st.output_size != x->o.output_size || x->m.table.output_size != x->o.output_size)
            bad = stl_fail(err, "%s: the checkpoint of step %" PRId64 " has output size %d, "
                                "--output-size is %ld (give --output-size %d, or another --workdir)",
                           x->ckpt_dir, st.step, x->m.table.output_size, x->o.output_size,
                           x->m.table.output_size);
        else if (st.image_size != x->size)
            bad = stl_fail(err, "%s: the checkpoint of step %" PRId64 " was trained on %dx%d crops, "
                                "%s holds %dx%d", x->ckpt_dir, st.step, st.image_size,
                           st.image_size, x->o.crops, x->size, x->size);
        else if (st.n_train != x->t->n_train)
            bad = stl_fail(err, "%s: the checkpoint of step %" PRId64 " was trained on %" PRIu64
                                " triplets, %s holds %zu: not the same triplets file (use another "
                                "--workdir, or remove this one to start over)",
                           x->ckpt_dir, st.step, st.n_train, x->o.triplets, x->t->n_train);
        else if (st.seed != (uint64_t)x->o.seed || st.global_batch != x->o.batch)
            bad = stl_fail(err, "%s: the checkpoint of step %" PRId64 " belongs to a run with "
                                "--seed %" PRIu64 " --batch-size %d, not --seed %ld --batch-size "
                                "%ld (use another --workdir, or remove this one to start over)",
                           x->ckpt_dir, st.step, st.seed, st.global_batch, x->o.seed, x->o.batch);
        if (!bad) bad = same_run(x, &st, err);
        if (!bad) {
            if (st.ranks != x->c.size || st.threads != x->threads)
                log_warn("resuming on %d rank(s) x %d thread(s); the checkpoint was written by "
                         "%d x %d: the result will not match an uninterrupted run bit for bit",
                         x->c.size, x->threads, st.ranks, st.threads);
            h->pos = st.pos;
            h->elapsed = st.elapsed_s;
            h->resumed = 1;
            log_info("resuming from the checkpoint of step %" PRId64 " in %s", st.step,
                     x->ckpt_dir);
        }
        checkpoint_state_free(&st);
        if (bad) return -1;
    } else if (x->o.resume) {
        return stl_fail(err, "--resume: no checkpoint in %s", x->ckpt_dir);
    } else if (x->o.init) {
        char *meta = NULL;
        if (modelfile_read(x->o.init, &x->m, &meta, err) != 0) return -1;
        free(meta);
        x->have_model = 1;
        if (x->m.table.output_size != x->o.output_size)
            return stl_fail(err, "--init %s: the model has output size %d, --output-size is %ld",
                            x->o.init, x->m.table.output_size, x->o.output_size);
        log_info("starting from %s (step %" PRId64 ")", x->o.init, x->m.step);
    }
    h->output_size = (int)x->o.output_size;
    h->step = x->have_model ? x->m.step : 0;
    return 0;
}

static int start_model(train_ctx *x, stl_error *err) {
    start_header h;
    memset(&h, 0, sizeof h);
    stl_error e0;
    if (x->c.rank == 0 && start_rank0(x, &h, &e0) != 0) {
        print_error(x, &e0);
        h.status = 1;
    }
    if (coll_broadcast(&x->c, &h, sizeof h, 0, err) != 0) return -2;
    if (h.status) return -3; /* rank 0 printed why */
    if (!x->have_model) { /* fresh, or a rank other than 0: overwritten below */
        if (model_init(&x->m, h.output_size, (uint64_t)x->o.seed, err) != 0) return -2;
        x->have_model = 1;
    }
    /* Rank 0's state is the truth: params, moments, statistics, step. */
    size_t np = x->m.table.n_params * sizeof(float);
    if (coll_broadcast(&x->c, x->m.params, np, 0, err) != 0 ||
        coll_broadcast(&x->c, x->m.adam_m, np, 0, err) != 0 ||
        coll_broadcast(&x->c, x->m.adam_v, np, 0, err) != 0 ||
        coll_broadcast(&x->c, x->m.stats, x->m.table.n_stats * sizeof(float), 0, err) != 0)
        return -2;
    x->m.step = h.step;
    x->pos = h.pos;
    x->elapsed_before = h.elapsed;
    return h.resumed;
}

/* ---- replicas ---- */

/* The model's arrays as the workspace last computed them (a GPU workspace
 * keeps them on the device between steps): before anything reads x->m. */
static int sync_model(train_ctx *x, stl_error *err) {
    return model_ws_sync(x->ws, &x->m, err);
}

/* Every rank hashes its parameters, Adam moments, statistics and step and
 * compares with rank 0's: data parallelism promises bit-identical replicas,
 * and this checks it (at every checkpoint and at the end; cheap). Returns 0,
 * -1 when some rank differs (all ranks agree on that), -2 on a failed
 * collective. STL_TEST_PERTURB=STEP (a test hook) makes the last rank change
 * one parameter after step STEP, to prove the check can fail. */
static int check_replicas(train_ctx *x, stl_error *err) {
    if (sync_model(x, err) != 0) return -2;
    if (x->c.size == 1) return 0;
    size_t np = x->m.table.n_params * sizeof(float);
    uint64_t h = rng_hash(1, x->m.params, np);
    h = rng_hash(h, x->m.adam_m, np);
    h = rng_hash(h, x->m.adam_v, np);
    h = rng_hash(h, x->m.stats, x->m.table.n_stats * sizeof(float));
    h = rng_hash(h, &x->m.step, sizeof x->m.step);
    uint64_t root = h;
    if (coll_broadcast(&x->c, &root, sizeof root, 0, err) != 0) return -2;
    int fails = coll_count_failures(&x->c, root != h, err);
    if (fails < 0) return -2;
    if (fails > 0)
        return stl_fail(err, "step %" PRId64 ": the parameters of %d rank%s differ from rank 0's "
                             "(the replicas must stay bit-identical; a bug or a faulty node)",
                        x->m.step, fails, fails > 1 ? "s" : "");
    return 0;
}

static int test_perturb(train_ctx *x, int64_t step, stl_error *err) {
    if (!testhook_at("STL_TEST_PERTURB", step) || x->c.rank != x->c.size - 1) return 0;
    if (sync_model(x, err) != 0) return -1;
    x->m.params[0] += 1e-3f;
    model_ws_invalidate(x->ws);
    return 0;
}

/* ---- output ---- */

static int write_checkpoint(train_ctx *x, const loader_pos *pos, stl_error *err) {
    checkpoint_state s;
    memset(&s, 0, sizeof s);
    s.step = x->m.step;
    s.pos = *pos;
    s.seed = (uint64_t)x->o.seed;
    s.elapsed_s = x->elapsed_before + (timer_now() - x->t_start);
    s.output_size = (int)x->o.output_size;
    s.image_size = x->size;
    s.global_batch = (int)x->o.batch;
    s.ranks = x->c.size;
    s.threads = x->threads;
    s.n_train = x->t->n_train;
    s.config_json = x->config_json;
    return checkpoint_save(x->ckpt_dir, &x->m, &s, (int)x->o.keep, err);
}

static int write_model(train_ctx *x, stl_error *err) {
    json_t *meta = json_object();
    json_object_set_new(meta, "stage", json_string("stl-train"));
    json_object_set_new(meta, "step", json_integer(x->m.step));
    json_object_set(meta, "config", x->config);
    char *s = json_dumps(meta, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
    json_decref(meta);
    if (!s) return stl_fail(err, "%s: out of memory", x->o.model);
    int rc = modelfile_write(x->o.model, &x->m, s, err);
    free(s);
    return rc;
}

/* ---- the loop ---- */

/* WORKDIR/best.msgpack: the model of the best validation accuracy so far. */
static void best_path(const train_ctx *x, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/best.msgpack", x->workdir);
}

/* The validation accuracy of the best model a run in this work directory
 * kept (its sidecar), or -1: a resumed run keeps improving on it. */
static double best_so_far(const train_ctx *x) {
    char path[2400], *meta = NULL;
    best_path(x, path, sizeof path);
    stl_error e;
    if (modelfile_read_metadata(path, &meta, &e) != 0 || !meta) return -1;
    json_t *j = json_loads(meta, 0, NULL);
    double v = json_is_number(json_object_get(j, "val_accuracy"))
                   ? json_number_value(json_object_get(j, "val_accuracy"))
                   : -1;
    json_decref(j);
    free(meta);
    return v;
}

/* Keeps the model of step as the best when its validation accuracy beats
 * every earlier one (rank 0; written atomically with its sidecar). */
static int keep_if_best(train_ctx *x, int64_t step, double accuracy, stl_error *err) {
    if (accuracy <= x->best_val) return 0;
    char path[2400];
    best_path(x, path, sizeof path);
    json_t *meta = json_object();
    json_object_set_new(meta, "stage", json_string("stl-train"));
    json_object_set_new(meta, "step", json_integer(step));
    json_object_set_new(meta, "val_accuracy", json_real(accuracy));
    json_object_set(meta, "config", x->config);
    char *text = json_dumps(meta, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(meta);
    int rc = text ? modelfile_write(path, &x->m, text, err) : stl_fail(err, "out of memory");
    free(text);
    if (rc != 0) return -1;
    x->best_val = accuracy;
    log_info("step %" PRId64 ": the best validation accuracy so far; kept in %s", step, path);
    return 0;
}

static int evaluate(train_ctx *x, int64_t step, stl_error *err) {
    train_eval_result r, v;
    double t0 = timer_now();
    if (sync_model(x, err) != 0) return -1;
    if (train_eval_run(&x->ev, &x->m, x->ws, crop_pixels, x->crops, x->c.rank, x->c.size,
                       coll_allreduce_hook, &x->c, &r, err) != 0 ||
        train_eval_run(&x->ev_val, &x->m, x->ws, crop_pixels, x->crops, x->c.rank, x->c.size,
                       coll_allreduce_hook, &x->c, &v, err) != 0)
        return -1;
    if (x->c.rank != 0 || (r.n == 0 && v.n == 0)) return 0;
    train_log_line l;
    train_log_line_begin(&l, step);
    train_log_line_str(&l, "kind", "eval");
    train_log_line_num(&l, "wall_s", x->elapsed_before + (timer_now() - x->t_start));
    train_log_line_num(&l, "test_loss", r.loss);
    train_log_line_num(&l, "test_accuracy", r.accuracy);
    train_log_line_int(&l, "test_triplets", (int64_t)r.n);
    if (v.n > 0) {
        train_log_line_num(&l, "val_loss", v.loss);
        train_log_line_num(&l, "val_accuracy", v.accuracy);
        train_log_line_int(&l, "val_triplets", (int64_t)v.n);
    }
    train_log_line_num(&l, "eval_s", timer_now() - t0);
    log_info("step %" PRId64 ": test loss %.4f, test accuracy %.4f (%zu triplets)", step, r.loss,
             r.accuracy, r.n);
    if (v.n > 0)
        log_info("step %" PRId64 ": validation loss %.4f, validation accuracy %.4f (%zu triplets)",
                 step, v.loss, v.accuracy, v.n);
    if (train_log_append(&x->ml, &l, step, err) != 0) return -1;
    return v.n > 0 ? keep_if_best(x, step, v.accuracy, err) : 0;
}

/* One training step of this rank on its slice `b` of the global batch, for
 * step number `step` (model_train_step: forward and backward with
 * BatchNorm synchronised through the workspace's collective, the
 * all-reduces of gradients and loss, the finiteness check, Adam). Returns
 * 0 with r filled (r->taken 0: stopped by a non-finite loss or gradient,
 * the same on every rank), or -1: this rank failed (err says why: abort
 * the job). */
static int train_step(train_ctx *x, const loader_batch *b, int64_t step, model_step_result *r,
                      stl_error *err) {
    float reg = (float)x->o.reg, lr = (float)lr_at(&x->sched, x->m.step);
    int rc = x->images_kept || x->images_streamed
                 ? model_train_step_kept(&x->m, x->ws, b->scene_idx, b->pos_idx, b->neg_idx, reg,
                                         (int)x->o.batch, lr, r, err)
                 : model_train_step(&x->m, x->ws, b->scene, b->pos, b->neg, reg, (int)x->o.batch,
                                    lr, r, err);
    return rc != 0 ? stl_fail_prefix(err, "step %" PRId64, step) : 0;
}

/* The loader's hooks for streamed images: pinned batch buffers, and each
 * batch staged into the workspace's slot by the loader's thread. */
static void *pinned_alloc(void *ctx, size_t bytes) {
    stl_error ignored;
    return model_ws_host_alloc(((train_ctx *)ctx)->ws, bytes, &ignored);
}
static void pinned_free(void *ctx, void *p) { model_ws_host_free(((train_ctx *)ctx)->ws, p); }
static int stage_batch(void *ctx, int slot, loader_batch *b, stl_error *why) {
    return model_ws_stage_batch(((train_ctx *)ctx)->ws, slot, b->scene, b->pos, b->neg, b->scene_idx,
                                b->pos_idx, b->neg_idx, why);
}

/* How a GPU step gets its images: the crops kept in the workspace's
 * memory when they fit and no augmentation changes them (steps by index,
 * nothing moved per step); else each batch streamed by the loader's thread
 * from pinned memory into a slot of the workspace's, on a copy stream,
 * while the step before computes (STL_GPU_STREAM=0: uploaded by the step
 * itself instead). Says which. Returns 0 or -1. */
static int place_images(train_ctx *x, stl_error *err) {
    size_t n = crops_count(x->crops);
    double gib = (double)n * x->size * x->size * 3 / (1 << 30);
    const char *no_stream = getenv("STL_GPU_STREAM");
    model_keep_info info = {0};
    int kept = 0;
    double t0 = timer_now();
    if (!x->augment && x->device != DEVICE_CPU && x->c.rank == 0)
        log_info("images: %zu crops (%.2f GiB): keeping them on the GPU if they fit", n, gib);
    if (!x->augment && (kept = model_ws_keep_images(x->ws, n, crop_pixels, x->crops, &info, err)) < 0)
        return -1;
    x->images_kept = kept;
    int streamed = 0;
    if (!kept && !(no_stream && strcmp(no_stream, "0") == 0) &&
        (streamed = model_ws_stream_images(x->ws, (int)x->o.prefetch, err)) < 0)
        return -1;
    x->images_streamed = streamed;
    if (x->c.rank != 0) return 0;
    char why[160];
    if (x->augment) snprintf(why, sizeof why, "augmentation changes them");
    else if (info.free) snprintf(why, sizeof why, "the %zu crops (%.2f GiB) do not fit in the GPU's "
                                 "%.2f GiB free", n, gib, (double)info.free / (1 << 30));
    else snprintf(why, sizeof why, "STL_GPU_POOL=0");
    /* (on a CPU device, the GPU path runs only under the test hook) */
    if (kept)
        log_info("images: the %zu crops (%.2f GiB) kept on the GPU (uploaded in %.1f s); steps "
                 "gather them there", n, gib, timer_now() - t0);
    else if (streamed)
        log_info("images: %s; the loader streams each batch from pinned memory while the step "
                 "before computes", why);
    else if (x->device != DEVICE_CPU)
        log_info("images: %s; each step uploads its batch", why);
    return 0;
}

/* Returns 0, -1 (error: same on every rank), or -2 (this rank alone failed:
 * abort the job). */
static int train_loop(train_ctx *x, stl_error *err) {
    loader_config lc = {.items = x->train_items, .n_items = x->t->n_train,
                        .pixels = crop_pixels, .pixels_ctx = x->crops, .image_size = x->size,
                        .global_batch = (int)x->o.batch, .rank = x->c.rank,
                        .nranks = x->c.size, .depth = (int)x->o.prefetch,
                        .augment = x->augment, .augment_seed = (uint64_t)x->o.seed,
                        .indices_only = x->images_kept};
    if (x->images_streamed) {
        lc.buf_alloc = pinned_alloc, lc.buf_free = pinned_free, lc.buf_ctx = x;
        lc.stage = stage_batch, lc.stage_ctx = x;
    }
    if (loader_create(&lc, &x->pos, &x->ld, err) != 0) return -2;
    /* The progress line (rank 0): step, loss and triplets/s of the last log
     * interval, ETA; printed at the first log step and always at the last. */
    progress pg;
    progress_opts po = {.rate_unit = "triplets", .rate_per_unit = (double)x->o.batch, .eager = 1};
    progress_start_opts(&pg, "step", NULL, (uint64_t)x->o.max_steps, &po);
    double log_loss = 0, t_log = timer_now();
    long log_n = 0;
    int64_t last_ckpt = x->m.step;
    loader_pos pos = x->pos;
    if (x->m.step == 0 && x->o.eval_every > 0 && evaluate(x, 0, err) != 0) return -2;
    while (x->m.step < x->o.max_steps) {
        int64_t step = x->m.step + 1;
        const loader_batch *b = loader_next(x->ld);
        if (b->failed) {
            *err = b->error;
            stl_fail_prefix(err, "step %" PRId64 ": staging its batch", step);
            loader_release(x->ld);
            return -2;
        }
        pos = b->end;
        model_step_result sr;
        int st = train_step(x, b, step, &sr, err);
        loader_release(x->ld);
        if (st != 0) return -2;
        if (!sr.taken) {
            char last[64] = "none was written";
            if (last_ckpt > 0) snprintf(last, sizeof last, "step %" PRId64, last_ckpt);
            return stl_fail(err, "step %" PRId64 ": %s; stopping (the last good checkpoint in %s "
                                 "is kept: %s; a lower --lr may help)",
                            step, sr.why, x->ckpt_dir, last);
        }
        testhook_point("step", step);
        if (test_perturb(x, step, err) != 0) return -2;
        log_loss += sr.loss;
        log_n++;
        double rate = 0;
        if (x->o.log_every > 0 && (step % x->o.log_every == 0 || step == x->o.max_steps)) {
            double now = timer_now();
            rate = (double)log_n * (double)x->o.batch / (now - t_log);
            if (x->c.rank == 0) {
                train_log_line l;
                train_log_line_begin(&l, step);
                train_log_line_str(&l, "kind", "train");
                train_log_line_num(&l, "wall_s", x->elapsed_before + (now - x->t_start));
                train_log_line_num(&l, "epoch", ((double)pos.epoch * (double)x->t->n_train +
                                               (double)pos.offset) / (double)x->t->n_train);
                train_log_line_num(&l, "train_loss", log_loss / (double)log_n);
                train_log_line_num(&l, "triplets_per_s", rate);
                if (train_log_append(&x->ml, &l, step, err) != 0) return -2;
                progress_set_detail(&pg, "loss %.4f", log_loss / (double)log_n);
                progress_set_rate(&pg, rate);
                if (step == x->o.max_steps) {
                    progress_finish_at(&pg, (uint64_t)step);
                } else {
                    progress_update(&pg, (uint64_t)step);
                }
            }
            log_loss = 0;
            log_n = 0;
            t_log = now;
        }
        double t_aside = timer_now(); /* eval and checkpoint time stays out of triplets/s */
        if (x->o.eval_every > 0 && (step % x->o.eval_every == 0 || step == x->o.max_steps) &&
            evaluate(x, step, err) != 0)
            return -2;
        if ((x->o.ckpt_every > 0 && step % x->o.ckpt_every == 0) || step == x->o.max_steps) {
            int rc = check_replicas(x, err);
            if (rc != 0) return rc;
            if (x->c.rank == 0 && write_checkpoint(x, &pos, err) != 0) return -2;
            last_ckpt = step;
        }
        t_log += timer_now() - t_aside;
        int sig = step < x->o.max_steps ? agreed_stop(x, err) : 0;
        if (sig < 0) return -2;
        if (sig > 0) {
            if (last_ckpt != step) {
                int rc = check_replicas(x, err);
                if (rc != 0) return rc;
                if (x->c.rank == 0 && write_checkpoint(x, &pos, err) != 0) return -2;
            }
            if (x->c.rank == 0)
                log_errorf("stopped by %s after step %" PRId64 " of %ld: checkpoint in %s; run the "
                           "same command again to resume", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                           step, x->o.max_steps, x->ckpt_dir);
            x->stopped_by = sig;
            return -3;
        }
    }
    return 0;
}

/* NCCL for the GPU step's all-reduces (gradients and BatchNorm sums in
 * device memory, the whole step one graph) where every rank has a GPU of
 * its own: NCCL cannot put two ranks on one GPU. Where ranks share GPUs,
 * or STL_COLL=mpi, the sums cross through MPI on the host, as on the CPU.
 * Every rank takes the same decision. Returns 0 or -1 (err). */
static int attach_nccl(coll *c, int gpus_here, stl_error *err) {
    const char *forced = getenv("STL_COLL");
    int shared = coll_count_failures(c, c->local_size > gpus_here, err);
    if (shared < 0) return -1;
    if (forced && strcmp(forced, "mpi") == 0) {
        if (c->rank == 0) log_info("STL_COLL=mpi: the GPUs' sums cross ranks through MPI");
        return 0;
    }
    if (shared > 0) {
        if (c->rank == 0)
            log_info("ranks share GPUs (on %d rank(s) the machine has fewer GPUs than ranks): "
                     "the sums cross ranks through MPI, not NCCL", shared);
        return 0;
    }
    if (coll_nccl_attach(c, err) != 0) return -1;
    if (c->rank == 0) log_info("NCCL: the GPUs' sums cross ranks on the devices");
    return 0;
}

/* ---- main ---- */

static int parse(train_opts *o, int argc, char **argv, int *code) {
    memset(o, 0, sizeof *o);
    o->lr = 1.6e-4;
    o->lr_schedule = "constant";
    o->augment = "none";
    o->reg = 0.2;
    o->output_size = MODEL_DEFAULT_OUTPUT;
    o->batch = 16;
    o->max_steps = 1000;
    o->eval_every = 100;
    o->log_every = 10;
    o->ckpt_every = 100;
    o->keep = 3;
    o->seed = 1;
    o->prefetch = 2;
    o->device = "auto";
    o->precision = "float32";
    cli_option opts[] = {
        {.name = "triplets", .type = CLI_STRING, .target = &o->triplets, .metavar = "FILE",
         .help = "triplets file from stl-triplets", .required = 1},
        {.name = "crops", .type = CLI_STRING, .target = &o->crops, .metavar = "DIR",
         .help = "crop directory from stl-decode", .required = 1},
        {.name = "model", .type = CLI_STRING, .target = &o->model, .metavar = "FILE",
         .help = "final model file to write (Flax TrainState msgpack; metadata in FILE.json)",
         .required = 1},
        {.name = "workdir", .type = CLI_STRING, .target = &o->workdir, .metavar = "DIR",
         .help = "checkpoints and metrics (default: MODEL.work, beside --model); a run resumes "
                 "from the newest valid checkpoint found here"},
        {.name = "lr", .type = CLI_DOUBLE, .target = &o->lr, .metavar = "X",
         .help = "Adam learning rate", .min = 0, .max = 10},
        {.name = "lr-schedule", .type = CLI_CHOICE, .target = &o->lr_schedule,
         .help = "constant (the book's), or warmup-cosine: optax's "
                 "warmup_cosine_decay_schedule from 0 up to --lr and down to --lr-end",
         .choices = "constant|warmup-cosine"},
        {.name = "warmup-steps", .type = CLI_INT, .target = &o->warmup_steps, .metavar = "N",
         .help = "warmup-cosine: steps of the linear warmup", .min = 0, .max = 1e12},
        {.name = "decay-steps", .type = CLI_INT, .target = &o->decay_steps, .metavar = "N",
         .help = "warmup-cosine: the schedule's length, warmup included (0: --max-steps)",
         .min = 0, .max = 1e12},
        {.name = "lr-end", .type = CLI_DOUBLE, .target = &o->lr_end, .metavar = "X",
         .help = "warmup-cosine: the rate at the end", .min = 0, .max = 10},
        {.name = "augment", .type = CLI_STRING, .target = &o->augment, .metavar = "LIST",
         .help = "augment the training images: none, all, or a comma list of flip (mirror "
                 "half of them), shift (up to S/8 px), color (brightness and contrast +-10%)"},
        {.name = "reg", .type = CLI_DOUBLE, .target = &o->reg, .metavar = "X",
         .help = "weight of the embedding-norm penalty", .min = 0, .max = 1e6},
        {.name = "output-size", .type = CLI_INT, .target = &o->output_size, .metavar = "N",
         .help = "embedding dimension", .min = 1, .max = 4096},
        {.name = "batch-size", .type = CLI_INT, .target = &o->batch, .metavar = "N",
         .help = "global batch (triplets per step, split over the MPI ranks: must be divisible "
                 "by their number)",
         .min = 1, .max = 65536},
        {.name = "max-steps", .type = CLI_INT, .target = &o->max_steps, .metavar = "N",
         .help = "train until the model has taken N steps", .min = 1, .max = 1e12},
        {.name = "eval-every", .type = CLI_INT, .target = &o->eval_every, .metavar = "N",
         .help = "test loss and accuracy every N steps and at the end (0: never)", .min = 0,
         .max = 1e12},
        {.name = "log-every", .type = CLI_INT, .target = &o->log_every, .metavar = "N",
         .help = "train loss and throughput every N steps (0: never)", .min = 0, .max = 1e12},
        {.name = "checkpoint-every", .type = CLI_INT, .target = &o->ckpt_every, .metavar = "N",
         .help = "checkpoint every N steps (0: only at the end)", .min = 0, .max = 1e12},
        {.name = "keep", .type = CLI_INT, .target = &o->keep, .metavar = "N",
         .help = "checkpoints to keep", .min = 1, .max = 1e6},
        {.name = "resume", .type = CLI_FLAG, .target = &o->resume,
         .help = "require a checkpoint to resume from (a run resumes from one anyway when the "
                 "workdir holds one)"},
        {.name = "init", .type = CLI_STRING, .target = &o->init, .metavar = "FILE",
         .help = "start from this model file (e.g. one trained by Flax) instead of a fresh "
                 "model, when no checkpoint exists"},
        {.name = "seed", .type = CLI_INT, .target = &o->seed, .metavar = "N",
         .help = "seed of the initialisation and the epoch shuffles", .min = 0,
         .max = 9007199254740992.0},
        {.name = "metrics", .type = CLI_STRING, .target = &o->metrics, .metavar = "FILE",
         .help = "metrics JSON lines (default: WORKDIR/metrics.jsonl)"},
        {.name = "threads", .type = CLI_INT, .target = &o->threads, .metavar = "N",
         .help = "compute threads per rank (0: $STL_THREADS, else the rank's share of the "
                 "cores)",
         .min = 0, .max = THREADS_MAX},
        {.name = "prefetch", .type = CLI_INT, .target = &o->prefetch, .metavar = "N",
         .help = "batches the loader thread prepares ahead", .min = 1, .max = 64},
        {.name = "device", .type = CLI_CHOICE, .target = &o->device,
         .help = "where to compute (auto: the GPU where the CUDA build finds one, else the CPU)",
         .choices = "auto|cpu|cuda"},
        {.name = "precision", .type = CLI_CHOICE, .target = &o->precision,
         .help = "the GPU's matrix products: float32, or tf32 (TF32 tensor cores: faster, "
                 "rounder); the CPU computes in float32 either way",
         .choices = "float32|tf32"},
    };
    int n = (int)(sizeof opts / sizeof opts[0]);
    cli_spec spec = {
        .program = "stl-train",
        .summary = "Trains the two-tower CNN with the triplet loss and Adam on the triplets and "
                   "crop shards, writing checkpoints and metrics to the work directory and the "
                   "final model to --model. Run under `mpirun -np N` to train data-parallel on N "
                   "ranks (the global batch is split across them). Resumes from the newest valid "
                   "checkpoint in the work directory. See docs/training.md.",
        .opts = opts,
        .n_opts = n,
        .version_extra = coll_library_version(),
    };
    return cli_run(&spec, argc, argv, code);
}

static int run(train_ctx *x, stl_error *err) {
    const train_opts *o = &x->o;
    int bad = open_inputs(x, err) != 0;
    if (bad) print_error(x, err);
    int fails = coll_count_failures(&x->c, bad, err);
    if (fails < 0) return -2;
    if (fails > 0) return -3; /* each failing rank printed its reason */
    build_config(x);
    if (x->c.rank == 0) log_info("config: %s", x->config_json);
    int started = start_model(x, err);
    if (started < 0) return started;
    if (x->c.rank == 0 && train_log_open(&x->ml, x->metrics_path, started ? x->m.step : -1, err) != 0)
        return -2;
    model_precision prec =
        strcmp(o->precision, "tf32") == 0 ? MODEL_PRECISION_TF32 : MODEL_PRECISION_FLOAT32;
    if (prec == MODEL_PRECISION_TF32 && x->device == DEVICE_CPU && x->c.rank == 0)
        log_warn("--precision tf32: no effect on the CPU (it computes in float32)");
    x->ws = model_ws_create_precision(&x->m.table, x->local_batch, x->size, x->device, prec, err);
    if (!x->ws || model_ws_set_threads(x->ws, x->threads, err) != 0) return -2;
    if (x->c.size > 1) model_ws_set_allreduce(x->ws, coll_allreduce_hook, &x->c);
    if (coll_has_device(&x->c))
        model_ws_set_allreduce_device(x->ws, coll_allreduce_device_hook, coll_wait_device_hook,
                                      &x->c, x->c.size);
    if (place_images(x, err) != 0) return -2;
    if (train_eval_init(&x->ev, x->test_items, x->t->n_test, (int)o->output_size, err) != 0 ||
        train_eval_init(&x->ev_val, x->val_items, x->t->n_val, (int)o->output_size, err) != 0)
        return -2;
    x->best_val = best_so_far(x);
    x->t_start = timer_now();
    if (x->m.step >= o->max_steps)
        log_info("the model has already taken %" PRId64 " steps (--max-steps %ld)", x->m.step,
                 o->max_steps);
    int rc = train_loop(x, err);
    if (rc != 0) return rc;
    if (sync_model(x, err) != 0) return -2;
    if (x->c.rank == 0) {
        if (write_model(x, err) != 0) return -2;
        log_info("wrote %s (step %" PRId64 "); %.1f s of training", o->model, x->m.step,
                 x->elapsed_before + (timer_now() - x->t_start));
    }
    return 0;
}

static void cleanup(train_ctx *x) {
    loader_free(x->ld);
    model_ws_free(x->ws);
    train_eval_free(&x->ev);
    train_eval_free(&x->ev_val);
    free(x->val_items);
    if (x->have_model) model_state_free(&x->m);
    train_log_close(&x->ml);
    free(x->train_items);
    free(x->test_items);
    triplets_free(x->t);
    if (x->crops) crops_close(x->crops);
    json_decref(x->config);
    free(x->config_json);
}

int main(int argc, char **argv) {
    log_set_program("stl-train");
    static train_ctx x;
    int code;
    if (parse(&x.o, argc, argv, &code) != 0) return code;
    {
        const output_check_arg outs[] = {{"--model", x.o.model}, {"--metrics", x.o.metrics}};
        const output_check_arg ins[] = {{"--triplets", x.o.triplets}, {"--crops", x.o.crops}, {"--init", x.o.init}};
        stl_error oerr;
        if (output_check(outs, sizeof outs / sizeof outs[0], ins, sizeof ins / sizeof ins[0],
                         &oerr) != 0) {
            log_error(&oerr);
            return STL_EXIT_USAGE;
        }
    }
    {
        stl_error derr;
        int dcode;
        if (device_resolve(x.o.device, &x.device, &dcode, &derr) != 0) {
            log_error(&derr);
            return dcode;
        }
    }
    stl_error err;
    x.sched = (lr_schedule){
        .kind = strcmp(x.o.lr_schedule, "warmup-cosine") == 0 ? LR_WARMUP_COSINE : LR_CONSTANT,
        .lr = x.o.lr,
        .warmup = x.o.warmup_steps,
        .decay_steps = x.o.decay_steps > 0 ? x.o.decay_steps : x.o.max_steps,
        .lr_end = x.o.lr_end,
    };
    if (x.sched.kind == LR_CONSTANT && (x.o.warmup_steps || x.o.decay_steps || x.o.lr_end)) {
        log_errorf("--warmup-steps, --decay-steps and --lr-end go with --lr-schedule "
                   "warmup-cosine");
        return STL_EXIT_USAGE;
    }
    if (lr_schedule_check(&x.sched, &err) != 0 || augment_parse(x.o.augment, &x.augment, &err) != 0) {
        log_error(&err);
        return STL_EXIT_USAGE;
    }
    if (coll_init(&x.c, COLL_BACKEND_AUTO, &argc, &argv, &err) != 0) {
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    if (x.o.batch % x.c.size != 0) {
        if (x.c.rank == 0)
            log_errorf("--batch-size %ld: not divisible by the %d ranks (each rank takes an equal "
                       "share of the global batch)", x.o.batch, x.c.size);
        coll_finalize(&x.c);
        return STL_EXIT_USAGE;
    }
    /* one rank per GPU: this rank's GPU, before any handle or allocation */
    int gpu = -1, gpus = 0;
    if (device_select(x.device, x.c.local_rank, &gpu, &gpus, &err) != 0)
        coll_abort(&x.c, STL_EXIT_FAIL, err.msg);
    if (gpu >= 0 && (x.c.size > 1 || gpu > 0))
        log_info("rank %d (local %d of %d): GPU %d", x.c.rank, x.c.local_rank, x.c.local_size, gpu);
    if (gpu >= 0 && x.c.size > 1 && attach_nccl(&x.c, gpus, &err) != 0)
        coll_abort(&x.c, STL_EXIT_FAIL, err.msg);
    x.local_batch = (int)(x.o.batch / x.c.size);
    x.threads = threads_resolve(x.o.threads, x.c.local_size);
    if (x.o.workdir) snprintf(x.workdir, sizeof x.workdir, "%s", x.o.workdir);
    else snprintf(x.workdir, sizeof x.workdir, "%s.work", x.o.model);
    snprintf(x.ckpt_dir, sizeof x.ckpt_dir, "%s/checkpoints", x.workdir);
    if (x.o.metrics) snprintf(x.metrics_path, sizeof x.metrics_path, "%s", x.o.metrics);
    else snprintf(x.metrics_path, sizeof x.metrics_path, "%s/metrics.jsonl", x.workdir);
    if (x.c.rank == 0 && dirs_create(x.workdir, &err) != 0) coll_abort(&x.c, STL_EXIT_FAIL, err.msg);
    /* one run per work directory: rank 0 holds its lock until the end */
    int lock_fd = -1;
    if (x.c.rank == 0 && dir_lock_take(x.workdir, &lock_fd, &err) != 0)
        coll_abort(&x.c, STL_EXIT_FAIL, err.msg);
    catch_stop_signals();
    if (x.c.rank == 0)
        log_info("%d rank%s (%s), %d thread%s per rank, %s kernels, global batch %ld (%d per rank)",
                 x.c.size, x.c.size > 1 ? "s" : "", coll_backend_name(x.c.backend), x.threads,
                 x.threads > 1 ? "s" : "", isa_name(isa_active()), x.o.batch, x.local_batch);
    /* run: 0 ok; -1 failed the same way on every rank (rank 0 says why);
     * -2 failed on this rank alone (end the job); -3 failed, already printed. */
    int rc = run(&x, &err);
    if (rc == -2) {
        if (x.c.size > 1) coll_abort(&x.c, STL_EXIT_FAIL, err.msg);
        log_error(&err);
    } else if (rc == -1 && x.c.rank == 0) {
        log_error(&err);
    }
    cleanup(&x);
    dir_lock_release(lock_fd);
    coll_finalize(&x.c);
    if (x.stopped_by) return 128 + x.stopped_by; /* as if the signal had ended it */
    return rc == 0 ? STL_EXIT_OK : STL_EXIT_FAIL;
}

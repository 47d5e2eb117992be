/* test_checkpoint.c — checkpoints (common/train/checkpoint.h) and the metrics log
 * (common/formats/train_log.h): a checkpoint reads back bit-identical (model buffers
 * and training state), keep-K pruning, the newest *valid* checkpoint is the
 * one resumed (a corrupt model file, a truncated state file and a model file
 * without its state are all skipped), none valid is an error, and a resumed
 * metrics log keeps only whole lines up to the checkpoint's step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "train/checkpoint.h"
#include "formats/train_log.h"
#include "base/rng.h"

static char dir[256];

static void fill_state(model_state *m, int64_t step) {
    rng_state r;
    rng_stream(&r, 5, (uint64_t)step);
    for (size_t i = 0; i < m->table.n_params; i++) {
        m->params[i] = rng_float(&r) - 0.5f;
        m->adam_m[i] = rng_float(&r) * 1e-3f;
        m->adam_v[i] = rng_float(&r) * 1e-6f;
    }
    for (size_t i = 0; i < m->table.n_stats; i++) m->stats[i] = rng_float(&r);
    m->step = step;
}

static void make_st(checkpoint_state *s, int64_t step) {
    memset(s, 0, sizeof *s);
    s->step = step;
    s->pos.epoch = (uint64_t)step / 3;
    s->pos.offset = (uint64_t)step % 3;
    rng_seed(&s->pos.rng, (uint64_t)step + 100);
    s->seed = 7;
    s->elapsed_s = 1.5 * (double)step;
    s->output_size = 8;
    s->image_size = 32;
    s->global_batch = 4;
    s->ranks = 1;
    s->threads = 1;
    s->n_train = 99;
    s->config_json = "{\"lr\": 0.1}";
}

static int same_model(const model_state *a, const model_state *b) {
    size_t np = a->table.n_params * sizeof(float);
    return a->step == b->step && a->table.n_params == b->table.n_params &&
           memcmp(a->params, b->params, np) == 0 && memcmp(a->adam_m, b->adam_m, np) == 0 &&
           memcmp(a->adam_v, b->adam_v, np) == 0 &&
           memcmp(a->stats, b->stats, a->table.n_stats * sizeof(float)) == 0;
}

static void save_step(model_state *m, int64_t step, int keep) {
    checkpoint_state s;
    fill_state(m, step);
    make_st(&s, step);
    stl_error err;
    int rc = checkpoint_save(dir, m, &s, keep, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
}

static void test_roundtrip_and_keep(void) {
    model_state m, r;
    stl_error err;
    CHECK_EQ_INT(model_state_alloc(&m, 8, &err), 0);
    for (int64_t k = 1; k <= 4; k++) save_step(&m, k * 10, 2);
    int64_t *steps;
    size_t n;
    CHECK_EQ_INT(checkpoint_list(dir, &steps, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(steps[0], 30);
        CHECK_EQ_INT(steps[1], 40);
    }
    free(steps);
    checkpoint_state s, want;
    CHECK_EQ_INT(checkpoint_load_newest(dir, &r, &s, &err), 1);
    make_st(&want, 40);
    CHECK(same_model(&m, &r));
    CHECK_EQ_INT(s.step, 40);
    CHECK(memcmp(&s.pos, &want.pos, sizeof s.pos) == 0);
    CHECK_EQ_INT(s.n_train, 99);
    CHECK_EQ_INT(s.output_size, 8);
    CHECK(s.elapsed_s == 60.0);
    CHECK_STR_EQ(s.config_json, want.config_json);
    checkpoint_state_free(&s);
    model_state_free(&r);
    model_state_free(&m);
}

static void corrupt_byte(const char *path, long off) {
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

static void test_newest_valid(void) {
    model_state m, r;
    stl_error err;
    checkpoint_state s;
    char p[512];
    CHECK_EQ_INT(model_state_alloc(&m, 8, &err), 0);
    save_step(&m, 50, 10);
    save_step(&m, 60, 10);
    save_step(&m, 70, 10);
    /* 70: a flipped byte in the model file; 60: a truncated state file. */
    checkpoint_model_path(dir, 70, p, sizeof p);
    corrupt_byte(p, 5000);
    checkpoint_state_path(dir, 60, p, sizeof p);
    CHECK_EQ_INT(truncate(p, 20), 0);
    /* 80: a model file whose state record was never written (crash). */
    fill_state(&m, 80);
    save_step(&m, 80, 10);
    checkpoint_state_path(dir, 80, p, sizeof p);
    unlink(p);
    CHECK_EQ_INT(checkpoint_load_newest(dir, &r, &s, &err), 1);
    CHECK_EQ_INT(s.step, 50);
    fill_state(&m, 50);
    CHECK(same_model(&m, &r));
    checkpoint_state_free(&s);
    model_state_free(&r);
    /* Nothing valid left: an error that says so. */
    checkpoint_model_path(dir, 50, p, sizeof p);
    CHECK_EQ_INT(truncate(p, 100), 0);
    for (int64_t k = 10; k <= 40; k += 10) {
        checkpoint_state_path(dir, k, p, sizeof p);
        unlink(p);
    }
    CHECK_EQ_INT(checkpoint_load_newest(dir, &r, &s, &err), -1);
    CHECK(strstr(err.msg, "none of the") != NULL);
    char empty[300];
    snprintf(empty, sizeof empty, "%s/nothing-here", dir);
    CHECK_EQ_INT(checkpoint_load_newest(empty, &r, &s, &err), 0);
    model_state_free(&m);
}

/* A state file that parses but could not have been written by a run: an
 * all-zero generator (the shuffle would spin forever) or a position past
 * the training triplets. Each is refused naming its file and field, and the
 * newest usable checkpoint before them is resumed. */
static void save_state_as(model_state *m, int64_t step, void (*spoil)(checkpoint_state *)) {
    checkpoint_state s;
    fill_state(m, step);
    make_st(&s, step);
    spoil(&s);
    stl_error err;
    CHECK_EQ_INT(checkpoint_save(dir, m, &s, 10, &err), 0);
}
static void no_spoil(checkpoint_state *s) { (void)s; }
static void zero_rng(checkpoint_state *s) { memset(&s->pos.rng, 0, sizeof s->pos.rng); }
static void offset_past_end(checkpoint_state *s) { s->pos.offset = s->n_train; }

static void test_state_validated(void) {
    model_state m, r;
    stl_error err;
    checkpoint_state s;
    CHECK_EQ_INT(model_state_alloc(&m, 8, &err), 0);
    char saved[sizeof dir];
    memcpy(saved, dir, sizeof dir);
    snprintf(dir, sizeof dir, "%.200s/validated", saved);
    save_state_as(&m, 110, no_spoil);
    save_state_as(&m, 120, zero_rng);
    save_state_as(&m, 130, offset_past_end);
    CHECK_EQ_INT(checkpoint_load(dir, 120, &r, &s, &err), -1);
    CHECK(strstr(err.msg, "ckpt-0000000120.state") && strstr(err.msg, "all zeros"));
    CHECK_EQ_INT(checkpoint_load(dir, 130, &r, &s, &err), -1);
    CHECK(strstr(err.msg, "ckpt-0000000130.state") && strstr(err.msg, "'offset'") &&
          strstr(err.msg, "past the 99 training triplets"));
    CHECK_EQ_INT(checkpoint_load_newest(dir, &r, &s, &err), 1);
    CHECK_EQ_INT(s.step, 110);
    checkpoint_state_free(&s);
    model_state_free(&r);
    model_state_free(&m);
    memcpy(dir, saved, sizeof dir);
}

static void test_metrics_resume(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    train_log ml;
    stl_error err;
    CHECK_EQ_INT(train_log_open(&ml, path, -1, &err), 0);
    for (int s = 1; s <= 5; s++) {
        train_log_line l;
        train_log_line_begin(&l, s);
        train_log_line_num(&l, "loss", 1.0 / s);
        train_log_line_num(&l, "bad", 0.0 / 0.0);
        train_log_line_str(&l, "note", "a \"quoted\"\\ text");
        CHECK_EQ_INT(train_log_append(&ml, &l, s, &err), 0);
    }
    fputs("{\"step\": 6, \"loss\": 0.1", ml.f); /* torn by a crash */
    train_log_close(&ml);
    CHECK_EQ_INT(train_log_open(&ml, path, 3, &err), 0);
    train_log_line l;
    train_log_line_begin(&l, 4);
    CHECK_EQ_INT(train_log_append(&ml, &l, 4, &err), 0);
    train_log_close(&ml);
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0, steps[8];
    while (f && n < 8 && fgets(line, sizeof line, f)) {
        CHECK(strstr(line, "\"bad\": null") != NULL || n == 3);
        CHECK(line[strlen(line) - 1] == '\n');
        sscanf(line, "{\"step\": %d", &steps[n++]);
    }
    if (f) fclose(f);
    CHECK_EQ_INT(n, 4);
    for (int i = 0; i < n; i++) CHECK_EQ_INT(steps[i], i + 1);
    /* A fresh run starts the log empty. */
    CHECK_EQ_INT(train_log_open(&ml, path, -1, &err), 0);
    train_log_close(&ml);
    f = fopen(path, "r");
    CHECK(f && fgetc(f) == EOF);
    if (f) fclose(f);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/stl-ckpt-test.%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    RUN(test_roundtrip_and_keep);
    RUN(test_newest_valid);
    RUN(test_state_validated);
    RUN(test_metrics_resume);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}

/* test_train_log.c — the training metrics log (common/formats/train_log.c):
 * what the writer appends is what the reader returns (one series per numeric
 * field, first seen first, null values left out), a torn last line and
 * lines that are not records are skipped and counted while blank lines are
 * not, a resumed log drops the torn line and the steps past the checkpoint,
 * and a missing file is an error naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_files.h"
#include "formats/train_log.h"

static char dir[] = "/tmp/test_train_log.XXXXXX";

static const char *tmp(const char *name) { return check_path(dir, name); }

static const train_log_series *find(const train_log_data *d, const char *name) {
    for (size_t i = 0; i < d->n_series; i++)
        if (strcmp(d->series[i].name, name) == 0) return &d->series[i];
    return NULL;
}

/* Steps 0, 10, ..., 90: train records every step, an eval record (with a
 * NaN test_loss at step 30) every 30. */
static void write_log(const char *path, int64_t keep) {
    train_log ml;
    stl_error err;
    CHECK(train_log_open(&ml, path, keep, &err) == 0);
    for (int64_t s = keep < 0 ? 0 : keep + 10; s < 100; s += 10) {
        train_log_line l;
        train_log_line_begin(&l, s);
        train_log_line_str(&l, "kind", "train");
        train_log_line_int(&l, "epoch", s / 50);
        train_log_line_num(&l, "train_loss", 1.0 / (double)(s + 1));
        CHECK(train_log_append(&ml, &l, s, &err) == 0);
        if (s % 30 == 0) {
            train_log_line_begin(&l, s);
            train_log_line_str(&l, "kind", "eval");
            train_log_line_num(&l, "test_loss", s == 30 ? NAN : 0.5 + (double)s);
            train_log_line_num(&l, "test_accuracy", 0.25);
            CHECK(train_log_append(&ml, &l, s, &err) == 0);
        }
    }
    train_log_close(&ml);
}

static void append_text(const char *path, const char *text) {
    FILE *f = fopen(path, "ab");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_read_back(void) {
    const char *p = tmp("m.jsonl");
    write_log(p, -1);
    train_log_data d;
    stl_error err;
    CHECK(train_log_read(p, &d, &err) == 0);
    CHECK_EQ_INT(d.records, 14); /* 10 train + 4 eval */
    CHECK_EQ_INT(d.skipped, 0);
    CHECK_EQ_INT(d.n_series, 4);
    if (d.n_series == 4) {
        CHECK_STR_EQ(d.series[0].name, "epoch");
        CHECK_STR_EQ(d.series[1].name, "train_loss");
        CHECK_STR_EQ(d.series[2].name, "test_loss");
        CHECK_STR_EQ(d.series[3].name, "test_accuracy");
    }
    const train_log_series *tr = find(&d, "train_loss"), *te = find(&d, "test_loss"),
                           *ep = find(&d, "epoch");
    CHECK(tr && te && ep && !find(&d, "step") && !find(&d, "kind"));
    if (tr && te && ep) {
        CHECK_EQ_INT(tr->n, 10);
        for (size_t i = 0; i < tr->n; i++) {
            CHECK(tr->step[i] == 10.0 * (double)i);
            CHECK_CLOSE(tr->value[i], 1.0 / (10.0 * (double)i + 1), 1e-9, 1e-8);
        }
        CHECK_EQ_INT(ep->n, 10);
        CHECK(ep->value[9] == 1.0);
        CHECK_EQ_INT(te->n, 3); /* the NaN at step 30 was written as null */
        if (te->n == 3) {
            CHECK(te->step[0] == 0 && te->step[1] == 60 && te->step[2] == 90);
            CHECK(te->value[2] == 90.5);
        }
    }
    train_log_data_free(&d);
    CHECK(d.series == NULL && d.n_series == 0);
}

static void test_torn_and_junk(void) {
    const char *p = tmp("t.jsonl");
    write_log(p, -1);
    append_text(p, "\n  \t\n[1, 2]\n{\"no_step\": 1}\n{\"step\": \"7\", \"train_loss\": 9}\n");
    append_text(p, "{\"step\": 100, \"train_loss\": 5}\n");
    append_text(p, "{\"step\": 110, \"train_lo"); /* torn */
    train_log_data d;
    stl_error err;
    CHECK(train_log_read(p, &d, &err) == 0);
    CHECK_EQ_INT(d.records, 15);
    CHECK_EQ_INT(d.skipped, 4); /* three junk lines and the torn one; blanks not */
    const train_log_series *tr = find(&d, "train_loss");
    CHECK(tr != NULL);
    if (tr) {
        CHECK_EQ_INT(tr->n, 11);
        CHECK(tr->step[tr->n - 1] == 100.0 && tr->value[tr->n - 1] == 5.0);
    }
    train_log_data_free(&d);

    /* a resume at step 50 keeps whole lines up to 50, drops the torn one */
    write_log(p, 50);
    CHECK(train_log_read(p, &d, &err) == 0);
    CHECK_EQ_INT(d.skipped, 0);
    CHECK_EQ_INT(d.records, 14);
    tr = find(&d, "train_loss");
    CHECK(tr && tr->n == 10 && tr->step[5] == 50.0 && tr->step[6] == 60.0);
    train_log_data_free(&d);
}

static void test_missing_file(void) {
    train_log_data d;
    stl_error err;
    err.msg[0] = '\0';
    CHECK(train_log_read(tmp("absent.jsonl"), &d, &err) == -1);
    CHECK(strstr(err.msg, "absent.jsonl") != NULL);
    CHECK(d.series == NULL && d.n_series == 0);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_read_back);
    RUN(test_torn_and_junk);
    RUN(test_missing_file);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}

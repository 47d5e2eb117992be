/* train_log.h — the training metrics log: JSON lines (metrics.jsonl).
 *
 * One JSON object per line, each with an integer "step" (stl-train writes
 * train loss, throughput and wall time every log interval, test loss and
 * accuracy every eval interval; docs/training.md lists the fields). Lines are
 * appended and flushed one at a time, so after a crash the file holds whole
 * lines plus at most one torn last line. Opening for a resumed run rewrites
 * the file atomically keeping only the whole lines whose step is at most the
 * checkpoint's step, so the log after a resume reads as if the run had never
 * stopped: every line valid JSON, steps never repeated.
 * A train_log_line is built in a fixed buffer (no allocation) and appended.
 *
 * train_log_read() is the reader (stl-report's curves): every numeric field
 * of the records, each as a series of (step, value) through the records that
 * have it. It is lenient, as a reader of a log that may still be growing or
 * may end in a torn line must be: a line that is not a JSON object with a
 * numeric "step" is skipped and counted, blank lines are ignored.
 */
#ifndef STL_TRAIN_LOG_H
#define STL_TRAIN_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    FILE *f;
    char *path; /* owned */
} train_log;

/* keep_up_to_step < 0: a fresh run, the file starts empty. Otherwise the
 * existing file (if any) keeps its whole lines with step <= keep_up_to_step.
 * Then opens it for appending. */
int train_log_open(train_log *ml, const char *path, int64_t keep_up_to_step, stl_error *err);
void train_log_close(train_log *ml);

typedef struct {
    char buf[2048];
    size_t n;
    int overflow;
} train_log_line;

/* {"step": step, ... */
void train_log_line_begin(train_log_line *l, int64_t step);
void train_log_line_int(train_log_line *l, const char *key, int64_t v);
/* Non-finite values are written as null (JSON has no NaN). */
void train_log_line_num(train_log_line *l, const char *key, double v);
void train_log_line_str(train_log_line *l, const char *key, const char *v);

/* Closes the object and appends it with a newline, flushed. step is only for
 * the "metrics" test hook (testhook.h). */
int train_log_append(train_log *ml, train_log_line *l, int64_t step, stl_error *err);

/* One numeric field ("train_loss", "wall_s", ...): its value in each record
 * that has it as a number (null, strings and the like are left out). */
typedef struct {
    char *name;           /* owned */
    double *step, *value; /* (n) each, in file order */
    size_t n, cap;
} train_log_series;

typedef struct {
    train_log_series *series; /* every numeric field but "step", first seen first */
    size_t n_series;
    size_t records; /* lines that are objects with a numeric "step" */
    size_t skipped; /* other non-blank lines (a torn last line is one) */
} train_log_data;

/* Reads the log at path into *out (zeroed first; nothing to free on failure).
 * Fails only when the file cannot be read or memory runs out. */
int train_log_read(const char *path, train_log_data *out, stl_error *err);
void train_log_data_free(train_log_data *d);

#ifdef __cplusplus
}
#endif

#endif

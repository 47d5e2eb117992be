/* progress.h — progress of long work on stderr.
 *
 * On a terminal: one line redrawn in place with count, rate and ETA, at most
 * ten times a second. Otherwise (logs, CI): a plain line every `interval`
 * seconds (default 10; STL_PROGRESS_INTERVAL overrides). progress_finish()
 * prints the closing count and rate. Nothing is printed when STL_QUIET is set.
 *
 * The line is "prog: LABEL COUNT UNIT[, DETAIL], RATE RATE_UNIT/s[, ETA N s]".
 * A stage with more to say (stl-train: the loss) sets a detail with
 * progress_set_detail; a stage that measures its own rate (stl-train leaves
 * evaluation and checkpoint time out) gives it with progress_set_rate; and
 * progress_opts lets the rate count something other than the unit (a step
 * is `batch` triplets).
 */
#ifndef STL_PROGRESS_H
#define STL_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Options of progress_start_opts; a zeroed struct gives progress_start's line. */
typedef struct {
    const char *rate_unit; /* what the rate counts, e.g. "triplets" (NULL: the unit) */
    double rate_per_unit;  /* rate units per counted unit, e.g. the batch size (0: 1) */
    int eager;             /* print the first update at once, and the closing line of
                              progress_finish even when nothing was printed before */
} progress_opts;

typedef struct {
    const char *label; /* "decoding", "step" */
    const char *unit;  /* "images"; NULL or "": the count stands alone ("step 5/10") */
    uint64_t total;    /* 0 when unknown */
    uint64_t done;
    double t_start, t_last_print;
    double interval;
    int tty;
    int printed;
    progress_opts opts;
    double rate;       /* the caller's rate (progress_set_rate), when rate_set */
    int rate_set;
    char detail[96];   /* after the count, e.g. "loss 0.1234"; "" for none */
} progress;

void progress_start(progress *p, const char *label, const char *unit, uint64_t total);
/* progress_start with options (opts may be NULL). */
void progress_start_opts(progress *p, const char *label, const char *unit, uint64_t total,
                         const progress_opts *opts);
void progress_update(progress *p, uint64_t done);
void progress_finish(progress *p);
/* progress_finish with the final count (work that ended at `done`, which the
 * last progress_update may not have reported). */
void progress_finish_at(progress *p, uint64_t done);

/* The rate that lines show from now on, in rate units per second, instead of
 * done over the time since progress_start. */
void progress_set_rate(progress *p, double rate);
/* Text after the count on the lines from now on (printf format; truncated to
 * fit the detail buffer). An empty format clears it. */
void progress_set_detail(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif

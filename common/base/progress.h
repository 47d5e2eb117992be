/* progress.h — progress of long work on stderr.
 *
 * On a terminal: one line redrawn in place with count, rate and ETA, at most
 * ten times a second. Otherwise (logs, CI): a plain line every `interval`
 * seconds (default 10; STL_PROGRESS_INTERVAL overrides). progress_finish()
 * prints the closing count and rate. Nothing is printed when STL_QUIET is set.
 */
#ifndef STL_PROGRESS_H
#define STL_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *label; /* "decoding", "training" */
    const char *unit;  /* "images", "steps" */
    uint64_t total;    /* 0 when unknown */
    uint64_t done;
    double t_start, t_last_print;
    double interval;
    int tty;
    int printed;
} progress;

void progress_start(progress *p, const char *label, const char *unit, uint64_t total);
void progress_update(progress *p, uint64_t done);
void progress_finish(progress *p);

#ifdef __cplusplus
}
#endif

#endif

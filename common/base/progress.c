/* progress.c — rate/ETA on a terminal, periodic plain lines otherwise (progress.h). */
#include "base/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timer.h"

void progress_start(progress *p, const char *label, const char *unit, uint64_t total) {
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last_print = timer_now();
    p->tty = isatty(STDERR_FILENO);
    p->printed = 0;
    const char *iv = getenv("STL_PROGRESS_INTERVAL");
    p->interval = iv ? atof(iv) : 10.0;
    if (p->tty) p->interval = 0.1;
    if (p->interval <= 0) p->interval = 10.0;
}

static void progress_print(progress *p, double now, int final) {
    double el = now - p->t_start;
    double rate = el > 0 ? (double)p->done / el : 0;
    char eta[48] = "";
    if (!final && p->total && rate > 0 && p->done < p->total)
        snprintf(eta, sizeof eta, ", ETA %.0f s", (double)(p->total - p->done) / rate);
    char count[64];
    if (p->total) snprintf(count, sizeof count, "%llu/%llu", (unsigned long long)p->done,
                           (unsigned long long)p->total);
    else snprintf(count, sizeof count, "%llu", (unsigned long long)p->done);
    fprintf(stderr, "%s%s: %s %s %s, %.1f %s/s%s%s", p->tty ? "\r" : "", log_program(), p->label,
            count, p->unit, rate, p->unit, eta, p->tty ? "\033[K" : "\n");
    if (final && p->tty) fputc('\n', stderr);
    p->printed = 1;
}

void progress_update(progress *p, uint64_t done) {
    p->done = done;
    if (log_quiet()) return;
    double now = timer_now();
    if (now - p->t_last_print < p->interval) return;
    p->t_last_print = now;
    progress_print(p, now, 0);
}

void progress_finish(progress *p) {
    if (log_quiet()) return;
    if (p->tty || p->printed) progress_print(p, timer_now(), 1);
}

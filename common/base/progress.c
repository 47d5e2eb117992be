/* progress.c — rate/ETA on a terminal, periodic plain lines otherwise (progress.h). */
#include "base/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timer.h"

void progress_start_opts(progress *p, const char *label, const char *unit, uint64_t total,
                         const progress_opts *opts) {
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last_print = timer_now();
    p->tty = isatty(STDERR_FILENO);
    p->printed = 0;
    memset(&p->opts, 0, sizeof p->opts);
    if (opts) p->opts = *opts;
    if (p->opts.rate_per_unit <= 0) p->opts.rate_per_unit = 1.0;
    p->rate = 0;
    p->rate_set = 0;
    p->detail[0] = '\0';
    const char *iv = getenv("STL_PROGRESS_INTERVAL");
    p->interval = iv ? atof(iv) : 10.0;
    if (p->tty) p->interval = 0.1;
    if (p->interval <= 0) p->interval = 10.0;
    if (p->opts.eager) p->t_last_print = p->t_start - p->interval;
}

void progress_start(progress *p, const char *label, const char *unit, uint64_t total) {
    progress_start_opts(p, label, unit, total, NULL);
}

void progress_set_rate(progress *p, double rate) {
    p->rate = rate;
    p->rate_set = 1;
}

void progress_set_detail(progress *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
}

static void progress_print(progress *p, double now, int final) {
    double rate;
    if (p->rate_set) {
        rate = p->rate;
    } else {
        double el = now - p->t_start;
        rate = el > 0 ? (double)p->done * p->opts.rate_per_unit / el : 0;
    }
    char eta[48] = "";
    if (!final && p->total && rate > 0 && p->done < p->total)
        snprintf(eta, sizeof eta, ", ETA %.0f s",
                 (double)(p->total - p->done) * p->opts.rate_per_unit / rate);
    char count[64];
    if (p->total) snprintf(count, sizeof count, "%llu/%llu", (unsigned long long)p->done,
                           (unsigned long long)p->total);
    else snprintf(count, sizeof count, "%llu", (unsigned long long)p->done);
    int has_unit = p->unit && p->unit[0];
    const char *rate_unit = p->opts.rate_unit ? p->opts.rate_unit : (has_unit ? p->unit : "");
    fprintf(stderr, "%s%s: %s %s%s%s%s%s, %.1f %s/s%s%s", p->tty ? "\r" : "", log_program(),
            p->label, count, has_unit ? " " : "", has_unit ? p->unit : "",
            p->detail[0] ? ", " : "", p->detail, rate, rate_unit, eta, p->tty ? "\033[K" : "\n");
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
    if (p->tty || p->printed || p->opts.eager) progress_print(p, timer_now(), 1);
}

void progress_finish_at(progress *p, uint64_t done) {
    p->done = done;
    progress_finish(p);
}

/* lr_schedule.c — the learning rate of each step (lr_schedule.h). */
#include "train/lr_schedule.h"

#include <math.h>
#include <stdio.h>

int lr_schedule_check(const lr_schedule *s, stl_error *err) {
    if (!isfinite(s->lr) || s->lr < 0 || !isfinite(s->lr_end) || s->lr_end < 0)
        return stl_fail(err, "learning rates must be finite and >= 0");
    if (s->kind == LR_WARMUP_COSINE && (s->warmup < 0 || s->decay_steps <= s->warmup))
        return stl_fail(err, "warmup-cosine: the warmup (%lld steps) must be shorter than the "
                        "schedule (%lld steps)", (long long)s->warmup, (long long)s->decay_steps);
    return 0;
}

double lr_at(const lr_schedule *s, int64_t count) {
    if (s->kind == LR_CONSTANT) return s->lr;
    if (count < s->warmup) return s->lr * (double)count / (double)s->warmup;
    int64_t c = count < s->decay_steps ? count : s->decay_steps;
    double t = (double)(c - s->warmup) / (double)(s->decay_steps - s->warmup);
    return s->lr_end + (s->lr - s->lr_end) * 0.5 * (1.0 + cos(M_PI * t));
}

void lr_schedule_describe(const lr_schedule *s, char *buf, size_t cap) {
    if (s->kind == LR_CONSTANT) snprintf(buf, cap, "constant");
    else
        snprintf(buf, cap, "warmup-cosine(W=%lld, D=%lld, end=%g)", (long long)s->warmup,
                 (long long)s->decay_steps, s->lr_end);
}

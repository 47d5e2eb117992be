/* rate.c — the token bucket with AIMD (see rate.h). */
#include "fetch/rate.h"

void rate_init(rate_limiter *r, double ceiling, double burst, double now) {
    r->ceiling = ceiling > 0 ? ceiling : 0;
    r->rate = r->ceiling;
    r->burst = burst >= 1 ? burst : 1;
    r->step = r->ceiling / 10 > 1 ? r->ceiling / 10 : 1;
    r->min_rate = r->ceiling > 0 && r->ceiling < 1 ? r->ceiling : 1;
    r->tokens = r->burst;
    r->t_last = now;
    r->t_decrease = -1e30;
    r->sec_start = r->prev_start = now;
    r->starts_this = r->starts_prev = 0;
    r->decreases = 0;
}

static void refill(rate_limiter *r, double now) {
    if (now > r->t_last && r->rate > 0) {
        r->tokens += (now - r->t_last) * r->rate;
        if (r->tokens > r->burst) r->tokens = r->burst;
    }
    if (now > r->t_last) r->t_last = now;
    if (now - r->sec_start >= 1.0) {
        int next = now - r->sec_start < 2.0; /* the window just ended is the previous one */
        r->starts_prev = next ? r->starts_this : 0;
        r->prev_start = next ? r->sec_start : now;
        r->starts_this = 0;
        r->sec_start = now;
    }
}

int rate_take(rate_limiter *r, double now, double *wait) {
    refill(r, now);
    if (r->rate > 0) {
        /* A token within rounding of whole counts as whole: a caller that
         * sleeps exactly the wait it was told must then get its token. */
        if (r->tokens < 1.0 - 1e-9) {
            *wait = (1.0 - r->tokens) / r->rate;
            return 0;
        }
        r->tokens = r->tokens > 1.0 ? r->tokens - 1.0 : 0.0;
    }
    r->starts_this += 1;
    *wait = 0;
    return 1;
}

void rate_throttled(rate_limiter *r, double now, double started) {
    refill(r, now);
    if (started < r->t_decrease || now - r->t_decrease < 1.0) return;
    r->t_decrease = now;
    r->decreases++;
    if (r->rate == 0) { /* unlimited so far: start from half of what we did */
        double span = now - r->prev_start;
        double seen = (r->starts_prev + r->starts_this) / (span > 0.1 ? span : 0.1);
        r->rate = seen / 2;
        r->step = seen / 10 > 1 ? seen / 10 : 1;
    } else {
        r->rate /= 2;
    }
    if (r->rate < r->min_rate) r->rate = r->min_rate;
    r->tokens = 0;
}

void rate_success(rate_limiter *r) {
    if (r->rate <= 0) return;
    r->rate += r->step / r->rate;
    if (r->ceiling > 0 && r->rate > r->ceiling) r->rate = r->ceiling;
}

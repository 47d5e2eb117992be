/* rate.h — stl-fetch's request rate: a token bucket shared by every
 * connection, with AIMD on the server's slow-down answers.
 *
 * Every request start takes one token. Tokens flow in at the current rate and
 * the bucket holds at most `burst`, so in any interval of T seconds at most
 * burst + rate * T requests start. The current rate starts at the ceiling
 * (--rate) and moves like TCP's congestion window: a 429 or 503 halves it
 * (multiplicative decrease, and the bucket is emptied; a refusal of a
 * request that started before the last decrease says nothing about the new
 * rate and is not counted, and the rate halves at most once a second, so
 * one burst of refusals halves it once and sporadic ones cannot drive it
 * to the floor faster than it recovers), and every success adds
 * step / rate (additive increase: about `step` requests/s more per second of
 * successes, step = ceiling / 10, at least 1: from half the ceiling back to
 * it in about 5 s) until the ceiling is reached again. A ceiling of 0 means
 * no limit until the first slow-down answer; then the limit starts at half
 * the rate of the last second, with a step of a tenth of that rate, and
 * grows without bound. The limiter is a plain value: the caller passes the time.
 */
#ifndef STL_RATE_H
#define STL_RATE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double ceiling;       /* --rate, requests/s; 0: none */
    double rate;          /* the current rate (0 while unlimited) */
    double burst;         /* bucket capacity, tokens */
    double step;          /* additive increase, requests/s per second */
    double min_rate;      /* the rate never falls below this */
    double tokens, t_last;
    double t_decrease;    /* time of the last decrease */
    double sec_start;     /* start of the current one-second window */
    double prev_start;    /* start of the previous one (sec_start when none) */
    double starts_this, starts_prev; /* request starts in this and the previous window */
    unsigned long decreases;
} rate_limiter;

void rate_init(rate_limiter *r, double ceiling, double burst, double now);

/* Takes a token and returns 1, or returns 0 and sets *wait to the seconds
 * until one is available. */
int rate_take(rate_limiter *r, double now, double *wait);

/* The server said slow down (429 or 503) to a request started at `started`. */
void rate_throttled(rate_limiter *r, double now, double started);

/* A request succeeded. */
void rate_success(rate_limiter *r);

#ifdef __cplusplus
}
#endif

#endif

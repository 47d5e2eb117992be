/* timer.h — seconds on the monotonic clock, for rates, ETAs and the
 * timings stages report: timer_now() - t0 is elapsed wall time, immune to
 * changes of the system clock.
 */
#ifndef STL_TIMER_H
#define STL_TIMER_H

#ifdef __cplusplus
extern "C" {
#endif

double timer_now(void);

#ifdef __cplusplus
}
#endif

#endif

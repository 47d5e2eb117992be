/* lr_schedule.h — the learning rate of each training step.
 *
 * constant: the same rate every step (the book's optax.adam(lr)).
 * warmup-cosine: optax.warmup_cosine_decay_schedule(init_value=0,
 * peak_value=lr, warmup_steps=W, decay_steps=D, end_value=lr_end): linear
 * from 0 to lr over the first W updates, then a half cosine from lr down to
 * lr_end, reached at update D (D includes the warmup, as in optax) and kept
 * after. Update c (0 for the first step) uses lr_at(s, c), as optax's Adam
 * passes its count before the update. tests/stage/test_lr_schedule.sh checks
 * the values against optax itself.
 */
#ifndef STL_LR_SCHEDULE_H
#define STL_LR_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LR_CONSTANT = 0, LR_WARMUP_COSINE = 1 } lr_kind;

typedef struct {
    lr_kind kind;
    double lr;           /* the (peak) rate */
    int64_t warmup;      /* W */
    int64_t decay_steps; /* D */
    double lr_end;
} lr_schedule;

/* Checks the parameters (W < D for warmup-cosine, rates finite and >= 0). */
int lr_schedule_check(const lr_schedule *s, stl_error *err);
double lr_at(const lr_schedule *s, int64_t count);
/* "constant" or "warmup-cosine(W=..., D=..., end=...)", for logs and configs. */
void lr_schedule_describe(const lr_schedule *s, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif

/* lr_values.c — test helper: prints stlrec's learning rate of updates
 * 0..N-1, one per line (%.9g), for tests/stage/test_lr_schedule.sh to
 * compare with optax.
 *   lr_values constant LR N
 *   lr_values warmup-cosine LR WARMUP DECAY_STEPS LR_END N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/lr_schedule.h"

int main(int argc, char **argv) {
    lr_schedule s = {0};
    long n;
    if (argc == 4 && strcmp(argv[1], "constant") == 0) {
        s.kind = LR_CONSTANT;
        s.lr = atof(argv[2]);
        n = atol(argv[3]);
    } else if (argc == 7 && strcmp(argv[1], "warmup-cosine") == 0) {
        s.kind = LR_WARMUP_COSINE;
        s.lr = atof(argv[2]);
        s.warmup = atol(argv[3]);
        s.decay_steps = atol(argv[4]);
        s.lr_end = atof(argv[5]);
        n = atol(argv[6]);
    } else {
        fprintf(stderr, "usage: lr_values constant LR N | warmup-cosine LR W D END N\n");
        return 2;
    }
    stl_error err;
    if (lr_schedule_check(&s, &err) != 0) {
        fprintf(stderr, "lr_values: %s\n", err.msg);
        return 1;
    }
    for (long c = 0; c < n; c++) printf("%.9g\n", lr_at(&s, c));
    return 0;
}

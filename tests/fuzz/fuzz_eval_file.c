/* fuzz_eval_file.c — libFuzzer target for the stl-eval metrics JSON reader.
 *
 * eval_file_read takes a path, so each input is written to a scratch file
 * (fuzz_util.h) and read; a file that reads back must hold metrics in [0, 1]
 * (the reader's own promise) and writes again, and the struct is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/eval_file.h"
#include "fuzz_util.h"

static int in_unit(const eval_metrics *m) {
    for (int i = 0; i < EVAL_N_K; i++)
        if (!(m->recall[i] >= 0 && m->recall[i] <= 1 && m->hit_rate[i] >= 0 && m->hit_rate[i] <= 1))
            return 0;
    return m->mrr >= 0 && m->mrr <= 1 && m->auc >= 0 && m->auc <= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[256], out[300];
    fuzz_file("metrics.json", data, size, path, sizeof path);
    eval_file f;
    stl_error err;
    if (eval_file_read(path, &f, &err) != 0) return 0;
    if (!in_unit(&f.model) || !in_unit(&f.random_exact) || !in_unit(&f.random_simulated)) abort();
    snprintf(out, sizeof out, "%s.out", path);
    if (eval_file_write(out, &f, &err) != 0) abort();
    eval_file_free(&f);
    return 0;
}

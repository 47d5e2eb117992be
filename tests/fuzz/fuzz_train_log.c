/* fuzz_train_log.c — libFuzzer target for the training metrics log reader
 * (formats/train_log.h, what stl-report draws its curves from).
 *
 * train_log_read takes a path, so each input is written to a scratch file
 * (fuzz_util.h) and read; every series read is walked (each point touched:
 * as many steps as values) and the data freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/train_log.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[256];
    fuzz_file("metrics.jsonl", data, size, path, sizeof path);
    train_log_data d;
    stl_error err;
    if (train_log_read(path, &d, &err) != 0) return 0;
    size_t points = 0;
    for (size_t i = 0; i < d.n_series; i++) {
        const train_log_series *s = &d.series[i];
        if (!s->name || strcmp(s->name, "step") == 0) abort();
        for (size_t j = 0; j < s->n; j++) points += s->step[j] == s->step[j];
        if (s->n > d.records) abort(); /* one point per record at most */
    }
    (void)points;
    train_log_data_free(&d);
    return 0;
}
